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
# The server's own CPU a request, steadier than req/s when the load generator shares the cores:
# cpu_ticks PID is its user+system time in clock ticks; cpu_us TICKS_BEFORE TICKS_AFTER RATE gives
# microseconds a request over a load call (the 2 s warm-up and the run, at the run's rate).
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cpu_us() { awk "BEGIN {printf \"%.1f\", ($2 - $1) * 1e6 / $hz / ($3 * ($duration + 2))}"; }
# measure VAR PID COMMAND...: runs the load command (which prints "req/s p50 p99 errors"), sets
# VAR to its output with the server's CPU µs a request appended.
measure() {
  local var=$1 pid=$2 before result
  shift 2
  before=$(cpu_ticks "$pid")
  result=$("$@")
  printf -v "$var" '%s %s' "$result" "$(cpu_us "$before" "$(cpu_ticks "$pid")" "${result%% *}")"
}
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
better() { [ -z "$2" ] || awk "BEGIN {exit !($1 $3 $2)}"; }  # better NEW OLD OP: NEW beats OLD (or none yet)
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
  measure out "$probe_pid" wrk_pima "http://127.0.0.1:$probe_port/v2/models/pima/infer" 32 "$duration"
  keep bare_http "$out"
  stop_probe
  start_probe ferry_bench_bare_grpc
  measure out "$probe_pid" grpc_rate "$probe_port"
  keep bare_grpc "$out"
  stop_probe
  for mode in handoff inline; do
    grpc_port=$(free_port)
    extra=()
    [ "$mode" = handoff ] && extra=(--inline-below-us 0)
    start_ferry examples/models --grpc-port "$grpc_port" --http-threads 2 "${extra[@]}"
    measure out "$ferry_pid" wrk_pima "http://127.0.0.1:$port/v2/models/pima/infer" 32 "$duration"
    keep "http_$mode" "$out"
    measure out "$ferry_pid" grpc_rate "$grpc_port"
    keep "grpc_$mode" "$out"
    measure out "$ferry_pid" wrk_post "http://127.0.0.1:$port/v2/models/pima-features/infer" "$work/features.json" 32 "$duration"
    keep "features_$mode" "$out"
    measure out "$ferry_pid" wrk_post "http://127.0.0.1:$port/v2/models/pima-pipeline/predict" "$work/predict.json" 32 "$duration"
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

# The table's names for the best figures.
bare_http=${best_rate[bare_http]} bare_http_p50=${best_p50[bare_http]} bare_http_p99=${best_p99[bare_http]}
bare_http_cpu=${best_cpu[bare_http]}
bare_grpc=${best_rate[bare_grpc]} bare_grpc_p50=${best_p50[bare_grpc]} bare_grpc_p99=${best_p99[bare_grpc]}
bare_grpc_cpu=${best_cpu[bare_grpc]}
declare -A http http_p50 http_p99 http_errors http_cpu grpc grpc_p50 grpc_p99 grpc_errors grpc_cpu
declare -A open_http_p50 open_http_p99 open_http_errors open_grpc_p50 open_grpc_p99 open_grpc_errors
declare -A features features_p50 features_p99 features_cpu predict predict_p50 predict_p99 predict_errors predict_cpu
for mode in handoff inline; do
  for name in http grpc features predict; do
    key="${name}_$mode"
    declare -n rate_of=$name p50_of=${name}_p50 p99_of=${name}_p99 cpu_of=${name}_cpu
    rate_of[$mode]=${best_rate[$key]} p50_of[$mode]=${best_p50[$key]} p99_of[$mode]=${best_p99[$key]}
    cpu_of[$mode]=${best_cpu[$key]}
    unset -n rate_of p50_of p99_of cpu_of
  done
  http_errors[$mode]=${sum_errors[http_$mode]} grpc_errors[$mode]=${sum_errors[grpc_$mode]}
  predict_errors[$mode]=${sum_errors[predict_$mode]}
  open_http_p50[$mode]=${best_p50[open_http_$mode]} open_http_p99[$mode]=${best_p99[open_http_$mode]}
  open_http_errors[$mode]=${sum_errors[open_http_$mode]}
  open_grpc_p50[$mode]=${best_p50[open_grpc_$mode]} open_grpc_p99[$mode]=${best_p99[open_grpc_$mode]}
  open_grpc_errors[$mode]=${sum_errors[open_grpc_$mode]}
