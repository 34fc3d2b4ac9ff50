#include "backends/backend_registry.h"

#include <fmt/format.h>

#include "backends/linear/linear_backend.h"
#include "backends/mlflow/mlflow_backend.h"
#include "backends/plugin_backend.h"
#include "backends/pmml/pmml_backend.h"

namespace ferry::backends {

BackendRegistry BackendRegistry::WithBuiltins() {
  BackendRegistry registry;
  // First: an MLflow folder holds its flavors' files too (model.onnx, model.pkl), which the
  // backends below would recognize.
  registry.Register(mlflow::CreateMlflowBackend());
  registry.Register(std::make_unique<PluginBackend>(kOnnxRuntimeSpec));
  // Before xgboost: both read a model.json, linear's holds coefficients and XGBoost's a learner.
  registry.Register(linear::CreateLinearBackend());
  registry.Register(pmml::CreatePmmlBackend());
  registry.Register(std::make_unique<PluginBackend>(kXgboostSpec));
  registry.Register(std::make_unique<PluginBackend>(kTorchScriptSpec));
  registry.Register(std::make_unique<PluginBackend>(kPythonSpec));
  registry.Register(std::make_unique<PluginBackend>(kSklearnSpec));
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
