"""Integration tests of Kafka streams: `ferry dev-kafka` (librdkafka's mock cluster on loopback)
as the broker, kcat (Debian) as the independent producer and consumer, and the real
`ferry serve --config` running the shipped Pima pipeline on the events.
"""
import json
import re
import threading
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import onnx

import models
from dev_kafka import DevKafka
from ferry_process import FERRY_BIN, FerryProcess
from test_pipeline import FIELDS, engineered_probability

ROWS = [[6, 148, 72, 35, 0, 33.6, 0.627, 50], [1, 85, 66, 29, 0, 26.6, 0.351, 31],
        [8, 183, 64, 0, 0, 23.3, 0.672, 32], [0, 137, 40, 35, 168, 43.1, 2.288, 33]]
PARTITIONS = 4


def record(i):
    return dict(zip(FIELDS, ROWS[i % len(ROWS)]))


def poison(i):
    """Every 1000th event is bad, three ways: not JSON, a missing field, a value out of range."""
    if i % 1000 != 500:
        return None
    kind = (i // 1000) % 3
    if kind == 0:
        return "decode", "not json at all"
    if kind == 1:
        r = record(i)
        del r["age"]
        return "fields", json.dumps(r)
    return "check", json.dumps(dict(record(i), plas=999))


class StreamingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ferry_stream_")
        cls.repo = os.path.join(cls.work, "models")
        examples = os.path.join(models.SOURCE_DIR, "examples", "models")
        for name in ("pima-features", "pima-pipeline"):
            shutil.copytree(os.path.join(examples, name), os.path.join(cls.repo, name))
        topics = []
        for suffix in ("flow", "kill", "group", "stop", "pub", "slow", "plain", "raw", "pass", "hook", "explain", "xv2", "gap"):
            topics += [f"in-{suffix}:{PARTITIONS}", f"out-{suffix}:{PARTITIONS}", f"err-{suffix}:1"]
        topics += ["models:1", "models-bad:1", "models-same:1"]
        cls.broker = DevKafka(topics, brokers=3)
        cls.bootstrap = cls.broker.bootstrap

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------------

    def config(self, suffix, max_events=256, models_topic=None, model="pima-pipeline", source_encoder="json",
               sink_encoder="json", extra=""):
        path = os.path.join(self.work, f"ferry-{suffix}.yaml")
        with open(path, "w") as f:
            f.write(f"""kafka:
  bootstrap_servers: {self.bootstrap}
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500"}}
{f"models_topic: {{topic: {models_topic}}}" if models_topic else ""}
streams:
  - name: pima-{suffix}
    source: {{topic: in-{suffix}, encoder: {source_encoder}, group: ferry-{suffix}, start_from: earliest}}
    model: {model}
    sink: {{topic: out-{suffix}, encoder: {sink_encoder}, key: from_source}}
    errors: {{topic: err-{suffix}}}
    batch: {{max_events: {max_events}, max_wait_ms: 5}}
{extra}""")
        return path

    def produce(self, topic, events, headers=(), partition=None):
        self.broker.produce(self.work, topic, events, headers, partition)

    def consume(self, topic, expected, timeout=120):
        return self.broker.consume(topic, expected, timeout)

    def serve(self, suffix, repo=None, **kwargs):
        return FerryProcess(repo or self.repo, "--config", self.config(suffix, **kwargs))

    def own_repo(self, name):
        """A copy of the repository for a test that publishes models into it."""
        repo = os.path.join(self.work, name)
        shutil.copytree(self.repo, repo)
        return repo

    def events(self, n, prefix="e"):
        out = []
        for i in range(n):
            bad = poison(i)
            out.append((f"{prefix}{i}", bad[1] if bad else json.dumps(record(i))))
        return out

    # -- tests -----------------------------------------------------------------------------------

    def test_100000_events_each_answered_in_order_and_poison_on_the_error_topic(self):
        n = 100_000
        self.produce("in-flow", self.events(n))
        ferry = self.serve("flow")
        try:
            bad = {f"e{i}": poison(i)[0] for i in range(n) if poison(i)}
            outputs = self.consume("out-flow", n - len(bad))
            self.assertEqual(len(outputs), n - len(bad))
            expected = [engineered_probability(record(i)) for i in range(len(ROWS))]
            last = {}
            for partition, key, _, value in outputs:
                i = int(key[1:])
                self.assertNotIn(key, bad)
                answer = json.loads(value)
                self.assertAlmostEqual(answer["probability"], expected[i % len(ROWS)], places=5, msg=key)
                self.assertEqual(answer["label"], "diabetic" if expected[i % len(ROWS)] > 0.5 else "healthy")
                # Order is kept per partition: events of a key's partition come out as they went in.
                self.assertGreater(i, last.get(partition, -1), f"partition {partition} out of order at {key}")
                last[partition] = i
            self.assertEqual(len({o[1] for o in outputs}), n - len(bad))

            errors = self.consume("err-flow", len(bad))
            self.assertEqual(len(errors), len(bad))
            for _, key, headers, value in errors:
                stage = bad[key]
                self.assertIn(f"ferry-stage={stage}", headers)
                self.assertIn("ferry-error=", headers)
                self.assertIn("ferry-stream=pima-flow", headers)
                if stage == "fields":
                    self.assertIn("field 'age' is missing", headers)
                if stage == "check":
                    self.assertIn("field 'plas': 999 is above the maximum 400", headers)
                i = int(key[1:])
                self.assertEqual(value, poison(i)[1])  # the original event, unchanged

            status, metrics, _ = ferry.request("GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertIn('ferry_stream_events_consumed_total{stream="pima-flow"} 1e+05', metrics)
            self.assertIn(f'ferry_stream_events_failed_total{{stream="pima-flow"}} {len(bad)}', metrics)
        finally:
            ferry.stop()

    def test_kill_9_mid_stream_then_restart_loses_nothing(self):
        n = 40_000
        events = [(k, v) for k, v in self.events(n, prefix="k") if not v.startswith("not")]
        good = {k for k, v in events if "999" not in v and '"age"' in v}
        chunks = [events[i:i + 5000] for i in range(0, len(events), 5000)]
        # One event a batch, so that the stream is slow enough to be caught in the middle.
        ferry = self.serve("kill", max_events=1)
        try:
            for chunk in chunks:
                self.produce("in-kill", chunk)
            deadline = time.time() + 60
            while time.time() < deadline:  # /metrics answers faster than a kcat consumer starts
                _, metrics, _ = ferry.request("GET", "/metrics")
                m = re.search(r'ferry_stream_commits_total\{stream="pima-kill"\} (\S+)', metrics)
                if m and float(m.group(1)) >= 2:  # some answers acknowledged and committed already
                    break
                time.sleep(0.005)
            ferry.proc.send_signal(signal.SIGKILL)  # in the middle of the stream: no chance to commit
            ferry.proc.wait(timeout=10)
        finally:
            ferry.stop()
        at_kill = len(self.consume("out-kill", 0, timeout=0))
        self.assertGreater(at_kill, 0, "killed while it was working")
        self.assertLess(at_kill, len(good), "killed before the end")
        ferry = self.serve("kill", max_events=64)
        try:
            # At least once: the outputs before the kill may come again, so wait for every key,
            # not for a count (duplicates reach it before the last events are answered).
            deadline = time.time() + 180
            while True:
                outputs = self.consume("out-kill", len(good), timeout=180)
                keys = {o[1] for o in outputs}
                if keys >= good or time.time() > deadline:
                    break
                time.sleep(1)
            self.assertEqual(keys, good, "every input has its output")
            bad = len(events) - len(good)
            # Duplicates are allowed (at least once) and counted: every answer given twice. The
            # counter may run ahead of what a read of the topics has seen: read until they agree.
            deadline = time.time() + 60
            while True:
                outputs = self.consume("out-kill", len(good), timeout=60)
                errors = self.consume("err-kill", bad, timeout=60)
                duplicates = (len(outputs) - len(good)) + (len(errors) - bad)
                _, metrics, _ = ferry.request("GET", "/metrics")
                counted = re.search(r'ferry_stream_events_duplicated_total\{stream="pima-kill"\} (\S+)', metrics)
                if float(counted.group(1)) == duplicates or time.time() > deadline:
                    break
                time.sleep(0.5)
            self.assertEqual({o[1] for o in errors}, {k for k, _ in events} - good)
            self.assertEqual(float(counted.group(1)), duplicates, metrics)
            print(f"\nkill -9 after {at_kill} outputs: {len(outputs)} outputs for {len(good)} events, "
                  f"{duplicates} answers given twice, counted {counted.group(1)}")
        finally:
            ferry.stop()

    def test_only_events_whose_answer_is_on_a_topic_count_as_duplicates(self):
        # A process killed mid-stream may leave answers with a gap: offset 3's answer was written
        # while offset 2's was not (it went to the error topic, or to another sink partition, and
        # was lost with the process). Offset 2 is then answered for the first time, not again.
        for offset in (0, 1, 3):
            self.produce("out-gap", [(f"k{offset}", "{}")], headers=[f"ferry-source=in-gap/0/{offset}"],
                         partition=0)
        events = [(f"k{i}", json.dumps(record(i))) for i in range(5)]
        self.produce("in-gap", events, partition=0)
        ferry = self.serve("gap")
        try:
            self.assertEqual(len(self.consume("out-gap", 3 + len(events), timeout=60)), 3 + len(events))
            deadline = time.time() + 30
            while True:
                _, metrics, _ = ferry.request("GET", "/metrics")
                consumed = re.search(r'ferry_stream_events_consumed_total\{stream="pima-gap"\} (\S+)', metrics)
                if (consumed and float(consumed.group(1)) == len(events)) or time.time() > deadline:
                    break
                time.sleep(0.1)
            duplicated = re.search(r'ferry_stream_events_duplicated_total\{stream="pima-gap"\} (\S+)', metrics)
            self.assertEqual(float(duplicated.group(1)), 3, "offsets 0, 1 and 3 were answered, 2 was not")
        finally:
            ferry.stop()

    def test_two_processes_share_the_partitions_and_one_dies(self):
        n = 20_000
        events = [(f"g{i}", json.dumps(record(i))) for i in range(n)]
        first = self.serve("group", max_events=32)
        second = self.serve("group", max_events=32)
        try:
            deadline = time.time() + 30
            while time.time() < deadline and not ("assigned" in first.log() and "assigned" in second.log()):
                time.sleep(0.1)
            self.assertIn("partition(s) of 'in-group' assigned", first.log())
            self.assertIn("partition(s) of 'in-group' assigned", second.log())
            self.produce("in-group", events)
            while len(self.consume("out-group", 0, timeout=0)) < 2000:
                time.sleep(0.05)
            second.proc.send_signal(signal.SIGKILL)
            outputs = self.consume("out-group", n, timeout=180)
            self.assertEqual({o[1] for o in outputs}, {k for k, _ in events})
        finally:
            first.stop()
            second.stop()

    def test_sigterm_commits_so_a_restart_replays_nothing(self):
        self.produce("in-stop", [(f"s{i}", json.dumps(record(i))) for i in range(1000)])
        ferry = self.serve("stop")
        try:
            self.assertEqual(len(self.consume("out-stop", 1000)), 1000)
        finally:
            ferry.stop()  # SIGTERM: finish, wait for acknowledgements, commit
        ferry = self.serve("stop")
        try:
            self.produce("in-stop", [(f"t{i}", json.dumps(record(i))) for i in range(10)])
            outputs = self.consume("out-stop", 1010)
            time.sleep(1)
            outputs = self.consume("out-stop", 1010)
            self.assertEqual(len(outputs), 1010, "nothing read again after a clean stop")
        finally:
            ferry.stop()


    def test_a_model_published_while_events_flow_is_swapped_in_and_no_event_fails(self):
        repo = self.own_repo("repo-pub")
        ferry = self.serve("pub", repo=repo, models_topic="models")
        try:
            before = [(f"a{i}", json.dumps(record(0))) for i in range(5000)]
            self.produce("in-pub", before)
            self.consume("out-pub", 2000)
            # Version 2 of the model behind the pipeline: another intercept, so that answers differ.
            version_dir = os.path.join(self.work, "pub", "pima-features", "2")
            os.makedirs(version_dir)
            onnx.save(models.PIMA.build(-5.0, models.PIMA.ENGINEERED_WEIGHTS), os.path.join(version_dir, "model.onnx"))
            shutil.copy(os.path.join(self.repo, "pima-features", "model.yaml"), os.path.dirname(version_dir))
            out = subprocess.run([FERRY_BIN, "publish", "--bootstrap", self.bootstrap, "--topic", "models",
                                  "--model-dir", version_dir, "--name", "pima-features", "--version", "2"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("published model 'pima-features' version 2", out.stdout)
            deadline = time.time() + 30
            while time.time() < deadline:
                _, meta, _ = ferry.request("GET", "/v2/models/pima-features")
                if meta.get("versions") == ["2"]:
                    break
                time.sleep(0.1)
            self.assertEqual(meta["versions"], ["2"], ferry.log())
            after = [(f"b{i}", json.dumps(record(0))) for i in range(5000)]
            self.produce("in-pub", after)
            outputs = self.consume("out-pub", 10000)
            self.assertEqual({o[1] for o in outputs}, {k for k, _ in before + after})
            self.assertEqual(self.consume("err-pub", 0, timeout=0), [], "no event failed during the swap")
            old = engineered_probability(record(0))
            r = record(0)
            z = -5.0 + sum(w * x for w, x in zip(models.PIMA.ENGINEERED_WEIGHTS,
                                                 [r["preg"], r["plas"], r["pres"], r["skin"], r["test"], math.log1p(r["mass"]),
                                                  r["pedi"], r["age"], 1.0]))
            new = 1 / (1 + math.exp(-z))
            for _, key, _, value in outputs:
                p = json.loads(value)["probability"]
                if key.startswith("b"):
                    self.assertAlmostEqual(p, new, places=5, msg=key)
                else:
                    self.assertTrue(abs(p - old) < 1e-5 or abs(p - new) < 1e-5, key)
            self.assertTrue(os.path.isfile(os.path.join(repo, "pima-features", "2", "model.onnx")))
        finally:
            ferry.stop()

    def test_a_corrupt_published_model_is_refused_and_the_current_one_serves(self):
        repo = self.own_repo("repo-bad")
        ferry = self.serve("flow", repo=repo, models_topic="models-bad")
        try:
            def send(headers, value):
                args = ["kcat", "-P", "-b", self.bootstrap, "-t", "models-bad", "-k", "pima-features"]
                for h in headers:
                    args += ["-H", h]
                subprocess.run(args, input=value, text=True, check=True, timeout=30)
            send(["ferry-model=pima-features", "ferry-version=7", "ferry-part=0/1"], "not a package")
            send(["ferry-model=pima-features", "ferry-version=7", "ferry-manifest=1"],
                 json.dumps({"name": "pima-features", "version": 7, "size": 13, "sha256": "0" * 64, "chunks": 1}))
            deadline = time.time() + 30
            while time.time() < deadline and "refused" not in ferry.log():
                time.sleep(0.1)
            self.assertIn("model 'pima-features' version 7 refused: its size or SHA-256 does not match", ferry.log())
            _, metrics, _ = ferry.request("GET", "/metrics")
            self.assertIn("ferry_models_topic_refused_total 1", metrics)
            _, meta, _ = ferry.request("GET", "/v2/models/pima-features")
            self.assertEqual(meta["versions"], ["1"])
            self.assertFalse(os.path.exists(os.path.join(repo, "pima-features", "7")))
            status, _, _ = ferry.request("POST", "/v2/models/pima-pipeline/predict", record(0))
            self.assertEqual(status, 200)
        finally:
            ferry.stop()


    def test_a_broken_model_published_under_the_serving_version_is_refused_and_that_version_serves(self):
        repo = self.own_repo("repo-same")
        ferry = self.serve("flow", repo=repo, models_topic="models-same")
        try:
            expected = engineered_probability(record(0))
            version_dir = os.path.join(self.work, "same", "pima-features", "1")
            os.makedirs(version_dir)
            with open(os.path.join(self.repo, "pima-features", "1", "model.onnx"), "rb") as f:
                truncated = f.read()[:60]
            with open(os.path.join(version_dir, "model.onnx"), "wb") as f:
                f.write(truncated)
            out = subprocess.run([FERRY_BIN, "publish", "--bootstrap", self.bootstrap, "--topic", "models-same",
                                  "--model-dir", version_dir, "--name", "pima-features", "--version", "1"],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            deadline = time.time() + 30
            while time.time() < deadline and "the previous build serves" not in ferry.log():
                time.sleep(0.1)
            self.assertIn("the previous build serves", ferry.log())
            status, answer, _ = ferry.request("POST", "/v2/models/pima-pipeline/predict", record(0))
            self.assertEqual(status, 200, answer)
            self.assertAlmostEqual(answer["predictions"][0]["probability"], expected, places=5)
            _, index, _ = ferry.request("POST", "/v2/repository/index", {})
            entry = [e for e in index if e["name"] == "pima-features" and e.get("version") == "1"][0]
            self.assertEqual(entry["state"], "READY")
            self.assertIn("the new one was refused", entry["reason"])
        finally:
            ferry.stop()

    def test_a_full_model_queue_pauses_the_stream_and_nothing_is_lost(self):
        width = 2048  # a 2048 x 2048 Gemm: about a millisecond a row
        repo = self.own_repo("repo-slow")
        models.save_slow(os.path.join(repo, "slow", "1", "model.onnx"), width)
        with open(os.path.join(repo, "slow", "model.yaml"), "w") as f:
            f.write("max_batch_size: 1\ndynamic_batching: {max_queue_size: 4}\n")
        os.makedirs(os.path.join(repo, "slow-pipeline"))
        with open(os.path.join(repo, "slow-pipeline", "model.yaml"), "w") as f:
            f.write("""pipeline:
  - {name: in, kind: record, fields: {x: {type: array, width: %d}}}
  - {name: t, kind: tensor, output: x, fields: [x]}
  - {name: m, kind: model, model: slow}
  - {name: s, kind: argmax, input: y, output: best}
  - {kind: respond, fields: [best]}
""" % width)
        ferry = self.serve("slow", repo=repo, max_events=1, model="slow-pipeline")
        stop = threading.Event()

        def flood():  # keeps the slow model's short queue full
            body = json.dumps({"inputs": [{"name": "x", "shape": [1, width], "datatype": "FP32",
                                           "data": [0.5] * width}]})
            conn = ferry.connection()
            while not stop.is_set():
                try:
                    ferry.request("POST", "/v2/models/slow/infer", body, conn=conn)
                except OSError:
                    conn = ferry.connection()
        threads = [threading.Thread(target=flood) for _ in range(8)]
        try:
            for t in threads:
                t.start()
            n = 100
            self.produce("in-slow", [(f"w{i}", json.dumps({"x": [((i + k) % 7) / 7 for k in range(width)]}))
                                     for i in range(n)])
            deadline = time.time() + 60
            while time.time() < deadline:
                _, metrics, _ = ferry.request("GET", "/metrics")
                if 'ferry_stream_retries_total{stream="pima-slow"} 0' not in metrics:
                    break
                time.sleep(0.1)
            stop.set()
            outputs = self.consume("out-slow", n, timeout=120)
            self.assertEqual({o[1] for o in outputs}, {f"w{i}" for i in range(n)})
            self.assertEqual(self.consume("err-slow", 0, timeout=0), [])
            _, metrics, _ = ferry.request("GET", "/metrics")
            retries = re.search(r'ferry_stream_retries_total\{stream="pima-slow"\} (\S+)', metrics)
            self.assertGreater(float(retries.group(1)), 0, "the stream met a full queue and waited")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            ferry.stop()


    def test_a_plain_model_takes_v2_requests_and_headers_choose_the_model(self):
        repo = self.own_repo("repo-plain")
        models.save_pima(os.path.join(repo, "pima", "1", "model.onnx"))
        with open(os.path.join(repo, "pima", "model.yaml"), "w") as f:
            f.write("max_batch_size: 64\ndynamic_batching: {max_queue_delay_us: 200}\n")
        ferry = self.serve("plain", repo=repo, model="pima")
        try:
            rows = {f"v{i}": ROWS[i % len(ROWS)] for i in range(200)}
            self.produce("in-plain", [(k, json.dumps({"inputs": [{"name": "features", "shape": [1, 8],
                                                                 "datatype": "FP32", "data": r}]}))
                                      for k, r in rows.items()])
            self.produce("in-plain", [("r0", json.dumps(record(0)))], headers=["ferry-model=pima-pipeline"])
            self.produce("in-plain", [("n0", json.dumps(record(0)))], headers=["ferry-model=nope"])
            self.produce("in-plain", [("bad", '{"inputs": [{"name": "features"}]}')])
            outputs = {o[1]: json.loads(o[3]) for o in self.consume("out-plain", len(rows) + 1)}
            self.assertEqual(set(outputs), set(rows) | {"r0"})
            for key, r in rows.items():
                answer = outputs[key]
                self.assertEqual(answer["model_name"], "pima")
                p = {o["name"]: o["data"][0] for o in answer["outputs"]}["probability"]
                self.assertAlmostEqual(p, models.pima_probability(r), places=5)
            self.assertAlmostEqual(outputs["r0"]["probability"], engineered_probability(record(0)), places=5)
            errors = {o[1]: o[2] for o in self.consume("err-plain", 2)}
            self.assertIn("ferry-stage=model", errors["n0"])
            self.assertIn("unknown model 'nope'", errors["n0"])
            self.assertIn("ferry-stage=decode", errors["bad"])
        finally:
            ferry.stop()

    def test_explain_top_k_adds_each_answers_top_reasons_by_record_field(self):
        # The shipped pima-features has a background set: KernelSHAP, through the pipeline's
        # record fields (log_mass counted as mass, is_adult as age).
        ferry = self.serve("explain", max_events=8, extra="    explain: {top_k: 3}\n")
        try:
            events = [(f"x{i}", json.dumps(record(i))) for i in range(12)]
            self.produce("in-explain", events)
            outputs = {o[1]: json.loads(o[3]) for o in self.consume("out-explain", len(events))}
            self.assertEqual(set(outputs), {k for k, _ in events})
            for i in range(len(events)):
                answer = outputs[f"x{i}"]
                self.assertAlmostEqual(answer["probability"], engineered_probability(record(i)), places=5)
                [explanation] = answer["explanations"]
                self.assertEqual(explanation["output"], "probability")
                self.assertEqual(explanation["method"], "kernel_shap")
                reasons = explanation["row"]["contributions"]
                self.assertEqual(len(reasons), 3)
                self.assertTrue(set(reasons) <= set(FIELDS), reasons)
                magnitudes = [abs(v) for v in reasons.values()]
                self.assertEqual(magnitudes, sorted(magnitudes, reverse=True))
                self.assertAlmostEqual(explanation["row"]["prediction"], answer["probability"], places=5)
        finally:
            ferry.stop()

    def test_explain_top_k_adds_the_top_reasons_to_v2_answers_of_a_model(self):
        repo = self.own_repo("repo-xv2")
        models.save_pima(os.path.join(repo, "pima", "1", "model.onnx"))
        with open(os.path.join(repo, "pima", "model.yaml"), "w") as f:
            f.write("max_batch_size: 64\nfeature_names: [preg, plas, pres, skin, test, mass, pedi, age]\n"
                    f"explain: {{rows: {json.dumps(ROWS)}}}\n")
        ferry = self.serve("xv2", repo=repo, model="pima", extra="    explain: {top_k: 2}\n")
        try:
            events = [(f"v{i}", json.dumps({"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                                                        "data": ROWS[i % len(ROWS)]}]})) for i in range(6)]
            self.produce("in-xv2", events)
            outputs = {o[1]: json.loads(o[3]) for o in self.consume("out-xv2", len(events))}
            for i in range(len(events)):
                answer = outputs[f"v{i}"]
                p = {o["name"]: o["data"][0] for o in answer["outputs"]}["probability"]
                self.assertAlmostEqual(p, models.pima_probability(ROWS[i % len(ROWS)]), places=5)
                [explanation] = [e for e in answer["explanations"] if e["output"] == "probability"]
                [row] = explanation["rows"]
                self.assertEqual(len(row["contributions"]), 2)
                self.assertAlmostEqual(row["prediction"], p, places=5)
        finally:
            ferry.stop()

    def test_an_event_a_model_hook_skips_is_committed_without_output(self):
        repo = self.own_repo("repo-hook")
        models.save_pima(os.path.join(repo, "pima", "1", "model.onnx"))
        with open(os.path.join(repo, "pima", "hooks.py"), "w") as f:
            f.write("def make_pre(config):\n"
                    "    return lambda inputs: None if inputs['features'][0, 0] < 0 else inputs\n")
        with open(os.path.join(repo, "pima", "model.yaml"), "w") as f:
            f.write("max_batch_size: 8\npre_transform: hooks:make_pre\n")
        ferry = self.serve("hook", repo=repo, model="pima")
        try:
            events = {}
            for i in range(60):
                row = list(ROWS[i % len(ROWS)])
                if i % 3 == 0:
                    row[0] = -1  # skipped by pre_transform
                events[f"h{i}"] = row
            self.produce("in-hook", [(k, json.dumps({"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                                                                "data": r}]})) for k, r in events.items()])
            kept = {k for k, r in events.items() if r[0] >= 0}
            deadline = time.time() + 60
            metrics = ""
            while time.time() < deadline and 'ferry_stream_events_skipped_total{stream="pima-hook"} 20' not in metrics:
                _, metrics, _ = ferry.request("GET", "/metrics")
                time.sleep(0.2)
            self.assertIn('ferry_stream_events_skipped_total{stream="pima-hook"} 20', metrics)
            self.assertEqual({o[1] for o in self.consume("out-hook", len(kept))}, kept)
            self.assertEqual(self.consume("err-hook", 0, timeout=0), [])
        finally:
            ferry.stop()

    def test_raw_bytes_in_and_out_and_sink_none_passes_events_through(self):
        repo = self.own_repo("repo-raw")
        nodes = [onnx.helper.make_node("Identity", ["text"], ["echo"])]
        graph = onnx.helper.make_graph(nodes, "echo",
                                       [onnx.helper.make_tensor_value_info("text", onnx.TensorProto.STRING, ["N", 1])],
                                       [onnx.helper.make_tensor_value_info("echo", onnx.TensorProto.STRING, ["N", 1])])
        model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)])
        model.ir_version = 8
        os.makedirs(os.path.join(repo, "echo", "1"))
        onnx.save(model, os.path.join(repo, "echo", "1", "model.onnx"))
        with open(os.path.join(repo, "echo", "model.yaml"), "w") as f:
            f.write("max_batch_size: 8\n")
        raw = self.serve("raw", repo=repo, model="echo", source_encoder="raw", sink_encoder="raw")
        try:
            texts = {f"t{i}": f"h\u00e9llo {i} \u2603" for i in range(50)}
            self.produce("in-raw", list(texts.items()))
            outputs = {o[1]: o[3] for o in self.consume("out-raw", len(texts))}
            self.assertEqual(outputs, texts)
        finally:
            raw.stop()
        # sink none: the events a pipeline answers pass through unchanged; skipped ones do not.
        with open(os.path.join(repo, "adults", "model.yaml") if os.path.isdir(os.path.join(repo, "adults")) else
                  self._mkdir_file(repo, "adults"), "w") as f:
            f.write("""pipeline:
  - {name: in, kind: record, fields: {age: integer}}
  - {name: minors, kind: filter, field: age, less_than: 18}
  - {kind: respond, fields: [age]}
""")
        passing = self.serve("pass", repo=repo, model="adults", sink_encoder="none")
        try:
            events = [(f"p{i}", json.dumps({"age": 10 + i, "name": f"n{i}"})) for i in range(20)]
            self.produce("in-pass", events)
            outputs = self.consume("out-pass", 12)
            self.assertEqual({o[1]: o[3] for o in outputs}, {k: v for k, v in events if json.loads(v)["age"] >= 18})
        finally:
            passing.stop()

    @staticmethod
    def _mkdir_file(repo, name):
        os.makedirs(os.path.join(repo, name), exist_ok=True)
        return os.path.join(repo, name, "model.yaml")


if __name__ == "__main__":
    unittest.main()
