#!/usr/bin/env bash
# ferry's per-request path against the bare probes, side by side in one run (issue "lean and
# fast"): wrk -t1 -c32 for HTTP JSON, `ferry bench` with 16 calls in flight for gRPC, batch 1:
#   - bare Beast (bench/probes/bare_http.cc: parse, fixed answer) vs ferry POST /v2/models/pima/infer;
#   - bare gRPC callback server (bench/probes/bare_grpc.cc) vs ferry's gRPC ModelInfer on pima;
#   - /v2/models/pima-pipeline/predict (one record) vs /v2/models/pima-features/infer (the same
#     row as the engineered tensor), the pipeline's cost.
# Every server gets the same I/O threads (2, the cores here); the client shares the 2 cores, so the
# figures are lower than on a machine with a separate client. ferry runs twice, with every request
# handed to the model's worker (--inline-below-us 0) and with inline execution (the default). With
# --profile, perf samples ferry (inline) under the HTTP load and the top symbols are printed.
# Appends to docs/benchmarks.md.
#
# With --rounds N the whole sequence (probes, then ferry both ways) runs N times in turns and each
# figure is the best of the N (the highest req/s, the lowest latencies and CPU; errors summed):
# this machine's speed moves by 20-30% over minutes, which a single pass attributes to whichever
# server ran then.
#
#   bench/hot_path.sh [--duration 10] [--rounds 1] [--profile] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=10 rounds=1 record=1 profile=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --profile) profile=1; shift ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
for b in ferry ferry_bench_bare_http ferry_bench_bare_grpc; do
  [ -x "$build/$b" ] || { echo "build first: make build ($b)" >&2; exit 1; }
done
work=$(mktemp -d)
source bench/lib.sh
probe_pid=""
trap 'cleanup; [ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null || true' EXIT

# start_probe BINARY: starts it on a free port (in $probe_port).
start_probe() {
  probe_port=$(free_port)
  "$build/$1" "$probe_port" > "$work/probe.log" 2>&1 &
  probe_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/probe.log" && return 0; sleep 0.1; done
  cat "$work/probe.log" >&2
  return 1
}
stop_probe() { kill "$probe_pid" 2>/dev/null; wait "$probe_pid" 2>/dev/null || true; probe_pid=""; }
# grpc_rate PORT: requests/s, p50 and p99 ms of `ferry bench` over gRPC, 16 in flight.
grpc_rate() {
  "$build/ferry" bench --url "127.0.0.1:$1" --protocol grpc --model pima --concurrency-range 16 \
    --duration "$duration" --warmup 2 --json |
    /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print("%.0f %.2f %.2f %d" % (r["throughput"], r["p50_ms"], r["p99_ms"], r["errors"]))'
}
# open_loop PROTOCOL URL RATE: "p50_ms p99_ms errors" of `ferry bench` sending RATE requests/s
# whatever the answers do (latency from when each request was due): the tail at a load the server
# carries, which the closed-loop runs above (32 connections saturating two shared cores) do not show.
open_loop() {
  "$build/ferry" bench --url "$2" --protocol "$1" --model pima --request-rate "$3" --duration "$duration" --warmup 2 --json |
    /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; print("%.3f %.3f %d" % (r["p50_ms"], r["p99_ms"], r["errors"]))'
}
echo '{"preg": 6, "plas": 148, "pres": 72, "skin": 35, "test": 0, "mass": 33.6, "pedi": 0.627, "age": 50}' \
  > "$work/predict.json"
echo '{"inputs":[{"name":"features","shape":[1,9],"datatype":"FP32","data":[6,148,72,35,0,3.5439,0.627,50,1]}]}' \
  > "$work/features.json"

# keep KEY "req/s p50 p99 errors [cpu]": folds one measurement into the best of the rounds.
declare -A best_rate best_p50 best_p99 sum_errors best_cpu
keep() {
  local key=$1 rate p50 p99 errors cpu
  read -r rate p50 p99 errors cpu <<< "$2"
  if better "$rate" "${best_rate[$key]:-}" ">"; then best_rate[$key]=$rate; fi
  if better "$p50" "${best_p50[$key]:-}" "<"; then best_p50[$key]=$p50; fi
  if better "$p99" "${best_p99[$key]:-}" "<"; then best_p99[$key]=$p99; fi
  if [ -n "${cpu:-}" ] && better "$cpu" "${best_cpu[$key]:-}" "<"; then best_cpu[$key]=$cpu; fi
  sum_errors[$key]=$(( ${sum_errors[$key]:-0} + errors ))
}

