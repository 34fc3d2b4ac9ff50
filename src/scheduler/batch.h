// Batching arithmetic for the dynamic batcher: joining the inputs of several requests along the
// first (batch) dimension, and splitting a batch's outputs back into one answer per request.
// Pure functions; safe from any thread. One copy of the data each way, no per-element allocation.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/inference.h"

namespace ferry::sched {

// Rows of a request: the first dim of its first input (1 for a request without inputs or a
// rank-0 first input).
std::int64_t Rows(const core::InferenceRequest& request);

// Whether two requests can share a batch: the same inputs in the same order with the same
// datatypes and the same dims after the first, and the same wanted outputs.
bool Compatible(const core::InferenceRequest& a, std::span<const std::string> a_outputs,
                const core::InferenceRequest& b, std::span<const std::string> b_outputs);

// The inputs of `requests` (compatible, in order) joined along the first dim.
core::Result<std::vector<core::Tensor>> JoinInputs(std::span<const core::InferenceRequest* const> requests);

// Splits each output of a batch (first dim = the sum of `rows`) into one set of outputs per
// request, in order. Fails, naming the output, when an output's first dim is not that sum.
core::Result<std::vector<std::vector<core::Tensor>>> SplitOutputs(std::vector<core::Tensor>&& outputs,
                                                                  std::span<const std::int64_t> rows);

}  // namespace ferry::sched
