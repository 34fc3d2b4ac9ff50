#!/usr/bin/env bash
# ferry's PMML evaluator: in-process rows/s on one core (bench/pmml_loop.cc, the Pima logistic
# regression of examples/models/pima-pmml) at 1, 64 and 1024 rows a call, and the same model
# through ferry (HTTP JSON, wrk -t1 -c32, batch 1 and 64) beside the ONNX Runtime Pima model.
# Appends to docs/benchmarks.md. Load goes only to 127.0.0.1.
#
#   bench/pmml.sh [--duration 10] [--no-record]
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
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

rows=()
for batch in 1 64 1024; do
  read -r _ n secs rate _ < <("$build/ferry_bench_pmml_loop" examples/models/pima-pmml/1/model.pmml "$batch" 3 | grep '^RESULT')
  rows+=("| in-process, $batch rows a call | pmml | $rate | | |")
  echo "${rows[-1]}"
done

/usr/bin/python3 - "$work" <<'PY'
import json, sys
row = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
for n in (1, 64):
    body = {"inputs": [{"name": "features", "shape": [n, 8], "datatype": "FP32", "data": row * n}]}
    open(f"{sys.argv[1]}/infer_{n}.json", "w").write(json.dumps(body))
PY
start_ferry examples/models --grpc-port 0
sleep 0.5
for n in 1 64; do
  for model in pima-pmml pima; do
    read -r rps p50 p99 errors < <(wrk_post "http://127.0.0.1:$port/v2/models/$model/infer" "$work/infer_$n.json" 32 "$duration")
    rows+=("| HTTP JSON, $n rows a request | $model | $((rps * n)) | $p50 | $p99 |")
    echo "${rows[-1]}"
  done
done

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/pmml.sh --duration $duration\`"
    echo
    echo "The Pima logistic regression as PMML (ferry's evaluator) and as ONNX (ONNX Runtime):"
    echo
    echo "| how | model | rows/s | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "PMML"
  echo "appended to docs/benchmarks.md"
fi
