// The `pmml` backend: model.pmml evaluated by ferry's own PMML evaluator (pmml_model.h).
// Input `features` FP32 [-1, A]: the model's active fields, in DataDictionary order (logged at
// load; docs/model_repository.md). Outputs: regression -> `prediction` FP32 [-1, 1];
// classification -> `probability` FP32 [-1, K] (one column a RegressionTable's targetCategory,
// in document order) and `label` INT64 [-1, 1] (the index of the likeliest).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace ferry::backends::pmml {

std::unique_ptr<Backend> CreatePmmlBackend();

}  // namespace ferry::backends::pmml
