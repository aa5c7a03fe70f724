#!/usr/bin/env bash
# Times the offline plan (`npm run plan`) per stack: wall-clock and CPU (user+sys) seconds, each a
# whole process as a user runs it (Node start, TypeScript loading, the mocked build, the policy
# pack, layout and files). Target: under 10 s per stack.
#
#   bash scripts/plan/bench.sh [stack...]      default: dev prod
#   BENCH_RUNS=3 bash scripts/plan/bench.sh    best of 3 per stack
#   BENCH_STRICT=1 ...                          exit 1 when a stack's best wall time is over target
set -euo pipefail
cd "$(dirname "$0")/../.."

runs="${BENCH_RUNS:-1}"
target="${BENCH_TARGET_SECONDS:-10}"
strict="${BENCH_STRICT:-0}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

stacks=("$@")
if [ "${#stacks[@]}" -eq 0 ]; then stacks=(dev prod); fi

tsx=node_modules/.bin/tsx
if [ ! -x "$tsx" ]; then
  echo "bench: $tsx not found; run npm ci first" >&2
  exit 1
fi

over=0
printf '%-8s %10s %10s %8s  %s\n' stack "wall (s)" "cpu (s)" runs result
for stack in "${stacks[@]}"; do
  best_wall=""
  best_cpu=""
  for ((i = 1; i <= runs; i++)); do
    TIMEFORMAT='%R %U %S'
    # `time` reports on stderr of the group; the plan's own output goes to a file.
    # The plan exits 1 on a mandatory violation: that is still a timed run.
    timing="$({ time "$tsx" scripts/plan/plan.ts "$stack" --out "$out" >"$out/$stack.txt" 2>&1 || true; } 2>&1)"
    read -r wall user sys <<<"$timing"
    cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
    if [ -z "$best_wall" ] || awk -v a="$wall" -v b="$best_wall" 'BEGIN { exit !(a < b) }'; then
      best_wall="$wall"
      best_cpu="$cpu"
    fi
  done
  if [ ! -s "$out/$stack.json" ]; then
    echo "bench: the plan for $stack produced no report:" >&2
    cat "$out/$stack.txt" >&2
    exit 1
  fi
  if awk -v a="$best_wall" -v t="$target" 'BEGIN { exit !(a < t) }'; then
    result="ok (< ${target} s)"
  else
    result="OVER ${target} s"
    over=1
  fi
  printf '%-8s %10s %10s %8s  %s\n' "$stack" "$best_wall" "$best_cpu" "$runs" "$result"
done
echo "machine: $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$over" -eq 1 ] && [ "$strict" = "1" ]; then exit 1; fi
