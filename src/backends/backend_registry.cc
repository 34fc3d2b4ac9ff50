#include "backends/backend_registry.h"

#include <fmt/format.h>

#include "backends/linear/linear_backend.h"
#include "backends/mlflow/mlflow_backend.h"
#include "backends/pmml/pmml_backend.h"
#ifdef FERRY_WITH_XGBOOST
#include "backends/xgboost/xgboost_backend.h"
#endif

#ifdef FERRY_WITH_PYTHON
#include "backends/python/python_backend.h"
#include "backends/python/sklearn_backend.h"
#endif
#ifdef FERRY_WITH_TORCH
#include "backends/torch/torchscript_backend.h"
#endif
#ifdef FERRY_WITH_ONNXRUNTIME
#include "backends/onnxruntime/ort_backend.h"
#endif

namespace ferry::backends {

BackendRegistry BackendRegistry::WithBuiltins() {
  BackendRegistry registry;
  // First: an MLflow folder holds its flavors' files too (model.onnx, model.pkl), which the
  // backends below would recognize.
  registry.Register(mlflow::CreateMlflowBackend());
#ifdef FERRY_WITH_ONNXRUNTIME
  registry.Register(onnxruntime::CreateOrtBackend());
#endif
  registry.Register(linear::CreateLinearBackend());
  registry.Register(pmml::CreatePmmlBackend());
#ifdef FERRY_WITH_XGBOOST
  registry.Register(xgboost::CreateXgboostBackend());
#endif
#ifdef FERRY_WITH_TORCH
  registry.Register(torchscript::CreateTorchScriptBackend());
#endif
#ifdef FERRY_WITH_PYTHON
  registry.Register(python::CreatePythonBackend());
  registry.Register(python::CreateSklearnBackend());
#endif
  return registry;
}

void BackendRegistry::Register(std::unique_ptr<Backend> backend) { backends_.push_back(std::move(backend)); }

const Backend* BackendRegistry::Find(std::string_view name) const {
  for (const auto& b : backends_) {
    if (b->name() == name) return b.get();
  }
  return nullptr;
}

const Backend* BackendRegistry::Detect(const std::filesystem::path& version_dir) const {
  for (const auto& b : backends_) {
    if (b->Recognizes(version_dir)) return b.get();
  }
  return nullptr;
}

std::string BackendRegistry::Names() const {
  std::string names;
  for (const auto& b : backends_) {
    if (!names.empty()) names += ", ";
    names += b->name();
  }
  return names;
}

std::string BackendRegistry::FilesHint() const {
  std::string hint;
  for (const auto& b : backends_) {
    if (!hint.empty()) hint += ", ";
    hint += fmt::format("{} ({})", b->Files(), b->name());
  }
  return hint;
}

}  // namespace ferry::backends
