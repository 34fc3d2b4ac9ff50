#!/usr/bin/env bash
# Runs fuzz targets built with libFuzzer (make fuzz): run.sh BUILD_DIR SECONDS TARGET...
# Each starts from its seed corpus (tests/fuzz/corpus/<target>) plus what earlier runs found
# (BUILD_DIR/corpus/<target>, where new inputs go), for SECONDS. A crash, leak, UBSan report or
# timeout stops with the reproducer in BUILD_DIR/crashes/ and the report printed. Prints one
# summary line a target: runs, runs/s, coverage (edges), corpus size.
set -euo pipefail
build_dir=$1
seconds=$2
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$build_dir/crashes"
for target in "$@"; do
  mkdir -p "$build_dir/corpus/$target"
  log="$build_dir/crashes/$target.log"
  if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
      "$build_dir/tests/fuzz/$target" "$build_dir/corpus/$target" "$here/corpus/$target" \
      -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$build_dir/crashes/$target-" > "$log" 2>&1; then
    echo "fuzz: $target FAILED; reproducer in $build_dir/crashes/, report:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "fuzz: $target: $runs runs in ${seconds} s ($rate/s), coverage $cov edges, corpus $corpus, no failure"
done
