#!/bin/bash
# Issue 17's report: a small BERT pretrained with masked language modelling for 30 minutes on 2 threads on the bundled
# corpus's sentences (French and English), fill-mask on held-out sentences, then the package classifier fine-tuned
# from it beside the bag-of-words baseline, and a tiny model's peak memory over 10,000 steps. One step after another on a quiet machine (nothing else may run).
# Rerunning resumes a pretraining run that stopped (its last/ checkpoint) and skips finished steps.
#   experiments/bert/run.sh [OUT_DIR]          (default runs/bert; about an hour)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/bert}
mkdir -p "$OUT"
[ -n "${CLI_PREBUILT:-}" ] || dotnet build -c Release src/Transformers.Cli >/dev/null
CLI=${CLI:-src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli}
echo "pretrain start $(date -u +%FT%TZ)" >> "$OUT/times.txt"
/usr/bin/time -v -a -o "$OUT/pretrain.time" $CLI pretrain --data bundled --out "$OUT/mlm" --preset small --minutes 30 --eval-minutes 5 \
  --cased --threads 2 >> "$OUT/pretrain.out" 2>> "$OUT/pretrain.err"
# Held-out sentences (the dev split), one word masked: the 2nd word of the first 12 French and 12 English dev sentences of 5+ words.
[ -f "$OUT/split/dev.tsv" ] || $CLI corpus export --out "$OUT/split" >/dev/null
for col in 1 2; do
  awk -F'\t' -v c=$col '{ k = split($c, w, " ") } k >= 5 && n < 12 { s = w[1] " [MASK]"; for (i = 3; i <= k; i++) s = s " " w[i]; print s; n++ }' "$OUT/split/dev.tsv"
done > "$OUT/fill-mask.in"
for col in 1 2; do
  awk -F'\t' -v c=$col '{ k = split($c, w, " ") } k >= 5 && n < 12 { print w[2]; n++ }' "$OUT/split/dev.tsv"
done > "$OUT/fill-mask.answers"
$CLI fill-mask --model "$OUT/mlm" --top-k 5 --threads 2 < "$OUT/fill-mask.in" > "$OUT/fill-mask.out"
# Clark et al.'s head statistics of the pretrained model beside MiniLM's, on the same English sentence.
SENTENCE="The package could not be installed because a dependency is missing, so the installation was stopped."
$CLI heads --model "$OUT/mlm" --text "$SENTENCE" --out "$OUT/heads-mlm" --no-png --threads 2 > /dev/null 2>> "$OUT/heads.err"
$CLI heads --model minilm --text "$SENTENCE" --out "$OUT/heads-minilm" --no-png --threads 2 > /dev/null 2>> "$OUT/heads.err"
echo "finetune start $(date -u +%FT%TZ)" >> "$OUT/times.txt"
/usr/bin/time -v -o "$OUT/finetune.time" $CLI finetune --model "$OUT/mlm" --out "$OUT/cls" --minutes 20 --epochs 3 --eval-minutes 5 --threads 2 \
  > "$OUT/finetune.out" 2> "$OUT/finetune.err"
# Memory over a long run: the tiny preset for 10,000 steps of 512-token batches, peak RSS at each held-out evaluation (every 30 s).
echo "rss start $(date -u +%FT%TZ)" >> "$OUT/times.txt"
/usr/bin/time -v -o "$OUT/rss-tiny.time" $CLI pretrain --data bundled --out "$OUT/rss-tiny" --preset tiny --max-steps 10000 --batch-tokens 512 --eval-minutes 0.5 \
  --cased --threads 2 > "$OUT/rss-tiny.out" 2> "$OUT/rss-tiny.err"
echo "done $(date -u +%FT%TZ)" >> "$OUT/times.txt"
cat "$OUT/finetune.out"