# ferry twice in each round: handing every request to the model's worker thread
# (--inline-below-us 0), then with inline execution (the default).
profile_text=""
for round in $(seq "$rounds"); do
  start_probe ferry_bench_bare_http
  with_cpu out "$probe_pid" wrk_pima "http://127.0.0.1:$probe_port/v2/models/pima/infer" 32 "$duration"
  keep bare_http "$out"
  stop_probe
  start_probe ferry_bench_bare_grpc
  with_cpu out "$probe_pid" grpc_rate "$probe_port"
  keep bare_grpc "$out"
  stop_probe
  for mode in handoff inline; do
    grpc_port=$(free_port)
    extra=()
    [ "$mode" = handoff ] && extra=(--inline-below-us 0)
    start_ferry examples/models --grpc-port "$grpc_port" --http-threads 2 "${extra[@]}"
    with_cpu out "$ferry_pid" wrk_pima "http://127.0.0.1:$port/v2/models/pima/infer" 32 "$duration"
    keep "http_$mode" "$out"
    with_cpu out "$ferry_pid" grpc_rate "$grpc_port"
    keep "grpc_$mode" "$out"
    with_cpu out "$ferry_pid" wrk_post "http://127.0.0.1:$port/v2/models/pima-features/infer" "$work/features.json" 32 "$duration"
    keep "features_$mode" "$out"
    with_cpu out "$ferry_pid" wrk_post "http://127.0.0.1:$port/v2/models/pima-pipeline/predict" "$work/predict.json" 32 "$duration"
    keep "predict_$mode" "$out"
    keep "open_http_$mode" "0 $(open_loop http "127.0.0.1:$port" 15000)"
    keep "open_grpc_$mode" "0 $(open_loop grpc "127.0.0.1:$grpc_port" 5000)"
    if [ "$round" = 1 ] && [ "$mode" = inline ] && [ "$profile" = 1 ] && command -v perf > /dev/null; then
      wrk_pima "http://127.0.0.1:$port/v2/models/pima/infer" 32 "$duration" > /dev/null &
      load_pid=$!
      sleep 3
      perf record -F 999 -g -p "$ferry_pid" -o "$work/perf.data" -- sleep 5 > /dev/null 2>&1 || true
      wait "$load_pid"
      profile_text=$(perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2> /dev/null |
        grep -E '^ +[0-9]' | awk '{$1=$1; print substr($0, 1, 120)}' | head -30 || true)
    fi
    stop_ferry
  done
done

ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
# row LABEL KEY BASE_KEY OF: a table row of the best figures kept under KEY, its req/s and CPU
# against BASE_KEY's (the ratio column says OF, e.g. "of bare Beast"; 1 for the base itself).
row() {
  local req_ratio=1 cpu_ratio=1
  if [ "$2" != "$3" ]; then
    req_ratio="$(ratio "${best_rate[$2]}" "${best_rate[$3]}") $4"
    cpu_ratio=$(ratio "${best_cpu[$2]}" "${best_cpu[$3]}")
  fi
  echo "| $1 | ${best_rate[$2]} | ${best_p50[$2]} | ${best_p99[$2]} | $req_ratio | ${best_cpu[$2]} | $cpu_ratio |"
}
# errors NAME LABEL: "LABEL h, i", the errors of the hand-off and inline runs, every round.
errors() { echo "$2 ${sum_errors[$1_handoff]}, ${sum_errors[$1_inline]}"; }
commit=$(bench_commit)
table=$(cat <<MD
### $(date -u +%Y-%m-%d), commit $commit: \`bench/hot_path.sh --duration $duration --rounds $rounds\`

| path | req/s | p50 ms | p99 ms | ratio | server CPU µs a request | CPU ratio |
|---|---|---|---|---|---|---|
$(row "bare Beast, fixed answer" bare_http bare_http "")
$(row "ferry HTTP JSON /infer, pima, hand-off" http_handoff bare_http "of bare Beast")
$(row "ferry HTTP JSON /infer, pima, inline" http_inline bare_http "of bare Beast")
$(row "bare gRPC callback server, fixed answer" bare_grpc bare_grpc "")
$(row "ferry gRPC ModelInfer, pima, hand-off" grpc_handoff bare_grpc "of bare gRPC")
$(row "ferry gRPC ModelInfer, pima, inline" grpc_inline bare_grpc "of bare gRPC")
$(row "ferry /infer, pima-features, hand-off" features_handoff features_handoff "")
$(row "ferry /predict, pima-pipeline (1 record), hand-off" predict_handoff features_handoff "of /infer")
$(row "ferry /infer, pima-features, inline" features_inline features_inline "")
$(row "ferry /predict, pima-pipeline (1 record), inline" predict_inline features_inline "of /infer")

Open loop (\`ferry bench --request-rate\`, latency from when each request was due), pima:

| load | hand-off p50 ms | hand-off p99 ms | inline p50 ms | inline p99 ms |
|---|---|---|---|---|
| HTTP JSON, 15,000 req/s | ${best_p50[open_http_handoff]} | ${best_p99[open_http_handoff]} | ${best_p50[open_http_inline]} | ${best_p99[open_http_inline]} |
| gRPC, 5,000 req/s | ${best_p50[open_grpc_handoff]} | ${best_p99[open_grpc_handoff]} | ${best_p50[open_grpc_inline]} | ${best_p99[open_grpc_inline]} |

Errors (hand-off, inline): $(errors http HTTP); $(errors grpc gRPC); $(errors predict /predict); $(errors open_http "open loop HTTP"); $(errors open_grpc "open loop gRPC").
MD
)
if [ -n "$profile_text" ]; then
  table=$(printf '%s\n\nperf, ferry under the HTTP /infer load (self time by library and symbol, top 30):\n\n```\n%s\n```\n' \
    "$table" "$profile_text")
fi
echo "$table"
if [ "$record" = 1 ]; then
  echo "$table" | bench/record.py "Per-request path (\`bench/hot_path.sh\`)"
fi
