#include "backends/plugin_backend.h"

#include <fmt/format.h>

#include "backends/model_files.h"
#include "backends/plugin.h"

namespace ferry::backends {

namespace fs = std::filesystem;

const PluginBackendSpec kOnnxRuntimeSpec{"onnxruntime", "onnxruntime", "model.onnx",
                                         [](const fs::path& dir) { return HasModelFile(dir, "model.onnx"); }};
const PluginBackendSpec kXgboostSpec{"xgboost", "xgboost", kXgboostFiles, &IsXgboostModel};
const PluginBackendSpec kTorchScriptSpec{"torchscript", "torchscript", "model.pt",
                                         [](const fs::path& dir) { return HasModelFile(dir, "model.pt"); }};
const PluginBackendSpec kPythonSpec{"python", "python", "model.py",
                                    [](const fs::path& dir) { return HasModelFile(dir, "model.py"); }};
const PluginBackendSpec kSklearnSpec{"sklearn", "python", "model.joblib or model.pkl",
                                     [](const fs::path& dir) { return PickleFile(dir).has_value(); }};

core::Result<const Backend*> PluginBackend::Real() const {
  std::lock_guard lock(mutex_);
  if (real_) return real_.get();
  FERRY_ASSIGN_OR_RETURN(const Plugin* plugin, LoadPlugin(spec_.plugin));
  real_ = plugin->exports->create_backend(spec_.name);
  if (!real_) {
    return core::Unavailable(fmt::format("the {} backend plugin {} has no backend '{}'", spec_.plugin,
                                         plugin->file.string(), spec_.name));
  }
  return real_.get();
}

core::Result<std::unique_ptr<BackendModel>> PluginBackend::Load(const LoadOptions& options) const {
  FERRY_ASSIGN_OR_RETURN(const Backend* real, Real());
  return real->Load(options);
}

}  // namespace ferry::backends
