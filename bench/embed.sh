#!/usr/bin/env bash
# The price of the network layer: the Pima model (batch 1) through the embedding API in-process
# (bench/embed_loop.cc: one call after another, then 16 in flight with callbacks), beside the
# backend alone (bench/backend_loop.cc: ONNX Runtime on one thread, no scheduler), through the
# Python module (one call after another from Python, numpy in and out), and beside
# `ferry serve` over HTTP JSON (wrk, 32 connections, loopback), in one run. Appends to
# docs/benchmarks.md.
#
#   bench/embed.sh [--duration 10] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
for program in ferry ferry_bench_backend_loop ferry_bench_embed_loop; do
  [ -x "$build/$program" ] || { echo "build first: make build" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh installs it" >&2; exit 1; }
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

read -r ort_rps _ ort_p50 ort_p99 < <("$build/ferry_bench_backend_loop" examples/models/pima "$duration")
read -r seq_rps seq_p50 seq_p99 conc_rps < <(FERRY_BACKEND_DIRECTORY="$build/backends" \
  "$build/ferry_bench_embed_loop" examples/models "$duration" 16)

# The Python module (import ferry), one call after another from Python: numpy in and out.
py_row=""
if [ -d "$build/python" ]; then
  read -r py_rps py_p50 py_p99 < <(PYTHONPATH="$build/python" /usr/bin/python3 - examples/models "$duration" <<'PY'
import sys, time
import numpy as np
import ferry
with ferry.Server(sys.argv[1]) as s:
    x = {"features": np.array([[6, 148, 72, 35, 0, 33.6, 0.627, 50]], dtype=np.float32)}
    for _ in range(2000):
        s.infer("pima", x)
    latencies, end = [], time.perf_counter() + float(sys.argv[2])
    while time.perf_counter() < end:
        t = time.perf_counter()
        s.infer("pima", x)
        latencies.append(time.perf_counter() - t)
    latencies.sort()
    print(f"{len(latencies) / float(sys.argv[2]):.0f} {latencies[len(latencies) // 2] * 1e6:.1f} "
          f"{latencies[len(latencies) * 99 // 100] * 1e6:.1f}")
PY
)
  py_row="| Python module: \`s.infer\`, one thread | 1 | $py_rps | $py_p50 | $py_p99 |"
fi

start_ferry examples/models --http-threads 2
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"features","shape":[1,8],"datatype":"FP32","data":[6,148,72,35,0,33.6,0.627,50]}]}'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.0f %.0f\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99)))
end
LUA
url="http://127.0.0.1:$port/v2/models/pima/infer"
wrk -t1 -c32 -d2s -s "$work/post.lua" "$url" > /dev/null   # warm-up
wrk -t1 -c32 -d"${duration}s" --latency -s "$work/post.lua" "$url" > "$work/wrk.out"
read -r http_rps http_p50 http_p99 < <(grep '^RESULT' "$work/wrk.out" | cut -d' ' -f2-)
wrk -t1 -c1 -d"${duration}s" --latency -s "$work/post.lua" "$url" > "$work/wrk1.out"
read -r http1_rps http1_p50 http1_p99 < <(grep '^RESULT' "$work/wrk1.out" | cut -d' ' -f2-)
stop_ferry

rows=(
  "| ONNX Runtime alone (backend loop, one thread) | 1 | $ort_rps | $ort_p50 | $ort_p99 |"
  "| embedded: \`Server::Infer\`, waiting, one thread | 1 | $seq_rps | $seq_p50 | $seq_p99 |"
  "| embedded: \`Server::Infer\` with callbacks | 16 | $conc_rps | | |"
  ${py_row:+"$py_row"}
  "| HTTP JSON, \`ferry serve\` (wrk -c1) | 1 | $http1_rps | $http1_p50 | $http1_p99 |"
  "| HTTP JSON, \`ferry serve\` (wrk -c32) | 32 | $http_rps | $http_p50 | $http_p99 |"
)
printf '%s\n' "${rows[@]}"
if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/embed.sh --duration $duration\`"
    echo
    echo "Pima ONNX model, batch 1, loopback, one process at a time on the 2-core machine:"
    echo
    echo "| path | in flight | calls/s | p50 µs | p99 µs |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "Embedded API"
  echo "appended to docs/benchmarks.md"
fi
