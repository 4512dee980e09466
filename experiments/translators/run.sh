#!/bin/bash
# Issue 6's comparison, as it was run for experiments/results/translators/ (about 65 minutes on 2 cores):
# four parameter-matched Small translators, 30 minutes each on one libtorch thread, two at a time on the two cores
# (transformer + gru, then lstm + rnn), each saving its weights after 0.5, 1, 1.5 and 2 M target tokens; then the lab
# scores every run on the test split and draws the dev BLEU curves.
#   experiments/translators/run.sh [RUNS_DIR]      (default runs/cmp)
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-runs/cmp}
mkdir -p "$RUNS"
dotnet build -c Release src/Transformers.Cli experiments/Transformers.Lab >/dev/null
CLI=src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli
train() { # arch
  /usr/bin/time -v -o "$RUNS/$1.time" $CLI train --arch "$1" --preset small --out "$RUNS/$1" --minutes 30 --eval-minutes 5 \
    --warmup 400 --lr 1e-3 --patience 0 --threads 1 --snapshot-tokens 500000 1000000 1500000 2000000 > "$RUNS/$1.out" 2> "$RUNS/$1.err"
}
train transformer & train gru & wait
train lstm & train rnn & wait
dotnet run -c Release --no-build --project experiments/Transformers.Lab -- translators "$RUNS/transformer" "$RUNS/gru" "$RUNS/lstm" "$RUNS/rnn" \
  --out experiments/results/translators
