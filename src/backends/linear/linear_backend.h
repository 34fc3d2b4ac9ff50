// The `linear` backend: a model given as its coefficients in `model.json` (the "coefficients
// transfer" way of moving a linear model between stacks), evaluated natively:
//
//   {"coefficients": [[w11, ..., w1F], ...],   K rows (outputs or classes) of F weights
//    "intercept": [b1, ..., bK],
//    "link": "identity" | "logistic" | "softmax",
//    "features": ["preg", ...]}                 optional: the F feature names, for metadata
//
// Input `features` FP32 [-1, F]. Outputs: identity -> `prediction` FP32 [-1, K]; logistic ->
// `probability` FP32 [-1, K] and `label` INT64 [-1, 1] (K = 1: probability > 0.5; else the best
// class); softmax -> `probability` FP32 [-1, K] and `label` INT64 [-1, 1] (the best class).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace ferry::backends::linear {

std::unique_ptr<Backend> CreateLinearBackend();

}  // namespace ferry::backends::linear
