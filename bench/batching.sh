#!/usr/bin/env bash
# Dynamic batching on an MLP (64 -> 512 -> 512 -> 1, FP32; bench/models/generate_mlp.py):
#  1. in-process ONNX Runtime rows/s at batch 1, 8, 32, 128 (bench/backend_loop.cc, one thread);
#  2. ferry over HTTP and gRPC (`ferry bench`) at concurrency 1, 8, 32, 64, for the model without
#     batching (`mlp`) and with dynamic batching (`mlp_batched`, max_queue_delay_us 0: a worker
#     takes whatever is queued), with the mean rows per execution read from /metrics.
# Appends the tables to docs/benchmarks.md.
#
#   bench/batching.sh [--duration 5] [--rows 1] [--no-record]     (--rows: rows per request)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=5 rows=1 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
[ -x "$build/ferry" ] && [ -x "$build/ferry_bench_backend_loop" ] || { echo "build first: make build" >&2; exit 1; }

work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

/usr/bin/python3 bench/models/generate_mlp.py --out "$work/models/mlp/1/model.onnx"
mkdir -p "$work/models/mlp_batched/1"
cp "$work/models/mlp/1/model.onnx" "$work/models/mlp_batched/1/"
echo "max_batch_size: 128" > "$work/models/mlp/model.yaml"
printf 'max_batch_size: 128\ndynamic_batching: {max_queue_delay_us: 0}\n' > "$work/models/mlp_batched/model.yaml"

inprocess=()
for batch in 1 8 32 128; do
  read -r runs rows_s p50 p99 < <("$build/ferry_bench_backend_loop" "$work/models/mlp" "$duration" "$batch")
  inprocess+=("| $batch | $runs | $rows_s | $p50 | $p99 |")
  echo "in-process batch $batch: $rows_s rows/s"
done

grpc_port=$(free_port)
start_ferry "$work/models" --grpc-port "$grpc_port"

counter() {  # model metric -> value
  curl -s "http://127.0.0.1:$port/metrics" | sed -n "s/^$2{model=\"$1\",version=\"1\"} //p"
}
served=()
for model in mlp mlp_batched; do
  for protocol in http grpc; do
    url="127.0.0.1:$port"; [ "$protocol" = grpc ] && url="127.0.0.1:$grpc_port"
    for concurrency in 1 8 32 64; do
      rows_before=$(counter "$model" ferry_inference_rows_total); runs_before=$(counter "$model" ferry_execution_total)
      out=$("$build/ferry" bench --url "$url" --protocol "$protocol" --model "$model" --batch-size "$rows" \
            --concurrency-range "$concurrency" --duration "$duration" --warmup 1 --json)
      rows_after=$(counter "$model" ferry_inference_rows_total); runs_after=$(counter "$model" ferry_execution_total)
      row=$(/usr/bin/python3 - "$out" "$model" "$protocol" "$concurrency" "$rows_before" "$rows_after" "$runs_before" "$runs_after" <<'PY'
import json, sys
r = json.loads(sys.argv[1])[0]
rows = float(sys.argv[6]) - float(sys.argv[5]); runs = float(sys.argv[8]) - float(sys.argv[7])
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {r['rows_per_second']:.0f} | {rows / max(runs, 1):.1f} | "
      f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |")
PY
)
      echo "$row"
      served+=("$row")
    done
  done
done

if [ "$record" = 1 ]; then
  commit=$(bench_commit)
  {
    echo "### $(date -u +%Y-%m-%d), commit $commit: \`bench/batching.sh --duration $duration --rows $rows\`"
    echo
    echo "In-process ONNX Runtime, one thread:"
    echo
    echo "| batch | runs/s | rows/s | p50 µs | p99 µs |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${inprocess[@]}"
    echo
    echo "ferry, $rows row(s) a request (rows per execution measured from /metrics over the run, warm-up included):"
    echo
    echo "| model | protocol | concurrency | rows/s | rows per execution | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${served[@]}"
  } | /usr/bin/python3 bench/record.py "Dynamic batching"
  echo "appended to docs/benchmarks.md"
fi
