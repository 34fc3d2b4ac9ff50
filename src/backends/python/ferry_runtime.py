"""ferry's side of the embedded interpreter: how Python models are found, unpickled and wrapped.

Compiled into ferry (CMakeLists.txt embeds this file) and run once as the module `_ferry` when the
interpreter first serves. At each load the C++ side calls one of the *_model functions below,
which returns a factory; calling the factory makes one loaded model object, one a ferry
instance. Every object has predict(inputs) (inputs: a dict of numpy arrays), and may have the
optional hooks of docs/python.md and signature().
"""
import builtins
import dis
import importlib
import importlib.util
import json
import os
import pickle
import sys
import types

import numpy as np


def _import_file(unique_name, path):
    spec = importlib.util.spec_from_file_location(unique_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[unique_name]
        raise
    return module


def _on_path(folder):
    folder = str(folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)


def user_model(version_dir, module, cls, params, unique_name):
    """A factory of instances of the user's class from <version_dir>/<module>.py, load()ed.

    The module is executed afresh on every call (a reload after model.py changed sees the new
    code), once for all the instances of one load."""
    _on_path(version_dir)
    path = os.path.join(version_dir, module + ".py")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{module}.py is not in the version folder")
    mod = _import_file(unique_name, path)
    klass = getattr(mod, cls, None)
    if klass is None:
        raise AttributeError(f"{module}.py has no class {cls}")
    for method in ("load", "predict"):
        if not callable(getattr(klass, method, None)):
            raise AttributeError(f"class {cls} has no {method}(self...) method")

    def make():
        obj = klass()
        obj.params = dict(params)
        obj.version_dir = str(version_dir)
        obj.load()
        return obj
    return make


def unpickle(path):
    """A pickled object, whichever of joblib, dill, cloudpickle or pickle wrote it."""
    errors = []
    loaders = []
    try:
        import joblib
        loaders.append(("joblib", joblib.load))
    except ImportError:
        pass
    for name in ("dill", "cloudpickle"):
        try:
            loaders.append((name, importlib.import_module(name).load))
        except ImportError:
            pass
    loaders.append(("pickle", pickle.load))
    for name, load in loaders:
        try:
            if name == "joblib":
                return load(path)
            with open(path, "rb") as f:
                return load(f)
        except Exception as e:  # the next loader may read it; all errors are reported
            errors.append(f"{name}: {type(e).__name__}: {e}")
    raise ValueError(f"{os.path.basename(path)} could not be unpickled (" + "; ".join(errors) + ")")


def _dtype_name(dtype):
    dtype = np.dtype(dtype)
    return "object" if dtype.kind in "OUS" else dtype.name


def _functions_in(obj, depth=0, seen=None):
    """The Python functions an estimator holds (a FunctionTransformer's func, in a Pipeline, a
    ColumnTransformer, ...): its attributes, a few levels deep."""
    seen = set() if seen is None else seen
    if depth > 8 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, types.FunctionType):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _functions_in(item, depth + 1, seen)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _functions_in(item, depth + 1, seen)
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType)):
        yield from _functions_in(vars(obj), depth + 1, seen)


def missing_globals(obj):
    """The global names the functions held by `obj` use that their globals lack: what a dill
    pickle written without recurse=True leaves behind (each call would raise NameError)."""
    missing = set()
    for function in _functions_in(obj):
        for instruction in dis.get_instructions(function):
            name = instruction.argval
            if (instruction.opname == "LOAD_GLOBAL" and name not in function.__globals__
                    and not hasattr(builtins, name)):
                missing.add(f"{function.__qualname__}() uses '{name}'")
    return sorted(missing)


class SklearnModel:
    """A pickled scikit-learn estimator or Pipeline, served through predict and predict_proba."""

    def __init__(self, path):
        self.estimator = unpickle(path)
        missing = missing_globals(self.estimator)
        self.load_warnings = [
            f"{', '.join(missing)}, which the pickle did not carry: every request will fail with NameError "
            "(write it with dill.dump(..., recurse=True), or cloudpickle)"] if missing else []
        if not callable(getattr(self.estimator, "predict", None)):
            raise TypeError(f"{os.path.basename(path)} holds a {type(self.estimator).__name__}, which has no predict()")
        self.has_proba = callable(getattr(self.estimator, "predict_proba", None))

    def signature(self):
        e = self.estimator
        features = getattr(e, "n_features_in_", -1)
        inputs = [("input", "float64", [-1, int(features)])]
        classes = getattr(e, "classes_", None)
        if classes is not None:
            outputs = [("predict", _dtype_name(np.asarray(classes).dtype), [-1, 1])]
            if self.has_proba:
                outputs.append(("predict_proba", "float64", [-1, len(classes)]))
        else:
            width = getattr(e, "n_outputs_", 1)
            outputs = [("predict", "float64", [-1, int(width)])]
        return inputs, outputs

    def predict(self, inputs, outputs=None):
        x = _estimator_input(inputs)
        wanted = outputs or ["predict"]
        result = {}
        if "predict" in wanted:
            result["predict"] = np.asarray(self.estimator.predict(x))
        if "predict_proba" in wanted:
            result["predict_proba"] = np.asarray(self.estimator.predict_proba(x))
        return result


def _as_text(array):
    """A BYTES input (an object array of bytes) as str, what estimators fitted on text columns
    compare with: b'paris' is an unknown category to a OneHotEncoder fitted on 'paris'. Bytes that
    are not UTF-8 stay bytes."""
    if array.dtype != object:
        return array

    def text(v):
        try:
            return v.decode() if isinstance(v, bytes) else v
        except UnicodeDecodeError:
            return v
    return np.vectorize(text, otypes=[object])(array) if array.size else array


