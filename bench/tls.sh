#!/usr/bin/env bash
# Throughput of the Pima model over HTTPS against plain HTTP, with wrk (1 thread, 32 keep-alive
# connections), same sitting. Certificates are made with openssl for the run. Appends to
# docs/benchmarks.md. Load goes only to 127.0.0.1.
#
#   bench/tls.sh [--duration 10] [--no-record]
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
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

(cd "$work" &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=bench CA" 2>/dev/null &&
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null &&
  echo "subjectAltName=IP:127.0.0.1" > server.ext &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
    -extfile server.ext 2>/dev/null)


rows=()
for mode in http https; do
  args=(--grpc-port 0)
  scheme=http
  if [ "$mode" = https ]; then args+=(--tls-cert "$work/server.pem" --tls-key "$work/server.key"); scheme=https; fi
  start_ferry examples/models "${args[@]}"
  url="$scheme://127.0.0.1:$port/v2/models/pima/infer"
  sleep 0.5
  read -r rps p50 p99 errors < <(wrk_pima "$url" 32 "$duration")
  rows+=("| $mode | $rps | $p50 | $p99 | $errors |")
  echo "${rows[-1]}"
  stop_ferry
done

if [ "$record" = 1 ]; then
  {
    echo "### $(date -u +%Y-%m-%d), commit $(bench_commit): \`bench/tls.sh --duration $duration\`"
    echo
    echo "Pima at batch 1, wrk -t1 -c32 (keep-alive: one handshake per connection):"
    echo
    echo "| transport | req/s | p50 ms | p99 ms | errors |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } | /usr/bin/python3 bench/record.py "TLS"
  echo "appended to docs/benchmarks.md"
fi
