"""ferry's Python module (`import ferry`, docs/embedding.md "From Python") in this very process, run
by Debian's python3: infer with numpy in and out (inputs borrowed, outputs views of ferry's
bytes), predict on records, test() on any route, errors raised as Python exceptions with the
message, and a Python model served by the host interpreter itself (and by a worker process).
"""
import builtins
import json
import os
import shutil
import struct
import sys
import tempfile
import threading
import unittest
import urllib.request

import numpy as np

import models
from ferry_process import FERRY_BIN

sys.path.insert(0, os.environ.get("FERRY_PYTHON_MODULE_DIR", os.path.join(os.path.dirname(FERRY_BIN), "python")))
import ferry  # noqa: E402  (the build's module, found above)

EXAMPLES = os.path.join(models.SOURCE_DIR, "examples", "models")
ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
RECORD = dict(zip(["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"], ROW))

# A Python model that tells where it runs: the address of the input it was handed, this process's
# pid, and a value the host put in builtins (only the host's own interpreter sees it).
MODEL_PY = """import builtins, os, sys
import numpy as np

class Model:
    def load(self):
        sys.ferry_loaded_here = True

    def predict(self, inputs):
        x = inputs["x"]
        if (x == 13).any():
            raise RuntimeError("unlucky number")
        n = x.shape[0]
        return {"y": x * 2,
                "address": np.full((n, 1), x.__array_interface__["data"][0], dtype=np.uint64),
                "pid": np.full((n, 1), os.getpid(), dtype=np.int64),
                "host_value": np.full((n, 1), getattr(builtins, "FERRY_HOST_VALUE", -1), dtype=np.int64)}
"""
MODEL_YAML = """backend: python
max_batch_size: 0
inputs: [{name: x, datatype: FP64, shape: [-1, 2]}]
outputs:
  - {name: y, datatype: FP64, shape: [-1, 2]}
  - {name: address, datatype: UINT64, shape: [-1, 1]}
  - {name: pid, datatype: INT64, shape: [-1, 1]}
  - {name: host_value, datatype: INT64, shape: [-1, 1]}
"""


def python_repository():
    root = tempfile.mkdtemp(prefix="ferry_pymodule_")
    for name, extra in (("where", ""), ("in-worker", "python: {workers: 1}\n")):
        os.makedirs(os.path.join(root, name, "1"))
        with open(os.path.join(root, name, "1", "model.py"), "w") as f:
            f.write(MODEL_PY)
        with open(os.path.join(root, name, "model.yaml"), "w") as f:
            f.write(MODEL_YAML + extra)
    return root


class ExampleModelsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ferry.Server(EXAMPLES)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_infer_takes_and_answers_numpy(self):
        self.assertTrue(self.server.ready, self.server.not_ready_reason)
        # float64 in (numpy's default) is converted to the model's FP32 once.
        out = self.server.infer("pima", {"features": np.array([ROW])})
        self.assertEqual(set(out), {"probability", "label"})
        self.assertEqual(out["probability"].dtype, np.float32)
        self.assertEqual(out["probability"].shape, (1, 1))
        self.assertAlmostEqual(float(out["probability"][0, 0]), 0.7217, places=3)
        self.assertEqual(out["label"].dtype, np.int64)
        # The output is a view of ferry's own answer, kept alive by the array: no copy out.
        self.assertFalse(out["probability"].flags.owndata)
        self.assertEqual(type(out["probability"].base).__name__, "PyCapsule")
        only = self.server.infer("pima", {"features": np.array([ROW, ROW], dtype=np.float32)}, outputs=["label"])
        self.assertEqual(list(only), ["label"])
        self.assertEqual(only["label"].shape, (2, 1))

    def test_predict_answers_records_and_their_rejections(self):
        answer = self.server.predict("pima-pipeline", RECORD)
        self.assertEqual(answer["label"], "diabetic")
        self.assertAlmostEqual(answer["probability"], 0.721, places=2)
        bad = dict(RECORD)
        del bad["age"]
        both = self.server.predict("pima-pipeline", [RECORD, bad])
        self.assertEqual(both[0]["label"], "diabetic")
        self.assertIn("field 'age' is missing", both[1]["error"])
        with self.assertRaises(ferry.Rejected) as raised:
            self.server.predict("pima-pipeline", bad)
        self.assertEqual(str(raised.exception), "field 'age' is missing")
        self.assertEqual((raised.exception.code, raised.exception.http_status), ("REJECTED", 422))

    def test_errors_are_exceptions_that_say_what_was_wrong(self):
        with self.assertRaises(LookupError) as raised:
            self.server.infer("nope", {"x": np.zeros(3)})
        self.assertIsInstance(raised.exception, ferry.Error)
        self.assertIn("nope", str(raised.exception))
        self.assertEqual((raised.exception.code, raised.exception.http_status), ("NOT_FOUND", 404))
        with self.assertRaises(ferry.InvalidArgument) as raised:
            self.server.infer("pima", {"features": np.zeros((1, 5), dtype=np.float32)})
        self.assertIn("features", str(raised.exception))
        with self.assertRaises(ValueError):  # ferry.InvalidArgument is a ValueError too
            self.server.infer("pima", {"wrong": np.zeros((1, 8), dtype=np.float32)})

    def test_test_calls_any_route_in_process(self):
        body = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW}]}
        answer = self.server.test("/v2/models/pima/infer", body)
        self.assertEqual(answer["model_name"], "pima")
        self.assertAlmostEqual(answer["outputs"][0]["data"][0], 0.7217, places=3)
        self.assertEqual(self.server.test("/v2/models/pima")["inputs"][0]["name"], "features")
        self.assertEqual(self.server.metadata("pima-pipeline")["name"], "pima-pipeline")
        self.assertIn("model_stats", self.server.statistics("pima"))
        with self.assertRaises(ferry.InvalidArgument):
            self.server.test("/v2/models/pima/infer", {"inputs": []})
        error = self.server.test("/v2/models/pima/infer", {"inputs": []}, silent=True)
        self.assertIn("missing input 'features'", error["error"])
        with self.assertRaises(ferry.InvalidArgument):
            self.server.test("/v2/models/pima", method="DELETE")


class PythonModelInHostTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repository = python_repository()
        builtins.FERRY_HOST_VALUE = 4242
        cls.server = ferry.Server(cls.repository)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()
        del builtins.FERRY_HOST_VALUE
        shutil.rmtree(cls.repository, ignore_errors=True)

    def test_the_host_interpreter_runs_the_model_on_the_borrowed_array(self):
        self.assertTrue(self.server.ready, self.server.not_ready_reason)
        x = np.array([[1.0, 2.0], [3.0, 4.0]])
        out = self.server.infer("where", {"x": x})
        np.testing.assert_array_equal(out["y"], x * 2)
        self.assertEqual(int(out["pid"][0, 0]), os.getpid())
        self.assertEqual(int(out["host_value"][0, 0]), 4242)  # the host's builtins: one interpreter
        self.assertTrue(getattr(sys, "ferry_loaded_here", False))
        # The model read the caller's own memory: the input was borrowed, never copied.
        self.assertEqual(int(out["address"][0, 0]), x.ctypes.data)

    def test_a_python_exception_comes_back_as_ferry_error(self):
        with self.assertRaises(ferry.Error) as raised:
            self.server.infer("where", {"x": np.array([[13.0, 0.0]])})
        self.assertIn("predict raised RuntimeError: unlucky number", str(raised.exception))
        self.assertEqual(raised.exception.http_status, 500)

    def test_python_threads_call_at_once_while_the_model_runs_python(self):
        answers, failures = [], []

        def client(i):
            try:
                for j in range(20):
                    value = i * 100 + j + 0.5
                    out = self.server.infer("where", {"x": np.array([[value, 1.0]])})
                    answers.append(out["y"][0, 0] == 2 * value)
            except Exception as e:  # noqa: BLE001 (reported below)
                failures.append(repr(e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(failures, [])
        self.assertEqual(answers, [True] * 80)

    def test_a_worker_process_model_runs_in_the_ferry_binary(self):
        out = self.server.infer("in-worker", {"x": np.array([[1.0, 2.0]])})
        np.testing.assert_array_equal(out["y"], [[2.0, 4.0]])
        self.assertNotEqual(int(out["pid"][0, 0]), os.getpid())
        self.assertEqual(int(out["host_value"][0, 0]), -1)  # its own interpreter
        with open(f"/proc/{int(out['pid'][0, 0])}/cmdline", "rb") as f:
            self.assertIn(b"python-worker", f.read())


class ListenersTest(unittest.TestCase):
    def test_http_and_grpc_frontends_started_through_the_api(self):
        import grpc  # noqa: PLC0415 (only this test needs it)
        from test_grpc import compile_protos  # noqa: PLC0415
        protos = tempfile.mkdtemp(prefix="ferry_pymodule_grpc_")
        self.addCleanup(shutil.rmtree, protos, True)
        pb, pb_grpc = compile_protos(protos)
        with ferry.Server(EXAMPLES, http_port=0, grpc_port=0) as s:
            self.assertGreater(s.http_port, 0)
            self.assertGreater(s.grpc_port, 0)
            with urllib.request.urlopen(f"http://127.0.0.1:{s.http_port}/v2/models/pima", timeout=10) as answer:
                self.assertEqual(json.load(answer)["name"], "pima")
            with grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}") as channel:
                stub = pb_grpc.GRPCInferenceServiceStub(channel)
                request = pb.ModelInferRequest(model_name="pima")
                request.inputs.add(name="features", datatype="FP32", shape=[1, 8]).contents.fp32_contents.extend(ROW)
                reply = stub.ModelInfer(request, timeout=10)
                self.assertEqual(reply.model_name, "pima")
                self.assertAlmostEqual(struct.unpack("<f", reply.raw_output_contents[0])[0], 0.7217, places=3)
        self.assertEqual(ferry.Server(EXAMPLES).http_port, -1)  # no listener unless asked


class LifetimeTest(unittest.TestCase):
    def test_a_closed_server_says_so_and_with_closes(self):
        with ferry.Server(EXAMPLES, explicit_model_control=True) as s:
            with self.assertRaises(ferry.NotFound) as raised:
                s.infer("pima", {"features": np.array([ROW], dtype=np.float32)})
            self.assertIn("not loaded", str(raised.exception))
            s.load("pima")
            self.assertIn("probability", s.infer("pima", {"features": np.array([ROW], dtype=np.float32)}))
            s.unload("pima")
        with self.assertRaises(ferry.Unavailable) as raised:
            s.infer("pima", {"features": np.array([ROW], dtype=np.float32)})
        self.assertIn("closed", str(raised.exception))

    def test_a_repository_that_cannot_be_read_raises(self):
        with self.assertRaises(ferry.Error) as raised:
            ferry.Server("/nonexistent/models")
        self.assertIn("/nonexistent/models", str(raised.exception))


if __name__ == "__main__":
    unittest.main()
