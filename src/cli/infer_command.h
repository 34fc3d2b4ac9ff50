// `ferry infer`: a small client that sends one inference request to a KServe V2 server over HTTP
// (JSON or binary tensors) or gRPC and prints the answer as V2 JSON -- for people who do not have
// a client at hand, and for checking a deployment from a shell.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/inference.h"

namespace ferry::cli {

// A request from --input arguments: each name:DTYPE:shape:values, or one @file.json holding a V2
// JSON request. Shared by `ferry infer` and `ferry bench`.
core::Result<core::InferenceRequest> BuildInferRequest(const std::vector<std::string>& inputs,
                                                       const std::string& model, std::int64_t version);

void AddInferCommand(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
