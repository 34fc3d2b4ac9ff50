#!/usr/bin/env bash
# Explanations/s over HTTP (POST .../explain, one row a request, wrk with 8 connections, loopback)
# beside inference of the same row on the same model, in one run: a 100-tree XGBoost forest
# (libxgboost's TreeSHAP), the same forest written as PMML by scripts/xgboost_to_pmml.py (ferry's
# own TreeSHAP), a 10-feature linear model (exact, against a background mean), and an
# ONNX MLP explained by KernelSHAP (512 coalitions x 20 background rows = 10,260 rows valued an
# explanation) with and without dynamic batching; all made here with Debian's python3-xgboost,
# python3-onnx and numpy. Appends to docs/benchmarks.md.
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
# An MLP (10 -> 32 -> 16 -> 1, ONNX) explained by KernelSHAP over 20 background rows with 512
# coalitions: with dynamic batching, and without (each call of 256 rows runs alone).
from onnx import TensorProto, helper, numpy_helper
import onnx
layers, nodes, last = [], [], "features"
for i, (a, b) in enumerate([(10, 32), (32, 16), (16, 1)]):
    layers += [numpy_helper.from_array(rng.normal(scale=0.4, size=(a, b)).astype(np.float32), f"w{i}"),
               numpy_helper.from_array(rng.normal(scale=0.1, size=b).astype(np.float32), f"b{i}")]
    nodes += [helper.make_node("MatMul", [last, f"w{i}"], [f"m{i}"]), helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
    last = f"a{i}"
    if i < 2:
        nodes.append(helper.make_node("Relu", [last], [f"r{i}"]))
        last = f"r{i}"
nodes.append(helper.make_node("Sigmoid", [last], ["probability"]))
graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 10])],
                          [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1])], initializer=layers)
background = json.dumps(x[100:120].astype(float).tolist())
for name, batching in (("mlp", "dynamic_batching: {max_queue_delay_us: 500}\n"), ("mlp-unbatched", "")):
    os.makedirs(f"{work}/models/{name}/1")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), f"{work}/models/{name}/1/model.onnx")
    with open(f"{work}/models/{name}/model.yaml", "w") as f:
        f.write(f"max_batch_size: 256\n{batching}explain: {{rows: {background}, samples: 512}}\n")
import subprocess
os.makedirs(f"{work}/models/forest-pmml/1")
subprocess.run(["/usr/bin/python3", "scripts/xgboost_to_pmml.py", f"{work}/models/forest/1/model.json",
                f"{work}/models/forest-pmml/1/model.pmml"], check=True)
row = x[:1].ravel().tolist()
with open(f"{work}/request.json", "w") as f:
    json.dump({"inputs": [{"name": "features", "shape": [1, 10], "datatype": "FP32", "data": row}]}, f)
PY

start_ferry "$work/models" --grpc-port 0 --http-threads 1
rows=()
for model in forest forest-pmml linear mlp mlp-unbatched; do
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
    echo "One row a request, HTTP JSON, wrk -t1 -c8, loopback, on the 2-core machine; forest: 100 trees of depth 6, 10 features (forest-pmml: the same trees as PMML); mlp: KernelSHAP, 512 samples, 20 background rows:"
    echo
    echo "| model | route | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "Explanations"
  echo "appended to docs/benchmarks.md"
fi
