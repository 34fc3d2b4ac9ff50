// What the Python-based backends (python, sklearn, and MLflow's python flavors) share: a model
// made of Python objects built by a function of the embedded `_ferry` module (ferry_runtime.py),
// one object a ferry instance, called through the inference hooks with tensors as numpy arrays.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "backends/backend.h"

namespace ferry::backends::python {

struct PythonFactory {
  std::string function;                       // in _ferry, returning a factory: user_model, sklearn_model, pyfunc_model
  std::map<std::string, std::string> kwargs;  // its arguments (besides params for user_model)
  bool pass_outputs = false;                  // predict(inputs, outputs): the adapters compute only those
  std::string platform;                       // the KServe platform string
};

// Builds and loads the first object (an import error, an exception in load() or a bad signature
// fails here, with the reason), and the signature: model.yaml's inputs/outputs when declared,
// else the object's signature() (the adapters have one).
core::Result<std::unique_ptr<BackendModel>> LoadPythonModel(const LoadOptions& options, const PythonFactory& factory);

}  // namespace ferry::backends::python
