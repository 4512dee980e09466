#!/bin/bash
# Issue 15 item 5: where a `small` Transformer run's peak resident memory comes from. The same short run (the default
# recipe of `train --arch transformer`, bundled data, 2 threads, 2 minutes of training then one dev evaluation) under
# five settings, one after another on a quiet machine: as shipped (TorchRuntime keeps freed memory in the process:
# glibc's mmap threshold 1 GiB, no trimming, heap grown 256 MiB at a time); without the data-parallel GC fence
# (TRANSFORMERS_GC_FENCE=0); as shipped but glibc limited to 2 malloc arenas (MALLOC_ARENA_MAX=2); glibc's own defaults
# (TRANSFORMERS_KEEP_FREED_MEMORY=0); one worker instead of two. Prints peak RSS (time -v) and target tokens per second.
# A sixth setting gives the memory freed inside glibc's heaps back every 50 steps (TRANSFORMERS_RELEASE_MEMORY_EVERY=50;
# as shipped only around evaluations); two more ask glibc for transparent huge pages (as shipped, and with glibc's
# defaults); two keep freed memory for allocations under 4 MiB only. (The GC fence holds one no-GC region per step since
# 2026-12-06 evening; before, one region over ~50 steps, measured here as "default" until then.)
#   experiments/memory/rss.sh [OUT_DIR] [MINUTES]      (defaults: runs/rss, 2; about 18 minutes)
#   ONLY="default no-gc-fence" experiments/memory/rss.sh ...   runs only the named settings
#   TRAIN_OPTIONS="--batch-tokens 500" experiments/memory/rss.sh ...   the same settings on another recipe
#   ARCH=lstm experiments/memory/rss.sh ...   another architecture's `small` run (default: transformer)
#   MEMORY_LOG=10 experiments/memory/rss.sh ...   each run also writes memory.jsonl every 10 steps (TRANSFORMERS_MEMORY_LOG:
#                                                 resident size, .NET heap, collections, live tensors, glibc's malloc heap)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/rss}
export TRANSFORMERS_MEMORY_LOG="${MEMORY_LOG:-}"
MINUTES=${2:-2}
mkdir -p "$OUT"
if [ -z "${CLI:-}" ]; then
  dotnet build -c Release src/Transformers.Cli >/dev/null
  CLI=src/Transformers.Cli/bin/Release/net10.0/Transformers.Cli
fi
NAMES=()
run() {  # name, env assignments..., -- extra train options...
  local name=$1; shift
  NAMES+=("$name")
  local envs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  [ -f "$OUT/$name.time" ] && return 0
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return 0; fi
  rm -rf "$OUT/$name"
  env "${envs[@]}" /usr/bin/time -v -o "$OUT/$name.time.tmp" $CLI train --arch "${ARCH:-transformer}" --out "$OUT/$name" --minutes "$MINUTES" \
    --eval-minutes "$MINUTES" --patience 0 --threads 2 ${TRAIN_OPTIONS:-} "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  mv "$OUT/$name.time.tmp" "$OUT/$name.time"
}
run default --
run no-gc-fence TRANSFORMERS_GC_FENCE=0 --
# The guards of the data-parallel phase: as shipped since 2026-12-06 evening the finalizer thread is held (FinalizerGate;
# collections run); "region" is one no-GC region per step instead (GcFence, the fallback).
run gc-region-per-step TRANSFORMERS_GC_FENCE=region --
run arena-max-2 MALLOC_ARENA_MAX=2 --
run glibc-defaults TRANSFORMERS_KEEP_FREED_MEMORY=0 --
run one-worker -- --workers 1
run release-50 TRANSFORMERS_RELEASE_MEMORY_EVERY=50 --
# glibc 2.35+ can ask for transparent huge pages on the memory malloc maps (GLIBC_TUNABLES glibc.malloc.hugetlb=1; the
# kernel's THP mode here is "madvise"): as shipped with them, and glibc's defaults with them (large tensors mapped and
# unmapped per use, each faulting in 2 MiB pages instead of 4 KiB ones).
run thp GLIBC_TUNABLES=glibc.malloc.hugetlb=1 --
run thp-glibc-defaults GLIBC_TUNABLES=glibc.malloc.hugetlb=1 TRANSFORMERS_KEEP_FREED_MEMORY=0 --
# Freed memory kept for tensors under 4 MiB only (glibc's heaps, never trimmed); larger ones mapped per use, with and without THP.
run mmap-4mb TRANSFORMERS_KEEP_FREED_MEMORY=0 MALLOC_MMAP_THRESHOLD_=4194304 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456 --
# The same with the line at 32 MiB: only the largest tensors (a 4,000-token batch's logits are 64 MB per worker) mapped per use.
run mmap-32mb TRANSFORMERS_KEEP_FREED_MEMORY=0 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456 --
run mmap-4mb-thp GLIBC_TUNABLES=glibc.malloc.hugetlb=1 TRANSFORMERS_KEEP_FREED_MEMORY=0 MALLOC_MMAP_THRESHOLD_=4194304 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456 --
# Until 2026-12-07 an LSTM trained its decoder's teacher-forced pass (an unpacked batch, with gradients) through oneDNN,
# which creates and caches one primitive per batch shape (up to 1,024). These two settings measured that build: oneDNN
# off (TRANSFORMERS_ONEDNN=0: libtorch's own loop, as the GRU always takes), and oneDNN's cache at 16 primitives. Since
# then RecurrentStack packs every LSTM batch and never reaches oneDNN: on a current build they change nothing.
run onednn-off TRANSFORMERS_ONEDNN=0 --
run onednn-cache-16 ONEDNN_PRIMITIVE_CACHE_CAPACITY=16 --
printf '| setting | peak RSS (MiB) | steps | target tokens/s |\n|---|--:|--:|--:|\n' | tee "$OUT/table.md"
for name in "${NAMES[@]}"; do
  [ -f "$OUT/$name.time" ] || continue
  rss=$(awk -F': ' '/Maximum resident/ { printf "%.0f", $2 / 1024 }' "$OUT/$name.time")
  last=$(grep '"type":"eval"' "$OUT/$name/train.jsonl" | tail -1)
  python3 - "$name" "$rss" "$last" <<'PY'
import json, sys
name, rss, line = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.loads(line)
print(f"| {name} | {rss} | {r['Step']} | {r['TargetTokens'] / r['ElapsedSeconds']:,.0f} |")
PY
done | tee -a "$OUT/table.md"
