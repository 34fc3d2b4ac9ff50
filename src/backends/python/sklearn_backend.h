// The `sklearn` backend: a pickled scikit-learn estimator or Pipeline ("black box" transfer: a
// whole Pipeline, custom FunctionTransformers included, travels as one file), run in the embedded
// interpreter. The version folder holds model.joblib or model.pkl, written by joblib, pickle,
// cloudpickle or dill (each is tried). Served outputs: `predict` ([-1, 1], typed like the
// classes, FP64 for a regressor) and, when the estimator has it, `predict_proba` (FP64 [-1, K]);
// only the outputs a request asks for are computed, and model.yaml `outputs` may narrow them.
// Input `input` FP64 [-1, n_features_in_] unless model.yaml declares the inputs (several inputs
// become the columns of a pandas DataFrame, one input a column).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace ferry::backends::python {

std::unique_ptr<Backend> CreateSklearnBackend();

}  // namespace ferry::backends::python
