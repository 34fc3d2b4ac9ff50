// The `xgboost` backend: an XGBoost booster through libxgboost's C API (Debian libxgboost-dev).
// The version folder holds model.json (with "learner"), model.ubj, or a legacy binary model.bin
// (or model.bst, KServe's name for it).
// Input `features` FP32 [-1, F] (F read from the booster). Outputs by objective:
//   reg:* and others      -> `prediction` FP32 [-1, 1]
//   binary:logistic       -> `probability` FP32 [-1, 1] (of class 1) and `label` INT64 [-1, 1]
//   multi:softprob        -> `probability` FP32 [-1, K] and `label` INT64 [-1, 1]
//   multi:softmax         -> `label` INT64 [-1, 1]
// model.yaml parameters: nthread (default 1: ferry scales with instances). Each instance loads
// its own booster, so instances never share XGBoost state.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace ferry::backends::xgboost {

std::unique_ptr<Backend> CreateXgboostBackend();

}  // namespace ferry::backends::xgboost
