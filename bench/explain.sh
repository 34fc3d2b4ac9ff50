#!/usr/bin/env bash
# Explanations/s over HTTP (POST .../explain, one row a request, wrk with 8 connections, loopback)
# beside inference of the same row on the same model, in one run: a 100-tree XGBoost forest
# (libxgboost's TreeSHAP) and a 10-feature linear model (exact, against a background mean), both
# made here with Debian's python3-xgboost and numpy. Appends to docs/benchmarks.md.
#
#   bench/explain.sh [--duration 10] [--no-record]
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
[ -x "$build/ferry" ] || { echo "build first: make build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh installs it" >&2; exit 1; }
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

/usr/bin/python3 - "$work" <<'PY'
import json, os, sys
import numpy as np
import xgboost as xgb
work = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(2000, 10)).astype(np.float32)
y = (x[:, 0] + x[:, 3] - x[:, 7] > 0).astype(int)
forest = xgb.train({"objective": "binary:logistic", "num_parallel_tree": 100, "subsample": 0.8,
                    "colsample_bynode": 0.8, "learning_rate": 1, "max_depth": 6, "nthread": 1},
                   xgb.DMatrix(x, label=y), num_boost_round=1)
os.makedirs(f"{work}/models/forest/1")
forest.save_model(f"{work}/models/forest/1/model.json")
os.makedirs(f"{work}/models/linear/1")
with open(f"{work}/models/linear/1/model.json", "w") as f:
    json.dump({"coefficients": [rng.normal(size=10).tolist()], "intercept": [0.1], "link": "logistic"}, f)
with open(f"{work}/models/linear/model.yaml", "w") as f:
    f.write(f"explain: {{rows: {json.dumps(x[:100].astype(float).tolist())}}}\n")
row = x[:1].ravel().tolist()
with open(f"{work}/request.json", "w") as f:
    json.dump({"inputs": [{"name": "features", "shape": [1, 10], "datatype": "FP32", "data": row}]}, f)
PY

start_ferry "$work/models" --grpc-port 0 --http-threads 1
rows=()
for model in forest linear; do
  for action in infer explain; do
    read -r rps p50 p99 errors < <(wrk_post "http://127.0.0.1:$port/v2/models/$model/$action" "$work/request.json" 8 "$duration")
    rows+=("| $model | $action | $rps | $p50 | $p99 | $errors |")
  done
done
stop_ferry

printf '%s\n' "${rows[@]}"
if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/explain.sh --duration $duration\`"
    echo
    echo "One row a request, HTTP JSON, wrk -t1 -c8, loopback, on the 2-core machine; forest: 100 trees of depth 6, 10 features:"
    echo
    echo "| model | route | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "Explanations"
  echo "appended to docs/benchmarks.md"
fi
