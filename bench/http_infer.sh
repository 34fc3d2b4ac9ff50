#!/usr/bin/env bash
# HTTP inference benchmark: wrk against POST /v2/models/pima/infer (batch 1) on loopback, next to
# an in-process ONNX Runtime loop on the same model, and a row appended to docs/benchmarks.md.
#
#   bench/http_infer.sh [--connections 32] [--duration 10] [--threads 2] [--wrk-threads 1] [--no-record]
#
# Load goes only to 127.0.0.1. wrk runs on the same 2-core machine as ferry, so the two compete
# for the cores: the figures are for this set-up, not for ferry alone.
set -euo pipefail
cd "$(dirname "$0")/.."

connections=32 duration=10 http_threads=2 wrk_threads=1 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --threads) http_threads=$2; shift 2 ;;
    --wrk-threads) wrk_threads=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

build=${BUILD_DIR:-build}
[ -x "$build/ferry" ] && [ -x "$build/ferry_bench_backend_loop" ] || { echo "build first: make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh installs it" >&2; exit 1; }

work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

start_ferry examples/models --http-threads "$http_threads"

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"features","shape":[1,8],"datatype":"FP32","data":[6,148,72,35,0,33.6,0.627,50]}]}'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.0f %.0f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
LUA

url="http://127.0.0.1:$port/v2/models/pima/infer"
curl -sf -X POST "$url" -H 'Content-Type: application/json' \
  -d '{"inputs":[{"name":"features","shape":[1,8],"datatype":"FP32","data":[6,148,72,35,0,33.6,0.627,50]}]}' > /dev/null
wrk -t1 -c"$connections" -d2s -s "$work/post.lua" "$url" > /dev/null   # warm-up
wrk_command="wrk -t$wrk_threads -c$connections -d${duration}s --latency -s post.lua $url"
wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --latency -s "$work/post.lua" "$url" > "$work/wrk.out"
read -r rps p50_us p99_us errors total < <(grep '^RESULT' "$work/wrk.out" | cut -d' ' -f2-)
stop_ferry

read -r ort_rps _ ort_p50 ort_p99 < <("$build/ferry_bench_backend_loop" examples/models/pima "$duration")

commit=$(bench_commit)
date=$(date -u +%Y-%m-%d)
fmt_ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
echo "HTTP  : $rps req/s, p50 $(fmt_ms "$p50_us") ms, p99 $(fmt_ms "$p99_us") ms, $errors errors of $total ($wrk_command, ferry --http-threads $http_threads)"
echo "ORT   : $ort_rps runs/s, p50 ${ort_p50} us, p99 ${ort_p99} us (in-process, one thread, batch 1)"

if [ "$record" = 1 ]; then
  row="| $date | $commit | \`bench/http_infer.sh --connections $connections --duration $duration --threads $http_threads --wrk-threads $wrk_threads\` | $rps | $(fmt_ms "$p50_us") | $(fmt_ms "$p99_us") | $errors | $ort_rps | $ort_p50 / $ort_p99 |"
  echo "$row" | /usr/bin/python3 bench/record.py "HTTP inference" --row
  echo "appended to docs/benchmarks.md"
fi
