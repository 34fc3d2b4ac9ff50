#!/usr/bin/env bash
# MQTT streams end to end: messages/s through the Pima pipeline with ferry between two topics of
# a mosquitto broker on loopback, at QoS 0 and QoS 1 (source and sink), beside mosquitto's own
# pass-through rate measured with its clients in the same run (mosquitto_pub -> broker ->
# mosquitto_sub, no processing). Each flow: a subscriber waits on the output topic, the messages
# are published with one `mosquitto_pub -l`, and the time is from the start of publishing to the
# subscriber holding every answer. Twice: with mosquitto's sockets as it leaves them (Nagle's
# algorithm on) and with set_tcp_nodelay true. Appends to docs/benchmarks.md.
#
#   bench/mqtt.sh [--messages 50000] [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."

messages=50000 record=1
while [ $# -gt 0 ]; do
  case "$1" in
    --messages) messages=$2; shift 2 ;;
    --no-record) record=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build=${BUILD_DIR:-build}
work=$(mktemp -d)
source bench/lib.sh
broker_pid=""
trap 'stop_ferry; [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

/usr/bin/python3 - "$work/messages" "$messages" <<'PY'
import json, sys
rows = [[6, 148, 72, 35, 0, 33.6, 0.627, 50], [1, 85, 66, 29, 0, 26.6, 0.351, 31], [8, 183, 64, 0, 0, 23.3, 0.672, 32]]
fields = ["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"]
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps(dict(zip(fields, rows[i % 3]))) + "\n")
PY

# flow NAME QOS IN_TOPIC OUT_TOPIC: publishes the messages on IN_TOPIC, waits for as many on
# OUT_TOPIC; prints "received seconds messages/s".
flow() {
  mosquitto_sub -p "$mqtt_port" -q "$2" -c -i "bench-$1" -t "$4" -E
  local start end
  mosquitto_sub -p "$mqtt_port" -q "$2" -c -i "bench-$1" -t "$4" -C "$messages" -W 300 > "$work/out-$1" &
  local sub=$!
  sleep 0.3
  start=$(date +%s.%N)
  mosquitto_pub -p "$mqtt_port" -q "$2" -t "$3" -l < "$work/messages"
  wait "$sub" || true
  end=$(date +%s.%N)
  local got
  got=$(wc -l < "$work/out-$1")
  /usr/bin/python3 -c "import sys; n, s = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(n, f'{s:.2f}', round(n / s))" \
    "$got" "$start" "$end"
}

# start_broker NODELAY: mosquitto on a free port ($mqtt_port), Nagle's algorithm on its sockets off
# or left on (mosquitto's default).
start_broker() {
  mqtt_port=$(free_port)
  cat > "$work/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
max_inflight_messages 0
set_tcp_nodelay $1
CONF
  mosquitto -c "$work/mosquitto.conf" 2> "$work/mosquitto.log" &
  broker_pid=$!
  sleep 0.5
}

rows=()
for nodelay in false true; do
start_broker "$nodelay"
for qos in 0 1; do
  read -r n secs per_s <<< "$(flow "pass-$qos" "$qos" "pass/$qos/in" "pass/$qos/in")"
  rows+=("| mosquitto pass-through: mosquitto_pub -> broker -> mosquitto_sub | $nodelay | $qos | $n | $secs | $per_s |")
  echo "${rows[-1]}"
  cat > "$work/ferry-$qos.yaml" <<YAML
mqtt: {broker: "mqtt://127.0.0.1:$mqtt_port", client_id: bench-$qos-$nodelay}
streams:
  - name: pima-$qos
    source: {mqtt: {topic: "plant/+/readings", qos: $qos}}
    model: pima-pipeline
    sink: {mqtt: {topic: "plant/{1}/scores", qos: $qos}}
    errors: {mqtt: {topic: "plant/errors", qos: $qos}}
YAML
  start_ferry examples/models --grpc-port 0 --config "$work/ferry-$qos.yaml"
  for _ in $(seq 100); do grep -q "subscribed to" "$work/ferry.log" && break; sleep 0.1; done
  read -r n secs per_s <<< "$(flow "ferry-$qos" "$qos" "plant/$qos/readings" "plant/$qos/scores")"
  rows+=("| ferry: mosquitto_pub -> broker -> ferry (Pima pipeline) -> broker -> mosquitto_sub | $nodelay | $qos | $n | $secs | $per_s |")
  echo "${rows[-1]}"
  stop_ferry
done
kill "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; broker_pid=""
done

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/mqtt.sh --messages $messages\`"
    echo
    echo "Pima pipeline on JSON messages, mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version \([^ ]*\).*/\1/p') on loopback, MQTT 5:"
    echo
    echo "| flow | broker set_tcp_nodelay | QoS | messages | seconds | messages/s |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "MQTT streams"
  echo "appended to docs/benchmarks.md"
fi
