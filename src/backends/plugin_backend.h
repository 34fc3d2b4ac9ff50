// PluginBackend: the registry's stand-in for a backend that lives in a plugin (plugin.h). It knows
// the backend's name and model files without the plugin, so that listing and detecting backends
// never loads one; the first Load opens the plugin and creates the real backend, which every later
// Load goes to. A plugin that cannot be opened fails that Load with the reason (the model is
// UNAVAILABLE); the next Load tries again.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>

#include "backends/backend.h"

namespace ferry::backends {

struct PluginBackendSpec {
  std::string_view name;    // the backend's name (`backend:` in model.yaml)
  std::string_view plugin;  // the plugin that has it: libferry_backend_<plugin>.so
  std::string_view files;   // Backend::Files()
  bool (*recognizes)(const std::filesystem::path& version_dir);
};

class PluginBackend final : public Backend {
 public:
  explicit PluginBackend(const PluginBackendSpec& spec) : spec_(spec) {}

  std::string_view name() const override { return spec_.name; }
  std::string_view Files() const override { return spec_.files; }
  bool Recognizes(const std::filesystem::path& version_dir) const override { return spec_.recognizes(version_dir); }
  core::Result<std::unique_ptr<BackendModel>> Load(const LoadOptions& options) const override;

 private:
  core::Result<const Backend*> Real() const;

  // Constant after construction.
  const PluginBackendSpec spec_;

  // Protected by mutex_: set once, by the first Load that opens the plugin.
  mutable std::mutex mutex_;
  mutable std::unique_ptr<Backend> real_;
};

// The backends of the plugins this ferry knows, in detection order among themselves.
extern const PluginBackendSpec kOnnxRuntimeSpec, kXgboostSpec, kTorchScriptSpec, kPythonSpec, kSklearnSpec;

}  // namespace ferry::backends
