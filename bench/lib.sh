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

# The CPU a server spends a request, steadier than req/s when the load generator shares the two
# cores. with_cpu VAR PID COMMAND...: runs a load command that prints "req/s p50 p99 errors" after
# a 2 s warm-up and $duration s of load (as wrk_post does), and sets VAR to that line with PID's
# CPU µs a request appended (user + system, every thread, over the warm-up and the run, divided
# by the requests at the run's rate).
clock_ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
with_cpu() {
  local var=$1 pid=$2 before result
  shift 2
  before=$(cpu_ticks "$pid")
  result=$("$@")
  printf -v "$var" '%s %s' "$result" \
    "$(awk "BEGIN {printf \"%.1f\", ($(cpu_ticks "$pid") - $before) * 1e6 / $clock_ticks / (${result%% *} * ($duration + 2))}")"
}
# better NEW OLD OP: whether NEW beats OLD by OP (">" or "<"); true when there is no OLD yet.
better() { [ -z "$2" ] || awk "BEGIN {exit !($1 $3 $2)}"; }

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

# wrk_post URL BODY_FILE CONNECTIONS SECONDS: POSTs the file's content as JSON with one wrk thread,
# after a 2 s warm-up; prints "req/s p50_ms p99_ms errors".
wrk_post() {
  cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$2", "rb"))
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
  wrk -t1 -c"$3" -d2s -s "$work/post.lua" "$1" > /dev/null
  wrk -t1 -c"$3" -d"$4s" --latency -s "$work/post.lua" "$1" | grep '^RESULT' | cut -d' ' -f2-
}

# wrk_pima URL CONNECTIONS SECONDS: the Pima request (batch 1, JSON) through wrk_post.
wrk_pima() {
  echo '{"inputs":[{"name":"features","shape":[1,8],"datatype":"FP32","data":[6,148,72,35,0,33.6,0.627,50]}]}' \
    > "$work/pima.json"
  wrk_post "$1" "$work/pima.json" "$2" "$3"
}
