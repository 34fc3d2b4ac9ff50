#!/usr/bin/env bash
# Kafka streams end to end: events/s through the Pima pipeline with JSON events, with stream
# batching (256 events / 5 ms) and without (1 event a batch), beside the broker's pass-through
# rate (kcat consuming and re-producing, no processing: the ceiling) and a per-event Python loop
# (python3-confluent-kafka + scikit-learn, bench/baselines/kafka_loop.py). The broker is
# `ferry dev-kafka` (librdkafka's mock cluster) on loopback; the events are in the source topic
# before each run starts, and each run has its own consumer group and sink topic. Rates are from
# the create timestamps of the first and the last message on each flow's output topic (startup and
# group joins excluded, the same measure for every flow). Appends to docs/benchmarks.md.
#
#   bench/streaming.sh [--events 100000] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

events=100000 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
work=$(mktemp -d)
source bench/lib.sh
broker_pid=""
trap 'stop_ferry; [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

"$build/ferry" dev-kafka --topic in:4 --topic out-batch:4 --topic out-single:4 --topic out-pass:4 \
  --topic out-python:4 --topic errors:1 > "$work/bootstrap" 2> /dev/null &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
bootstrap=$(head -n 1 "$work/bootstrap")

/usr/bin/python3 - "$work/events" "$events" <<'PY'
import json, sys
rows = [[6, 148, 72, 35, 0, 33.6, 0.627, 50], [1, 85, 66, 29, 0, 26.6, 0.351, 31], [8, 183, 64, 0, 0, 23.3, 0.672, 32]]
fields = ["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"]
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(f"e{i}\t{json.dumps(dict(zip(fields, rows[i % 3])))}\n")
PY
kcat -P -b "$bootstrap" -t in -K '\t' -l "$work/events"

# rate TOPIC: "events seconds events/s" from the create timestamps (ms) of the topic's messages.
rate() {
  kcat -C -b "$bootstrap" -t "$1" -o beginning -e -q -f '%T\n' |
    /usr/bin/python3 -c 'import sys; t = [int(x) for x in sys.stdin.read().split()]; s = max((max(t) - min(t)) / 1000, 0.001); print(len(t), f"{s:.3f}", round(len(t) / s))'
}

# run_ferry NAME MAX_EVENTS: a stream into out-NAME, until every event is answered; prints the
# consumer lag seen on /metrics.
run_ferry() {
  cat > "$work/ferry-$1.yaml" <<YAML
kafka: {bootstrap_servers: "$bootstrap"}
streams:
  - name: $1
    source: {topic: in, group: bench-$1, start_from: earliest}
    model: pima-pipeline
    sink: {topic: out-$1}
    errors: {topic: errors}
    batch: {max_events: $2, max_wait_ms: 5}
YAML
  start_ferry examples/models --grpc-port 0 --config "$work/ferry-$1.yaml"
  /usr/bin/python3 - "$port" "$events" <<'PY'
import re, sys, time, urllib.request
port, total = sys.argv[1], int(sys.argv[2])
first, lag = None, []
while True:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    except OSError:
        time.sleep(0.02)
        continue
    def value(name):
        m = re.search(rf"^{name}\{{[^}}]*\}} (\S+)", text, re.M)
        return float(m.group(1)) if m else 0.0
    produced, consumed = value("ferry_stream_events_produced_total"), value("ferry_stream_events_consumed_total")
    now = time.time()
    if produced > 0 and first is None:
        first = (now, produced)
    if first and (not lag or now - lag[-1][0] >= 0.25):
        lag.append((now, total - consumed))
    if produced >= total:
        break
    time.sleep(0.01)
print("lag " + " ".join(f"{t - first[0]:.2f}s:{int(l)}" for t, l in lag[:12]))
PY
  stop_ferry
}

rows=()
lags=()
for mode in batch single; do
  max=256; [ "$mode" = single ] && max=1
  out=$(run_ferry "$mode" "$max")
  read -r n secs per_s <<< "$(rate "out-$mode")"
  rows+=("| ferry, stream batching $max | $n | $secs | $per_s |")
  lags+=("- $mode: $(echo "$out" | tail -n 1 | cut -d' ' -f2-)")
  echo "${rows[-1]}"
done

kcat -C -b "$bootstrap" -t in -o beginning -e -q -f '%k\t%s\n' | kcat -P -b "$bootstrap" -t out-pass -K '\t'
read -r n secs per_s <<< "$(rate out-pass)"
rows+=("| broker pass-through: kcat consume \\| kcat produce | $n | $secs | $per_s |")
echo "${rows[-1]}"

if /usr/bin/python3 -c 'import confluent_kafka, sklearn' 2>/dev/null; then
  /usr/bin/python3 bench/baselines/kafka_loop.py "$bootstrap" in out-python bench-python "$events" > /dev/null
  read -r n secs per_s <<< "$(rate out-python)"
  rows+=("| Python loop: confluent-kafka + scikit-learn, one event at a time | $n | $secs | $per_s |")
  echo "${rows[-1]}"
else
  echo "python3-confluent-kafka or python3-sklearn missing (scripts/install-deps.sh --bench): no Python row" >&2
fi

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/streaming.sh --events $events\`"
    echo
    echo "Pima pipeline on JSON events, ferry dev-kafka (mock cluster, 4 partitions) on loopback:"
    echo
    echo "| flow | events | seconds | events/s |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Consumer lag (events not yet consumed) from the first output, every 0.25 s:"
    echo
    printf '%s\n' "${lags[@]}"
  } | /usr/bin/python3 bench/record.py "Kafka streams"
  echo "appended to docs/benchmarks.md"
fi
