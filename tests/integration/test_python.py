"""Integration tests of the Python backends on the real build/ferry (its embedded CPython): a
scikit-learn Pipeline with a custom FunctionTransformer pickled with dill, a joblib random forest,
MLflow-layout folders (MLmodel + model.pkl; onnx and xgboost flavors; a python_function with its
own loader module), all made here with Debian's python3-sklearn and compared with scikit-learn's own
predictions; a Python class with every hook (preprocess, validate, predict, postprocess, explain,
an op_ method); user code that fails to import or raises; 32 concurrent clients.
"""
import json
import os
import pickle
import shutil
import subprocess
import tempfile
import time
import textwrap
import unittest

import cloudpickle
import dill
import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import xgboost as xgb

import models
from ferry_process import FerryProcess

COLUMNS = ["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"]

# Defined as in a notebook (module __main__), so that dill pickles the function itself and the
# server needs no module of the training code.
NOTEBOOK = {"__name__": "__main__", "np": np}
exec(textwrap.dedent("""
    def is_adult(X):
        X = np.asarray(X, dtype=float)
        return np.column_stack([X, (X[:, 7] >= 18).astype(float)])
"""), NOTEBOOK)


def pima_like(n, rng):
    """A Pima-like synthetic data set: the eight columns, a label from a logistic model."""
    x = np.column_stack([rng.integers(0, 12, n), rng.normal(120, 30, n), rng.normal(70, 12, n),
                         rng.normal(25, 8, n), rng.normal(80, 40, n), rng.normal(32, 7, n),
                         rng.gamma(2, 0.25, n), rng.integers(10, 80, n)]).astype(np.float64)
    z = 0.12 * x[:, 0] + 0.035 * x[:, 1] + 0.08 * x[:, 5] + 0.9 * x[:, 6] + 0.02 * x[:, 7] - 9
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
    return x, y


DILL_WITHOUT_RECURSE = """
import sys
import dill
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

def add_one(X):
    return np.asarray(X) + 1

x = np.random.default_rng(0).normal(size=(50, 3))
pipeline = make_pipeline(FunctionTransformer(add_one), LogisticRegression()).fit(x, (x[:, 0] > 0).astype(int))
with open(sys.argv[1], "wb") as f:
    dill.dump(pipeline, f)
"""


HOOKS_MODEL = '''
import os
import numpy as np


class Model:
    def load(self):
        self.scale = float(self.params["scale"])
        self.w = np.loadtxt(os.path.join(self.version_dir, "weights.txt"))

    def preprocess(self, inputs):
        if "x" not in inputs:
            raise KeyError("x")
        return {"x": inputs["x"].astype(np.float64) * self.scale}

    def validate(self, inputs):
        if (inputs["x"] < 0).any():
            raise ValueError("x must be >= 0")

    def predict(self, inputs):
        return {"y": (inputs["x"] @ self.w).reshape(-1, 1)}

    def postprocess(self, outputs):
        if "y" in outputs:  # explain's outputs pass through
            outputs["y"] = outputs["y"] + 1
        return outputs

    def explain(self, inputs):
        return {"contributions": inputs["x"] * self.w}

    def op_describe(self, body):
        return {"weights": self.w.tolist(), "scale": self.scale, "echo": body}
'''

RAISES_MODEL = '''
class Model:
    def load(self):
        pass

    def predict(self, inputs):
        if inputs["x"][0, 0] > 100:
            raise RuntimeError("boom")
        return inputs["x"] * 2
'''

PIPELINE_STEPS = '''
def make_is_adult(config):
    limit = config["min_age"]

    def is_adult(record):
        if record["age"] < 0:
            raise ValueError("age must be >= 0")
        return {"is_adult": record["age"] >= limit}
    return is_adult


def make_pre(config):
    blocked = config["blocked"]

    def pre(record):
        if record["name"] == blocked:
            return None  # skipped
        return {"name": record["name"].title()}
    return pre


def make_post(config):
    bonus = config["bonus"]

    def post(record):
        return {"score": record["score"] + bonus, "greeting": "hello " + record["name"]}
    return post
'''

