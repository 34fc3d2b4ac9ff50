#!/usr/bin/env bash
# The monitoring stream's cost (docs/monitoring.md), side by side in one run: wrk -t1 -c32 on
# POST /v2/models/pima/infer, batch 1, over four copies of the Pima model in one server --
# monitoring off, rate 0.01, rate 1.0 with full payloads (all to a file sink) -- taken in turns,
# each `--rounds` times, the best of each reported. Appends to docs/benchmarks.md.
#
#   bench/monitoring.sh [--duration 10] [--rounds 2] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=10 rounds=2 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
[ -x "$build/ferry" ] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

repo="$work/models"
declare -A section=(
  [off]=""
  [rate001]="monitoring: {sink: {file: $work/rate001.jsonl}, sampling: {rate: 0.01}}"
  [rate1]="monitoring: {sink: {file: $work/rate1.jsonl}, sampling: {rate: 1.0}, payload: {mode: all}}"
)
for name in off rate001 rate1; do
  mkdir -p "$repo/pima-$name"
  cp -r examples/models/pima/1 "$repo/pima-$name/"
  { cat examples/models/pima/model.yaml; echo "${section[$name]}"; } > "$repo/pima-$name/model.yaml"
done
start_ferry "$repo" --http-threads 2 --grpc-port 0
declare -A best best_p50 best_p99
for round in $(seq "$rounds"); do
  for name in off rate001 rate1; do
    read -r rate p50 p99 errors <<< "$(wrk_pima "http://127.0.0.1:$port/v2/models/pima-$name/infer" 32 "$duration")"
    [ "$errors" = 0 ] || echo "pima-$name: $errors errors" >&2
    if [ -z "${best[$name]:-}" ] || awk "BEGIN {exit !($rate > ${best[$name]})}"; then
      best[$name]=$rate best_p50[$name]=$p50 best_p99[$name]=$p99
    fi
  done
done
records=$(wc -l < "$work/rate1.jsonl")
stop_ferry

ratio() { awk "BEGIN {printf \"%.3f\", $1 / $2}"; }
commit=$(bench_commit)
table=$(cat <<MD
### $(date -u +%Y-%m-%d), commit $commit: \`bench/monitoring.sh --duration $duration --rounds $rounds\`

| monitoring | req/s | p50 ms | p99 ms | vs off |
|---|---|---|---|---|
| off | ${best[off]} | ${best_p50[off]} | ${best_p99[off]} | 1 |
| rate 0.01, file sink | ${best[rate001]} | ${best_p50[rate001]} | ${best_p99[rate001]} | $(ratio "${best[rate001]}" "${best[off]}") |
| rate 1.0, full payloads, file sink | ${best[rate1]} | ${best_p50[rate1]} | ${best_p99[rate1]} | $(ratio "${best[rate1]}" "${best[off]}") |

The rate-1.0 model wrote $records records.
MD
)
echo "$table"
if [ "$record" = 1 ]; then
  echo "$table" | bench/record.py "Monitoring (\`bench/monitoring.sh\`)"
fi
