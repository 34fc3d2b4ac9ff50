#!/usr/bin/env bash
# Python worker processes against the embedded interpreter (model.yaml `python: {workers: N}`,
# docs/python.md): a 200-tree scikit-learn random forest (depth 10, 8 features), predict_proba
# one row a request, served three ways in one run: embedded (1 instance), embedded with 2
# instances (they share the GIL), and 2 worker processes. wrk -t1 -c32, V2 JSON, no dynamic
# batching (each request is one predict_proba call: the CPU-bound case workers are for).
# Appends to docs/benchmarks.md. Load goes only to 127.0.0.1.
#
#   bench/python_workers.sh [--duration 10] [--no-record]
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
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

/usr/bin/python3 - "$work" <<'PY'
import json, os, sys
import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
work = sys.argv[1]
rng = np.random.default_rng(11)
x = rng.normal(size=(5000, 8))
y = (x[:, 0] * x[:, 1] + np.sin(x[:, 2]) + x[:, 3] > 0).astype(int)
forest = RandomForestClassifier(n_estimators=200, max_depth=10, random_state=0, n_jobs=1).fit(x, y)
for name, extra in (("embedded", ""), ("embedded2", "instances: 2\n"), ("workers2", "python: {workers: 2}\n")):
    os.makedirs(f"{work}/models/{name}/1")
    joblib.dump(forest, f"{work}/models/{name}/1/model.joblib")
    with open(f"{work}/models/{name}/model.yaml", "w") as f:
        f.write("backend: sklearn\nmax_batch_size: 1\n" + extra)
with open(f"{work}/row.json", "w") as f:
    json.dump({"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP64", "data": x[0].tolist()}],
               "outputs": [{"name": "predict_proba"}]}, f)
PY

start_ferry "$work/models" --grpc-port 0
rows=()
for name in embedded embedded2 workers2; do
  read -r rps p50 p99 errors <<< "$(wrk_post "http://127.0.0.1:$port/v2/models/$name/infer" "$work/row.json" 32 "$duration")"
  eval "rps_$name=$rps"
  rows+=("| $name | $rps | $p50 | $p99 | $errors |")
done
stop_ferry
table=$(cat <<MD
### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/python_workers.sh --duration $duration\`

| served as | req/s | p50 ms | p99 ms | errors |
|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

2 workers / 1 embedded instance: $(awk "BEGIN {printf \"%.2f\", $rps_workers2 / $rps_embedded}")x;
2 embedded instances / 1: $(awk "BEGIN {printf \"%.2f\", $rps_embedded2 / $rps_embedded}")x.
MD
)
echo "$table"
[ "$record" = 1 ] && echo "$table" | bench/record.py "Python worker processes (\`bench/python_workers.sh\`)"
exit 0
