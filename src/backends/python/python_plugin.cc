// The python plugin, libferry_backend_python.so: the python and sklearn backends, model.yaml's
// Python hooks, the python pipeline step and the worker processes' main loop, with the embedded
// interpreter they share.
#include "backends/plugin.h"
#include "backends/python/hooks.h"
#include "backends/python/python_backend.h"
#include "backends/python/python_plugin_client.h"
#include "backends/python/python_step.h"
#include "backends/python/python_worker.h"
#include "backends/python/sklearn_backend.h"

namespace ferry::backends::python {
namespace {

std::unique_ptr<Backend> CreateBackend(std::string_view name) {
  if (name == "python") return CreatePythonBackend();
  if (name == "sklearn") return CreateSklearnBackend();
  return nullptr;
}

PluginFunction EntryPoint(std::string_view name) {
  if (name == kHooksEntry) return reinterpret_cast<PluginFunction>(&WithHooks);
  if (name == kStepEntry) return reinterpret_cast<PluginFunction>(&MakePythonStep);
  if (name == kWorkerEntry) return reinterpret_cast<PluginFunction>(&RunPythonWorker);
  return nullptr;
}

}  // namespace
}  // namespace ferry::backends::python

FERRY_BACKEND_PLUGIN(&ferry::backends::python::CreateBackend, &ferry::backends::python::EntryPoint)
