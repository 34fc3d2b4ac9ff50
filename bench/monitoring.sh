#!/usr/bin/env bash
# The monitoring stream's cost (docs/monitoring.md), side by side in one run: wrk -t1 -c32 on
# POST /v2/models/pima/infer, batch 1, over four copies of the Pima model in one server --
# monitoring off, rate 0.01, rate 1.0 with full payloads (all to a file sink) -- taken in turns,
# each `--rounds` times, the best of each reported; then the unmonitored model again in a second
# server with tracing on at rate 1.0 (--trace-file), rounds alternating with the first server's.
# Appends to docs/benchmarks.md.
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
# ferry's CPU a request (bench/lib.sh with_cpu): steadier than throughput on a machine whose two
# cores wrk shares -- the lowest of the rounds is kept.
start_ferry "$repo" --http-threads 2 --grpc-port 0
declare -A best best_p50 best_p99 best_cpu
for round in $(seq "$rounds"); do
  for name in off rate001 rate1; do
    with_cpu out "$ferry_pid" wrk_pima "http://127.0.0.1:$port/v2/models/pima-$name/infer" 32 "$duration"
    read -r rate p50 p99 errors cpu <<< "$out"
    [ "$errors" = 0 ] || echo "pima-$name: $errors errors" >&2
    if better "$rate" "${best[$name]:-}" ">"; then best[$name]=$rate best_p50[$name]=$p50 best_p99[$name]=$p99; fi
    if better "$cpu" "${best_cpu[$name]:-}" "<"; then best_cpu[$name]=$cpu; fi
  done
done
# What the fully recorded model did with its records (sent, or dropped with the queue full).
records=$(curl -s "http://127.0.0.1:$port/v2/monitoring" | /usr/bin/python3 -c '
import json, sys
for m in json.load(sys.stdin)["monitoring"]:
    if m["model"] == "pima-rate1":
        print("sent %d, dropped with the queue full %d" % (m["sent"], m["dropped_full"]))')
plain_port=$port plain_pid=$ferry_pid
ferry_pid=""
start_ferry "$repo" --http-threads 2 --grpc-port 0 --trace-file "$work/spans.jsonl" --trace-rate 1.0
traced_port=$port traced_pid=$ferry_pid
best_off2="" best_traced=""
off2_cpu="" traced_cpu=""
for round in $(seq "$rounds"); do
  with_cpu out "$plain_pid" wrk_pima "http://127.0.0.1:$plain_port/v2/models/pima-off/infer" 32 "$duration"
  read -r rate p50 p99 _ cpu <<< "$out"
  if better "$cpu" "$off2_cpu" "<"; then off2_cpu=$cpu; fi
  if better "$rate" "$best_off2" ">"; then best_off2=$rate off2_p50=$p50 off2_p99=$p99; fi
  with_cpu out "$traced_pid" wrk_pima "http://127.0.0.1:$traced_port/v2/models/pima-off/infer" 32 "$duration"
  read -r rate p50 p99 _ cpu <<< "$out"
  if better "$cpu" "$traced_cpu" "<"; then traced_cpu=$cpu; fi
  if better "$rate" "$best_traced" ">"; then best_traced=$rate traced_p50=$p50 traced_p99=$p99; fi
done
spans=$(curl -s "http://127.0.0.1:$traced_port/metrics" | awk -F'[{}"]' '/^ferry_trace_spans_total/ {sub(/^ /, "", $5); printf "%s%s %s", sep, $3, $5; sep=", "}')
stop_ferry
ferry_pid=$plain_pid
stop_ferry

ratio() { awk "BEGIN {printf \"%.3f\", $1 / $2}"; }
commit=$(bench_commit)
table=$(cat <<MD
### $(date -u +%Y-%m-%d), commit $commit: \`bench/monitoring.sh --duration $duration --rounds $rounds\`

| monitoring | req/s | p50 ms | p99 ms | vs off | ferry CPU µs a request | vs off |
|---|---|---|---|---|---|---|
| off | ${best[off]} | ${best_p50[off]} | ${best_p99[off]} | 1 | ${best_cpu[off]} | 1 |
| rate 0.01, file sink | ${best[rate001]} | ${best_p50[rate001]} | ${best_p99[rate001]} | $(ratio "${best[rate001]}" "${best[off]}") | ${best_cpu[rate001]} | $(ratio "${best_cpu[rate001]}" "${best_cpu[off]}") |
| rate 1.0, full payloads, file sink | ${best[rate1]} | ${best_p50[rate1]} | ${best_p99[rate1]} | $(ratio "${best[rate1]}" "${best[off]}") | ${best_cpu[rate1]} | $(ratio "${best_cpu[rate1]}" "${best_cpu[off]}") |

| tracing | req/s | p50 ms | p99 ms | vs off | ferry CPU µs a request | vs off |
|---|---|---|---|---|---|---|
| off (the first server's unmonitored model, in turns) | $best_off2 | $off2_p50 | $off2_p99 | 1 | $off2_cpu | 1 |
| rate 1.0, --trace-file | $best_traced | $traced_p50 | $traced_p99 | $(ratio "$best_traced" "$best_off2") | $traced_cpu | $(ratio "$traced_cpu" "$off2_cpu") |

The rate-1.0 model's records: $records. The traced server's spans: $spans.
MD
)
echo "$table"
if [ "$record" = 1 ]; then
  echo "$table" | bench/record.py "Monitoring (\`bench/monitoring.sh\`)"
fi
