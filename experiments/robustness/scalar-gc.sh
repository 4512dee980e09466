#!/bin/bash
# The TorchSharp implicit-Scalar hazard (see src/Transformers/Training/GcFence.cs), made frequent and measured: the lab's
# `scalar-gc` stress ROUNDS times without the fence and ROUNDS times with it, SECONDS each, one at a time on a quiet
# machine. A run that crashes exits 134 (SIGABRT) or 139; a wrong result exits 1. Writes scalar-gc.log beside this script.
#   experiments/robustness/scalar-gc.sh [ROUNDS] [SECONDS]      (defaults: 5, 60)
set -uo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-5}; SECONDS_EACH=${2:-60}
dotnet build -c Release experiments/Transformers.Lab >/dev/null || exit 1
LAB=experiments/Transformers.Lab/bin/Release/net10.0/Transformers.Lab
LOG=experiments/robustness/scalar-gc.log
echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x$(nproc), commit $(git rev-parse --short HEAD)" > "$LOG"
for mode in "" "--fence"; do
  for round in $(seq "$ROUNDS"); do
    $LAB scalar-gc $mode --seconds "$SECONDS_EACH" > "$LOG.run" 2>&1
    code=$?
    echo "round $round ${mode:-(no fence)}: exit $code: $(grep -E "scalar-gc|Expected|rror" "$LOG.run" | head -3 | tr '\n' ' ')" | tee -a "$LOG"
  done
done
rm -f "$LOG.run"
