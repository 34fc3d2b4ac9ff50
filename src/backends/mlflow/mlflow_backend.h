// The `mlflow` backend: an MLflow model directory (a version folder holding an `MLmodel` file),
// read without the mlflow package. The first flavor ferry serves natively wins:
//   onnx              -> the ONNX Runtime backend on the flavor's `data` file
//   xgboost           -> the XGBoost backend on its `data` file
//   sklearn           -> the sklearn backend on its `pickled_model`
//   python_function   -> `loader_module` (not mlflow's own) imported with `code` on sys.path, its
//                        _load_pyfunc(data) called, and the result's predict() served
// The MLmodel `signature` (tensor-based, or column-based: the columns of one 2-D input `input`)
// becomes the inputs/outputs of the Python flavors unless model.yaml declares them; ONNX and
// XGBoost files carry their own.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace ferry::backends::mlflow {

std::unique_ptr<Backend> CreateMlflowBackend();

// The MLmodel signature as ferry tensors (exposed for tests); an empty signature when absent.
core::Result<core::ModelSignature> ParseMlflowSignature(std::string_view mlmodel_yaml);

}  // namespace ferry::backends::mlflow
