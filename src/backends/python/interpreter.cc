#include "backends/python/interpreter.h"

#include <pybind11/embed.h>
#include <pybind11/eval.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <optional>

namespace ferry::backends::python {

namespace py = pybind11;

namespace {

// ferry_runtime.py, embedded at build time (kFerryRuntime).
#include "ferry_runtime_py.h"

}  // namespace

py::module_ Runtime() {
  static py::module_* runtime = nullptr;  // lives as long as the interpreter: never destroyed
  if (!runtime) {
    py::module_ m = py::module_::import("types").attr("ModuleType")("_ferry");
    py::exec(kFerryRuntime, m.attr("__dict__"));
    py::module_::import("sys").attr("modules")["_ferry"] = m;
    runtime = new py::module_(std::move(m));
  }
  return *runtime;
}

core::Result<void> EnsureInterpreter() {
  static std::once_flag started;
  static std::string failure;  // why the interpreter cannot run models; written once, under call_once
  std::call_once(started, [] {
    // Inside a Python process (ferry's Python module) the host's interpreter runs the models: its
    // modules, its sys.path, its threads; ferry takes the GIL as any extension module's thread
    // would, and leaves the host's own state alone.
    const bool hosted = Py_IsInitialized() != 0;
    std::optional<py::gil_scoped_acquire> host_gil;
    if (hosted) {
      host_gil.emplace();
    } else {
      py::initialize_interpreter(/*init_signal_handlers=*/false);
    }
    try {
      // Import numpy while starting: the first import is slow and not thread-friendly.
      py::module_::import("numpy");
      const auto version = py::module_::import("sys").attr("version").cast<std::string>();
      spdlog::info("{} Python {}", hosted ? "models run in the host's" : "embedded", version.substr(0, version.find(' ')));
    } catch (py::error_already_set& e) {
      // numpy is how every tensor crosses: without it no Python model can run. The server goes
      // on; each Python model says why it cannot load.
      failure = DescribeException(e, "the embedded Python");
      spdlog::error("the embedded Python did not start: {}", failure);
    }
    // Hand the GIL back: from now on, threads take it only while they run Python.
    if (!hosted) PyEval_SaveThread();
  });
  if (!failure.empty()) return core::Unavailable("the embedded Python did not start: " + failure);
  return {};
}

std::string DescribeException(py::error_already_set& e, std::string_view where) {
  std::string type = "Exception";
  try {
    type = e.type().attr("__name__").cast<std::string>();
    const std::string traceback =
        py::str("").attr("join")(py::module_::import("traceback").attr("format_exception")(e.type(), e.value(),
                                                                                           e.trace()))
            .cast<std::string>();
    spdlog::warn("{}: Python raised {}", where, traceback);
  } catch (const std::exception& inner) {
    spdlog::warn("{}: Python raised {} (no traceback: {})", where, e.what(), inner.what());
  }
  std::string message = py::str(e.value()).cast<std::string>();
  return message.empty() ? type : type + ": " + message;
}

std::unexpected<core::Error> UserError(py::error_already_set& e, std::string_view hook, std::string_view where,
                                       core::ErrorCode code) {
  return core::MakeError(code, fmt::format("{} raised {}", hook, DescribeException(e, fmt::format("{}: {}", where, hook))));
}

}  // namespace ferry::backends::python
