#!/bin/bash
# Issue 12, item 2: the sweep behind the default recipes. For each architecture, its default recipe (`train --arch A`,
# the --preset small size) and one knob changed at a time around it — batch size, learning rate, schedule, warmup,
# vocabulary, dropout, model size — each trained 30 minutes on 2 threads, one run at a time on a quiet machine (never
# two at a time, nothing else beside them). Dev BLEU (greedy, first 500 dev pairs) every 5 minutes; the lab draws each
# architecture's curves on one plot. The default should be the run with the best dev BLEU per CPU-minute. The
# Transformer's runs also combine its two best knobs (a higher peak rate with a longer warmup) and repeat the two best
# recipes with a second seed; the recurrent ones add the best rate with a linear decay, and second seeds of the default,
# of the best rate and of it with the decay; then the GRU's search goes on from its new default (2e-3 with a linear
# decay: the lr-2e-3-linear-* lines, that default retrained beside them as the session's control), one knob at a time
# from the best run so far (2,000-token steps, then 1,000, then dropout 0 on top of them); lr-2e-3-batch-1000 is the
# same step size on the small LSTM's default (a constant 2e-3), run beside lr-2e-3 as that session's control, and
# batch-1000 and batch-2000 on the RNN's (a constant 1e-3), beside default retrained as its control. The recurrent
# sizes are not swept here: their parameter-matched presets (`--preset matched`) are item 7's runs
# (experiments/translators/run.sh).
#
# ONLY="default lr-2e-3": train only the named variants (of every architecture given); the plot shows every trained one.
#
# The whole sweep is ~37 runs of ~32 minutes: it takes several sessions. Each run resumes where it stopped and a
# finished run is skipped, so rerun the script (or one architecture of it) until it is done. Each run's log, thinned,
# is kept in git (keep.sh, under $KEEP); a run whose directory is gone but whose log is kept counts as done:
#   experiments/translators/sweep.sh [RUNS_DIR] [ARCHS] [MINUTES]     (defaults: runs/sweep, "transformer gru lstm rnn", 30)
# While the file $RUNS_DIR/PAUSE exists the script waits before each run (to build and test between runs).
# A recurrent default run saves its weights after 1, 2 and 4 M target tokens (off the training clock), as item 7's runs
# do (experiments/translators/run.sh): if the default stays, link it there instead of training it twice, e.g.
#   ln -s ../sweep/gru-default runs/cmp/small-gru
set -uo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-runs/sweep}
ARCHS=${2:-transformer gru lstm rnn}
MINUTES=${3:-30}
KEEP=${KEEP:-experiments/results/translators-sweep/logs}   # where each finished run's thinned log is kept (keep.sh)
mkdir -p "$RUNS"
# CLI=... LAB=...: prebuilt binaries (e.g. copies of the bin directories, so a rebuild during a long sweep changes nothing).
if [ -z "${CLI:-}" ] || [ -z "${LAB:-}" ]; then
  dotnet build -c Release src/Transformers.Cli >/dev/null || exit 1
  dotnet build -c Release experiments/Transformers.Lab >/dev/null || exit 1
fi
CLI=${CLI:-src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli}
LAB=${LAB:-experiments/Transformers.Lab/bin/Release/net10.0/Transformers.Lab}

# One variant per line: NAME|OPTIONS (the default recipe's values are in TranslationRecipe.For). The Transformer's
# sweep is centred on the recipe it started from (peak lr 1e-3, 5 % warmup), spelled out in every line so that the
# script reproduces the same runs whatever the default is now; so is the recurrent sweep's rate (1e-3: the small GRU's
# default became 2e-3 with a linear decay, the small LSTM's a constant 2e-3, after their first runs).
variants() {
  case $1 in
    transformer) cat <<'EOF'