PIPELINE_YAML = """
pipeline:
  - name: fields
    kind: record
    fields: {name: string, age: number, score: number}
  - {name: adult, kind: python, function: "steps:make_is_adult", config: {min_age: 18}, outputs: {is_adult: boolean}}
  - {name: answer, kind: respond, fields: [name, is_adult, score, greeting]}
pre_transform: "steps:make_pre"
post_transform: {function: "steps:make_post", outputs: {greeting: string}}
parameters: {blocked: mallory, bonus: 10}
"""

MODEL_HOOKS = '''
import numpy as np


def make_pre(config):
    def pre(inputs):
        x = inputs["features"]
        if x[0, 0] < 0:
            return None  # skipped
        if x[0, 1] > 1000:
            raise ValueError("plas out of range")
        return {"features": x}
    return pre


def make_predict(config, model):
    digits = int(config["digits"])

    def predict(inputs):
        out = model(inputs)
        out["probability"] = np.round(out["probability"], digits)
        return out
    return predict


def make_post(config):
    def post(outputs):
        if outputs["probability"][0, 0] > 0.9999:
            return None  # skipped
        return outputs
    return post
'''

PYFUNC_LOADER = '''
import numpy as np


class Linear:
    def __init__(self, w):
        self.w = w

    def predict(self, x):
        return x @ self.w


def _load_pyfunc(path):
    return Linear(np.load(path))
'''


class PythonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = repo = tempfile.mkdtemp(prefix="ferry_python_")
        rng = np.random.default_rng(4)
        x, y = pima_like(600, rng)
        cls.x_test, _ = pima_like(40, rng)
        # A Pipeline with a custom FunctionTransformer, pickled with dill.
        cls.pipeline = make_pipeline(FunctionTransformer(NOTEBOOK["is_adult"]), StandardScaler(),
                                     LogisticRegression(max_iter=1000)).fit(x, y)
        os.makedirs(f"{repo}/pima-dill/1")
        with open(f"{repo}/pima-dill/1/model.pkl", "wb") as f:
            dill.dump(cls.pipeline, f)
        # A random forest saved by joblib.
        cls.forest = RandomForestClassifier(n_estimators=25, max_depth=6, random_state=0).fit(x, y)
        os.makedirs(f"{repo}/forest/1")
        joblib.dump(cls.forest, f"{repo}/forest/1/model.joblib")
        # An MLflow model folder as mlflow.sklearn writes it (MLmodel + a cloudpickled model.pkl).
        cls.logistic = LogisticRegression(max_iter=1000).fit(x, y)
        os.makedirs(f"{repo}/pima-mlflow/1")
        with open(f"{repo}/pima-mlflow/1/model.pkl", "wb") as f:
            cloudpickle.dump(cls.logistic, f)
        columns = json.dumps([{"name": c, "type": "double"} for c in COLUMNS])
        with open(f"{repo}/pima-mlflow/1/MLmodel", "w") as f:
            f.write(textwrap.dedent(f"""\
                artifact_path: model
                flavors:
                  python_function:
                    env: conda.yaml
                    loader_module: mlflow.sklearn
                    model_path: model.pkl
                    predict_fn: predict
                    python_version: 3.11.2
                  sklearn:
                    code: null
                    pickled_model: model.pkl
                    serialization_format: cloudpickle
                    sklearn_version: 1.2.1
                mlflow_version: 2.9.2
                signature:
                  inputs: '{columns}'
                  outputs: '[{{"type": "long"}}]'
                """))
        # MLflow folders whose flavors ferry serves natively: onnx (ONNX Runtime) and xgboost.
        os.makedirs(f"{repo}/mlflow-onnx/1")
        models.save_pima(f"{repo}/mlflow-onnx/1/pima_net.onnx")
        with open(f"{repo}/mlflow-onnx/1/MLmodel", "w") as f:
            f.write("flavors:\n  onnx:\n    data: pima_net.onnx\n    onnx_version: 1.13.0\n"
                    "  python_function:\n    loader_module: mlflow.onnx\n    data: pima_net.onnx\n")
        cls.booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
                                xgb.DMatrix(x.astype(np.float32), label=y), num_boost_round=10)
        os.makedirs(f"{repo}/mlflow-xgb/1")
        cls.booster.save_model(f"{repo}/mlflow-xgb/1/model.xgb")
        with open(f"{repo}/mlflow-xgb/1/MLmodel", "w") as f:
            f.write("flavors:\n  xgboost:\n    data: model.xgb\n    model_class: xgboost.core.Booster\n"
                    "  python_function:\n    loader_module: mlflow.xgboost\n    data: model.xgb\n")
        # An MLflow python_function with a loader module of its own.
        cls.weights = rng.normal(size=(4, 2))
        os.makedirs(f"{repo}/pyfunc/1/code")
        np.save(f"{repo}/pyfunc/1/weights.npy", cls.weights)
        with open(f"{repo}/pyfunc/1/code/linear_loader.py", "w") as f:
            f.write(PYFUNC_LOADER)
        spec = json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}, "name": "x"}])
        out = json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}, "name": "y"}])
        with open(f"{repo}/pyfunc/1/MLmodel", "w") as f:
            f.write(f"flavors:\n  python_function:\n    loader_module: linear_loader\n    data: weights.npy\n"
                    f"    code: code\nsignature:\n  inputs: '{spec}'\n  outputs: '{out}'\n")
        # A Python class with every hook.
        os.makedirs(f"{repo}/hooks/1")
        with open(f"{repo}/hooks/1/model.py", "w") as f:
            f.write(HOOKS_MODEL)
        np.savetxt(f"{repo}/hooks/1/weights.txt", [0.5, -1.0, 2.0])
        tensors = ("inputs: [{name: x, datatype: FP32, shape: [-1, 3]}]\n"
                   "outputs: [{name: y, datatype: FP64, shape: [-1, 1]}]\nparameters: {scale: 2}\n")
        with open(f"{repo}/hooks/model.yaml", "w") as f:
            f.write("max_batch_size: 32\ndynamic_batching: {max_queue_delay_us: 200}\ninstances: 2\n" + tensors)
        # The same, batching for long enough that concurrent requests always share a batch.
        shutil.copytree(f"{repo}/hooks", f"{repo}/hooks-batched")
        with open(f"{repo}/hooks-batched/model.yaml", "w") as f:
            f.write("max_batch_size: 64\ndynamic_batching: {max_queue_delay_us: 50000}\n" + tensors)
        # A pipeline with a python step, a pre_transform and a post_transform.
        os.makedirs(f"{repo}/people")
        with open(f"{repo}/people/steps.py", "w") as f:
            f.write(PIPELINE_STEPS)
        with open(f"{repo}/people/model.yaml", "w") as f:
            f.write(PIPELINE_YAML)
        # Hooks around a model of another backend (the Pima ONNX model).
        models.save_pima(f"{repo}/pima-hooked/1/model.onnx")
        with open(f"{repo}/pima-hooked/model_hooks.py", "w") as f:
            f.write(MODEL_HOOKS)
        with open(f"{repo}/pima-hooked/model.yaml", "w") as f:
            f.write("max_batch_size: 8\npre_transform: model_hooks:make_pre\npredict: model_hooks:make_predict\n"
                    "post_transform: model_hooks:make_post\nparameters: {digits: 3}\n")
        models.save_pima(f"{repo}/hooked-batching/1/model.onnx")
        with open(f"{repo}/hooked-batching/model.yaml", "w") as f:
            f.write("max_batch_size: 8\ndynamic_batching: {}\npre_transform: model_hooks:make_pre\n")
        # User code that raises, and code that does not import.
        os.makedirs(f"{repo}/raises/1")
        with open(f"{repo}/raises/1/model.py", "w") as f:
            f.write(RAISES_MODEL)
        with open(f"{repo}/raises/model.yaml", "w") as f:
            f.write("inputs: [{name: x, datatype: FP32, shape: [1, 2]}]\noutputs: [{name: y, datatype: FP32, shape: [1, 2]}]\n")
        os.makedirs(f"{repo}/broken/1")
        with open(f"{repo}/broken/1/model.py", "w") as f:
            f.write("import module_that_does_not_exist\n")
        with open(f"{repo}/broken/model.yaml", "w") as f:
            f.write("inputs: [{name: x, datatype: FP32, shape: [1, 2]}]\noutputs: [{name: y, datatype: FP32, shape: [1, 2]}]\n")
        os.makedirs(f"{repo}/broken-step")
        with open(f"{repo}/broken-step/steps.py", "w") as f:
            f.write("import module_that_does_not_exist\n")
        with open(f"{repo}/broken-step/model.yaml", "w") as f:
            f.write("pipeline:\n  - {name: in, kind: record, fields: {x: number}}\n"
                    "  - {name: s, kind: python, function: 'steps:make'}\n  - {kind: respond, fields: [x]}\n")
        # A notebook function pickled by dill without recurse=True: its globals (np) stay behind.
        os.makedirs(f"{repo}/dill-norecurse/1")
        subprocess.run(["/usr/bin/python3", "-c", DILL_WITHOUT_RECURSE, f"{repo}/dill-norecurse/1/model.pkl"],
                       check=True, timeout=120)
        os.makedirs(f"{repo}/bad-pickle/1")
        with open(f"{repo}/bad-pickle/1/model.pkl", "wb") as f:
            f.write(pickle.dumps({"not": "an estimator"}))
        cls.server = FerryProcess(repo, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def infer(self, model, inputs, outputs=None, expect=200):
        body = {"inputs": inputs}
        if outputs:
            body["outputs"] = [{"name": n} for n in outputs]
        status, answer, _ = self.server.request("POST", f"/v2/models/{model}/infer", body)
        self.assertEqual(status, expect, answer)
        if expect != 200:
            return answer
        return {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"]}

    @staticmethod
    def tensor(name, array, datatype):
        return {"name": name, "shape": list(array.shape), "datatype": datatype, "data": array.ravel().tolist()}

    def test_dill_pickled_pipeline_with_a_function_transformer_matches_sklearn(self):
        out = self.infer("pima-dill", [self.tensor("input", self.x_test, "FP64")])
        np.testing.assert_array_equal(out["predict"].ravel(), self.pipeline.predict(self.x_test))
        np.testing.assert_allclose(out["predict_proba"], self.pipeline.predict_proba(self.x_test), rtol=1e-9)
        _, meta, _ = self.server.request("GET", "/v2/models/pima-dill")
        self.assertEqual(meta["platform"], "sklearn")
        self.assertEqual(meta["inputs"], [{"name": "input", "datatype": "FP64", "shape": [-1, 8]}])
        self.assertEqual(meta["outputs"], [{"name": "predict", "datatype": "INT64", "shape": [-1, 1]},
                                           {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]}])
        # Only the outputs asked for are computed and answered.
        only = self.infer("pima-dill", [self.tensor("input", self.x_test[:3], "FP64")], outputs=["predict_proba"])
        self.assertEqual(list(only), ["predict_proba"])

    def test_joblib_random_forest_matches_sklearn(self):
        out = self.infer("forest", [self.tensor("input", self.x_test, "FP64")])
        np.testing.assert_array_equal(out["predict"].ravel(), self.forest.predict(self.x_test))
        np.testing.assert_allclose(out["predict_proba"], self.forest.predict_proba(self.x_test), rtol=1e-9)

    def test_mlflow_folder_is_served_through_its_sklearn_flavor_with_its_signature(self):
        _, meta, _ = self.server.request("GET", "/v2/models/pima-mlflow")
        self.assertEqual(meta["inputs"], [{"name": "input", "datatype": "FP64", "shape": [-1, 8]}])
        self.assertEqual(meta["outputs"], [{"name": "predict", "datatype": "INT64", "shape": [-1, 1]}])
        out = self.infer("pima-mlflow", [self.tensor("input", self.x_test, "FP64")])
        np.testing.assert_array_equal(out["predict"].ravel(), self.logistic.predict(self.x_test))

    def test_mlflow_onnx_and_xgboost_flavors_are_served_natively(self):
        _, meta, _ = self.server.request("GET", "/v2/models/mlflow-onnx")
        self.assertEqual(meta["platform"], "onnxruntime_onnx")
        row = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
        out = self.infer("mlflow-onnx", [self.tensor("features", np.array([row], np.float32), "FP32")])
        self.assertAlmostEqual(float(out["probability"].ravel()[0]), models.pima_probability(row), places=5)
        _, meta, _ = self.server.request("GET", "/v2/models/mlflow-xgb")
        self.assertEqual(meta["platform"], "xgboost")
        x = self.x_test.astype(np.float32)
        out = self.infer("mlflow-xgb", [self.tensor("features", x, "FP32")])
        np.testing.assert_allclose(out["probability"].ravel(), self.booster.inplace_predict(x), rtol=1e-5, atol=1e-6)

    def test_mlflow_python_function_with_its_own_loader(self):
        x = np.arange(12, dtype=np.float64).reshape(3, 4)
        out = self.infer("pyfunc", [self.tensor("x", x, "FP64")])
        np.testing.assert_allclose(out["y"], x @ self.weights, rtol=1e-12)

    def test_every_hook_in_order(self):
        x = np.array([[1, 2, 3], [0, 0, 1]], np.float32)
        out = self.infer("hooks", [self.tensor("x", x, "FP32")])
        w = np.array([0.5, -1.0, 2.0])
        np.testing.assert_allclose(out["y"].ravel(), (x * 2) @ w + 1)  # preprocess, predict, postprocess
        answer = self.infer("hooks", [self.tensor("x", -x, "FP32")], expect=400)
        self.assertEqual(answer["error"], "validate raised ValueError: x must be >= 0")

    def test_explain_and_an_operation(self):
        x = np.array([[1, 2, 3]], np.float32)
        status, answer, _ = self.server.request("POST", "/v2/models/hooks/explain", {"inputs": [self.tensor("x", x, "FP32")]})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["outputs"][0]["name"], "contributions")
        np.testing.assert_allclose(answer["outputs"][0]["data"], (x.ravel() * 2) * [0.5, -1.0, 2.0])
        status, answer, _ = self.server.request("POST", "/v2/models/hooks/explain", {"inputs": [self.tensor("x", -x, "FP32")]})
        self.assertEqual(status, 400, answer)
        self.assertIn("validate raised ValueError", answer["error"])
        status, answer, _ = self.server.request("POST", "/v2/models/hooks/describe", {"hello": [1, 2]})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer, {"weights": [0.5, -1.0, 2.0], "scale": 2.0, "echo": {"hello": [1, 2]}})
        status, answer, _ = self.server.request("POST", "/v2/models/hooks/nothing", {})
        self.assertEqual(status, 404, answer)
        self.assertIn("has no operation 'nothing' (it has: explain, describe)", answer["error"])

    def test_user_code_that_raises_is_a_500_and_the_server_keeps_serving(self):
        answer = self.infer("raises", [self.tensor("x", np.array([[500, 1]], np.float32), "FP32")], expect=500)
        self.assertEqual(answer["error"], "predict raised RuntimeError: boom")
        out = self.infer("raises", [self.tensor("x", np.array([[1, 2]], np.float32), "FP32")])
        np.testing.assert_array_equal(out["y"], [[2, 4]])
        self.assertIn("Traceback", self.server.log())

    def test_models_that_do_not_load_are_unavailable_with_the_reason(self):
        _, index, _ = self.server.request("POST", "/v2/repository/index", {})
        reasons = {m["name"]: m.get("reason", "") for m in index if m["state"] == "UNAVAILABLE"}
        self.assertIn("ModuleNotFoundError: No module named 'module_that_does_not_exist'", reasons.get("broken", ""))
        self.assertIn("has no predict()", reasons.get("bad-pickle", ""))
        # A python step whose module does not import: Python's error, not pybind11's.
        self.assertIn("steps:make: ModuleNotFoundError: No module named 'module_that_does_not_exist'",
                      reasons.get("broken-step", ""))
        self.assertNotIn("PYBIND11", reasons.get("broken-step", ""))
        self.assertNotIn("PYBIND11", self.server.log())
        for name in ("pima-dill", "forest", "pima-mlflow", "mlflow-onnx", "mlflow-xgb", "pyfunc", "hooks", "raises",
                     "people", "pima-hooked"):
            self.assertNotIn(name, reasons)

    def test_a_dill_pickle_without_its_globals_is_named_at_load(self):
        self.assertIn("model 'dill-norecurse' version 1: add_one() uses 'np', which the pickle did not carry",
                      self.server.log())
        self.assertIn("recurse=True", self.server.log())
        self.assertNotIn("model 'pima-dill' version 1: is_adult()", self.server.log())  # its globals came along
        answer = self.infer("dill-norecurse", [self.tensor("input", np.ones((1, 3)), "FP64")], expect=500)
        self.assertIn("NameError", answer["error"])

    def test_python_steps_and_transforms_in_a_pipeline(self):
        records = [{"name": "alice", "age": 30, "score": 1}, {"name": "mallory", "age": 40, "score": 2},
                   {"name": "bob", "age": 10, "score": 3}, {"name": "eve", "age": -1, "score": 4}]
        status, answer, _ = self.server.request("POST", "/v2/models/people/predict", {"instances": records})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["skipped"], [1])  # pre_transform returned None
        self.assertEqual(answer["predictions"][0],
                         {"name": "Alice", "is_adult": True, "score": 11, "greeting": "hello Alice"})
        self.assertEqual(answer["predictions"][1],
                         {"name": "Bob", "is_adult": False, "score": 13, "greeting": "hello Bob"})
        self.assertEqual(answer["predictions"][2]["step"], "adult")
        self.assertEqual(answer["predictions"][2]["error"], "ValueError: age must be >= 0")

    def test_hooks_around_a_model_of_another_backend(self):
        row = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
        out = self.infer("pima-hooked", [self.tensor("features", np.array([row], np.float32), "FP32")])
        self.assertAlmostEqual(float(out["probability"][0, 0]), round(models.pima_probability(row), 3), places=6)
        skipped = [-1] + row[1:]  # pre_transform returns None: an answer without outputs
        status, answer, _ = self.server.request(
            "POST", "/v2/models/pima-hooked/infer", {"inputs": [self.tensor("features", np.array([skipped], np.float32), "FP32")]})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["outputs"], [])
        bad = row[:1] + [5000] + row[2:]
        answer = self.infer("pima-hooked", [self.tensor("features", np.array([bad], np.float32), "FP32")], expect=400)
        self.assertEqual(answer["error"], "pre_transform raised ValueError: plas out of range")
        _, index, _ = self.server.request("POST", "/v2/repository/index", {})
        reasons = {m["name"]: m.get("reason", "") for m in index if m["state"] == "UNAVAILABLE"}
        self.assertIn("dynamic_batching cannot be on", reasons.get("hooked-batching", ""))

    def test_a_reload_runs_the_new_model_py(self):
        repo = tempfile.mkdtemp(prefix="ferry_python_reload_")
        try:
            os.makedirs(f"{repo}/m/1")
            code = "class Model:\n    def load(self):\n        pass\n\n    def predict(self, inputs):\n        return inputs['x'] * {}\n"
            with open(f"{repo}/m/1/model.py", "w") as f:
                f.write(code.format(2))
            with open(f"{repo}/m/model.yaml", "w") as f:
                f.write("inputs: [{name: x, datatype: FP32, shape: [1]}]\noutputs: [{name: y, datatype: FP32, shape: [1]}]\n")
            server = FerryProcess(repo, "--model-control", "explicit", "--load-model", "m")
            try:
                body = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [5]}]}
                _, answer, _ = server.request("POST", "/v2/models/m/infer", body)
                self.assertEqual(answer["outputs"][0]["data"], [10])
                with open(f"{repo}/m/1/model.py", "w") as f:
                    f.write(code.format(3))
                status, answer, _ = server.request("POST", "/v2/repository/models/m/load", {})
                self.assertEqual(status, 200, answer)
                _, answer, _ = server.request("POST", "/v2/models/m/infer", body)
                self.assertEqual(answer["outputs"][0]["data"], [15])
            finally:
                server.stop()
        finally:
            shutil.rmtree(repo, ignore_errors=True)

    def test_editing_only_a_python_step_or_hook_file_reloads_the_model_under_polling(self):
        repo = tempfile.mkdtemp(prefix="ferry_python_steps_reload_")
        steps = "def make_double(config):\n    return lambda r: {{'y': r['x'] * {}}}\n"
        hooks = "def make_post(config):\n    return lambda outputs: {{'y': outputs['y'] + {}}}\n"
        try:
            os.makedirs(f"{repo}/p")
            with open(f"{repo}/p/steps.py", "w") as f:
                f.write(steps.format(2))
            with open(f"{repo}/p/model.yaml", "w") as f:
                f.write("pipeline:\n  - {name: in, kind: record, fields: {x: number}}\n"
                        "  - {name: twice, kind: python, function: 'steps:make_double', outputs: {y: number}}\n"
                        "  - {kind: respond, fields: [y]}\n")
            os.makedirs(f"{repo}/m/1")
            with open(f"{repo}/m/1/model.py", "w") as f:
                f.write("class Model:\n    def load(self):\n        pass\n\n"
                        "    def predict(self, inputs):\n        return {'y': inputs['x'] * 1}\n")
            with open(f"{repo}/m/model_hooks.py", "w") as f:
                f.write(hooks.format(100))
            with open(f"{repo}/m/model.yaml", "w") as f:
                f.write("inputs: [{name: x, datatype: FP32, shape: [1]}]\noutputs: [{name: y, datatype: FP32, shape: [1]}]\n"
                        "post_transform: model_hooks:make_post\n")
            server = FerryProcess(repo, "--model-control", "poll", "--repository-poll-secs", "0.1")
            body = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [5]}]}

            def answers():
                _, p, _ = server.request("POST", "/v2/models/p/predict", {"x": 5})
                _, m, _ = server.request("POST", "/v2/models/m/infer", body)
                return p["predictions"][0]["y"], m["outputs"][0]["data"][0]
            try:
                self.assertEqual(answers(), (10, 105))
                time.sleep(0.3)  # a new mtime, at the file system's granularity
                with open(f"{repo}/p/steps.py", "w") as f:
                    f.write(steps.format(3))
                with open(f"{repo}/m/model_hooks.py", "w") as f:
                    f.write(hooks.format(200))
                deadline = time.time() + 15
                while time.time() < deadline and answers() != (15, 205):
                    time.sleep(0.1)
                self.assertEqual(answers(), (15, 205), server.log()[-2000:])
            finally:
                server.stop()
        finally:
            shutil.rmtree(repo, ignore_errors=True)

    def test_a_rejected_request_fails_alone_in_its_batch(self):
        rows = [np.array([[1, 2, 3]], np.float32) for _ in range(48)]
        rows[17] = -rows[17]
        bodies = [{"inputs": [self.tensor("x", r, "FP32")]} for r in rows]
        answers = self.server.post_concurrently("/v2/models/hooks-batched/infer", bodies, clients=16)
        self.assertEqual(answers[17], (400, {"error": "validate raised ValueError: x must be >= 0"}))
        self.assertEqual([i for i, a in enumerate(answers) if a[0] != 200], [17])
        _, stats, _ = self.server.request("GET", "/v2/models/hooks-batched/stats")
        stats = stats["model_stats"][0]
        self.assertEqual(stats["inference_count"], 47)
        self.assertLess(stats["execution_count"], 47)  # batches were formed

    def test_32_concurrent_clients(self):
        rng = np.random.default_rng(9)
        rows = [rng.uniform(0, 5, size=(1, 3)).astype(np.float32) for _ in range(320)]
        w = np.array([0.5, -1.0, 2.0])
        bodies = [{"inputs": [self.tensor("x", r, "FP32")]} for r in rows]
        answers = self.server.post_concurrently("/v2/models/hooks/infer", bodies, clients=32)
        self.assertEqual([a for a in answers if a[0] != 200], [])
        results = [a[1]["outputs"][0]["data"][0] for a in answers]
        expected = [float((r.astype(np.float64) * 2) @ w + 1) for r in rows]
        np.testing.assert_allclose(results, expected, rtol=1e-6)


