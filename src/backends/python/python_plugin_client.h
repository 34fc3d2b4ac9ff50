// What the binary asks of the python plugin besides its backends (plugin.h): the names and types of
// its further entry points, and the calls that go through them. Each call opens the plugin on first
// use; a missing plugin is an Unavailable error naming it. Any thread.
#pragma once

#include <memory>
#include <string_view>

#include "backends/plugin.h"
#include "backends/python/hooks.h"

namespace ferry::backends::python {

// Entry points of the python plugin (PluginExports::entry_point), with the type each is cast to.
inline constexpr std::string_view kHooksEntry = "model_hooks";    // decltype(&WithHooks)
inline constexpr std::string_view kStepEntry = "pipeline_step";   // pipeline::StepFactory (MakePythonStep)
inline constexpr std::string_view kWorkerEntry = "python_worker"; // int (*)(int fd) (RunPythonWorker)

// WithHooks (hooks.h), run by the python plugin.
core::Result<std::unique_ptr<BackendModel>> WithHooksFromPlugin(std::unique_ptr<BackendModel> model,
                                                                const HookSpec& hooks, const LoadOptions& options);

// The entry point `name` of the python plugin, opening it if need be.
core::Result<PluginFunction> PythonEntryPoint(std::string_view name);

}  // namespace ferry::backends::python
