#!/bin/bash
# Issue 12, item 3: tokens/s of a Small Transformer training step (dropout 0, 1,000-token batches per worker unless
# given), one run at a time on a quiet machine. Compare runs of one invocation only (the machine changes between days).
#   experiments/results/translation/speed/run-speed.sh OUT_DIR [CLI]
set -euo pipefail
OUT=${1:?OUT_DIR}; B=${2:-src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli}
mkdir -p "$OUT"
[ -f "$OUT/split/train.tsv" ] || $B corpus export --out "$OUT/split" >/dev/null
run() { name=$1; shift; rm -rf "$OUT/$name"; "$B" train --arch transformer --data "$OUT/split" --out "$OUT/$name" --max-steps 80 --patience 0 --dev-bleu-sentences 1 --dropout 0 "$@" > "$OUT/$name.log" 2>&1
  python3 - "$OUT/$name/train.jsonl" "$name" <<'PY'
import json, sys
rs = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "step"]
tail = rs[10:]                                   # the first 10 steps warm up
tok = sum(r["Tokens"] for r in tail); sec = tail[-1]["ElapsedSeconds"] - rs[9]["ElapsedSeconds"]
print(f"{sys.argv[2]:12s} {tok / sec:7.0f} target tok/s over steps 11-{len(rs)}")
PY
}
run threads1          --threads 1 --workers 1 --batch-tokens 1000
run threads2          --threads 2 --workers 1 --batch-tokens 1000
run threads2-workers2 --threads 2 --workers 2 --batch-tokens 2000
