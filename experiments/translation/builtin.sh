#!/bin/bash
# Issue 12 item 5: train the built-in French->English translator and export it. The Transformer's default recipe
# (`--preset small`, budget-aware warmup and decay) with dropout 0.1 and checkpoint averaging, MINUTES of training on
# 2 threads; then best/ and averaged/ are scored on the first 1,000 dev pairs (greedy) and the better one is exported in
# float16 and scored on the first 2,000 test pairs (greedy and beam 4), and written to OUT with that score in its
# provenance. Copy OUT over src/Transformers/BuiltIn/fr-en if it beats the shipped model. Nothing else may run meanwhile.
# Rerunning resumes the training where it stopped (its last/ checkpoint; the training clock goes on) and redoes the rest.
#   experiments/translation/builtin.sh [RUN_DIR] [MINUTES] [OUT]    (defaults: runs/fr-en, 130, RUN_DIR/builtin)
# CLI=... runs a snapshot of the CLI instead of building this checkout (so that the checkout can change meanwhile).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=${1:-runs/fr-en}
MINUTES=${2:-130}
OUT=${3:-$RUN/builtin}
if [ -z "${CLI:-}" ]; then
  dotnet build -c Release src/Transformers.Cli >/dev/null
  CLI=src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli
fi
mkdir -p "$(dirname "$RUN")"
TRAIN=(train --arch transformer --preset small --data bundled --out "$RUN" --minutes "$MINUTES" --eval-minutes 10 --patience 0
       --dropout 0.1 --average 4)
RECIPE="transformers ${TRAIN[*]}"                                   # the provenance names the command that trained it
for attempt in 1 2 3; do
  if /usr/bin/time -v -a -o "$RUN.time" $CLI "${TRAIN[@]}" --threads 2 >> "$RUN.out" 2>> "$RUN.err"; then break; fi
  echo "builtin.sh: attempt $attempt of $RUN failed; resuming" >> "$RUN.err"
  [ "$attempt" = 3 ] && exit 1
done
experiments/translators/keep.sh "$RUN" experiments/results/translation/builtin/log
bleu() { awk '/^BLEU = / { print $3; exit }'; }
best=$($CLI evaluate --model "$RUN/best" --split dev --limit 1000 --beam 1 --threads 2 | tee "$RUN/dev-best.txt" | bleu)
averaged=$($CLI evaluate --model "$RUN/averaged" --split dev --limit 1000 --beam 1 --threads 2 | tee "$RUN/dev-averaged.txt" | bleu)
pick=$(awk -v b="$best" -v a="$averaged" 'BEGIN { print (a > b) ? "averaged" : "best" }')
echo "dev BLEU (first 1,000 pairs, greedy): best $best, averaged $averaged -> exporting $pick"
$CLI export-model --model "$RUN" --checkpoint "$pick" --out "$RUN/export" --data bundled --recipe "$RECIPE" \
  --commit "$(git rev-parse --short HEAD)" > /dev/null
greedy=$($CLI evaluate --model "$RUN/export" --split test --limit 2000 --beam 1 --threads 2 | tee "$RUN/test-greedy.txt" | bleu)
beam=$($CLI evaluate --model "$RUN/export" --split test --limit 2000 --beam 4 --threads 2 | tee "$RUN/test-beam4.txt" | bleu)
echo "test BLEU (first 2,000 pairs) of the exported float16 weights: greedy $greedy, beam 4 $beam"
# The provenance records the test BLEU it was exported with: export again with it, into OUT.
$CLI export-model --model "$RUN" --checkpoint "$pick" --out "$OUT" --data bundled --recipe "$RECIPE" \
  --commit "$(git rev-parse --short HEAD)" --test-bleu "$beam" > /dev/null
echo "exported to $OUT; the shipped model scores as experiments/results/translation/builtin/report.md says"
