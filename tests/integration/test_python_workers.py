"""Integration tests of Python worker processes (model.yaml `python: {workers: N}`, docs/python.md)
on the real build/ferry: answers equal the embedded interpreter's; errors keep their codes; a
worker killed with SIGKILL mid-request fails only that request, with a reason, and is replaced;
no worker outlives ferry.
"""
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import unittest

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier

from ferry_process import FerryProcess

MODEL_PY = """import os, time
import numpy as np

class Model:
    def load(self):
        self.pid_file = self.params["pid_file"]

    def validate(self, inputs):
        if (inputs["x"] < 0).any():
            raise ValueError("x must not be negative")

    def predict(self, inputs):
        x = inputs["x"]
        if x[0] == 999:
            with open(self.pid_file + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(self.pid_file + ".tmp", self.pid_file)
            time.sleep(60)
        if x[0] == 13:
            raise RuntimeError("unlucky number")
        return {"y": x * 2, "pid": np.full(x.shape, os.getpid(), dtype=np.int64)}

    def op_whoami(self, body):
        return {"pid": os.getpid()}
"""


def workers_of(pid):
    """The python-worker processes ferry `pid` started."""
    children = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                children.update(int(c) for c in f.read().split())
        except OSError:
            pass
    found = set()
    for child in children:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"python-worker" in f.read():
                    found.add(child)
        except OSError:
            pass
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


class PythonWorkersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_py_workers_")
        cls.pid_file = os.path.join(cls.repo, "busy.pid")
        rng = np.random.default_rng(3)
        cls.x = rng.normal(size=(400, 6))
        y = (cls.x[:, 0] + cls.x[:, 1] * cls.x[:, 2] > 0).astype(int)
        forest = RandomForestClassifier(n_estimators=30, max_depth=6, random_state=0).fit(cls.x, y)
        for name, extra in (("forest", "python: {workers: 2}\n"), ("forest-embedded", "")):
            os.makedirs(os.path.join(cls.repo, name, "1"))
            joblib.dump(forest, os.path.join(cls.repo, name, "1", "model.joblib"))
            with open(os.path.join(cls.repo, name, "model.yaml"), "w") as f:
                f.write("backend: sklearn\nmax_batch_size: 64\n" + extra)
        os.makedirs(os.path.join(cls.repo, "doubler", "1"))
        with open(os.path.join(cls.repo, "doubler", "1", "model.py"), "w") as f:
            f.write(MODEL_PY)
        with open(os.path.join(cls.repo, "doubler", "model.yaml"), "w") as f:
            f.write("backend: python\npython: {workers: 2}\n"
                    f"parameters: {{pid_file: {json.dumps(cls.pid_file)}}}\n"
                    "inputs: [{name: x, datatype: FP32, shape: [-1]}]\n"
                    "outputs: [{name: y, datatype: FP32, shape: [-1]}, {name: pid, datatype: INT64, shape: [-1]}]\n")
        onnx = os.path.join(os.path.dirname(__file__), "../../examples/models/pima")
        shutil.copytree(onnx, os.path.join(cls.repo, "onnx-workers"))
        with open(os.path.join(cls.repo, "onnx-workers", "model.yaml"), "a") as f:
            f.write("python: {workers: 2}\n")
        cls.server = FerryProcess(cls.repo)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def infer(self, model, name, values, datatype, shape, expect=200):
        status, body, _ = self.server.request("POST", f"/v2/models/{model}/infer", {
            "inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": values}]})
        self.assertEqual(status, expect, body)
        return {o["name"]: o["data"] for o in body["outputs"]} if status == 200 else body

    def test_answers_equal_the_embedded_interpreters(self):
        rows = self.x[:50]
        flat = rows.ravel().tolist()
        workers = self.infer("forest", "input", flat, "FP64", [50, 6])
        embedded = self.infer("forest-embedded", "input", flat, "FP64", [50, 6])
        self.assertEqual(workers["predict"], embedded["predict"])
        np.testing.assert_array_equal(workers["predict_proba"], embedded["predict_proba"])

    def test_each_worker_is_a_process_of_its_own_and_errors_keep_their_codes(self):
        pids = set()
        for _ in range(20):
            out = self.infer("doubler", "x", [1.5, 2.0], "FP32", [2])
            self.assertEqual(out["y"], [3.0, 4.0])
            pids.add(out["pid"][0])
        self.assertNotIn(self.server.proc.pid, pids)
        self.assertTrue(pids <= workers_of(self.server.proc.pid), (pids, workers_of(self.server.proc.pid)))
        bad = self.infer("doubler", "x", [-1.0], "FP32", [1], expect=400)
        self.assertIn("x must not be negative", bad["error"])
        failed = self.infer("doubler", "x", [13.0], "FP32", [1], expect=500)
        self.assertIn("unlucky number", failed["error"])
        # Operations run in ferry's own interpreter.
        status, body, _ = self.server.request("POST", "/v2/models/doubler/whoami", {})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["pid"], self.server.proc.pid)

    def test_a_python_workers_setting_on_another_backend_is_refused(self):
        status, index, _ = self.server.request("POST", "/v2/repository/index", {})
        reasons = {m["name"]: m.get("reason", "") for m in index}
        self.assertIn("python.workers is for Python models", reasons["onnx-workers"])

    def test_a_killed_worker_fails_only_its_request_and_is_replaced(self):
        before = workers_of(self.server.proc.pid)
        if os.path.exists(self.pid_file):
            os.remove(self.pid_file)
        answer = {}

        def slow():
            answer["result"] = self.infer("doubler", "x", [999.0], "FP32", [1], expect=503)

        thread = threading.Thread(target=slow)
        thread.start()
        deadline = time.time() + 30
        while not os.path.exists(self.pid_file) and time.time() < deadline:
            time.sleep(0.02)
        busy = int(open(self.pid_file).read())
        self.assertIn(busy, before)
        # The other worker answers meanwhile.
        self.assertEqual(self.infer("doubler", "x", [4.0], "FP32", [1])["y"], [8.0])
        os.kill(busy, signal.SIGKILL)
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertIn(f"its python worker (pid {busy}) was killed by signal 9 (SIGKILL)", answer["result"]["error"])
        # Replaced: two workers again, answering.
        deadline = time.time() + 30
        while len(workers_of(self.server.proc.pid) - before) < 1 and time.time() < deadline:
            time.sleep(0.05)
        after = workers_of(self.server.proc.pid)
        self.assertNotIn(busy, after)
        for _ in range(10):
            self.assertEqual(self.infer("doubler", "x", [5.0], "FP32", [1])["y"], [10.0])
        self.assertIsNone(self.server.proc.poll())

    def test_zz_no_worker_outlives_ferry(self):
        server = FerryProcess(self.repo)
        workers = workers_of(server.proc.pid)
        self.assertEqual(len(workers), 4, workers)  # forest's 2 and doubler's 2
        server.stop()
        deadline = time.time() + 10
        while any(alive(p) for p in workers) and time.time() < deadline:
            time.sleep(0.05)
        self.assertFalse([p for p in workers if alive(p)])


if __name__ == "__main__":
    unittest.main()
