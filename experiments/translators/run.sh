#!/bin/bash
# Issue 12's comparison of the four translators on trained models: each architecture 30 minutes of training on 2 threads
# with its default recipe (--preset small: the quality-per-CPU-minute size), one run after another on a quiet machine
# (never two at a time), then the same with the parameter-matched sizes (--preset matched). Each run saves its weights
# after 1, 2 and 4 M target tokens for the equal-data table. The lab then scores every run on the first 2,000 test
# sentences (greedy and beam 4, BLEU/chrF with signatures, decoding speed) and draws the dev BLEU curves.
# About 4 h 30 of machine time; each run resumes where it stopped when the script is rerun.
#   experiments/translators/run.sh [RUNS_DIR] [PRESETS]      (defaults: runs/cmp, "small matched")
# CLI=... LAB=... (executables) run a snapshot instead of building this checkout, so that the checkout can change
# meanwhile; while the file $RUNS/PAUSE exists the script waits before each run (e.g. to build and test between runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-runs/cmp}
PRESETS=${2:-small matched}
mkdir -p "$RUNS"
if [ -z "${CLI:-}" ]; then
  dotnet build -c Release src/Transformers.Cli >/dev/null
  CLI=src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli
fi
if [ -z "${LAB:-}" ]; then
  dotnet build -c Release experiments/Transformers.Lab >/dev/null
  LAB=experiments/Transformers.Lab/bin/Release/net10.0/Transformers.Lab
fi
for preset in $PRESETS; do
  for arch in transformer gru lstm rnn; do
    run="$RUNS/$preset-$arch"
    while [ -e "$RUNS/PAUSE" ]; do sleep 20; done
    # A run that stops (a crash, a kill) is resumed from its last/ checkpoint; its training clock goes on where it was.
    for attempt in 1 2 3; do
      if /usr/bin/time -v -a -o "$run.time" $CLI train --arch "$arch" --preset "$preset" --out "$run" --minutes 30 --eval-minutes 5 \
        --patience 0 --threads 2 --snapshot-tokens 1000000 2000000 4000000 >> "$run.out" 2>> "$run.err"; then break; fi
      echo "run.sh: attempt $attempt of $run failed; resuming" >> "$run.err"
      [ "$attempt" = 3 ] && exit 1
    done
    experiments/translators/keep.sh "$run" "experiments/results/translators-$preset/logs/$preset-$arch" >> "$run.out"
  done
  $LAB translators "$RUNS/$preset-transformer" "$RUNS/$preset-gru" \
    "$RUNS/$preset-lstm" "$RUNS/$preset-rnn" --limit 2000 --out "experiments/results/translators-$preset" \
    --title "Four translators, --preset $preset, 30 minutes each on 2 threads"
done
