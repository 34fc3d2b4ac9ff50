"""Integration tests of routers (docs/routing.md) on the real build/ferry: a canary split over HTTP,
gRPC and a Kafka stream with the answering model named in headers, trailing metadata and sink
headers; sticky users and the override header; weights changed under load without a failed
request; a shadow that sleeps 200 ms without raising the primary's p99; an ensemble with a
failing member; a bandit that learns from feedback over HTTP, gRPC and a Kafka topic and keeps
what it learnt across a reload and a restart; a router over a pipeline through /predict; every bad
configuration refused at load with its reason while the rest serves.

The two Pima versions differ only in their intercept, so an answer's probability tells which one
computed it, independently of the headers that say so.
"""
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import unittest

import grpc
import numpy as np

import models
from dev_kafka import DevKafka
from ferry_process import FerryProcess
from test_grpc import compile_protos

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
RECORD = {"preg": 6, "plas": 148, "pres": 72, "skin": 35, "test": 0, "mass": 33.6, "pedi": 0.627, "age": 50}
INTERCEPT_2 = models.PIMA.INTERCEPT + 1.0  # version 2's intercept
P1 = models.pima_probability(ROW)
P2 = models.pima_probability(ROW, INTERCEPT_2)

PYTHON_MODEL = '''
import time
import numpy as np


class Model:
    def load(self):
        self.mode = self.params["mode"]

    def predict(self, inputs):
        if self.mode == "fail":
            raise RuntimeError("this member always fails")
        time.sleep(0.2)
        rows = inputs["features"].shape[0]
        return {"probability": np.full((rows, 1), 0.5, dtype=np.float32)}
'''

TENSORS = ("inputs: [{name: features, datatype: FP32, shape: [-1, 8]}]\n"
           "outputs: [{name: probability, datatype: FP32, shape: [-1, 1]}]\n")


def infer_body(rows=1):
    return {"inputs": [{"name": "features", "shape": [rows, 8], "datatype": "FP32", "data": ROW * rows}]}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_repository(repo, state_dir):
    models.save_pima(f"{repo}/pima/1/model.onnx")
    models.save_pima(f"{repo}/pima/2/model.onnx", INTERCEPT_2)
    write(f"{repo}/pima/model.yaml", "version_policy: all\nmax_batch_size: 64\ndynamic_batching: {}\n")
    examples = os.path.join(models.SOURCE_DIR, "examples", "models")
    for name in ("pima-features", "pima-pipeline"):
        shutil.copytree(os.path.join(examples, name), os.path.join(repo, name))
    for name, mode in (("sleepy", "sleep"), ("failing", "fail")):
        write(f"{repo}/{name}/1/model.py", PYTHON_MODEL)
        write(f"{repo}/{name}/model.yaml", f"max_batch_size: 8\n{TENSORS}parameters: {{mode: {mode}}}\n")
    routers = {
        "canary": """
  routes:
    - {name: stable, target: "pima:1", weight: 50}
    - {name: canary, target: "pima:2", weight: 50}
  sticky: {key: "header:x-user-id"}
  override: true
  fallback: {to: stable}""",
        "rollout": """
  routes:
    - {name: old, target: "pima:1", weight: 100}
    - {name: new, target: "pima:2", weight: 0}""",
        "unshadowed": """
  routes: [{target: "pima:1"}]""",
        "shadowed": """
  routes: [{target: "pima:1"}]
  shadow: [{target: sleepy, percent: 100, max_inflight: 2}]""",
        "compared": """
  routes: [{target: "pima:1"}]
  shadow: [{name: next, target: "pima:2", compare: {output: probability, abs_tol: 0.001}}]""",
        "ensemble": """
  ensemble:
    members: [{target: "pima:1"}, {target: "pima:2"}, {target: failing}]
    aggregate: {output: probability, method: mean}
    quorum: 2""",
        "strict-ensemble": """
  ensemble:
    members: [{target: "pima:1"}, {target: "pima:2"}, {target: failing}]
    aggregate: {output: probability, method: median}
    quorum: 3""",
        "bad-aggregate": """
  ensemble:
    members: [{target: "pima:1"}, {target: failing}]
    aggregate: {output: label, method: majority}""",
        "bandit": f"""
  routes: [{{name: one, target: "pima:1"}}, {{name: two, target: "pima:2"}}]
  bandit: {{policy: thompson, min_pulls: 5, state_file: {state_dir}/bandit.json, save_every_s: 0.2}}""",
        "records": """
  routes: [{target: pima-pipeline}]""",
        "bad-unknown": """
  routes: [{target: pima}, {target: ghost}]""",
        "bad-zero": """
  routes: [{target: pima, weight: 0}]""",
        "bad-cycle-a": """
  routes: [{target: bad-cycle-b}]""",
        "bad-cycle-b": """
  routes: [{target: bad-cycle-a}]""",
        "bad-signature": """
  routes: [{target: pima}, {target: pima-pipeline}]""",
    }
    for name, body in routers.items():
        write(f"{repo}/{name}/model.yaml", "router:" + body + "\n")


class RoutingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ferry_routing_")
        cls.repo = os.path.join(cls.work, "models")
        make_repository(cls.repo, cls.work)
        cls.server = FerryProcess(cls.repo, grpc=True, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def infer(self, model, headers=None, rows=1):
        status, answer, response_headers = self.server.request("POST", f"/v2/models/{model}/infer", infer_body(rows),
                                                               headers)
        self.assertEqual(status, 200, answer)
        return answer, {k.lower(): v for k, v in response_headers.items()}

    def which(self, answer):
        """1 or 2: the Pima version whose intercept computed the probability."""
        p = answer["outputs"][0]["data"][0]
        if abs(p - P1) < 1e-5:
            return 1
        self.assertAlmostEqual(p, P2, places=5)
        return 2

    def metrics(self):
        return self.server.request("GET", "/metrics")[1]

    # -- splits ----------------------------------------------------------------------------------

    def test_a_canary_split_says_who_answered_over_http(self):
        versions = {1: 0, 2: 0}
        for _ in range(400):
            answer, headers = self.infer("canary")
            version = self.which(answer)
            versions[version] += 1
            self.assertEqual(answer["model_name"], "canary")
            self.assertEqual(headers["ferry-model"], "pima")
            self.assertEqual(headers["ferry-model-version"], str(version))
            self.assertEqual(headers["ferry-route"], "stable" if version == 1 else "canary")
            self.assertEqual(headers["ferry-route-reason"], "weighted")
            self.assertEqual(answer["parameters"]["ferry-model-version"], version)
        self.assertGreater(versions[1], 140)
        self.assertGreater(versions[2], 140)

    def test_a_sticky_user_always_gets_the_same_version_and_an_override_forces_one(self):
        seen = {}
        for user in range(40):
            for _ in range(3):
                answer, headers = self.infer("canary", {"x-user-id": f"user-{user}"})
                self.assertEqual(headers["ferry-route-reason"], "sticky")
                seen.setdefault(user, set()).add(self.which(answer))
        self.assertTrue(all(len(v) == 1 for v in seen.values()), seen)
        self.assertEqual({v.pop() for v in seen.values()}, {1, 2})  # and the users are spread
        answer, headers = self.infer("canary", {"ferry-route": "canary", "x-user-id": "user-0"})
        self.assertEqual(self.which(answer), 2)
        self.assertEqual(headers["ferry-route-reason"], "override")
        status, answer, _ = self.server.request("POST", "/v2/models/canary/infer", infer_body(),
                                                {"ferry-route": "nowhere"})
        self.assertEqual(status, 400)
        self.assertIn("'nowhere' names no route of router 'canary'", answer["error"])

    def test_metadata_readiness_and_statistics_of_a_router(self):
        status, meta, _ = self.server.request("GET", "/v2/models/canary")
        self.assertEqual(status, 200)
        self.assertEqual(meta["platform"], "ferry_router")
        self.assertEqual(meta["inputs"], [{"name": "features", "datatype": "FP32", "shape": [-1, 8]}])
        self.assertEqual([o["name"] for o in meta["outputs"]], ["probability", "label"])
        self.assertEqual(self.server.request("GET", "/v2/models/canary/ready")[0], 200)
        self.infer("canary")
        status, stats, _ = self.server.request("GET", "/v2/models/canary/stats")
        self.assertEqual(status, 200)
        self.assertGreater(stats["model_stats"][0]["inference_stats"]["success"]["count"], 0)
        status, routing, _ = self.server.request("GET", "/v2/models/canary/routing")
        self.assertEqual(status, 200)
        self.assertEqual(routing["kind"], "split")
        self.assertEqual([(r["name"], r["target"], r["weight"]) for r in routing["routes"]],
                         [("stable", "pima:1", 0.5), ("canary", "pima:2", 0.5)])
        status, answer, _ = self.server.request("GET", "/v2/models/pima/routing")
        self.assertEqual(status, 404)
        self.assertIn("is not a router", answer["error"])

    def test_weights_change_under_load_without_a_failed_request(self):
        stop = threading.Event()
        failures, answered = [], [0]

        def client():
            conn = self.server.connection()
            try:
                while not stop.is_set():
                    status, answer, _ = self.server.request("POST", "/v2/models/rollout/infer", infer_body(), conn=conn)
                    if status != 200:
                        failures.append((status, answer))
                    answered[0] += 1
            finally:
                conn.close()

        clients = [threading.Thread(target=client) for _ in range(4)]
        for c in clients:
            c.start()
        try:
            for weights in ({"old": 95, "new": 5}, {"old": 50, "new": 50}, {"old": 0, "new": 100},
                            {"old": 100, "new": 0}, {"old": 0, "new": 100}):
                time.sleep(0.2)
                status, routing, _ = self.server.request("PUT", "/v2/models/rollout/routing", {"weights": weights})
                self.assertEqual(status, 200, routing)
                total = sum(weights.values())
                self.assertEqual([r["weight"] for r in routing["routes"]], [weights["old"] / total, weights["new"] / total])
            time.sleep(0.2)
        finally:
            stop.set()
            for c in clients:
                c.join(30)
        self.assertEqual(failures, [])
        self.assertGreater(answered[0], 100)
        for _ in range(20):
            self.assertEqual(self.which(self.infer("rollout")[0]), 2)  # every call goes to the new route now
        status, answer, _ = self.server.request("PUT", "/v2/models/rollout/routing", {"weights": {"old": 0, "new": 0}})
        self.assertEqual(status, 400)
        self.assertIn("add up to 0", answer["error"])
        status, answer, _ = self.server.request("PUT", "/v2/models/rollout/routing", {"weights": {"newer": 1}})
        self.assertEqual(status, 400)
        self.assertIn("no route 'newer'", answer["error"])
        self.assertEqual(self.server.request("POST", "/v2/models/rollout/routing", {})[0], 405)

    # -- shadows ---------------------------------------------------------------------------------

    def latencies(self, models, n=300):
        """Sorted latencies of n requests to each model, sent alternately on one connection, so
        that a busy moment of the machine falls on both alike."""
        conn = self.server.connection()
        try:
            out = {m: [] for m in models}
            for _ in range(n):
                for model in models:
                    start = time.perf_counter()
                    status, _, _ = self.server.request("POST", f"/v2/models/{model}/infer", infer_body(), conn=conn)
                    out[model].append(time.perf_counter() - start)
                    self.assertEqual(status, 200)
            return [sorted(out[m]) for m in models]
        finally:
            conn.close()

    def test_a_slow_shadow_neither_slows_the_primary_nor_piles_up(self):
        self.latencies(["unshadowed", "shadowed"], 50)  # warm both paths
        off, on = self.latencies(["unshadowed", "shadowed"])
        p99_off, p99_on = off[int(len(off) * 0.99)], on[int(len(on) * 0.99)]
        print(f"\nprimary p99 with the shadow off {p99_off * 1000:.2f} ms, on {p99_on * 1000:.2f} ms "
              f"(ratio {p99_on / p99_off:.2f}); medians {statistics.median(off) * 1000:.2f} / "
              f"{statistics.median(on) * 1000:.2f} ms")
        self.assertLess(p99_on, 0.1)  # the shadow sleeps 200 ms: never waited for
        self.assertLess(p99_on, max(2.0 * p99_off, p99_off + 0.01))
        text = self.metrics()
        sent = dropped = 0
        for line in text.splitlines():
            if line.startswith('ferry_shadow_requests_total{router="shadowed",shadow="sleepy",outcome="sent"}'):
                sent = float(line.split()[-1])
            if line.startswith('ferry_shadow_requests_total{router="shadowed",shadow="sleepy",outcome="dropped"}'):
                dropped = float(line.split()[-1])
        self.assertGreater(dropped, 0, text)
        self.assertGreater(sent, 0)
        self.assertEqual(sent + dropped, 350)

    def test_a_shadow_comparison_counts_agreement_and_differences(self):
        for _ in range(20):
            answer, headers = self.infer("compared")
            self.assertEqual(self.which(answer), 1)
            self.assertEqual(headers["ferry-model-version"], "1")
        deadline = time.time() + 10
        while time.time() < deadline:
            text = self.metrics()
            if 'ferry_shadow_comparisons_total{router="compared",shadow="next",result="disagreed"} 20' in text:
                break
            time.sleep(0.1)
        self.assertIn('ferry_shadow_comparisons_total{router="compared",shadow="next",result="disagreed"} 20', text)
        self.assertIn('ferry_shadow_difference_count{router="compared",shadow="next"} 20', text)

    # -- ensembles -------------------------------------------------------------------------------

    def test_an_ensemble_of_three_with_a_failing_member(self):
        answer, headers = self.infer("ensemble", rows=2)
        self.assertEqual(headers["ferry-ensemble"], "pima:1,pima:2")
        self.assertEqual(headers["ferry-route-reason"], "ensemble")
        self.assertEqual(answer["model_name"], "ensemble")
        self.assertEqual(answer["outputs"][0]["name"], "probability")
        self.assertEqual(answer["outputs"][0]["shape"], [2, 1])
        for p in answer["outputs"][0]["data"]:
            self.assertAlmostEqual(p, (P1 + P2) / 2, places=5)
        status, answer, _ = self.server.request("POST", "/v2/models/strict-ensemble/infer", infer_body())
        self.assertEqual(status, 503)
        self.assertIn("2 of 3 members answered, fewer than its quorum of 3: 'failing' failed:", answer["error"])
        self.assertIn("this member always fails", answer["error"])
        text = self.metrics()
        self.assertIn('ferry_ensemble_member_total{router="ensemble",member="failing",outcome="failed"}', text)
        self.assertIn('ferry_ensemble_quorum_failures_total{router="strict-ensemble"} 1', text)

    # -- bandits ---------------------------------------------------------------------------------

    def test_a_bandit_converges_to_the_better_route_with_feedback_over_http(self):
        for _ in range(250):
            answer, headers = self.infer("bandit")
            decision = headers["ferry-decision-id"]
            self.assertIn(headers["ferry-route-reason"], ("explore", "exploit"))
            reward = 1 if self.which(answer) == 2 else 0  # version 2 "converts", version 1 does not
            status, result, _ = self.server.request("POST", "/v2/models/bandit/feedback",
                                                    {"decision_id": decision, "reward": reward})
            self.assertEqual(status, 200, result)
            self.assertEqual(result["outcome"], "applied")
        status, result, _ = self.server.request("POST", "/v2/models/bandit/feedback",
                                                {"decision_id": decision, "reward": 1})
        self.assertEqual(result["outcome"], "duplicate")
        status, result, _ = self.server.request("POST", "/v2/models/bandit/feedback",
                                                [{"decision_id": "0-1", "reward": 1},
                                                 {"decision_id": decision, "rewards": [1, 1]}])
        self.assertEqual(status, 200)
        self.assertEqual([r["outcome"] for r in result], ["unknown", "duplicate"])
        status, result, _ = self.server.request("POST", "/v2/models/bandit/feedback", {"decision_id": decision})
        self.assertEqual(status, 400)
        self.assertIn("either 'reward'", result["error"])
        status, routing, _ = self.server.request("GET", "/v2/models/bandit/routing")
        self.assertEqual(routing["kind"], "bandit")
        self.assertEqual(routing["policy"], "thompson")
        one, two = routing["routes"]
        self.assertGreater(two["pulls"], 3 * one["pulls"], routing)
        self.assertGreater(two["probability_best"], 0.9)
        self.assertAlmostEqual(two["mean_reward"], 1.0)
        self.assertEqual(one["mean_reward"], 0)
        text = self.metrics()
        self.assertIn('ferry_bandit_feedback_total{router="bandit",outcome="applied"}', text)
        self.assertIn('ferry_bandit_arm_mean_reward{router="bandit",route="two"} 1', text)

    def test_per_row_rewards(self):
        answer, headers = self.infer("bandit", rows=3)
        status, result, _ = self.server.request("POST", "/v2/models/bandit/feedback",
                                                {"decision_id": headers["ferry-decision-id"], "rewards": [1, 0, 1]})
        self.assertEqual((status, result["outcome"], result["rows"]), (200, "applied", 3))
        answer, headers = self.infer("bandit", rows=2)
        status, result, _ = self.server.request("POST", "/v2/models/bandit/feedback",
                                                {"decision_id": headers["ferry-decision-id"], "rewards": [1]})
        self.assertEqual(status, 400)
        self.assertEqual(result["outcome"], "invalid")
        self.assertIn("covered 2 row(s)", result["detail"])

    # -- gRPC ------------------------------------------------------------------------------------

    def test_grpc_split_metadata_and_feedback(self):
        stubs = tempfile.mkdtemp(prefix="ferry_stubs_")
        try:
            pb, pb_grpc = compile_protos(stubs)
            with grpc.insecure_channel(f"127.0.0.1:{self.server.grpc_port}") as channel:
                stub = pb_grpc.GRPCInferenceServiceStub(channel)

                def request(model):
                    r = pb.ModelInferRequest(model_name=model)
                    tensor = r.inputs.add(name="features", datatype="FP32", shape=[1, 8])
                    tensor.contents.fp32_contents.extend(ROW)
                    return r

                versions = set()
                for _ in range(60):
                    response, call = stub.ModelInfer.with_call(request("canary"), timeout=10,
                                                               metadata=[("x-user-id", "grpc-user")])
                    trailing = dict(call.trailing_metadata())
                    version = int(trailing["ferry-model-version"])
                    p = np.frombuffer(response.raw_output_contents[0], dtype=np.float32)[0]
                    self.assertAlmostEqual(float(p), P1 if version == 1 else P2, places=5)
                    self.assertEqual(trailing["ferry-route-reason"], "sticky")
                    self.assertEqual(response.parameters["ferry-model"].string_param, "pima")
                    versions.add(version)
                self.assertEqual(len(versions), 1)  # one user, one version
                response, call = stub.ModelInfer.with_call(request("bandit"), timeout=10)
                decision = dict(call.trailing_metadata())["ferry-decision-id"]
                feedback = pb.ModelInferRequest(model_name="bandit")
                feedback.parameters["ferry_feedback"].string_param = decision
                feedback.parameters["reward"].double_param = 1.0
                answer = stub.ModelInfer(feedback, timeout=10)
                self.assertEqual(answer.parameters["ferry-feedback"].string_param, "applied")
                self.assertEqual(answer.parameters["ferry-feedback-rows"].int64_param, 1)
                again = stub.ModelInfer(feedback, timeout=10)
                self.assertEqual(again.parameters["ferry-feedback"].string_param, "duplicate")
        finally:
            shutil.rmtree(stubs, ignore_errors=True)

    # -- records ---------------------------------------------------------------------------------

    def test_a_router_over_a_pipeline_takes_records(self):
        status, direct, _ = self.server.request("POST", "/v2/models/pima-pipeline/predict", RECORD)
        self.assertEqual(status, 200)
        status, routed, headers = self.server.request("POST", "/v2/models/records/predict", {"instances": [RECORD] * 3})
        self.assertEqual(status, 200, routed)
        self.assertEqual(routed["predictions"], direct["predictions"] * 3)
        self.assertEqual(headers["ferry-model"], "pima-pipeline")
        status, meta, _ = self.server.request("GET", "/v2/models/records")
        self.assertEqual([f["name"] for f in meta["record_fields"]][:2], ["preg", "plas"])
        status, answer, _ = self.server.request("POST", "/v2/models/canary/predict", RECORD)
        self.assertEqual(status, 400)
        self.assertIn("is not a pipeline", answer["error"])

    # -- loading ---------------------------------------------------------------------------------

    def test_bad_configurations_are_refused_at_load_and_the_rest_serves(self):
        status, index, _ = self.server.request("POST", "/v2/repository/index", {})
        reasons = {m["name"]: m.get("reason", "") for m in index if m["state"] == "UNAVAILABLE"}
        self.assertIn("route 'ghost': unknown model 'ghost'", reasons.get("bad-unknown", ""))
        self.assertIn("add up to 0", reasons.get("bad-zero", ""))
        self.assertIn("router 'bad-cycle-a' would call itself: bad-cycle-a -> bad-cycle-b -> bad-cycle-a",
                      reasons.get("bad-cycle-a", ""))
        self.assertIn("would call itself", reasons.get("bad-cycle-b", ""))
        self.assertIn("input 'features'", reasons.get("bad-signature", ""))
        self.assertIn("member 'failing' has no output 'label'", reasons.get("bad-aggregate", ""))
        for name in ("canary", "ensemble", "bandit", "records", "pima"):
            self.assertNotIn(name, reasons)
        self.assertEqual(self.server.request("GET", "/v2/health/ready")[0], 200)
        status, answer, _ = self.server.request("POST", "/v2/models/bad-zero/infer", infer_body())
        self.assertEqual(status, 503)

    def test_metrics_pass_promtool(self):
        self.infer("canary")
        text = self.metrics()
        for family in ("ferry_router_requests_total", "ferry_router_route_weight", "ferry_shadow_requests_total",
                       "ferry_ensemble_member_duration_seconds", "ferry_bandit_arm_pulls_total"):
            self.assertIn(family, text)
        checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=60)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)


