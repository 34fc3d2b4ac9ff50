// Backend plugins. The backends with heavy dependencies (ONNX Runtime, TorchScript/libtorch,
// XGBoost, Python/libpython) are shared libraries, `libferry_backend_<plugin>.so`, loaded with
// dlopen the first time a model needs one, so that a server serving only PMML never maps libtorch
// and an image may ship without the plugins it does not need. The core (HTTP, Kafka,
// scheduler, pipelines, PMML, linear, MLflow's dispatch) is in the binary; gRPC is a module of its
// own (cli/grpc_module.h).
//
// The boundary is C++ (Backend, BackendModel, Tensor, Error cross it), so a plugin must come from
// the same build as the binary: each exports
//
//   extern "C" const ferry::backends::PluginExports* ferry_backend_plugin();
//
// and the loader refuses one whose abi_version or build differs. A plugin carries its own copy of
// the core code it uses, with every symbol hidden but that entry point: nothing it defines can
// clash with the binary's or another plugin's. Plugins are never unloaded.
//
// Where plugins are looked for: the directory given to SetPluginDirectory (`ferry serve
// --backend-directory`), else $FERRY_BACKEND_DIRECTORY, else `backends/` beside the executable
// (the build tree), else `../lib/ferry/backends` from it (an installed tree).
//
// Thread safety: LoadPlugin may be called from any thread; each plugin is opened once. Set the
// directory at start-up, before any load.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "backends/backend.h"
#include "core/version.h"

namespace ferry::backends {

// Bumped whenever PluginExports or the meaning of an entry point changes.
inline constexpr int kPluginAbiVersion = 1;

// The build a plugin must share with the binary: the release and the compiler that built both.
#define FERRY_PLUGIN_BUILD_ID __VERSION__

// What every shared library of ferry's (a backend plugin, the gRPC module: cli/grpc_module.h)
// exports first: the build it must share with the program that opens it.
struct BuildStamp {
  int abi_version;    // the library's own ABI version (kPluginAbiVersion for a plugin)
  const char* build;  // FERRY_PLUGIN_BUILD_ID of its build
  const char* ferry_version;
};

// Where a file or folder of ferry's install is: $`env` when set, else `beside` the executable's
// folder when it exists there (the build tree), else `installed` under the folder above the
// executable's when it exists there (an installed tree: bin/ferry), else the first.
std::filesystem::path LocateInstalled(const char* env, const std::filesystem::path& beside,
                                      const std::filesystem::path& installed);

// Opens the shared library `file` (dlopen `flags`), calls its extern "C" function `entry` and returns
// what that returns, once it is known to start with a BuildStamp of this build and `abi_version`.
// Errors are Unavailable and read "<what> <file>: <why>"; a missing file's <why> is "not installed
// (<missing_hint>)". A library once opened is never closed.
core::Result<const void*> OpenFerryLibrary(const std::filesystem::path& file, int flags, const char* entry,
                                           int abi_version, std::string_view what, std::string_view missing_hint);

// A function of a plugin, as PluginExports hands it over: reinterpret_cast to and from its real
// type (a round trip between function pointer types is well-defined).
using PluginFunction = void (*)();

struct PluginExports {
  BuildStamp stamp;
  // A new instance of the backend named `name` (`backend:` in model.yaml), or nullptr when the
  // plugin has none of that name.
  std::unique_ptr<Backend> (*create_backend)(std::string_view name);
  // A further entry point by name, cast back by the caller to the function type it documents (the
  // python plugin's "pipeline_step", "model_hooks", "python_worker"), or nullptr; may itself be
  // nullptr.
  PluginFunction (*entry_point)(std::string_view name);
};

// A plugin once opened: what it exports and the file it came from.
struct Plugin {
  const PluginExports* exports = nullptr;
  std::filesystem::path file;
};

void SetPluginDirectory(std::filesystem::path directory);
std::filesystem::path PluginDirectory();

// The file a plugin is read from: PluginDirectory() / "libferry_backend_<plugin>.so".
std::filesystem::path PluginFile(std::string_view plugin);

// Opens `plugin` ("onnxruntime", "torchscript", "xgboost", "python") the first time, then returns
// the same. A missing, unreadable or mismatched file is an Unavailable error naming the plugin and
// the file; a later call tries again (the file may have been installed since).
core::Result<const Plugin*> LoadPlugin(std::string_view plugin);

// Defines the entry point of a plugin: FERRY_BACKEND_PLUGIN(create_backend, entry_point).
#define FERRY_BACKEND_PLUGIN(create, entry)                                                              \
  extern "C" __attribute__((visibility("default"))) const ::ferry::backends::PluginExports*             \
  ferry_backend_plugin() {                                                                              \
    static const ::ferry::backends::PluginExports exports{                                              \
        {::ferry::backends::kPluginAbiVersion, FERRY_PLUGIN_BUILD_ID, ::ferry::kFerryVersion}, (create), (entry)}; \
    return &exports;                                                                                    \
  }

}  // namespace ferry::backends
