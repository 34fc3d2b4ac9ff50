#!/usr/bin/env bash
# What a router costs a request, in instructions: ferry under valgrind's callgrind (which counts
# instructions, the same whatever else the machine does), N sequential requests to the Pima model,
# then N to a weighted router over it, each phase counted apart (callgrind_control --zero/--dump).
# Prints instructions a request for each and the difference. Slow: about two minutes.
#
#   bench/routing_callgrind.sh [--requests 2000]
set -euo pipefail
cd "$(dirname "$0")/.."

requests=2000
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
command -v valgrind >/dev/null || { echo "valgrind is missing" >&2; exit 1; }
work=$(mktemp -d)
source bench/lib.sh
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

repo="$work/models"
mkdir -p "$repo/pima/1" "$repo/pima/2" "$repo/split"
cp examples/models/pima/1/model.onnx "$repo/pima/1/"
cp examples/models/pima/1/model.onnx "$repo/pima/2/"
sed 's/^backend: onnxruntime$/backend: onnxruntime\nversion_policy: all/' examples/models/pima/model.yaml > "$repo/pima/model.yaml"
printf 'router:\n  routes: [{name: a, target: "pima:1", weight: 90}, {name: b, target: "pima:2", weight: 10}]\n' \
  > "$repo/split/model.yaml"
port=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$build/ferry" serve --model-repository "$repo" \
  --http-port "$port" --grpc-port 0 --metrics-port 0 --http-threads 1 > "$work/ferry.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$port/v2/health/ready" > /dev/null && break
  sleep 1
done

send() {  # MODEL N: N sequential requests on one keep-alive connection
  /usr/bin/python3 - "$port" "$1" "$2" <<'PY'
import http.client, json, sys
port, model, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
body = json.dumps({"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                              "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]})
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for _ in range(n):
    c.request("POST", f"/v2/models/{model}/infer", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
}
send pima 200
send split 200   # warm both paths
measure() {  # MODEL: instructions a request
  callgrind_control -z "$pid" > /dev/null 2>&1
  send "$1" "$requests"
  callgrind_control -d "$1" "$pid" > /dev/null 2>&1
  local file
  file=$(ls -t "$work"/cg.out.* | head -n 1)
  awk -v n="$requests" '/^summary:/ { printf "%.0f", $2 / n }' "$file"
}
direct=$(measure pima)
routed=$(measure split)
echo "instructions a request over HTTP (batch 1, $requests sequential requests, one I/O thread):"
echo "  pima directly:              $direct"
echo "  weighted router over pima:  $routed ($((routed - direct)) more, $(awk -v a="$routed" -v b="$direct" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'))"
