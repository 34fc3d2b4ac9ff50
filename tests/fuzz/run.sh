#!/usr/bin/env bash
# Runs fuzz targets built with libFuzzer (make fuzz): run.sh BUILD_DIR SECONDS TARGET...
# Each starts from its seed corpus (tests/fuzz/corpus/<target>) plus what earlier runs found
# (BUILD_DIR/corpus/<target>, where new inputs go), for SECONDS. A crash, leak, UBSan report or
# timeout fails the run with the reproducer in BUILD_DIR/crashes/ and the report printed. Prints
# one summary line a target: runs, runs/s, coverage (edges), corpus size. Targets run side by
# side, one a core (FUZZ_JOBS to say how many).
set -euo pipefail
build_dir=$1
seconds=$2
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$build_dir/crashes"
# One target; its summary line, or its report and status 1.
run_one() {
  local target=$1
  mkdir -p "$build_dir/corpus/$target"
  local log="$build_dir/crashes/$target.log"
  if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
      "$build_dir/tests/fuzz/$target" "$build_dir/corpus/$target" "$here/corpus/$target" \
      -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build_dir/crashes/$target-" > "$log" 2>&1; then
    { echo "fuzz: $target FAILED; reproducer in $build_dir/crashes/, report:"; tail -n 60 "$log"; } >&2
    return 1
  fi
  local runs rate cov corpus
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "fuzz: $target: $runs runs in ${seconds} s ($rate/s), coverage $cov edges, corpus $corpus, no failure"
}

# As many targets at once as there are cores (FUZZ_JOBS), each on one.
jobs_max=${FUZZ_JOBS:-$(nproc)}
failed=0
for target in "$@"; do
  run_one "$target" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || failed=1; done
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
exit "$failed"
