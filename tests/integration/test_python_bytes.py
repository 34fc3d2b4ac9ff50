"""BYTES (string) inputs into Python-hosted models, over HTTP JSON, the binary extension and gRPC:
a pickled scikit-learn pipeline with a OneHotEncoder on string columns (one BYTES input, and a
string column beside a number column), a Python model class, and hooks around the pickled
pipeline. Answers are compared with scikit-learn's own predictions on the same strings.

Requests are built byte by byte (struct) and with stubs compiled from proto/ at test time.
"""
import json
import os
import shutil
import struct
import tempfile
import textwrap
import unittest

import grpc
import joblib
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from ferry_process import FerryProcess
from test_grpc import compile_protos
from test_http_binary import binary_request, bytes_elements

CITIES = ["paris", "lyon", "nice", "lille"]
COLORS = ["red", "blue"]

WORDS_MODEL = '''
import numpy as np


class Model:
    def load(self):
        pass

    def predict(self, inputs):
        words = inputs["words"]
        assert words.dtype == object and all(isinstance(w, bytes) for w in words.ravel()), repr(words)
        return {"upper": np.vectorize(lambda w: w.upper(), otypes=[object])(words),
                "length": np.vectorize(len, otypes=[np.int64])(words)}
'''

HOOKS = '''
import numpy as np


def make_pre(config):
    def pre(inputs):
        city = inputs["city"]
        if any(c == b"" for c in city.ravel()):
            raise ValueError("city is empty")
        return {"city": np.vectorize(lambda c: c.strip().lower(), otypes=[object])(city), "color": inputs["color"]}
    return pre
'''

SHOP_YAML = """\
max_batch_size: 16
inputs: [{name: city, datatype: BYTES, shape: [-1, 1]}, {name: color, datatype: BYTES, shape: [-1, 1]}]
outputs: [{name: predict, datatype: INT64, shape: [-1, 1]}, {name: predict_proba, datatype: FP64, shape: [-1, 2]}]
"""


def bytes_tensor(name, items):
    return {"name": name, "datatype": "BYTES", "shape": [len(items), 1], "data": items}


class PythonBytesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ferry_pybytes_")
        cls.pb, pb_grpc = compile_protos(cls.tmp)
        repo = cls.repo = os.path.join(cls.tmp, "models")
        rng = np.random.default_rng(7)
        n = 300
        city = rng.choice(CITIES, n)
        color = rng.choice(COLORS, n)
        y = ((city == "paris") | (color == "red")).astype(np.int64)
        # One BYTES input of two string columns: the estimator sees an object array of str.
        both = np.column_stack([city, color]).astype(object)
        cls.onehot = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression()).fit(both, y)
        os.makedirs(f"{repo}/onehot/1")
        joblib.dump(cls.onehot, f"{repo}/onehot/1/model.joblib")
        with open(f"{repo}/onehot/model.yaml", "w") as f:
            f.write("inputs: [{name: input, datatype: BYTES, shape: [-1, 2]}]\n"
                    "outputs: [{name: predict, datatype: INT64, shape: [-1, 1]}, "
                    "{name: predict_proba, datatype: FP64, shape: [-1, 2]}]\n")
        # Two named inputs: one column each (a pandas frame when pandas is installed, else the
        # columns side by side), encoded by a ColumnTransformer.
        cls.shop = make_pipeline(
            ColumnTransformer([("onehot", OneHotEncoder(handle_unknown="ignore"), [0, 1])]),
            LogisticRegression()).fit(both, y)
        for name in ("shop", "shop-hooked"):
            os.makedirs(f"{repo}/{name}/1")
            joblib.dump(cls.shop, f"{repo}/{name}/1/model.joblib")
        with open(f"{repo}/shop/model.yaml", "w") as f:
            f.write(SHOP_YAML)
        with open(f"{repo}/shop-hooked/hooks.py", "w") as f:
            f.write(HOOKS)
        with open(f"{repo}/shop-hooked/model.yaml", "w") as f:
            f.write(SHOP_YAML + "pre_transform: hooks:make_pre\n")
        # A Python model class: BYTES in and out, as bytes objects (what Triton's Python backend gives).
        os.makedirs(f"{repo}/words/1")
        with open(f"{repo}/words/1/model.py", "w") as f:
            f.write(WORDS_MODEL)
        with open(f"{repo}/words/model.yaml", "w") as f:
            f.write("max_batch_size: 8\ninputs: [{name: words, datatype: BYTES, shape: [-1, 2]}]\n"
                    "outputs: [{name: upper, datatype: BYTES, shape: [-1, 2]}, {name: length, datatype: INT64, shape: [-1, 2]}]\n")
        cls.ferry = FerryProcess(repo, grpc=True, timeout=60)
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.ferry.grpc_port}")
        grpc.channel_ready_future(cls.channel).result(timeout=20)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.ferry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def infer_json(self, model, inputs):
        status, answer, _ = self.ferry.request("POST", f"/v2/models/{model}/infer", {"inputs": inputs})
        self.assertEqual(status, 200, answer)
        return {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"]}

    def infer_binary(self, model, named_items):
        """Inputs as binary BYTES tensors of shape [n, k] (named_items: name -> list of rows)."""
        inputs, blobs = [], []
        for name, rows in named_items.items():
            blob = bytes_elements(*[s.encode() for row in rows for s in row])
            inputs.append({"name": name, "datatype": "BYTES", "shape": [len(rows), len(rows[0])],
                           "parameters": {"binary_data_size": len(blob)}})
            blobs.append(blob)
        body, headers = binary_request({"inputs": inputs}, *blobs)
        status, raw, _ = self.ferry.post_raw(f"/v2/models/{model}/infer", body, headers)
        self.assertEqual(status, 200, raw)
        answer = json.loads(raw)
        return {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"]}

    def infer_grpc(self, model, named_items):
        request = self.pb.ModelInferRequest(model_name=model)
        for name, rows in named_items.items():
            tensor = request.inputs.add(name=name, datatype="BYTES", shape=[len(rows), len(rows[0])])
            tensor.contents.bytes_contents.extend(s.encode() for row in rows for s in row)
        response = self.stub.ModelInfer(request, timeout=30)
        out = {}
        for i, o in enumerate(response.outputs):
            raw = response.raw_output_contents[i]
            if o.datatype == "BYTES":
                items, at = [], 0
                while at < len(raw):
                    (size,) = struct.unpack_from("<I", raw, at)
                    items.append(raw[at + 4:at + 4 + size].decode())
                    at += 4 + size
                out[o.name] = np.array(items, dtype=object).reshape(list(o.shape))
            else:
                dtype = {"INT64": "<i8", "FP64": "<f8"}[o.datatype]
                out[o.name] = np.frombuffer(raw, dtype=dtype).reshape(list(o.shape))
        return out

    def test_one_bytes_input_into_a_pickled_onehot_pipeline(self):
        rows = [["paris", "blue"], ["nice", "red"], ["lille", "blue"], ["rome", "green"]]  # rome: unseen
        expected = self.onehot.predict_proba(np.array(rows, dtype=object))
        flat = [s for row in rows for s in row]
        for out in (self.infer_json("onehot", [{"name": "input", "datatype": "BYTES", "shape": [4, 2], "data": flat}]),
                    self.infer_binary("onehot", {"input": rows}),
                    self.infer_grpc("onehot", {"input": rows})):
            np.testing.assert_allclose(out["predict_proba"], expected, rtol=1e-12)
            np.testing.assert_array_equal(out["predict"].ravel(), self.onehot.predict(np.array(rows, dtype=object)))

    def test_two_string_inputs_into_a_column_transformer(self):
        city, color = ["paris", "lyon", "nice"], ["blue", "blue", "red"]
        expected = self.shop.predict_proba(np.column_stack([city, color]).astype(object))
        named = {"city": [[c] for c in city], "color": [[c] for c in color]}
        for out in (self.infer_json("shop", [bytes_tensor("city", city), bytes_tensor("color", color)]),
                    self.infer_binary("shop", named), self.infer_grpc("shop", named)):
            np.testing.assert_allclose(out["predict_proba"], expected, rtol=1e-12)

    def test_hooks_see_bytes_and_hand_the_model_strings(self):
        city, color = [" Paris ", "LYON"], ["blue", "blue"]
        expected = self.shop.predict_proba(np.column_stack([["paris", "lyon"], color]).astype(object))
        named = {"city": [[c] for c in city], "color": [[c] for c in color]}
        for out in (self.infer_json("shop-hooked", [bytes_tensor("city", city), bytes_tensor("color", color)]),
                    self.infer_binary("shop-hooked", named), self.infer_grpc("shop-hooked", named)):
            np.testing.assert_allclose(out["predict_proba"], expected, rtol=1e-12)
        status, answer, _ = self.ferry.request(
            "POST", "/v2/models/shop-hooked/infer", {"inputs": [bytes_tensor("city", [""]), bytes_tensor("color", ["red"])]})
        self.assertEqual(status, 400, answer)
        self.assertEqual(answer["error"], "pre_transform raised ValueError: city is empty")

    def test_a_python_class_gets_bytes_and_returns_bytes(self):
        rows = [["héllo", "a"], ["", "xyz"]]
        flat = [s for row in rows for s in row]
        for out in (self.infer_json("words", [{"name": "words", "datatype": "BYTES", "shape": [2, 2], "data": flat}]),
                    self.infer_binary("words", {"words": rows}), self.infer_grpc("words", {"words": rows})):
            self.assertEqual(out["upper"].tolist(), [["HéLLO", "A"], ["", "XYZ"]])
            self.assertEqual(out["length"].tolist(), [[6, 1], [0, 3]])  # bytes, not characters


if __name__ == "__main__":
    unittest.main()
