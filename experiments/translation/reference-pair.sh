#!/bin/bash
# Issue 12: our translator and the plain PyTorch reference (../shared/reference/translate_ref.py) side by side, on the
# same exported split, the same training-time budget and one thread each, pinned to separate cores (a fair pair:
# nothing else may run on the machine meanwhile). Both score their best-dev checkpoint on the first 2,000 test
# sentences, greedy and beam 4, with sacreBLEU 13a.
#   experiments/translation/reference-pair.sh ARCH MINUTES OUT_DIR [our train options...]
#   ARCH: transformer | gru      e.g.  experiments/translation/reference-pair.sh transformer 20 runs/pair-transformer
set -euo pipefail
cd "$(dirname "$0")/../.."
ARCH=$1; MINUTES=$2; OUT=$3; shift 3
REF=${REF_DIR:-../shared/reference}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CLI=${CLI:-src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli}     # CLI=a copy of the build, CLI_PREBUILT=1: no build
[ -n "${CLI_PREBUILT:-}" ] || dotnet build -c Release src/Transformers.Cli >/dev/null
[ -f "$OUT/split/train.tsv" ] || $CLI corpus export --out "$OUT/split" >/dev/null
# The reference's recipe per architecture (its README): the Transformer's best used 1,000-token batches.
REF_TOKENS=$([ "$ARCH" = transformer ] && echo 1000 || echo 4000)
taskset -c 0 $CLI train --arch "$ARCH" --data "$OUT/split" --out "$OUT/ours" --minutes "$MINUTES" --eval-minutes 5 --patience 0 --threads 1 "$@" \
  > "$OUT/ours.out" 2> "$OUT/ours.err" &
REF_WORK="$OUT/ref-work" taskset -c 1 /usr/bin/python3 "$REF/translate_ref.py" --data "$OUT/split" --arch "$ARCH" --minutes "$MINUTES" --threads 1 \
  --max-tokens "$REF_TOKENS" --eval-every 5 --dev-limit 1000 --test-limit 2000 --out "$OUT/ref.json" > "$OUT/ref.out" 2>&1 &
wait
for beam in 1 4; do
  taskset -c 0 $CLI evaluate --model "$OUT/ours" --data "$OUT/split" --split test --limit 2000 --beam $beam --threads 1 > "$OUT/ours.test.beam$beam.txt" 2>&1
done
grep -h "BLEU" "$OUT"/ours.test.beam*.txt | head -4
python3 -c "import json;r=json.load(open('$OUT/ref.json'));print('reference', r.get('test_greedy',{}).get('bleu'), (r.get('test_beam') or {}).get('bleu'))"
