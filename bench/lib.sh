# Helpers shared by the bench/ scripts (sourced, not run). They expect `set -euo pipefail`, a
# scratch folder in $work and $build naming the build folder.

# A port that was free a moment ago.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The short commit the figures belong to, with +dirty when src/ has uncommitted changes.
bench_commit() {
  local commit
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  [ -n "$(git status --porcelain -- src 2>/dev/null)" ] && commit="$commit+dirty"
  echo "$commit"
}

# start_ferry REPOSITORY [ferry serve options...]: serves on 127.0.0.1, HTTP on a free port (set in
# $port), no separate metrics port; sets $ferry_pid. Stop it with stop_ferry (cleanup does too).
ferry_pid=""
start_ferry() {
  local repository=$1
  shift
  "$build/ferry" serve --model-repository "$repository" --http-host 127.0.0.1 --http-port 0 --metrics-port 0 "$@" \
    2> "$work/ferry.log" &
  ferry_pid=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*serving KServe V2 HTTPS\{0,1\} on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/ferry.log")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  cat "$work/ferry.log" >&2
  return 1
}
stop_ferry() {
  [ -n "$ferry_pid" ] && kill "$ferry_pid" 2>/dev/null && wait "$ferry_pid" 2>/dev/null || true
  ferry_pid=""
}
cleanup() { stop_ferry; rm -rf "$work"; }
