// `ferry infer`: a small client that sends one inference request to a KServe V2 server over HTTP
// (JSON or binary tensors) or gRPC and prints the answer as V2 JSON -- for people who do not have
// a client at hand, and for checking a deployment from a shell.
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

void AddInferCommand(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