default|--lr 1e-3 --warmup-fraction 0.05
batch-2000|--lr 1e-3 --warmup-fraction 0.05 --batch-tokens 2000
batch-500|--lr 1e-3 --warmup-fraction 0.05 --batch-tokens 500
lr-2e-3|--lr 2e-3 --warmup-fraction 0.05
lr-5e-4|--lr 5e-4 --warmup-fraction 0.05
warmup-15|--lr 1e-3 --warmup-fraction 0.15
cosine|--lr 1e-3 --warmup-fraction 0.05 --lr-decay cosine
lr-2e-3-warmup-15|--lr 2e-3 --warmup-fraction 0.15
vocab-16k|--lr 1e-3 --warmup-fraction 0.05 --vocab-size 16000
dropout-0.1|--lr 1e-3 --warmup-fraction 0.05 --dropout 0.1
base|--lr 1e-3 --warmup-fraction 0.05 --preset base
warmup-15-seed-2|--lr 1e-3 --warmup-fraction 0.15 --seed 2
lr-2e-3-warmup-15-seed-2|--lr 2e-3 --warmup-fraction 0.15 --seed 2
default-seed-2|--lr 1e-3 --warmup-fraction 0.05 --seed 2
EOF
    ;;
    *) cat <<'EOF'
default|--lr 1e-3 --snapshot-tokens 1000000 2000000 4000000
batch-8000|--lr 1e-3 --batch-tokens 8000
batch-2000|--lr 1e-3 --batch-tokens 2000
lr-2e-3|--lr 2e-3
lr-2e-3-batch-2000|--lr 2e-3 --batch-tokens 2000
lr-5e-4|--lr 5e-4
linear|--lr 1e-3 --lr-decay linear --warmup-fraction 0.05
vocab-16k|--lr 1e-3 --vocab-size 16000
dropout-0|--lr 1e-3 --dropout 0
default-seed-2|--lr 1e-3 --seed 2
lr-2e-3-seed-2|--lr 2e-3 --seed 2
lr-2e-3-linear|--lr 2e-3 --lr-decay linear --warmup-fraction 0.05
lr-2e-3-linear-seed-2|--lr 2e-3 --lr-decay linear --warmup-fraction 0.05 --seed 2
lr-2e-3-linear-batch-2000|--lr 2e-3 --lr-decay linear --warmup-fraction 0.05 --batch-tokens 2000
lr-2e-3-linear-batch-1000|--lr 2e-3 --lr-decay linear --warmup-fraction 0.05 --batch-tokens 1000
lr-2e-3-linear-batch-1000-dropout-0|--lr 2e-3 --lr-decay linear --warmup-fraction 0.05 --batch-tokens 1000 --dropout 0
lr-2e-3-batch-1000|--lr 2e-3 --batch-tokens 1000
batch-1000|--lr 1e-3 --batch-tokens 1000
EOF
    ;;
  esac
}

for arch in $ARCHS; do
  curves=()
  while IFS='|' read -r name options; do
    [ -n "$name" ] || continue
    run="$RUNS/$arch-$name"
    kept="$KEEP/$arch-$name"
    if [ ! -d "$run" ] && [ -f "$kept/train.jsonl" ]; then   # trained on another machine: its kept log is the run
      curves+=("$name=$kept")
      continue
    fi
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then
      [ -f "$run/train.jsonl" ] && curves+=("$name=$run")      # trained before: still on the plot
      continue
    fi
    curves+=("$name=$run")
    while [ -e "$RUNS/PAUSE" ]; do sleep 20; done
    for attempt in 1 2 3; do
      # shellcheck disable=SC2086  # the options are words
      if /usr/bin/time -v -a -o "$run.time" $CLI train --arch "$arch" $options --out "$run" --minutes "$MINUTES" --eval-minutes 5 \
        --patience 0 --threads 2 >> "$run.out" 2>> "$run.err"; then
        # Only a finished run's log is kept (in git: run directories do not outlive the machine), since a kept log counts as done.
        experiments/translators/keep.sh "$run" "$kept" >> "$run.out"
        break
      fi
      echo "sweep.sh: attempt $attempt of $run failed; resuming" >> "$run.err"
    done
  done < <(variants "$arch")
  $LAB curves --out "$RUNS/$arch-sweep.png" --table "$RUNS/$arch-sweep.md" --title "$arch: one knob at a time around the default recipe, $MINUTES minutes on 2 threads" "${curves[@]}"
done
