// BackendRegistry: the backends ferry knows, by name. Filled once at start-up, then only read:
// lookups are safe from any thread once registration is done. The heavy backends are stand-ins
// for plugins (plugin_backend.h), opened the first time a model needs one.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"

namespace ferry::backends {

class BackendRegistry {
 public:
  // A registry holding the built-in backends (mlflow, linear, pmml) and the plugins' (onnxruntime,
  // xgboost, torchscript, python, sklearn), in detection order.
  static BackendRegistry WithBuiltins();

  void Register(std::unique_ptr<Backend> backend);

  // The backend named `name`, or nullptr.
  const Backend* Find(std::string_view name) const;

  // The first backend that recognizes the files of `version_dir`, or nullptr.
  const Backend* Detect(const std::filesystem::path& version_dir) const;

  // "onnxruntime, ..." for error messages.
  std::string Names() const;
  // "model.onnx (onnxruntime), model.pmml (pmml), ...": what each backend looks for.
  std::string FilesHint() const;

 private:
  std::vector<std::unique_ptr<Backend>> backends_;
};

}  // namespace ferry::backends
