#!/usr/bin/env bash
# Routers against the model they route to, side by side in one run (docs/routing.md): wrk on the
# Pima model directly, through a weighted router (two routes), through a router with a shadow at
# 100% on a second model, and an ensemble of three against one model -- each at 32 connections
# (the machine saturated) and at 4 (it is not). Appends to docs/benchmarks.md. Load goes only to
# 127.0.0.1.
#
#   bench/routing.sh [--duration 10] [--rounds 2] [--no-record]
#
# Each configuration runs `rounds` times, interleaved (a, b, c, d, a, b, ...), so that a slow
# moment of the shared machine does not land on one of them only.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10 rounds=2 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
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

repo="$work/models"
mkdir -p "$repo/pima"
for v in 1 2 3; do mkdir -p "$repo/pima/$v" && cp examples/models/pima/1/model.onnx "$repo/pima/$v/"; done
sed 's/^backend: onnxruntime$/backend: onnxruntime\nversion_policy: all/' examples/models/pima/model.yaml > "$repo/pima/model.yaml"
router() { mkdir -p "$repo/$1" && printf 'router:\n%s\n' "$2" > "$repo/$1/model.yaml"; }
router split '  routes: [{name: a, target: "pima:1", weight: 90}, {name: b, target: "pima:2", weight: 10}]'
router shadowed '  routes: [{target: "pima:1"}]
  shadow: [{target: "pima:2", percent: 100, max_inflight: 64, compare: {output: probability, abs_tol: 0.001}}]'
router plain '  routes: [{target: "pima:1"}]'
router ensemble '  ensemble:
    members: [{target: "pima:1"}, {target: "pima:2"}, {target: "pima:3"}]
    aggregate: {output: probability, method: mean}'

start_ferry "$repo" --grpc-port 0
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/v2/models/ensemble/ready" > /dev/null && break
  sleep 0.1
done

# model label connections -> averaged "req/s p50 p99 errors" over the rounds
declare -A sum_rps sum_p50 sum_p99 sum_err
configs=("pima:direct" "split:weighted router, 2 routes" "plain:router, 1 route, no shadow"
         "shadowed:router, 1 route, shadow 100%" "ensemble:ensemble of 3 (mean)")
for round in $(seq "$rounds"); do
  for c in 32 4; do
    for entry in "${configs[@]}"; do
      model=${entry%%:*}
      read -r rps p50 p99 errors < <(wrk_pima "http://127.0.0.1:$port/v2/models/$model/infer" "$c" "$duration")
      key="$model/$c"
      sum_rps[$key]=$(awk -v a="${sum_rps[$key]:-0}" -v b="$rps" 'BEGIN { print a + b }')
      sum_p50[$key]=$(awk -v a="${sum_p50[$key]:-0}" -v b="$p50" 'BEGIN { print a + b }')
      sum_p99[$key]=$(awk -v a="${sum_p99[$key]:-0}" -v b="$p99" 'BEGIN { print a + b }')
      sum_err[$key]=$(( ${sum_err[$key]:-0} + errors ))
      echo "round $round, $c connections, $model: $rps req/s, p50 $p50 ms, p99 $p99 ms, $errors errors"
    done
  done
done
metrics=$(curl -s "http://127.0.0.1:$port/metrics")
stop_ferry
shadow_sent=$(echo "$metrics" | sed -n 's/^ferry_shadow_requests_total{router="shadowed",shadow="pima:2",outcome="sent"} //p')
shadow_dropped=$(echo "$metrics" | sed -n 's/^ferry_shadow_requests_total{router="shadowed",shadow="pima:2",outcome="dropped"} //p')

rows=()
for c in 32 4; do
  base_rps=$(awk -v s="${sum_rps[pima/$c]}" -v n="$rounds" 'BEGIN { printf "%.0f", s / n }')
  for entry in "${configs[@]}"; do
    model=${entry%%:*}
    label=${entry#*:}
    key="$model/$c"
    rps=$(awk -v s="${sum_rps[$key]}" -v n="$rounds" 'BEGIN { printf "%.0f", s / n }')
    p50=$(awk -v s="${sum_p50[$key]}" -v n="$rounds" 'BEGIN { printf "%.2f", s / n }')
    p99=$(awk -v s="${sum_p99[$key]}" -v n="$rounds" 'BEGIN { printf "%.2f", s / n }')
    ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN { printf "%.2f", a / b }')
    rows+=("| $c | $label | $rps | $ratio | $p50 | $p99 | ${sum_err[$key]} |")
    echo "${rows[-1]}"
  done
done
echo "shadow copies: $shadow_sent sent, $shadow_dropped dropped"

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/routing.sh --duration $duration --rounds $rounds\`"
    echo
    echo "wrk -t1 on POST /infer, the Pima request (batch 1, JSON); each figure the mean of $rounds interleaved runs;"
    echo "'vs direct' is req/s over the Pima model's own at the same connections. The shadow's copies:"
    echo "$shadow_sent sent, $shadow_dropped dropped (max_inflight 64)."
    echo
    echo "| connections | target | req/s | vs direct | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "Routing"
  echo "appended to docs/benchmarks.md"
fi
