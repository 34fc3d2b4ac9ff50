#!/usr/bin/env bash
# ferry against the classic Python stacks and nginx, on the Pima model at batch 1, with the same
# load generator (wrk, one thread, 32 connections) and the same request body, in one run:
#   - ferry (build/ferry, examples/models, 2 HTTP threads);
#   - Flask + pickled scikit-learn under gunicorn, 2 sync workers (bench/baselines/flask_app.py);
#   - FastAPI + pickled scikit-learn under uvicorn, 2 workers, uvloop + httptools;
#   - nginx returning a fixed body the size of ferry's answer (the HTTP ceiling here).
# Appends the table to docs/benchmarks.md. Load goes only to 127.0.0.1.
#
#   bench/baselines.sh [--duration 10] [--connections 32] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 connections=32 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
[ -x "$build/ferry" ] || { echo "build first: make build" >&2; exit 1; }
for tool in wrk gunicorn uvicorn nginx; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: scripts/install-deps.sh --bench installs it" >&2; exit 1; }
done

work=$(mktemp -d)
source bench/lib.sh
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; cleanup; }
trap stop_all EXIT
wait_for() {  # port
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2; return 1
}

body='{"inputs":[{"name":"features","shape":[1,8],"datatype":"FP32","data":[6,148,72,35,0,33.6,0.627,50]}]}'

/usr/bin/python3 bench/baselines/sklearn_model.py "$work/pima.pkl"
ferry_port=$(free_port); flask_port=$(free_port); fastapi_port=$(free_port); nginx_port=$(free_port)

"$build/ferry" serve --model-repository examples/models --http-port "$ferry_port" --grpc-port 0 --metrics-port 0 \
  --http-threads 2 --log-level warn 2> "$work/ferry.log" & pids+=($!)
PIMA_PICKLE="$work/pima.pkl" gunicorn -w 2 -b "127.0.0.1:$flask_port" --chdir bench/baselines \
  --log-level warning flask_app:app 2> "$work/flask.log" & pids+=($!)
PIMA_PICKLE="$work/pima.pkl" uvicorn --app-dir bench/baselines fastapi_app:app --workers 2 --loop uvloop \
  --http httptools --host 127.0.0.1 --port "$fastapi_port" --log-level warning 2> "$work/fastapi.log" & pids+=($!)
wait_for "$ferry_port"; wait_for "$flask_port"; wait_for "$fastapi_port"
answer=$(curl -s -X POST "http://127.0.0.1:$ferry_port/v2/models/pima/infer" -H 'Content-Type: application/json' -d "$body")
mkdir -p "$work/nginx"
sed -e "s|@PORT@|$nginx_port|" -e "s|@DIR@|$work/nginx|g" -e "s|@BODY@|$answer|" bench/baselines/nginx.conf.in \
  > "$work/nginx/nginx.conf"
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" & pids+=($!)
wait_for "$nginx_port"

# Each server answers the request correctly before it is measured (nginx: the fixed body).
for port in "$flask_port" "$fastapi_port"; do
  got=$(curl -s -X POST "http://127.0.0.1:$port/v2/models/pima/infer" -H 'Content-Type: application/json' -d "$body")
  /usr/bin/python3 -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); \
assert abs(a['outputs'][0]['data'][0]-b['outputs'][0]['data'][0])<1e-5, (a,b)" "$got" "$answer"
done

rows=()
for name_port in "ferry:$ferry_port" "flask+gunicorn:$flask_port" "fastapi+uvicorn:$fastapi_port" "nginx (fixed body):$nginx_port"; do
  name=${name_port%%:*}; port=${name_port##*:}
  url="http://127.0.0.1:$port/v2/models/pima/infer"
  read -r rps p50 p99 errors < <(wrk_pima "$url" "$connections" "$duration")
  row="| $name | $rps | $p50 | $p99 | $errors |"
  echo "$row"
  rows+=("$row")
done

if [ "$record" = 1 ]; then
  commit=$(bench_commit)
  {
    echo "### $(date -u +%Y-%m-%d), commit $commit: \`bench/baselines.sh --duration $duration --connections $connections\`"
    echo
    echo "| server | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "Against Python stacks and nginx"
  echo "appended to docs/benchmarks.md"
fi
