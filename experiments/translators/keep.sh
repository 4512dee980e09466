#!/bin/bash
# Keeps what a finished run's report needs, small enough to commit: run.json (its options), its train.jsonl
# thinned to every evaluation, every 100th step and the last step (the lab's `curves --table` reads the evaluations),
# /usr/bin/time's output (RUN_DIR.time) when there is one, and the machine.
# Run directories hold checkpoints of ~100 MB and do not outlive the machine; this copy does, in git.
#   experiments/translators/keep.sh RUN_DIR DEST_DIR
set -euo pipefail
run=${1:?usage: keep.sh RUN_DIR DEST_DIR}
dest=${2:?usage: keep.sh RUN_DIR DEST_DIR}
[ -f "$run/train.jsonl" ] || { echo "keep.sh: $run/train.jsonl: no such file (not a run directory?)" >&2; exit 1; }
mkdir -p "$dest"
cp "$run/run.json" "$dest/run.json.tmp" && mv "$dest/run.json.tmp" "$dest/run.json"
awk '/"type":"eval"/ { print; next }
     /"type":"step"/ { last = $0; if (match($0, /"Step":[0-9]+/) && substr($0, RSTART + 7, RLENGTH - 7) % 100 == 0) { print; last = "" } }
     END { if (last != "") print last }' "$run/train.jsonl" > "$dest/train.jsonl.tmp"
mv "$dest/train.jsonl.tmp" "$dest/train.jsonl"
[ -f "$run.time" ] && cp "$run.time" "$dest/time.txt"
# The machine it ran on (it changes between sessions; compare runs of one machine, or each against its own control).
{ date -u '+kept %Y-%m-%d %H:%M UTC, as the run finished'
  grep -m1 -E '^model name' /proc/cpuinfo; grep -m1 -E '^cpu family' /proc/cpuinfo; grep -m1 -E '^model\s' /proc/cpuinfo
  echo "cores: $(nproc)"; } > "$dest/machine.txt"
echo "kept $run -> $dest ($(wc -l < "$dest/train.jsonl") log lines)"
