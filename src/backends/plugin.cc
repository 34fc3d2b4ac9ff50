#include "backends/plugin.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace ferry::backends {
namespace {

namespace fs = std::filesystem;

struct PluginState {
  std::mutex mutex;
  fs::path directory;                                  // empty: the default
  std::map<std::string, Plugin, std::less<>> opened;  // by plugin name; never erased
};

PluginState& State() {
  static PluginState* state = new PluginState;  // never destroyed: plugins outlive static destruction
  return *state;
}

// Python's extension modules (numpy, ...) resolve libpython's symbols from the global scope, so
// the python plugin, which brings libpython, is opened RTLD_GLOBAL; the others stay local.
int OpenFlags(std::string_view plugin) { return RTLD_NOW | (plugin == "python" ? RTLD_GLOBAL : RTLD_LOCAL); }

}  // namespace

fs::path LocateInstalled(const char* env, const fs::path& beside, const fs::path& installed) {
  if (const char* value = std::getenv(env); value && *value) return value;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return beside;
  const fs::path in_build = exe.parent_path() / beside;
  if (fs::exists(in_build, ec)) return in_build;
  const fs::path in_install = exe.parent_path().parent_path() / installed;
  if (fs::exists(in_install, ec)) return in_install;
  return in_build;
}

core::Result<const void*> OpenFerryLibrary(const fs::path& file, int flags, const char* entry, int abi_version,
                                           std::string_view what, std::string_view missing_hint) {
  const auto unavailable = [&](std::string_view why) {
    return core::Unavailable(fmt::format("{} {}: {}", what, file.string(), why));
  };
  std::error_code ec;
  if (!fs::exists(file, ec)) return unavailable(fmt::format("not installed ({})", missing_hint));
  dlerror();
  void* handle = dlopen(file.c_str(), flags);
  if (!handle) {
    const char* error = dlerror();
    return unavailable(fmt::format("cannot be loaded: {}", error ? error : "dlopen failed"));
  }
  using Entry = const BuildStamp* (*)();
  auto function = reinterpret_cast<Entry>(dlsym(handle, entry));
  if (!function) {
    dlclose(handle);
    return unavailable(fmt::format("is not one of ferry's libraries (no {} entry point)", entry));
  }
  const BuildStamp* stamp = function();
  if (!stamp || stamp->abi_version != abi_version || !stamp->build ||
      std::strcmp(stamp->build, FERRY_PLUGIN_BUILD_ID) != 0 || !stamp->ferry_version ||
      std::strcmp(stamp->ferry_version, kFerryVersion) != 0) {
    // Not closed: its code may have run (static constructors); an open handle is harmless.
    return unavailable(fmt::format("comes from another build (ABI {}, ferry {}, compiler {}; this ferry: ABI {}, "
                                   "ferry {}, compiler {}): install the one built with this binary",
                                   stamp ? stamp->abi_version : 0,
                                   stamp && stamp->ferry_version ? stamp->ferry_version : "?",
                                   stamp && stamp->build ? stamp->build : "?", abi_version, kFerryVersion,
                                   FERRY_PLUGIN_BUILD_ID));
  }
  return static_cast<const void*>(stamp);
}

void SetPluginDirectory(fs::path directory) {
  std::lock_guard lock(State().mutex);
  State().directory = std::move(directory);
}

fs::path PluginDirectory() {
  {
    std::lock_guard lock(State().mutex);
    if (!State().directory.empty()) return State().directory;
  }
  return LocateInstalled("FERRY_BACKEND_DIRECTORY", "backends", "lib/ferry/backends");
}

fs::path PluginFile(std::string_view plugin) {
  return PluginDirectory() / fmt::format("libferry_backend_{}.so", plugin);
}

core::Result<const Plugin*> LoadPlugin(std::string_view plugin) {
  const fs::path file = PluginFile(plugin);
  PluginState& state = State();
  // Held while opening: a plugin is opened once, and opening one is rare (the first model of
  // its kind) and short next to loading that model.
  std::lock_guard lock(state.mutex);
  if (auto it = state.opened.find(plugin); it != state.opened.end()) return &it->second;
  FERRY_ASSIGN_OR_RETURN(const void* entry,
                         OpenFerryLibrary(file, OpenFlags(plugin), "ferry_backend_plugin", kPluginAbiVersion,
                                          fmt::format("the {} backend plugin", plugin),
                                          "this ferry was built or packaged without it; --backend-directory names "
                                          "the folder plugins are read from"));
  const auto* exports = static_cast<const PluginExports*>(entry);
  if (!exports->create_backend) {
    return core::Unavailable(fmt::format("the {} backend plugin {}: exports no backends", plugin, file.string()));
  }
  Plugin opened{.exports = exports, .file = file};
  spdlog::info("backend plugin {} loaded from {}", plugin, file.string());
  return &state.opened.emplace(std::string(plugin), std::move(opened)).first->second;
}

}  // namespace ferry::backends
