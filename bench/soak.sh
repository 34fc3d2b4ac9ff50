#!/usr/bin/env bash
# Soak: the Pima model over HTTP at a fixed request rate (default 60,000/s, ~70% of this
# machine's peak) for a long time (default 600 s), with ferry bench in open loop; reports errors,
# latency, and ferry's resident memory at the start and the end. Appends to docs/benchmarks.md.
#
#   bench/soak.sh [--duration 600] [--rate 60000] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=600 rate=60000 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$ferry_pid/status"; }
start_ferry examples/models --grpc-port 0
"$build/ferry" bench --url "127.0.0.1:$port" --model pima --duration 5 --warmup 1 > /dev/null  # touch every path
rss_start=$(rss_mb)
out=$("$build/ferry" bench --url "127.0.0.1:$port" --model pima --request-rate "$rate" --concurrency-range 64 \
      --duration "$duration" --warmup 2 --json)
rss_end=$(rss_mb)
row=$(/usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1])[0]; \
print(f\"| {sys.argv[2]} | {r['throughput']:.0f} | {r['requests'] + r['errors']} | {r['errors']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {sys.argv[3]} | {sys.argv[4]} |\")" \
  "$out" "$rate" "$rss_start" "$rss_end")
echo "$row"
if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/soak.sh --duration $duration --rate $rate\`"
    echo
    echo "| rate asked | req/s served | requests | errors | p50 ms | p99 ms | RSS start MB | RSS end MB |"
    echo "|---|---|---|---|---|---|---|---|"
    echo "$row"
  } | /usr/bin/python3 bench/record.py "Soak"
  echo "appended to docs/benchmarks.md"
fi