class RouterLifecycleTest(unittest.TestCase):
    """Routers loaded, reloaded and restarted: what a bandit learnt is kept; a router waits for its
    targets."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ferry_routing_life_")
        self.repo = os.path.join(self.work, "models")
        models.save_pima(f"{self.repo}/pima/1/model.onnx")
        models.save_pima(f"{self.repo}/pima/2/model.onnx", INTERCEPT_2)
        write(f"{self.repo}/pima/model.yaml", "version_policy: all\nmax_batch_size: 8\n")
        self.bandit_yaml = ("router:\n  routes: [{name: one, target: \"pima:1\"}, {name: two, target: \"pima:2\"}]\n"
                            f"  bandit: {{policy: {{policy}}, state_file: {self.work}/state.json, save_every_s: 0.1}}\n")
        write(f"{self.repo}/bandit/model.yaml", self.bandit_yaml.replace("{policy}", "epsilon_greedy"))

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def teach(self, server, n):
        for _ in range(n):
            _, answer, headers = server.request("POST", "/v2/models/bandit/infer", infer_body())
            reward = 1 if headers["ferry-model-version"] == "2" else 0
            status, _, _ = server.request("POST", "/v2/models/bandit/feedback",
                                          {"decision_id": headers["ferry-decision-id"], "reward": reward})
            self.assertEqual(status, 200)

    def pulls(self, server):
        status, routing, _ = server.request("GET", "/v2/models/bandit/routing")
        self.assertEqual(status, 200, routing)
        return [r["pulls"] for r in routing["routes"]]

    def test_bandit_state_survives_a_reload_and_a_restart(self):
        server = FerryProcess(self.repo, "--model-control", "explicit", "--load-model", "*")
        try:
            self.teach(server, 40)
            learnt = self.pulls(server)
            self.assertEqual(sum(learnt), 40)
            # A new model.yaml with the same routes: a reload that keeps what was learnt.
            config = self.bandit_yaml.replace("{policy}", "ucb1")
            status, answer, _ = server.request("POST", "/v2/repository/models/bandit/load",
                                               {"parameters": {"config": config}})
            self.assertEqual(status, 200, answer)
            self.assertEqual(self.pulls(server), learnt)
            self.assertEqual(server.request("GET", "/v2/models/bandit/routing")[1]["policy"], "ucb1")
        finally:
            self.assertEqual(server.stop(), 0)
        with open(f"{self.work}/state.json") as f:
            saved = json.load(f)
        self.assertEqual([a["pulls"] for a in saved["arms"]], learnt)
        server = FerryProcess(self.repo)
        try:
            self.assertEqual(self.pulls(server), learnt)  # read back from the state file
        finally:
            server.stop()
        with open(f"{self.work}/state.json", "w") as f:
            f.write("{ corrupt")
        server = FerryProcess(self.repo)
        try:
            self.assertEqual(self.pulls(server), [0, 0])
            self.assertIn("bandit state file", server.log())
        finally:
            server.stop()

    def test_a_router_waits_for_its_targets_to_serve(self):
        write(f"{self.repo}/canary/model.yaml", "router:\n  routes: [{target: \"pima:1\"}, {target: \"pima:2\"}]\n")
        server = FerryProcess(self.repo, "--model-control", "explicit", "--load-model", "canary")
        try:
            status, index, _ = server.request("POST", "/v2/repository/index", {})
            canary = [m for m in index if m["name"] == "canary"]
            self.assertEqual(canary[0]["state"], "UNAVAILABLE", index)
            self.assertIn("model 'pima' is not loaded", canary[0]["reason"])
            self.assertEqual(server.request("GET", "/v2/models/canary/ready")[0], 503)
            status, answer, _ = server.request("POST", "/v2/repository/models/pima/load", {})
            self.assertEqual(status, 200, answer)
            deadline = time.time() + 10
            while time.time() < deadline and server.request("GET", "/v2/models/canary/ready")[0] != 200:
                time.sleep(0.05)
            self.assertEqual(server.request("GET", "/v2/models/canary/ready")[0], 200)
            status, answer, _ = server.request("POST", "/v2/models/canary/infer", infer_body())
            self.assertEqual(status, 200, answer)
            # The target unloaded: the router stays loaded but is not ready, and says why it fails.
            self.assertEqual(server.request("POST", "/v2/repository/models/pima/unload", {})[0], 200)
            self.assertEqual(server.request("GET", "/v2/models/canary/ready")[0], 503)
            status, answer, _ = server.request("POST", "/v2/models/canary/infer", infer_body())
            self.assertEqual(status, 503)
            self.assertIn("router 'canary' route", answer["error"])
        finally:
            server.stop()


class RoutingStreamTest(unittest.TestCase):
    """A router as a Kafka stream's model: the split, sink headers, sticky event keys, a model
    named in a V2 request's body, and bandit feedback from a topic."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ferry_routing_kafka_")
        cls.repo = os.path.join(cls.work, "models")
        make_repository(cls.repo, cls.work)
        cls.broker = DevKafka(["in:3", "out:3", "err:1", "rewards:2", "in-r:2", "out-r:2", "err-r:1"])
        cls.bootstrap = cls.broker.bootstrap
        write(f"{cls.repo}/keyed/model.yaml", "router:\n  routes: [{target: \"pima:1\"}, {target: \"pima:2\"}]\n"
                                             "  sticky: {key: kafka_key}\n")
        config = os.path.join(cls.work, "ferry.yaml")
        write(config, f"""kafka:
  bootstrap_servers: {cls.bootstrap}
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500"}}
streams:
  - name: routed
    source: {{topic: in, group: routed, start_from: earliest}}
    model: bandit
    sink: {{topic: out}}
    errors: {{topic: err}}
    feedback: {{topic: rewards}}
  - name: records
    source: {{topic: in-r, group: records, start_from: earliest}}
    model: records
    sink: {{topic: out-r}}
    errors: {{topic: err-r}}
""")
        cls.server = FerryProcess(cls.repo, "--config", config, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.broker.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def produce(self, topic, events, headers=()):
        self.broker.produce(self.work, topic, events, headers)

    def consume(self, topic, expected, timeout=60):
        """[key, headers, value] of every message of the topic."""
        return [m[1:] for m in self.broker.consume(topic, expected, timeout)]

    @staticmethod
    def headers(text):
        return dict(h.split("=", 1) for h in text.split(",") if "=" in h)

    def test_events_are_routed_answered_with_headers_and_rewarded_from_a_topic(self):
        v2 = json.dumps(infer_body())
        named = json.dumps({**infer_body(), "model_name": "pima", "model_version": "2"})
        self.produce("in", [(f"k{i}", v2) for i in range(60)] + [(f"n{i}", named) for i in range(5)] +
                     [(f"s{i}", v2) for i in range(10)])
        self.produce("in", [("keyed-user", v2) for _ in range(10)], headers=["ferry-model=keyed"])
        out = self.consume("out", 85)
        self.assertEqual(len(out), 85, self.consume("err", 0, timeout=1))
        decisions = []
        keyed_versions = set()
        for key, header_text, value in out:
            h = self.headers(header_text)
            answer = json.loads(value)
            p = answer["outputs"][0]["data"][0]
            version = 1 if abs(p - P1) < 1e-5 else 2
            self.assertEqual(h["ferry-model-version"], str(version))
            if key.startswith("n"):  # the body named pima version 2: no router
                self.assertEqual((h["ferry-model"], version), ("pima", 2))
                self.assertNotIn("ferry-route", h)
            elif key == "keyed-user":
                self.assertEqual(h["ferry-route-reason"], "sticky")
                keyed_versions.add(version)
            else:
                self.assertEqual(answer["model_name"], "bandit")
                self.assertIn(h["ferry-route-reason"], ("explore", "exploit"))
                decisions.append((h["ferry-decision-id"], version))
        self.assertEqual(len(keyed_versions), 1)  # one key, one route
        self.assertEqual(len(decisions), 70)
        # Rewards arrive on the feedback topic: version 2 pays.
        self.produce("rewards", [(d, json.dumps({"decision_id": d, "reward": 1 if v == 2 else 0})) for d, v in decisions])
        deadline = time.time() + 30
        while time.time() < deadline:
            routing = self.server.request("GET", "/v2/models/bandit/routing")[1]
            if sum(r["rewarded"] for r in routing["routes"]) == 70:
                break
            time.sleep(0.2)
        self.assertEqual(sum(r["rewarded"] for r in routing["routes"]), 70, routing)
        self.assertIn('ferry_stream_feedback_total{stream="routed"} 70', self.server.request("GET", "/metrics")[1])

    def test_records_through_a_router_keep_their_order(self):
        events = [(f"r{i}", json.dumps({**RECORD, "age": 20 + i})) for i in range(30)]
        self.produce("in-r", events)
        out = self.consume("out-r", 30)
        self.assertEqual(len(out), 30)
        by_key = {key: (self.headers(h), json.loads(v)) for key, h, v in out}
        for key, _ in events:
            h, answer = by_key[key]
            self.assertEqual(h["ferry-model"], "pima-pipeline")
            self.assertEqual(h["ferry-route"], "pima-pipeline")
            self.assertIn(answer["label"], ("healthy", "diabetic"))


if __name__ == "__main__":
    unittest.main()
