#!/usr/bin/env bash
# Python models in ferry's embedded interpreter, against the same code in a Python server:
#   1. a pickled scikit-learn Pipeline (custom FunctionTransformer is_adult, StandardScaler,
#      LogisticRegression; dill) served by ferry (backend sklearn, dynamic batching, one
#      instance) and by Flask + gunicorn (2 sync workers, bench/baselines/flask_app.py), rows/s
#      at 1 and 64 rows a request (wrk -t1 -c32, V2 JSON, predict_proba);
#   2. the cost of a Python pipeline step: examples/models/pima-pipeline as it is (its is_adult is
#      the built-in `threshold` step) beside a copy whose is_adult is a `python` step, records/s
#      through /predict at 1 and 64 records a call.
# Appends to docs/benchmarks.md. Load goes only to 127.0.0.1.
#
#   bench/python.sh [--duration 10] [--no-record]
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
command -v gunicorn >/dev/null || { echo "gunicorn is missing: scripts/install-deps.sh --bench installs it" >&2; exit 1; }
work=$(mktemp -d)
source bench/lib.sh
flask_pid=""
stop_all() { [ -n "$flask_pid" ] && kill "$flask_pid" 2>/dev/null; cleanup; wait 2>/dev/null || true; }
trap stop_all EXIT

/usr/bin/python3 - "$work" <<'PY'
import json, os, shutil, sys, textwrap
import dill
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

work = sys.argv[1]
notebook = {"__name__": "__main__", "np": np}
exec(textwrap.dedent("""
    def is_adult(X):
        X = np.asarray(X, dtype=float)
        return np.column_stack([X, (X[:, 7] >= 18).astype(float)])
"""), notebook)
rng = np.random.default_rng(3)
x = np.column_stack([rng.integers(0, 12, 2000), rng.normal(120, 30, 2000), rng.normal(70, 12, 2000),
                     rng.normal(25, 8, 2000), rng.normal(80, 40, 2000), rng.normal(32, 7, 2000),
                     rng.gamma(2, 0.25, 2000), rng.integers(10, 80, 2000)])
y = (0.035 * x[:, 1] + 0.08 * x[:, 5] + 0.02 * x[:, 7] - 7.5 + rng.normal(0, 1, 2000) > 0).astype(int)
pipeline = make_pipeline(FunctionTransformer(notebook["is_adult"]), StandardScaler(), LogisticRegression()).fit(x, y)
os.makedirs(f"{work}/models/pima-sklearn/1")
with open(f"{work}/models/pima-sklearn/1/model.pkl", "wb") as f:
    dill.dump(pipeline, f)
shutil.copy(f"{work}/models/pima-sklearn/1/model.pkl", f"{work}/pima.pkl")
with open(f"{work}/models/pima-sklearn/model.yaml", "w") as f:
    f.write("max_batch_size: 256\ndynamic_batching: {max_queue_delay_us: 300}\n")
for n in (1, 64):
    rows = x[:n].round(3)
    for name, dtype in (("ferry", "FP64"), ("flask", "FP32")):
        body = {"inputs": [{"name": "input" if name == "ferry" else "features", "shape": [n, 8], "datatype": dtype,
                            "data": rows.ravel().tolist()}]}
        if name == "ferry":
            body["outputs"] = [{"name": "predict_proba"}]
        open(f"{work}/{name}_{n}.json", "w").write(json.dumps(body))
# The pipelines: pima-pipeline as it is, and with is_adult as a python step.
for name in ("pima", "pima-features", "pima-pipeline"):
    shutil.copytree(f"examples/models/{name}", f"{work}/models/{name}")
text = open("examples/models/pima-pipeline/model.yaml").read()
builtin = "  - {name: adult, kind: threshold, field: age, greater_than: 18, output: is_adult}\n"
assert builtin in text
python = ('  - {name: adult, kind: python, function: "adult_step:make", config: {limit: 18},'
          ' outputs: {is_adult: number}}\n')
os.makedirs(f"{work}/models/pima-pipeline-py")
open(f"{work}/models/pima-pipeline-py/model.yaml", "w").write(text.replace(builtin, python))
open(f"{work}/models/pima-pipeline-py/adult_step.py", "w").write(textwrap.dedent("""
    def make(config):
        limit = config["limit"]

        def is_adult(record):
            return {"is_adult": 1.0 if record["age"] > limit else 0.0}
        return is_adult
"""))
fields = ["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"]
for n in (1, 64):
    records = [dict(zip(fields, [6, 148, 72, 35, 0, 33.6, 0.627, 50])) for _ in range(n)]
    open(f"{work}/predict_{n}.json", "w").write(json.dumps(records[0] if n == 1 else {"instances": records}))
PY

rows=()
start_ferry "$work/models" --grpc-port 0 --http-threads 2
flask_port=$(free_port)
PIMA_PICKLE="$work/pima.pkl" gunicorn -w 2 -b "127.0.0.1:$flask_port" --chdir bench/baselines \
  --log-level warning flask_app:app 2> "$work/flask.log" & flask_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$flask_port/" && break; sleep 0.1; done
# Both answer the same probabilities before they are measured.
a=$(curl -s "http://127.0.0.1:$port/v2/models/pima-sklearn/infer" -d @"$work/ferry_1.json")
b=$(curl -s "http://127.0.0.1:$flask_port/v2/models/pima/infer" -H 'Content-Type: application/json' -d @"$work/flask_1.json")
/usr/bin/python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); \
assert abs(a['outputs'][0]['data'][1]-b['outputs'][0]['data'][0])<1e-5, (a,b)" "$a" "$b"
for n in 1 64; do
  read -r rps p50 p99 errors < <(wrk_post "http://127.0.0.1:$port/v2/models/pima-sklearn/infer" "$work/ferry_$n.json" 32 "$duration")
  rows+=("| sklearn Pipeline (dill), $n rows a request | ferry (backend sklearn) | $((rps * n)) | $p50 | $p99 | $errors |")
  echo "${rows[-1]}"
  read -r rps p50 p99 errors < <(wrk_post "http://127.0.0.1:$flask_port/v2/models/pima/infer" "$work/flask_$n.json" 32 "$duration")
  rows+=("| sklearn Pipeline (dill), $n rows a request | Flask + gunicorn, 2 workers | $((rps * n)) | $p50 | $p99 | $errors |")
  echo "${rows[-1]}"
done
for n in 1 64; do
  for model in pima-pipeline pima-pipeline-py; do
    read -r rps p50 p99 errors < <(wrk_post "http://127.0.0.1:$port/v2/models/$model/predict" "$work/predict_$n.json" 32 "$duration")
    step=$([ "$model" = pima-pipeline ] && echo "built-in threshold step" || echo "python step")
    rows+=("| pima-pipeline /predict, $n records a call | is_adult as a $step | $((rps * n)) | $p50 | $p99 | $errors |")
    echo "${rows[-1]}"
  done
done

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/python.sh --duration $duration\`"
    echo
    echo "wrk -t1 -c32 on 127.0.0.1, V2 JSON; rows/s counts rows (records) answered, not requests."
    echo
    echo "| what | served by | rows/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "Python models"
  echo "appended to docs/benchmarks.md"
fi
