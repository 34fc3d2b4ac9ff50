// Checking an inference request against the signature a model version serves, before it is queued:
// every input known, present once, of the right datatype and a fitting shape; requested outputs
// known and distinct. Messages name the model, the input or output, and what was expected.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/inference.h"

namespace ferry::routing {

// Returns the names of the outputs to compute, in response order (all of them when the request
// names none).
core::Result<std::vector<std::string>> ValidateRequest(std::string_view model_name, const core::ModelSignature& signature,
                                                       std::int64_t max_batch_size,
                                                       const core::InferenceRequest& request);

}  // namespace ferry::routing
