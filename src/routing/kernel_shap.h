// KernelSHAP (Lundberg & Lee 2017, section 4.1): model-agnostic feature contributions for a model
// that has no exact explainer (docs/explain.md). For an instance x and a background set B, each
// coalition z of features is valued v(z) = mean over b in B of f(x where z, b elsewhere); the
// contributions are the weighted least-squares fit of v by phi_0 + sum of phi_j over z, with the
// Shapley kernel's weights and phi_0 + sum phi = f(x) held exactly (so they add up). With few
// features every coalition is enumerated and the answer is the exact Shapley values of that game;
// with more, `samples` coalitions are drawn (paired with their complements) from a generator
// seeded with `seed`, so the same request gets the same answer.
//
// The rows to evaluate go through the model's own Infer -- its scheduler and dynamic batching --
// in calls of at most `batch_rows` rows, several in flight. Runs on the calling thread, which it
// blocks until every call has answered (the runtime's operations thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/explanation.h"
#include "core/inference.h"
#include "routing/servable.h"

namespace ferry::routing {

// What one explanation may cost (ferry serve --explain-max-samples, --explain-max-rows,
// --explain-max-background).
struct ExplainLimits {
  std::size_t max_samples = 8192;      // KernelSHAP coalitions a request may ask for
  std::size_t max_rows = 4'000'000;    // model rows KernelSHAP may value for one request
  std::size_t max_background = 10000;  // background rows a model may have (checked at load)
};

struct KernelShapOptions {
  std::vector<std::vector<double>> background;  // rows of the model's input width
  std::size_t samples = 512;                    // coalitions drawn when not all are enumerated
  std::uint64_t seed = 0;
  std::int64_t batch_rows = 256;                // rows in one call of the model (0: no batch dimension)
  std::vector<std::string> feature_names;       // empty: x0, x1, ...
  ExplainLimits limits;
};

// Explains `request` (one 2-D FP32 or FP64 input, [rows, features]) for every FP32/FP64 output
// column of `signature` by evaluating `model`. InvalidArgument names what does not fit.
core::Result<core::Explanation> KernelShap(const Servable& model, const core::ModelSignature& signature,
                                           const core::InferenceRequest& request, const KernelShapOptions& options);

}  // namespace ferry::routing