class BrokenPythonTest(unittest.TestCase):
    """An interpreter whose numpy does not import (as in an image that lacked a library numpy
    links against): the Python models are UNAVAILABLE with Python's reason, and the rest serve."""

    def test_a_numpy_that_does_not_import_leaves_the_python_models_unavailable_and_the_rest_serving(self):
        work = tempfile.mkdtemp(prefix="ferry_broken_numpy_")
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        os.makedirs(f"{work}/site/numpy")
        with open(f"{work}/site/numpy/__init__.py", "w") as f:
            f.write("raise ImportError('libblas.so.3: cannot open shared object file')\n")
        os.makedirs(f"{work}/models/double/1")
        with open(f"{work}/models/double/1/model.py", "w") as f:
            f.write("class Model:\n    def load(self):\n        pass\n    def predict(self, inputs):\n"
                    "        return {'y': inputs['x'] * 2}\n")
        with open(f"{work}/models/double/model.yaml", "w") as f:
            f.write("backend: python\ninputs: [{name: x, datatype: FP32, shape: [-1]}]\n"
                    "outputs: [{name: y, datatype: FP32, shape: [-1]}]\n")
        shutil.copytree(os.path.join(os.path.dirname(__file__), "../../examples/models/pima-pmml"),
                        f"{work}/models/pima-pmml")
        server = FerryProcess(f"{work}/models", env={"PYTHONPATH": f"{work}/site"})
        self.addCleanup(server.stop)
        _, index, _ = server.request("POST", "/v2/repository/index", {})
        states = {m["name"]: (m["state"], m.get("reason", "")) for m in index}
        self.assertEqual(states["pima-pmml"][0], "READY", states)
        self.assertEqual(states["double"][0], "UNAVAILABLE", states)
        self.assertIn("the embedded Python did not start: ImportError: libblas.so.3", states["double"][1])
        status, body, _ = server.request("POST", "/v2/models/pima-pmml/infer", {"inputs": [
            {"name": "features", "shape": [1, 8], "datatype": "FP32", "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]})
        self.assertEqual(status, 200, body)
        self.assertIn("the embedded Python did not start: ImportError", server.log())


if __name__ == "__main__":
    unittest.main()
