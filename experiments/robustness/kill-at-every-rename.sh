#!/usr/bin/env bash
# Kills `train` (kill -9, injected by strace) at each rename(2) a short run makes — every file and checkpoint swap —,
# reruns the same command, and checks that the resumed run ends bit-identical to an uninterrupted one (last/, best/,
# averaged/ weights), leaves no temporary directory, and logs steps 1..4 once each.
# Usage: experiments/robustness/kill-at-every-rename.sh [WORKDIR]     (needs strace; ~2 minutes)
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work" && cd "$work"
dotnet build -c Release "$repo/src/Transformers.Cli" >/dev/null || exit 1
C="$repo/src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli"
$C corpus export --out split >/dev/null 2>&1 || exit 1
head -400 split/train.tsv > corpus.tsv
ARGS=(--data corpus.tsv --preset tiny --vocab-size 200 --threads 1 --max-steps 4 --eval-every 1 --dev-bleu-sentences 4 --average 2)
rm -rf ref count
$C train "${ARGS[@]}" --out ref >/dev/null 2>&1 || exit 1
total=$(strace -f -c -e trace=rename,renameat,renameat2 "$C" train "${ARGS[@]}" --out count 2>&1 >/dev/null | awk '/rename/ {s+=$4} END {print s}')
echo "renames in one run: $total"
ok=0; bad=0
for n in $(seq 1 "$total"); do
  rm -rf run
  strace -f -o /dev/null -e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL:when=$n \
    "$C" train "${ARGS[@]}" --out run >/dev/null 2>&1
  said=$("$C" train "${ARGS[@]}" --out run 2>&1 | grep -E "^recovered|^error" | tr '\n' ' ')
  left=$(find run -name "*.tmp" -o -name "*.old" | wc -l)
  steps=$(grep -o '"type":"step","Step":[0-9]*' run/train.jsonl | grep -o '[0-9]*$' | tr '\n' ' ')
  if cmp -s ref/last/model.safetensors run/last/model.safetensors && cmp -s ref/best/model.safetensors run/best/model.safetensors \
     && cmp -s ref/averaged/model.safetensors run/averaged/model.safetensors && [ "$left" = 0 ] && [ "$steps" = "1 2 3 4 " ]; then
    ok=$((ok + 1)); echo "rename $n: identical. $said"
  else
    bad=$((bad + 1)); echo "rename $n: DIFFERENT (leftovers $left, steps: $steps). $said"
  fi
done 2>/dev/null
echo "kill points: $ok resumed bit-identical, $bad not"
[ "$bad" = 0 ]
