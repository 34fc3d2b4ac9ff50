// The `python` step kind as the binary registers it: a factory that makes the step in the python
// plugin (python_step.h).
#include <fmt/format.h>

#include "backends/python/python_plugin_client.h"
#include "backends/python/python_step.h"

namespace ferry::backends::python {
namespace {

core::Result<std::unique_ptr<pipeline::Step>> MakeStepInPlugin(const pipeline::StepConfig& config,
                                                               pipeline::Symbols& symbols) {
  auto entry = PythonEntryPoint(kStepEntry);
  if (!entry) return config.Fail(fmt::format("a python step needs the python plugin: {}", entry.error().message));
  return reinterpret_cast<pipeline::StepFactory>(*entry)(config, symbols);
}

}  // namespace

void RegisterPythonStep() { pipeline::RegisterStepKind("python", &MakeStepInPlugin); }

}  // namespace ferry::backends::python