def _estimator_input(inputs):
    """One input as it comes (BYTES as str); several as a frame of one column each."""
    return _as_text(next(iter(inputs.values()))) if len(inputs) == 1 else _frame(inputs)


def _frame(inputs):
    """Several inputs: one column each, as a pandas DataFrame when pandas is there."""
    columns = {name: _as_text(np.asarray(v).reshape(len(v), -1)[:, 0]) for name, v in inputs.items()}
    try:
        import pandas
        return pandas.DataFrame(columns)
    except ImportError:
        return np.column_stack(list(columns.values()))


def sklearn_model(path):
    """A factory of SklearnModel objects, one an instance."""
    return lambda: SklearnModel(path)


class PyfuncModel:
    """An MLflow python_function model: loader_module._load_pyfunc(data) and its predict()."""

    def __init__(self, model_dir, loader_module, data, code):
        if code:
            _on_path(os.path.join(model_dir, code))
        _on_path(model_dir)
        loader = importlib.import_module(loader_module)
        self.model = loader._load_pyfunc(os.path.join(model_dir, data) if data else model_dir)

    def predict(self, inputs, outputs=None):
        x = _estimator_input(inputs)
        result = self.model.predict(x)
        if isinstance(result, dict):
            return result
        if hasattr(result, "to_numpy"):  # pandas
            result = result.to_numpy()
        name = (outputs or ["predict"])[0]
        return {name: np.asarray(result)}


def pyfunc_model(model_dir, loader_module, data, code):
    """A factory of PyfuncModel objects, one an instance."""
    return lambda: PyfuncModel(model_dir, loader_module, data, code)


def hook_functions(folders, specs):
    """The factories of a model's hooks ({kind: "module:factory"}), modules looked up first in
    `folders`; a module loaded before is reloaded, so that a model reload runs its new code."""
    for folder in reversed(folders):
        _on_path(folder)
    factories = {}
    for kind, spec in specs.items():
        module_name, _, name = spec.partition(":")
        module = importlib.import_module(module_name)
        module = importlib.reload(module)
        factory = getattr(module, name, None)
        if not callable(factory):
            raise AttributeError(f"{kind}: {module_name} has no function {name}")
        factories[kind] = factory
    return factories


def step_factory(folder, spec):
    """The factory of a pipeline's python step ("module:factory"). A module beside the
    pipeline's model.yaml is executed afresh on every call, so that a reload runs its new code;
    another module is imported, and reloaded."""
    module_name, _, name = spec.partition(":")
    path = os.path.join(folder, module_name + ".py") if folder else ""
    if path and os.path.isfile(path):
        _on_path(folder)
        module = _import_file(f"_ferry_step_{abs(hash(os.path.abspath(path))):x}_{module_name}", path)
    else:
        module = importlib.reload(importlib.import_module(module_name))
    factory = getattr(module, name, None)
    if not callable(factory):
        raise AttributeError(f"{module_name} has no function {name}")
    return factory


# ---- the V2 JSON of explain and operations ----

class Rejected(Exception):
    """The request is at fault (ferry answers 400): bad JSON, or preprocess/validate raised."""


def _judge(hook, call, *args):
    try:
        return call(*args)
    except Exception as e:
        raise Rejected(f"{hook} raised {type(e).__name__}: {e}") from e

_DTYPES = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
           "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64", "FP16": "float16",
           "FP32": "float32", "FP64": "float64", "BYTES": "object"}


_DATATYPES = {dtype: datatype for datatype, dtype in _DTYPES.items()}  # numpy dtype -> KServe datatype


def decode_inputs(body):
    """The inputs of a KServe V2 JSON request as {name: ndarray}."""
    request = json.loads(body) if body else {}
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise ValueError("the body must be a KServe V2 request with an 'inputs' list")
    inputs = {}
    for t in request["inputs"]:
        dtype = _DTYPES.get(t.get("datatype"))
        if dtype is None:
            raise ValueError(f"input '{t.get('name')}': unknown datatype {t.get('datatype')!r}")
        data = t.get("data", [])
        if dtype == "object":
            data = [d.encode() if isinstance(d, str) else d for d in data]
        inputs[t["name"]] = np.asarray(data, dtype=dtype).reshape(t.get("shape", [-1]))
    return inputs


def _jsonable(value):
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OS":
            return [v.decode() if isinstance(v, bytes) else v for v in value.ravel().tolist()]
        return value.tolist()
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, bytes):
        return value.decode()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_outputs(model_name, outputs):
    """outputs ({name: array-like} or one array) as a KServe V2 JSON response."""
    if not isinstance(outputs, dict):
        outputs = {"output": outputs}
    tensors = []
    for name, value in outputs.items():
        array = np.asarray(value)
        datatype = "BYTES" if array.dtype.kind in "OUS" else _DATATYPES.get(array.dtype.name, "FP64")
        tensors.append({"name": name, "datatype": datatype, "shape": list(array.shape),
                        "data": _jsonable(array.ravel())})  # V2 JSON: flat, row-major
    return json.dumps({"model_name": model_name, "outputs": tensors}, default=_jsonable)


def call_operation(model, model_name, operation, body):
    """POST /v2/models/{m}/<operation>: explain (the inference hooks around it) or op_<name>."""
    if operation == "explain":
        inputs = _judge("the request", decode_inputs, body)
        if hasattr(model, "preprocess"):
            inputs = _judge("preprocess", model.preprocess, inputs)
        if hasattr(model, "validate"):
            _judge("validate", model.validate, inputs)
        outputs = model.explain(inputs)
        if hasattr(model, "postprocess"):
            outputs = model.postprocess(outputs)
        return encode_outputs(model_name, outputs)
    request = _judge("the request", json.loads, body) if body else None
    return json.dumps(getattr(model, "op_" + operation)(request), default=_jsonable)
