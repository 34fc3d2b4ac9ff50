#!/usr/bin/env bash
# What a pipeline costs over its model: records/s through POST /v2/models/pima-pipeline/predict
# (raw records; validation, log1p, threshold, tensor, model, label on the server) beside
# POST /v2/models/pima-features/infer (the same model, the engineered features sent as a tensor),
# at 1 and 64 records a call, with wrk (1 thread, 32 keep-alive connections), same sitting.
# Appends to docs/benchmarks.md. Load goes only to 127.0.0.1.
#
#   bench/pipeline.sh [--duration 10] [--no-record]
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

# The request bodies: n records (the Pima rows, cycled) and the same rows as engineered tensors.
/usr/bin/python3 - "$work" <<'PY'
import json, math, sys
rows = [[6, 148, 72, 35, 0, 33.6, 0.627, 50], [1, 85, 66, 29, 0, 26.6, 0.351, 31], [8, 183, 64, 0, 0, 23.3, 0.672, 32]]
fields = ["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"]
for n in (1, 64):
    picked = [rows[i % len(rows)] for i in range(n)]
    records = [dict(zip(fields, r)) for r in picked]
    body = records[0] if n == 1 else {"instances": records}
    open(f"{sys.argv[1]}/predict_{n}.json", "w").write(json.dumps(body))
    data = [v for r in picked for v in r[:5] + [math.log1p(r[5]), r[6], r[7], 1.0 if r[7] > 18 else 0.0]]
    tensor = {"inputs": [{"name": "features", "shape": [n, 9], "datatype": "FP32", "data": data}]}
    open(f"{sys.argv[1]}/infer_{n}.json", "w").write(json.dumps(tensor))
PY

start_ferry examples/models --grpc-port 0
sleep 0.5
rows=()
for n in 1 64; do
  for route in infer predict; do
    if [ "$route" = infer ]; then model=pima-features; else model=pima-pipeline; fi
    url="http://127.0.0.1:$port/v2/models/$model/$route"
    read -r rps p50 p99 errors < <(wrk_post "$url" "$work/${route}_$n.json" 32 "$duration")
    records=$((rps * n))
    rows+=("| $n | \`$model/$route\` | $rps | $records | $p50 | $p99 | $errors |")
    echo "${rows[-1]}"
  done
done

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/pipeline.sh --duration $duration\`"
    echo
    echo "wrk -t1 -c32; /infer sends the engineered features as a JSON tensor, /predict raw records:"
    echo
    echo "| records a call | route | calls/s | records/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "Pipelines"
  echo "appended to docs/benchmarks.md"
fi
