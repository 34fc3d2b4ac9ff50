#include "backends/python/python_plugin_client.h"

#include <fmt/format.h>

#include "backends/plugin.h"

namespace ferry::backends::python {

core::Result<PluginFunction> PythonEntryPoint(std::string_view name) {
  FERRY_ASSIGN_OR_RETURN(const Plugin* plugin, LoadPlugin("python"));
  const PluginFunction entry = plugin->exports->entry_point ? plugin->exports->entry_point(name) : nullptr;
  if (!entry) {
    return core::Unavailable(fmt::format("the python backend plugin {} has no entry point '{}'", plugin->file.string(),
                                         name));
  }
  return entry;
}

core::Result<std::unique_ptr<BackendModel>> WithHooksFromPlugin(std::unique_ptr<BackendModel> model,
                                                                const HookSpec& hooks, const LoadOptions& options) {
  FERRY_ASSIGN_OR_RETURN(const PluginFunction entry, PythonEntryPoint(kHooksEntry));
  return reinterpret_cast<decltype(&WithHooks)>(entry)(std::move(model), hooks, options);
}

}  // namespace ferry::backends::python
