// The embedded CPython (Debian's python3.11 through pybind11): started once, on the first use,
// and kept for the life of the process (never finalized: extension modules such as numpy do not
// survive a restart, and threads may still hold Python objects at exit). After start-up no thread
// holds the GIL; code that runs Python takes it with pybind11::gil_scoped_acquire for as long as
// Python runs, and only then. CPython's own signal handlers are not installed: ferry handles
// SIGINT and SIGTERM. Inside a Python process (ferry's Python module, docs/embedding.md) there is
// no second interpreter: the host's runs the models, and the rest holds as said.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "core/error.h"

namespace ferry::backends::python {

// A Python object held from C++: the GIL is taken to release it, whatever thread does.
struct PyObjectDeleter {
  void operator()(pybind11::object* o) const {
    pybind11::gil_scoped_acquire gil;
    delete o;
  }
};
using PyRef = std::unique_ptr<pybind11::object, PyObjectDeleter>;

// Starts the interpreter if it is not running. Thread-safe; returns with the GIL released. An
// interpreter that cannot import numpy is UNAVAILABLE, with Python's reason, every time.
core::Result<void> EnsureInterpreter();

// The `_ferry` module (ferry_runtime.py), run on first use; the GIL must be held.
pybind11::module_ Runtime();

// The Python exception being handled (GIL held), as "TypeError: message"; logs its traceback
// with `where` ("model 'iris' version 1").
std::string DescribeException(pybind11::error_already_set& e, std::string_view where);

// An exception raised by the user's `hook` ("predict"), as a ferry error saying
// "predict raised TypeError: message": `code` kInvalidArgument for the hooks that judge the input
// (preprocess, validate), kInternal for the others. The traceback goes to the log.
std::unexpected<core::Error> UserError(pybind11::error_already_set& e, std::string_view hook, std::string_view where,
                                       core::ErrorCode code = core::ErrorCode::kInternal);

}  // namespace ferry::backends::python
