// The `python` backend: a model written in Python, run in ferry's embedded interpreter
// (interpreter.h). The version folder holds model.py with a class Model (model.yaml
// `parameters: {python_module: model, python_class: Model}` to change either):
//
//   class Model:
//       def load(self): ...                      # mandatory: read files; self.params, self.version_dir
//       def predict(self, inputs): ...           # mandatory: {name: ndarray} -> {name: ndarray} (or one array)
//       def preprocess(self, inputs): ...        # optional, before validate; raising rejects (400)
//       def validate(self, inputs): ...          # optional; raising rejects the request (400)
//       def postprocess(self, outputs): ...      # optional, after predict / explain
//       def explain(self, inputs): ...           # optional: POST /v2/models/{m}/explain
//       def op_<name>(self, body): ...           # optional: POST /v2/models/{m}/<name>, JSON in and out
//
// Call order: preprocess -> validate -> predict (or explain) -> postprocess. `inputs` and
// `outputs` must be declared in model.yaml. Each instance holds its own Model object, loaded once;
// instances share the GIL (parallel only where the code releases it, as numpy and scikit-learn
// do). Exceptions become errors: 400 from preprocess/validate, 500 from the others, with the
// exception's type and message; the traceback goes to the log. A module that fails to import, or
// load() raising, makes the model UNAVAILABLE with the reason.
//
// It also serves the python_function flavor of an MLflow model, which the mlflow backend hands over
// with LoadOptions::flavor (loader_module, data, code).
#pragma once

#include <memory>

#include "backends/backend.h"

namespace ferry::backends::python {

std::unique_ptr<Backend> CreatePythonBackend();

}  // namespace ferry::backends::python