done

ratio() { awk "BEGIN {printf \"%.2f\", $1 / $2}"; }
commit=$(bench_commit)
table=$(cat <<MD
### $(date -u +%Y-%m-%d), commit $commit: \`bench/hot_path.sh --duration $duration --rounds $rounds\`

| path | req/s | p50 ms | p99 ms | ratio | server CPU µs a request | CPU ratio |
|---|---|---|---|---|---|---|
| bare Beast, fixed answer | $bare_http | $bare_http_p50 | $bare_http_p99 | 1 | $bare_http_cpu | 1 |
| ferry HTTP JSON /infer, pima, hand-off | ${http[handoff]} | ${http_p50[handoff]} | ${http_p99[handoff]} | $(ratio "${http[handoff]}" "$bare_http") of bare Beast | ${http_cpu[handoff]} | $(ratio "${http_cpu[handoff]}" "$bare_http_cpu") |
| ferry HTTP JSON /infer, pima, inline | ${http[inline]} | ${http_p50[inline]} | ${http_p99[inline]} | $(ratio "${http[inline]}" "$bare_http") of bare Beast | ${http_cpu[inline]} | $(ratio "${http_cpu[inline]}" "$bare_http_cpu") |
| bare gRPC callback server, fixed answer | $bare_grpc | $bare_grpc_p50 | $bare_grpc_p99 | 1 | $bare_grpc_cpu | 1 |
| ferry gRPC ModelInfer, pima, hand-off | ${grpc[handoff]} | ${grpc_p50[handoff]} | ${grpc_p99[handoff]} | $(ratio "${grpc[handoff]}" "$bare_grpc") of bare gRPC | ${grpc_cpu[handoff]} | $(ratio "${grpc_cpu[handoff]}" "$bare_grpc_cpu") |
| ferry gRPC ModelInfer, pima, inline | ${grpc[inline]} | ${grpc_p50[inline]} | ${grpc_p99[inline]} | $(ratio "${grpc[inline]}" "$bare_grpc") of bare gRPC | ${grpc_cpu[inline]} | $(ratio "${grpc_cpu[inline]}" "$bare_grpc_cpu") |
| ferry /infer, pima-features, hand-off | ${features[handoff]} | ${features_p50[handoff]} | ${features_p99[handoff]} | 1 | ${features_cpu[handoff]} | 1 |
| ferry /predict, pima-pipeline (1 record), hand-off | ${predict[handoff]} | ${predict_p50[handoff]} | ${predict_p99[handoff]} | $(ratio "${predict[handoff]}" "${features[handoff]}") of /infer | ${predict_cpu[handoff]} | $(ratio "${predict_cpu[handoff]}" "${features_cpu[handoff]}") |
| ferry /infer, pima-features, inline | ${features[inline]} | ${features_p50[inline]} | ${features_p99[inline]} | 1 | ${features_cpu[inline]} | 1 |
| ferry /predict, pima-pipeline (1 record), inline | ${predict[inline]} | ${predict_p50[inline]} | ${predict_p99[inline]} | $(ratio "${predict[inline]}" "${features[inline]}") of /infer | ${predict_cpu[inline]} | $(ratio "${predict_cpu[inline]}" "${features_cpu[inline]}") |

Open loop (\`ferry bench --request-rate\`, latency from when each request was due), pima:

| load | hand-off p50 ms | hand-off p99 ms | inline p50 ms | inline p99 ms |
|---|---|---|---|---|
| HTTP JSON, 15,000 req/s | ${open_http_p50[handoff]} | ${open_http_p99[handoff]} | ${open_http_p50[inline]} | ${open_http_p99[inline]} |
| gRPC, 5,000 req/s | ${open_grpc_p50[handoff]} | ${open_grpc_p99[handoff]} | ${open_grpc_p50[inline]} | ${open_grpc_p99[inline]} |

Errors (hand-off, inline): HTTP ${http_errors[handoff]}, ${http_errors[inline]}; gRPC ${grpc_errors[handoff]}, ${grpc_errors[inline]}; /predict ${predict_errors[handoff]}, ${predict_errors[inline]}; open loop HTTP ${open_http_errors[handoff]}, ${open_http_errors[inline]}, gRPC ${open_grpc_errors[handoff]}, ${open_grpc_errors[inline]}.
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
