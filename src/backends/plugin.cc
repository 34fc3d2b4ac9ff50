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

fs::path DefaultDirectory() {
  if (const char* env = std::getenv("FERRY_BACKEND_DIRECTORY"); env && *env) return env;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "backends";
  const fs::path beside = exe.parent_path() / "backends";
  if (fs::is_directory(beside, ec)) return beside;
  const fs::path installed = exe.parent_path().parent_path() / "lib" / "ferry" / "backends";
  if (fs::is_directory(installed, ec)) return installed;
  return beside;
}

// Python's extension modules (numpy, ...) resolve libpython's symbols from the global scope, so
// the python plugin, which brings libpython, is opened RTLD_GLOBAL; the others stay local.
int OpenFlags(std::string_view plugin) { return RTLD_NOW | (plugin == "python" ? RTLD_GLOBAL : RTLD_LOCAL); }

core::Result<Plugin> Open(std::string_view plugin, const fs::path& file) {
  const auto unavailable = [&](std::string_view why) {
    return core::Unavailable(fmt::format("the {} backend plugin {}: {}", plugin, file.string(), why));
  };
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return unavailable("not installed (this ferry was built or packaged without it; --backend-directory "
                       "names the folder plugins are read from)");
  }
  dlerror();
  void* handle = dlopen(file.c_str(), OpenFlags(plugin));
  if (!handle) {
    const char* error = dlerror();
    return unavailable(fmt::format("cannot be loaded: {}", error ? error : "dlopen failed"));
  }
  using Entry = const PluginExports* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, "ferry_backend_plugin"));
  if (!entry) {
    dlclose(handle);
    return unavailable("is not a ferry backend plugin (no ferry_backend_plugin entry point)");
  }
  const PluginExports* exports = entry();
  if (!exports || exports->abi_version != kPluginAbiVersion || !exports->build ||
      std::strcmp(exports->build, FERRY_PLUGIN_BUILD_ID) != 0 || !exports->ferry_version ||
      std::strcmp(exports->ferry_version, kFerryVersion) != 0 || !exports->create_backend) {
    // Not closed: its code may have run (static constructors); an open handle is harmless.
    return unavailable(fmt::format("comes from another build (plugin ABI {}, ferry {}, compiler {}; this ferry: "
                                   "ABI {}, ferry {}, compiler {}): install the plugins built with this binary",
                                   exports ? exports->abi_version : 0,
                                   exports && exports->ferry_version ? exports->ferry_version : "?",
                                   exports && exports->build ? exports->build : "?", kPluginAbiVersion,
                                   kFerryVersion, FERRY_PLUGIN_BUILD_ID));
  }
  return Plugin{.exports = exports, .file = file};
}

}  // namespace

void SetPluginDirectory(fs::path directory) {
  std::lock_guard lock(State().mutex);
  State().directory = std::move(directory);
}

fs::path PluginDirectory() {
  {
    std::lock_guard lock(State().mutex);
    if (!State().directory.empty()) return State().directory;
  }
  return DefaultDirectory();
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
  FERRY_ASSIGN_OR_RETURN(Plugin opened, Open(plugin, file));
  spdlog::info("backend plugin {} loaded from {}", plugin, file.string());
  return &state.opened.emplace(std::string(plugin), std::move(opened)).first->second;
}

}  // namespace ferry::backends
