// `ferry bench`: a load generator in the spirit of perf_analyzer. It reads a model's metadata,
// synthesizes inputs (or takes them from --input), and measures throughput and latency
// percentiles at each concurrency of a range, over HTTP (JSON or binary) or gRPC.
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

void AddBenchCommand(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
