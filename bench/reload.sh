#!/usr/bin/env bash
# Latency of the Pima model at a fixed request rate (ferry bench, open loop, HTTP) during a quiet
# period, then during a period in which a large model (268 MB of weights,
# bench/models/generate_big.py) is reloaded and swapped every 10 seconds through the repository
# API. Appends both to docs/benchmarks.md. Load goes only to 127.0.0.1.
#
#   bench/reload.sh [--duration 60] [--rate 2000] [--every 10] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60 rate=2000 every=10 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
[ -x "$build/ferry" ] || { echo "build first: make build" >&2; exit 1; }

work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

mkdir -p "$work/models"
cp -r examples/models/pima "$work/models/"
/usr/bin/python3 bench/models/generate_big.py --out "$work/models/big/1/model.onnx"
start_ferry "$work/models" --grpc-port 0 --model-control explicit --load-model '*'
for _ in $(seq 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/health/ready")" = 200 ] && break
  sleep 0.1
done

measure() {
  "$build/ferry" bench --url "127.0.0.1:$port" --model pima --request-rate "$rate" --concurrency-range 64 \
    --duration "$duration" --warmup 2 --json
}
quiet=$(measure)

# Reload `big` every $every seconds with a configuration that differs each time, so each load
# builds a new version beside the old one and swaps it in.
reloads=0
load_times=()
(
  i=0
  while true; do
    sleep "$every"
    i=$((i + 1))
    start=$(date +%s.%N)
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/v2/repository/models/big/load" \
           -d "{\"parameters\": {\"config\": \"{\\\"parameters\\\": {\\\"reload\\\": \\\"$i\\\"}}\"}}")
    echo "$code $(echo "$(date +%s.%N) - $start" | bc)" >> "$work/reloads.txt"
  done
) &
reloader=$!
busy=$(measure)
kill "$reloader" 2>/dev/null || true
wait "$reloader" 2>/dev/null || true
reloads=$(wc -l < "$work/reloads.txt")
failed_reloads=$(grep -vc '^200 ' "$work/reloads.txt" || true)
mean_load=$(awk '{s += $2} END {if (NR) printf "%.2f", s / NR; else print "n/a"}' "$work/reloads.txt")

row() {  # label json
  /usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[2])[0]; \
print(f\"| {sys.argv[1]} | {r['throughput']:.0f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['errors']} |\")" "$1" "$2"
}
table=$(printf '%s\n%s\n' "$(row quiet "$quiet")" "$(row "reloading big every ${every} s" "$busy")")
echo "$table"
echo "reloads: $reloads ($failed_reloads failed), mean load+swap time ${mean_load} s"

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/reload.sh --duration $duration --rate $rate --every $every\`"
    echo
    echo "Pima over HTTP at $rate requests/s (open loop, 64 slots), $duration s each:"
    echo
    echo "| period | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|"
    echo "$table"
    echo
    echo "$reloads reloads of the 268 MB model during the second period, $failed_reloads failed; mean time from the load request to the swap: ${mean_load} s."
  } | /usr/bin/python3 bench/record.py "Reloading while serving"
  echo "appended to docs/benchmarks.md"
fi
