#!/usr/bin/env bash
# The native backends side by side on the same models (made here with Debian's python3-xgboost
# and python3-torch):
#   - a 100-tree random forest (XGBoost, num_parallel_tree 100, depth 6, 8 features) served by
#     ferry's XGBoost backend and, written by scripts/xgboost_to_pmml.py, by ferry's PMML evaluator;
#   - an MLP 8-64-64-1 served as TorchScript (libtorch) and as ONNX (ONNX Runtime).
# In-process rows/s on one thread (bench/backend_loop.cc: the backend alone, no HTTP or scheduler)
# at 1, 64 and 1024 rows a call, then through ferry (HTTP JSON, wrk -t1 -c32, 1 and 64 rows a
# request). Inputs are uniform in [0, 100), the range the forest was trained on. Appends to
# docs/benchmarks.md. Load goes only to 127.0.0.1.
#
#   bench/backends.sh [--duration 10] [--no-record]
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
[ -x "$build/ferry" ] && [ -x "$build/ferry_bench_backend_loop" ] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

/usr/bin/python3 - "$work" <<'PY'
import json, os, subprocess, sys
import numpy as np
import torch
import xgboost as xgb

work = sys.argv[1]
models = f"{work}/models"
rng = np.random.default_rng(7)
x = rng.uniform(0, 100, size=(20000, 8)).astype(np.float32)
y = ((x[:, 0] - 50) * (x[:, 1] - 40) + 30 * np.sin(x[:, 2] / 10) + x[:, 3] > 0).astype(int)
forest = xgb.train({"objective": "binary:logistic", "num_parallel_tree": 100, "subsample": 0.8,
                    "colsample_bynode": 0.8, "learning_rate": 1, "max_depth": 6, "nthread": 2},
                   xgb.DMatrix(x, label=y), num_boost_round=1)
for name in ("xgb-forest", "pmml-forest", "torch-mlp", "onnx-mlp"):
    os.makedirs(f"{models}/{name}/1")
forest.save_model(f"{models}/xgb-forest/1/model.json")
subprocess.run(["/usr/bin/python3", "scripts/xgboost_to_pmml.py", f"{models}/xgb-forest/1/model.json",
                f"{models}/pmml-forest/1/model.pmml"], check=True)
torch.manual_seed(7)
mlp = torch.nn.Sequential(torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
                          torch.nn.Linear(64, 1), torch.nn.Sigmoid()).eval()
torch.jit.save(torch.jit.script(mlp), f"{models}/torch-mlp/1/model.pt")
torch.onnx.export(mlp, torch.zeros(1, 8), f"{models}/onnx-mlp/1/model.onnx", input_names=["features"],
                  output_names=["probability"], dynamic_axes={"features": {0: "n"}, "probability": {0: "n"}})
common = "max_batch_size: 1024\ndynamic_batching: {max_queue_delay_us: 200}\n"
for name in ("xgb-forest", "pmml-forest", "onnx-mlp"):
    open(f"{models}/{name}/model.yaml", "w").write(common)
open(f"{models}/torch-mlp/model.yaml", "w").write(
    common + "inputs: [{name: features, datatype: FP32, shape: [-1, 8]}]\n"
    "outputs: [{name: probability, datatype: FP32, shape: [-1, 1]}]\nparameters: {intra_op_threads: 1}\n")
for n in (1, 64):
    rows = rng.uniform(0, 100, size=(n, 8)).round(3)
    body = {"inputs": [{"name": "features", "shape": [n, 8], "datatype": "FP32", "data": rows.ravel().tolist()}]}
    open(f"{work}/infer_{n}.json", "w").write(json.dumps(body))
PY

rows=()
for model in pmml-forest xgb-forest torch-mlp onnx-mlp; do
  for batch in 1 64 1024; do
    read -r _ rate p50 _ < <("$build/ferry_bench_backend_loop" "$work/models/$model" 3 "$batch")
    rows+=("| in-process, $batch rows a call | $model | $rate | $(echo "scale=3; $p50 / 1000" | bc) | |")
    echo "${rows[-1]}"
  done
done

start_ferry "$work/models" --grpc-port 0
sleep 1
for n in 1 64; do
  for model in pmml-forest xgb-forest torch-mlp onnx-mlp; do
    read -r rps p50 p99 errors < <(wrk_post "http://127.0.0.1:$port/v2/models/$model/infer" "$work/infer_$n.json" 32 "$duration")
    [ "$errors" = 0 ] || echo "warning: $model: $errors errors" >&2
    rows+=("| HTTP JSON, $n rows a request | $model | $((rps * n)) | $p50 | $p99 |")
    echo "${rows[-1]}"
  done
done

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/backends.sh --duration $duration\`"
    echo
    echo "A 100-tree random forest as PMML (ferry's evaluator) and as XGBoost; an MLP 8-64-64-1 as"
    echo "TorchScript (libtorch 1.13) and as ONNX (ONNX Runtime 1.29). In-process: one thread, the"
    echo "backend alone (p50 of a call); HTTP: wrk -t1 -c32 against ferry on the same machine."
    echo
    echo "| how | model | rows/s | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "Native backends"
  echo "appended to docs/benchmarks.md"
fi
