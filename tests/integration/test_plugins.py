"""Integration tests of the backend plugins (src/backends/plugin.h) on the real build/ferry:
a server maps a heavy backend's libraries only once a model needs it; a missing, corrupt or foreign
plugin file makes that backend's models UNAVAILABLE with a reason naming the backend and the file
while the others serve; a plugin installed later is picked up by the next load.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from ferry_process import FERRY_BIN, FerryProcess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILT_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(FERRY_BIN)), "backends")
PIMA_ROW = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                        "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]}
PYTHON_MODEL = """import numpy as np
class Model:
    def load(self):
        pass
    def predict(self, inputs):
        return {"y": inputs["x"] * 2}
"""
PYTHON_YAML = """backend: python
inputs: [{name: x, datatype: FP32, shape: [-1]}]
outputs: [{name: y, datatype: FP32, shape: [-1]}]
"""


def mapped_libraries(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {os.path.basename(line.split()[-1]) for line in f if ".so" in line.split()[-1]}


def has_plugin(name):
    return os.path.exists(os.path.join(BUILT_PLUGINS, f"libferry_backend_{name}.so"))


class PluginTest(unittest.TestCase):
    def setUp(self):
        self.repo = tempfile.mkdtemp(prefix="ferry_plugins_")
        self.server = None
        self.addCleanup(shutil.rmtree, self.repo, ignore_errors=True)

    def tearDown(self):
        if self.server:
            self.server.stop()

    def add_model(self, name):
        shutil.copytree(os.path.join(ROOT, "examples/models", name), os.path.join(self.repo, name))

    def reasons(self):
        status, index, _ = self.server.request("POST", "/v2/repository/index", {})
        self.assertEqual(status, 200)
        return {m["name"]: (m["state"], m.get("reason", "")) for m in index}

    def test_a_heavy_backend_is_mapped_only_once_a_model_needs_it(self):
        self.add_model("pima-pmml")
        self.server = FerryProcess(self.repo, "--model-control", "explicit", "--load-model", "*")
        libraries = mapped_libraries(self.server.proc.pid)
        for heavy in ("libonnxruntime", "libtorch", "libc10", "libpython", "libxgboost"):
            self.assertFalse(any(lib.startswith(heavy) for lib in libraries), (heavy, libraries))
        self.assertFalse(any(lib.startswith("libferry_backend_") for lib in libraries), libraries)
        self.assertEqual(self.server.request("POST", "/v2/models/pima-pmml/infer", PIMA_ROW)[0], 200)

        self.add_model("pima")
        self.assertEqual(self.server.request("POST", "/v2/repository/models/pima/load", {})[0], 200)
        libraries = mapped_libraries(self.server.proc.pid)
        self.assertIn("libferry_backend_onnxruntime.so", libraries)
        self.assertTrue(any(lib.startswith("libonnxruntime.so") for lib in libraries), libraries)
        self.assertNotIn("libferry_backend_torchscript.so", libraries)
        status, body, _ = self.server.request("POST", "/v2/models/pima/infer", PIMA_ROW)
        self.assertEqual(status, 200, body)
        self.assertIn("backend plugin onnxruntime loaded from", self.server.log())

    @unittest.skipUnless(has_plugin("onnxruntime") and has_plugin("python"), "needs the onnxruntime and python plugins")
    def test_missing_corrupt_and_foreign_plugins_leave_their_models_unavailable(self):
        self.add_model("pima")
        self.add_model("pima-pmml")
        os.makedirs(os.path.join(self.repo, "doubler", "1"))
        with open(os.path.join(self.repo, "doubler", "1", "model.py"), "w") as f:
            f.write(PYTHON_MODEL)
        with open(os.path.join(self.repo, "doubler", "model.yaml"), "w") as f:
            f.write(PYTHON_YAML)
        os.makedirs(os.path.join(self.repo, "xgb", "1"))
        with open(os.path.join(self.repo, "xgb", "1", "model.ubj"), "wb") as f:
            f.write(b"{}")
        plugins = tempfile.mkdtemp(prefix="ferry_plugin_dir_")
        self.addCleanup(shutil.rmtree, plugins, ignore_errors=True)
        # onnxruntime: absent; python: not an ELF file; xgboost: a shared library, not a plugin.
        with open(os.path.join(plugins, "libferry_backend_python.so"), "wb") as f:
            f.write(b"\x7fELF but not really" + bytes(64))
        foreign = next(p for p in ("/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1")
                       if os.path.exists(p))
        shutil.copy(foreign, os.path.join(plugins, "libferry_backend_xgboost.so"))

        self.server = FerryProcess(self.repo, "--model-control", "explicit", "--load-model", "*",
                                   "--backend-directory", plugins)
        reasons = self.reasons()
        self.assertEqual(reasons["pima-pmml"][0], "READY", reasons)
        onnx_file = os.path.join(plugins, "libferry_backend_onnxruntime.so")
        self.assertEqual(reasons["pima"][0], "UNAVAILABLE")
        self.assertIn(f"the onnxruntime backend plugin {onnx_file}: not installed", reasons["pima"][1])
        self.assertEqual(reasons["doubler"][0], "UNAVAILABLE")
        self.assertIn("the python backend plugin", reasons["doubler"][1])
        self.assertIn("cannot be loaded", reasons["doubler"][1])
        self.assertEqual(reasons["xgb"][0], "UNAVAILABLE")
        self.assertIn("is not one of ferry's libraries (no ferry_backend_plugin entry point)", reasons["xgb"][1])
        self.assertEqual(self.server.request("GET", "/v2/models/pima/ready")[0], 503)
        self.assertEqual(self.server.request("GET", "/v2/models/pima-pmml/ready")[0], 200)

        # Installed later: the next load of the model opens it.
        shutil.copy(os.path.join(BUILT_PLUGINS, "libferry_backend_onnxruntime.so"), onnx_file)
        status, body, _ = self.server.request("POST", "/v2/repository/models/pima/load", {})
        self.assertEqual(status, 200, body)
        status, body, _ = self.server.request("POST", "/v2/models/pima/infer", PIMA_ROW)
        self.assertEqual(status, 200, body)
        self.assertIsNone(self.server.proc.poll())

    @unittest.skipUnless(has_plugin("onnxruntime"), "needs the onnxruntime plugin")
    def test_an_installed_tree_finds_its_plugins(self):
        prefix = tempfile.mkdtemp(prefix="ferry_install_")
        self.addCleanup(shutil.rmtree, prefix, ignore_errors=True)
        subprocess.run(["cmake", "--install", os.path.dirname(os.path.abspath(FERRY_BIN)), "--prefix", prefix],
                       check=True, capture_output=True, timeout=120)
        installed = os.path.join(prefix, "bin", "ferry")
        self.assertTrue(os.path.exists(os.path.join(prefix, "lib/ferry/backends/libferry_backend_onnxruntime.so")))
        self.add_model("pima")
        env = {k: v for k, v in os.environ.items() if k != "FERRY_BACKEND_DIRECTORY"}
        proc = subprocess.Popen([installed, "serve", "--model-repository", self.repo, "--http-host", "127.0.0.1",
                                 "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        try:
            log = []
            for line in proc.stderr:
                log.append(line)
                if "startup loading done" in line:
                    break
            self.assertIn("model 'pima' version 1: READY", "".join(log))
            self.assertIn(f"backend plugin onnxruntime loaded from {prefix}/lib/ferry/backends/libferry_backend_onnxruntime.so", "".join(log))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            proc.stderr.close()

    def test_the_binary_links_no_heavy_backend_library(self):
        out = subprocess.run(["ldd", FERRY_BIN], capture_output=True, text=True, timeout=30, check=True).stdout
        for heavy in ("libonnxruntime", "libtorch", "libc10", "libpython", "libxgboost"):
            self.assertNotIn(heavy, out)


if __name__ == "__main__":
    unittest.main()
