"""Integration tests of the model lifecycle on the real build/ferry: versions replaced under a
steady load through polling and through the repository API with no failed request, failures that
keep what serves, half-written versions, and memory over many load/unload cycles.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import models
from ferry_process import FERRY_BIN, FerryProcess

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
BODY = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW}]}


def intercept_of(version):
    return models.PIMA.INTERCEPT + 0.05 * version


class SteadyLoad:
    """Client threads sending the Pima request in a loop; counts answers and failures."""

    def __init__(self, ferry, threads=4):
        self.ferry, self.stop_flag = ferry, threading.Event()
        self.failures, self.answers, self.lock = [], 0, threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def run(self):
        conn = self.ferry.connection()
        while not self.stop_flag.is_set():
            try:
                status, body, _ = self.ferry.request("POST", "/v2/models/pima/infer", BODY, conn=conn)
            except OSError as e:
                status, body = 0, str(e)
                conn = self.ferry.connection()
            with self.lock:
                if status != 200:
                    self.failures.append((status, body))
                else:
                    self.answers += 1
        conn.close()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)


# A pipeline whose model step calls the model named %s: one record of eight features in, its
# probability out.
PIPELINE_OVER = """pipeline:
  - {name: in, kind: record, fields: {features: {type: array, width: 8}}}
  - {name: t, kind: tensor, output: features, fields: [features]}
  - {name: score, kind: model, model: %s}
  - {kind: respond, fields: [probability]}
