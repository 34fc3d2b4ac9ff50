#!/usr/bin/env bash
# JSON vs binary HTTP vs gRPC, with `ferry bench` as the one load generator for all three, on the
# Pima model (8 floats a request) and on a small convolutional model with a 1x3x224x224 FP32 input
# (bench/models/generate_conv.py). Appends the figures to docs/benchmarks.md.
#
#   bench/protocols.sh [--duration 5] [--no-record]
#
# Load goes only to 127.0.0.1; the load generator shares the 2 cores with the server.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=5 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
[ -x "$build/ferry" ] || { echo "build first: make build" >&2; exit 1; }

work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

mkdir -p "$work/models"
cp -r examples/models/pima "$work/models/"
/usr/bin/python3 bench/models/generate_conv.py --out "$work/models/conv/1/model.onnx"
grpc_port=$(free_port)
start_ferry "$work/models" --grpc-port "$grpc_port"

commit=$(bench_commit)
date=$(date -u +%Y-%m-%d)
rows=()
run() {  # model concurrency mode
  local model=$1 concurrency=$2 mode=$3 args=()
  case "$mode" in
    json) args=(--url "127.0.0.1:$port") ;;
    binary) args=(--url "127.0.0.1:$port" --binary) ;;
    grpc) args=(--url "127.0.0.1:$grpc_port" --protocol grpc) ;;
  esac
  local out
  out=$("$build/ferry" bench "${args[@]}" --model "$model" --concurrency-range "$concurrency" \
        --duration "$duration" --warmup 1 --json)
  /usr/bin/python3 - "$out" "$model" "$mode" "$concurrency" <<'PY'
import json, sys
r = json.loads(sys.argv[1])[0]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {r['throughput']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |")
PY
}
for model_conc in "pima 1" "pima 16" "conv 1" "conv 4"; do
  set -- $model_conc
  for mode in json binary grpc; do
    row=$(run "$1" "$2" "$mode")
    echo "$row"
    rows+=("$row")
  done
done

if [ "$record" = 1 ]; then
  {
    echo "### $date, commit $commit: \`bench/protocols.sh --duration $duration\`"
    echo
    echo "| model | protocol | concurrency | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "JSON vs binary HTTP vs gRPC"
  echo "appended to docs/benchmarks.md"
fi
