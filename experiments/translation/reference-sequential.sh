#!/bin/bash
# Issue 12: our translator and the plain PyTorch reference (../shared/reference/translate_ref.py) on the same exported
# split and the same training-time budget, one after the other on a quiet machine, each with THREADS threads (ours as
# its defaults run them: one data-parallel worker per thread). Both score their best-dev checkpoint on the first 2,000
# test sentences, greedy and beam 4, with sacreBLEU 13a. Nothing else may run meanwhile.
#   experiments/translation/reference-sequential.sh ARCH MINUTES THREADS OUT_DIR [our train options...]
#   e.g.  experiments/translation/reference-sequential.sh transformer 30 2 runs/seq-transformer
#   REF_ONLY=1 experiments/translation/reference-sequential.sh gru 30 2 runs/seq-gru     (the reference alone)
set -euo pipefail
cd "$(dirname "$0")/../.."
ARCH=$1; MINUTES=$2; THREADS=$3; OUT=$4; shift 4
REF=${REF_DIR:-../shared/reference}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
CLI=${CLI:-src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli}
[ -n "${CLI_PREBUILT:-}" ] || dotnet build -c Release src/Transformers.Cli >/dev/null
[ -f "$OUT/split/train.tsv" ] || $CLI corpus export --out "$OUT/split" >/dev/null
REF_TOKENS=$([ "$ARCH" = transformer ] && echo 1000 || echo 4000)
# REF_ONLY=1: the reference alone (ours already ran in the same conditions, e.g. experiments/translators/run.sh).
if [ -z "${REF_ONLY:-}" ]; then
  echo "ours start $(date -u +%FT%TZ)" >> "$OUT/times.txt"
  $CLI train --arch "$ARCH" --data "$OUT/split" --out "$OUT/ours" --minutes "$MINUTES" --eval-minutes 5 --patience 0 --threads "$THREADS" "$@" \
    > "$OUT/ours.out" 2> "$OUT/ours.err"
  for beam in 1 4; do
    $CLI evaluate --model "$OUT/ours" --data "$OUT/split" --split test --limit 2000 --beam $beam --threads "$THREADS" > "$OUT/ours.test.beam$beam.txt" 2>&1
  done
fi
echo "reference start $(date -u +%FT%TZ)" >> "$OUT/times.txt"
REF_WORK="$OUT/ref-work" /usr/bin/python3 "$REF/translate_ref.py" --data "$OUT/split" --arch "$ARCH" --minutes "$MINUTES" --threads "$THREADS" \
  --max-tokens "$REF_TOKENS" --eval-every 5 --dev-limit 1000 --test-limit 2000 --out "$OUT/ref.json" > "$OUT/ref.out" 2>&1
echo "done $(date -u +%FT%TZ)" >> "$OUT/times.txt"
grep -h "BLEU" "$OUT"/ours.test.beam*.txt 2>/dev/null | head -4
python3 -c "import json;r=json.load(open('$OUT/ref.json'));print('reference', r.get('test_greedy',{}).get('bleu'), (r.get('test_beam') or {}).get('bleu'))"