"""


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.repo = tempfile.mkdtemp(prefix="ferry_life_")
        models.save_pima(f"{self.repo}/pima/1/model.onnx", intercept=intercept_of(1))
        self.ferry = None

    def tearDown(self):
        if self.ferry:
            self.ferry.stop()
        shutil.rmtree(self.repo, ignore_errors=True)

    def start(self, *args):
        self.ferry = FerryProcess(self.repo, *args)
        return self.ferry

    def answer(self):
        status, body, _ = self.ferry.request("POST", "/v2/models/pima/infer", BODY)
        self.assertEqual(status, 200, body)
        return int(body["model_version"]), body["outputs"][0]["data"][0]

    def wait_for_version(self, version, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got, p = self.answer()
            if got == version:
                self.assertAlmostEqual(p, models.pima_probability(ROW, intercept_of(version)), places=5)
                return
            time.sleep(0.02)
        self.fail(f"version {version} never served:\n{self.ferry.log()[-3000:]}")

    def load(self, name, config=None):
        body = {"parameters": {"config": config}} if config is not None else {}
        return self.ferry.request("POST", f"/v2/repository/models/{name}/load", body)

    def index(self):
        status, body, _ = self.ferry.request("POST", "/v2/repository/index", {})
        self.assertEqual(status, 200, body)
        return {(e["name"], e.get("version")): e for e in body}

    def write_pipeline(self, name, model):
        os.makedirs(f"{self.repo}/{name}", exist_ok=True)
        with open(f"{self.repo}/{name}/model.yaml", "w") as f:
            f.write(PIPELINE_OVER % model)

    def test_a_pipeline_over_a_model_the_repository_lacks_is_unavailable_until_it_comes(self):
        self.write_pipeline("scorer", "later")
        self.start("--model-control", "poll", "--repository-poll-secs", "0.1")
        status, body, _ = self.ferry.request("GET", "/v2/models/scorer/ready")
        self.assertEqual(status, 503, body)
        entry = self.index()[("scorer", "1")]
        self.assertEqual(entry["state"], "UNAVAILABLE")
        self.assertIn("'later'", entry["reason"])
        self.assertIn("not in the repository", entry["reason"])
        status, body, _ = self.ferry.request("POST", "/v2/models/scorer/predict", {"features": ROW})
        self.assertEqual(status, 503, body)
        self.assertIn("'later'", body["error"])
        models.save_pima(f"{self.repo}/later/1/model.onnx", intercept=intercept_of(1))  # the model arrives
        deadline = time.time() + 15
        while time.time() < deadline and self.ferry.request("GET", "/v2/models/scorer/ready")[0] != 200:
            time.sleep(0.05)
        status, body, _ = self.ferry.request("POST", "/v2/models/scorer/predict", {"features": ROW})
        self.assertEqual(status, 200, body)
        self.assertAlmostEqual(body["predictions"][0]["probability"], models.pima_probability(ROW, intercept_of(1)),
                               places=5)

    def test_loading_a_pipeline_in_explicit_mode_loads_the_models_it_calls(self):
        self.write_pipeline("scorer", "pima")
        self.start("--model-control", "explicit")
        self.assertEqual(self.ferry.request("GET", "/v2/models/pima/ready")[0], 404)
        status, body, _ = self.load("scorer")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.ferry.request("GET", "/v2/models/pima/ready")[0], 200, "loaded with the pipeline")
        status, body, _ = self.ferry.request("POST", "/v2/models/scorer/predict", {"features": ROW})
        self.assertEqual(status, 200, body)

    def test_twenty_swaps_through_polling_under_load(self):
        self.start("--model-control", "poll", "--repository-poll-secs", "0.1")
        load = SteadyLoad(self.ferry)
        try:
            for version in range(2, 22):
                models.save_pima(f"{self.repo}/pima/{version}/model.onnx", intercept=intercept_of(version))
                self.wait_for_version(version)
                if version > 3:  # old folders go away too
                    shutil.rmtree(f"{self.repo}/pima/{version - 2}")
        finally:
            load.stop()
        self.assertEqual(load.failures, [])
        self.assertGreater(load.answers, 100)

    def test_twenty_swaps_through_the_repository_api_under_load(self):
        self.start("--model-control", "explicit", "--load-model", "pima")
        load = SteadyLoad(self.ferry)
        try:
            for version in range(2, 22):
                models.save_pima(f"{self.repo}/pima/{version}/model.onnx", intercept=intercept_of(version))
                status, body, _ = self.load("pima")
                self.assertEqual(status, 200, body)
                got, p = self.answer()  # the load has returned: the new version answers now
                self.assertEqual(got, version)
                self.assertAlmostEqual(p, models.pima_probability(ROW, intercept_of(version)), places=5)
        finally:
            load.stop()
        self.assertEqual(load.failures, [])

    def test_failures_keep_what_serves_and_say_why(self):
        models.save_reshape3(f"{self.repo}/reshape/1/model.onnx")
        with open(f"{self.repo}/reshape/model.yaml", "w") as f:
            f.write("warmup: [{batch_size: 2}]\n")
        self.start("--model-control", "explicit", "--load-model", "pima")
        # A corrupt model file: the new version is UNAVAILABLE with the reason, version 1 serves on.
        os.makedirs(f"{self.repo}/pima/2")
        with open(f"{self.repo}/pima/2/model.onnx", "wb") as f:
            f.write(b"corrupt")
        status, body, _ = self.load("pima")
        self.assertEqual(status, 503, body)
        self.assertIn("ONNX Runtime cannot load", body["error"])
        self.assertEqual(self.answer()[0], 1)
        entry = self.index()[("pima", "2")]
        self.assertEqual(entry["state"], "UNAVAILABLE")
        self.assertIn("ONNX Runtime cannot load", entry["reason"])
        self.assertEqual(self.index()[("pima", "1")]["state"], "READY")
        # A model.yaml syntax error: the load fails, version 1 serves on.
        shutil.rmtree(f"{self.repo}/pima/2")
        with open(f"{self.repo}/pima/model.yaml", "w") as f:
            f.write("max_batch_size: [\n")
        status, body, _ = self.load("pima")
        self.assertEqual(status, 503, body)
        self.assertIn("not valid YAML", body["error"])
        self.assertEqual(self.answer()[0], 1)
        os.remove(f"{self.repo}/pima/model.yaml")
        # A config override through the API.
        status, body, _ = self.load("pima", config="max_batch_size: 4\n")
        self.assertEqual(status, 200, body)
        config = self.ferry.request("GET", "/v2/models/pima/config")[1]
        self.assertEqual(config["max_batch_size"], 4)
        # Warm-up from a request file: a good one passes, a bad one keeps the version out of service.
        models.save_pima(f"{self.repo}/warmed/1/model.onnx")
        os.makedirs(f"{self.repo}/warmed/warmup")
        with open(f"{self.repo}/warmed/warmup/sample.json", "w") as f:
            json.dump(BODY, f)
        with open(f"{self.repo}/warmed/model.yaml", "w") as f:
            f.write("warmup: [{request: warmup/sample.json, count: 3}, {batch_size: 4, fill: random}]\n")
        status, body, _ = self.load("warmed")
        self.assertEqual(status, 200, body)
        with open(f"{self.repo}/warmed/warmup/sample.json", "w") as f:
            json.dump({"inputs": [{"name": "features", "shape": [1, 7], "datatype": "FP32", "data": ROW[:7]}]}, f)
        with open(f"{self.repo}/warmed/model.yaml", "a") as f:
            f.write("max_batch_size: 8\n")  # a changed config: the version is rebuilt and warmed again
        status, body, _ = self.load("warmed")
        self.assertEqual(status, 503, body)
        self.assertIn("warm-up sample 0 (warmup/sample.json)", body["error"])
        self.assertIn("has shape [1, 7], the model expects [-1, 8]", body["error"])
        # A failing warm-up: never READY, with the reason.
        status, body, _ = self.load("reshape")
        self.assertEqual(status, 503, body)
        self.assertIn("warm-up sample 0 failed", body["error"])
        self.assertEqual(self.index()[("reshape", "1")]["state"], "UNAVAILABLE")
        # A deleted version: reloading serves what is left.
        models.save_pima(f"{self.repo}/pima/3/model.onnx", intercept=intercept_of(3))
        self.assertEqual(self.load("pima")[0], 200)
        self.assertEqual(self.answer()[0], 3)
        shutil.rmtree(f"{self.repo}/pima/3")
        self.assertEqual(self.load("pima")[0], 200)
        self.assertEqual(self.answer()[0], 1)
        # A deleted model: unload, then it is unknown and listed as unloaded.
        status, body, _ = self.ferry.request("POST", "/v2/repository/models/pima/unload", {})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.ferry.request("POST", "/v2/models/pima/infer", BODY)[0], 404)
        self.assertEqual(self.index()[("pima", None)]["reason"], "unloaded")
        self.assertEqual(self.ferry.request("POST", "/v2/repository/models/pima/unload", {})[0], 404)
        self.assertEqual(self.load("nope")[0], 404)
        # Load needs explicit mode; the route is POST only.
        self.assertEqual(self.ferry.request("GET", "/v2/repository/index")[0], 405)

    def test_a_refused_rebuild_of_the_serving_version_keeps_it_serving(self):
        self.start("--model-control", "explicit", "--load-model", "pima")
        self.assertEqual(self.answer()[0], 1)
        refusals = (
            ("a warm-up sample that is not there", "warmup: [{request: nosuch.json}]\n", "nosuch.json"),
            ("a wrong datatype", "inputs: [{name: features, datatype: FP64, shape: [-1, 8]}]\n", "FP64"),
        )
        for what, config, fragment in refusals:
            status, body, _ = self.load("pima", config=config)
            self.assertEqual(status, 503, f"{what}: {body}")
            self.assertIn(fragment, body["error"])
            version, p = self.answer()  # the build that served still does
            self.assertEqual(version, 1, what)
            self.assertAlmostEqual(p, models.pima_probability(ROW, intercept_of(1)), places=5)
            entry = self.index()[("pima", "1")]
            self.assertEqual(entry["state"], "READY", what)
            self.assertIn("the previous build serves", entry["reason"])
            self.assertIn(fragment, entry["reason"])
        self.assertIn("the previous build serves", self.ferry.log())
        # A truncated model file under the serving version number.
        with open(f"{self.repo}/pima/1/model.onnx", "r+b") as f:
            f.truncate(40)
        status, body, _ = self.load("pima")
        self.assertEqual(status, 503, body)
        self.assertEqual(self.answer(), (1, self.answer()[1]))
        self.assertAlmostEqual(self.answer()[1], models.pima_probability(ROW, intercept_of(1)), places=5)
        # A good build of the same version replaces it; the index no longer speaks of a refusal.
        models.save_pima(f"{self.repo}/pima/1/model.onnx", intercept=intercept_of(5))
        status, body, _ = self.load("pima")
        self.assertEqual(status, 200, body)
        self.assertAlmostEqual(self.answer()[1], models.pima_probability(ROW, intercept_of(5)), places=5)
        self.assertEqual(self.index()[("pima", "1")].get("reason", ""), "")

    def test_in_place_edits_under_polling_never_take_the_version_down(self):
        self.start("--model-control", "poll", "--repository-poll-secs", "0.1")
        load = SteadyLoad(self.ferry)
        try:
            models.save_pima(f"{self.repo}/pima/1/model.onnx", intercept=intercept_of(7))  # rewritten in place
            deadline = time.time() + 15
            while time.time() < deadline:
                if abs(self.answer()[1] - models.pima_probability(ROW, intercept_of(7))) < 1e-5:
                    break
                time.sleep(0.05)
            self.assertAlmostEqual(self.answer()[1], models.pima_probability(ROW, intercept_of(7)), places=5)
            with open(f"{self.repo}/pima/1/model.onnx", "wb") as f:
                f.write(b"not a model")  # a broken file in place: refused, the good build serves on
            with open(f"{self.repo}/pima/model.yaml", "w") as f:
                f.write("warmup: [{request: nosuch.json}]\n")  # and a model.yaml whose warm-up fails
            deadline = time.time() + 15
            while time.time() < deadline and self.ferry.log().count("the previous build serves") < 1:
                time.sleep(0.05)
            time.sleep(0.5)
            self.assertAlmostEqual(self.answer()[1], models.pima_probability(ROW, intercept_of(7)), places=5)
        finally:
            load.stop()
        self.assertEqual(load.failures, [])
        self.assertIn("the previous build serves", self.ferry.log())
        self.assertNotIn("no numeric version folder", self.ferry.log())

    def test_half_written_version_waits_until_complete(self):
        self.start("--model-control", "poll", "--repository-poll-secs", "0.2")
        source = f"{self.repo}/staging.onnx"
        models.save_pima(source, intercept=intercept_of(2))
        data = open(source, "rb").read()
        os.remove(source)
        os.makedirs(f"{self.repo}/pima/2")
        with open(f"{self.repo}/pima/2/model.onnx", "wb") as f:
            # A slow writer: a chunk every 50 ms for about 1.5 s, more often than the 200 ms scans.
            chunk = max(1, len(data) // 30)
            for offset in range(0, len(data), chunk):
                f.write(data[offset:offset + chunk])
                f.flush()
                time.sleep(0.05)
                self.assertEqual(self.answer()[0], 1)
        self.wait_for_version(2)
        self.assertNotIn("model 'pima' version 2: UNAVAILABLE", self.ferry.log())
        # A model removed from the repository is unloaded.
        shutil.rmtree(f"{self.repo}/pima")
        deadline = time.time() + 10
        while time.time() < deadline and self.ferry.request("POST", "/v2/models/pima/infer", BODY)[0] != 404:
            time.sleep(0.05)
        self.assertEqual(self.ferry.request("POST", "/v2/models/pima/infer", BODY)[0], 404)

    @unittest.skipIf(os.environ.get("FERRY_SANITIZED"), "ASan holds freed memory in quarantine; LSan checks leaks")
    def test_two_hundred_load_unload_cycles_give_memory_back(self):
        self.start("--model-control", "explicit", "--load-model", "pima")

        def rss_kb():
            with open(f"/proc/{self.ferry.proc.pid}/status") as f:
                return int(next(l for l in f if l.startswith("VmRSS")).split()[1])

        baseline = None
        for cycle in range(200):
            self.assertEqual(self.ferry.request("POST", "/v2/repository/models/pima/unload", {})[0], 200)
            self.assertEqual(self.load("pima")[0], 200)
            self.answer()
            if cycle == 0:
                baseline = rss_kb()
        final = rss_kb()
        self.assertLess(final, baseline * 1.10, f"RSS grew from {baseline} kB to {final} kB")

    def test_unload_first_strategy_reloads_in_place(self):
        self.start("--model-control", "explicit", "--load-model", "pima", "--reload-strategy", "unload-first")
        for version in (2, 3):
            models.save_pima(f"{self.repo}/pima/{version}/model.onnx", intercept=intercept_of(version))
            status, body, _ = self.load("pima")
            self.assertEqual(status, 200, body)
            got, p = self.answer()
            self.assertEqual(got, version)
            self.assertAlmostEqual(p, models.pima_probability(ROW, intercept_of(version)), places=5)

    def test_strict_readiness(self):
        os.makedirs(f"{self.repo}/broken/1")
        with open(f"{self.repo}/broken/1/model.onnx", "wb") as f:
            f.write(b"corrupt")
        self.ferry = FerryProcess(self.repo, "--strict-readiness", wait_ready=False)
        deadline = time.time() + 10
        while time.time() < deadline and "startup loading done" not in self.ferry.log():
            time.sleep(0.05)
        status, body, _ = self.ferry.request("GET", "/v2/health/ready")
        self.assertEqual(status, 503)
        self.assertIn("model 'broken' has no version that serves", body["error"])  # the reason, not just 503
        self.assertEqual(self.answer()[0], 1)  # what loaded serves anyway


class SingleModelFolderTest(unittest.TestCase):
    """`--model-name NAME`: the folder holds one model's files directly, as KServe's storage
    initializer leaves them in /mnt/models (deploy/kubernetes/kserve)."""

    def test_a_folder_of_model_files_serves_as_the_named_model(self):
        folder = tempfile.mkdtemp(prefix="ferry_mnt_models_")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        models.save_pima(os.path.join(folder, "model.onnx"))
        with open(os.path.join(folder, "model.yaml"), "w") as f:
            f.write("max_batch_size: 8\n")
        server = FerryProcess(folder, "--model-name", "pima-kserve")
        self.addCleanup(server.stop)
        _, index, _ = server.request("POST", "/v2/repository/index", {})
        self.assertEqual([(m["name"], m["version"], m["state"]) for m in index], [("pima-kserve", "1", "READY")])
        _, config, _ = server.request("GET", "/v2/models/pima-kserve/config")
        self.assertEqual(config["max_batch_size"], 8, config)  # the model.yaml beside the files
        row = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
        status, answer, _ = server.request("POST", "/v2/models/pima-kserve/infer", {"inputs": [
            {"name": "features", "shape": [1, 8], "datatype": "FP32", "data": row}]})
        self.assertEqual(status, 200, answer)
        self.assertAlmostEqual(answer["outputs"][0]["data"][0], models.pima_probability(row), places=5)
        links = re.search(r"model repository (\S+): 1 model folder", server.log()).group(1)
        self.assertTrue(os.path.islink(os.path.join(links, "pima-kserve", "1")))
        server.stop()
        self.assertFalse(os.path.exists(links), "the links are removed at exit")
        self.assertTrue(os.path.isfile(os.path.join(folder, "model.onnx")), "the model's own files stay")

    def test_a_model_name_that_is_not_a_plain_folder_name_is_refused(self):
        folder = tempfile.mkdtemp(prefix="ferry_mnt_models_")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        out = subprocess.run([FERRY_BIN, "serve", "--model-repository", folder, "--model-name", "../etc",
                              "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--model-name '../etc' is not a plain folder name", out.stderr)


if __name__ == "__main__":
    unittest.main()
