"""Scale-out on Kafka, as docs/deployment.md describes it: three `ferry serve` processes in one
consumer group on a 12-partition source (`ferry dev-kafka` as the broker, kcat as the independent
producer and consumer). 200,000 events flow; a model version is published on the models topic
while they do, and must answer on every replica; then one replica is killed with SIGKILL and
another stopped with SIGTERM. Every event must be answered (at least once: duplicates are counted
and reported), none may land on the error topic, and the replica stopped with SIGTERM must exit 0.
Under the sanitizers (FERRY_SANITIZED) the flow is 40,000 events, for time.
"""
import json
import math
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import unittest
import subprocess

import onnx

import models
from dev_kafka import DevKafka
from ferry_process import FERRY_BIN, FerryProcess
from test_pipeline import FIELDS, engineered_probability

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
PARTITIONS = 12
EVENTS = 40_000 if os.environ.get("FERRY_SANITIZED") else 200_000
NEW_INTERCEPT = -5.0


def probability_v2(record):
    x = [record["preg"], record["plas"], record["pres"], record["skin"], record["test"], math.log1p(record["mass"]),
         record["pedi"], record["age"], 1.0]
    z = NEW_INTERCEPT + sum(w * v for w, v in zip(models.PIMA.ENGINEERED_WEIGHTS, x))
    return 1 / (1 + math.exp(-z))


class ScaleOutTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ferry_scale_")
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.broker = DevKafka([f"in-scale:{PARTITIONS}", f"out-scale:{PARTITIONS}", "err-scale:1", "models:1"],
                               brokers=3)
        self.addCleanup(self.broker.stop)
        self.config = os.path.join(self.work, "ferry.yaml")
        with open(self.config, "w") as f:
            f.write(f"""kafka:
  bootstrap_servers: {self.broker.bootstrap}
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500"}}
models_topic: {{topic: models}}
streams:
  - name: scoring
    source: {{topic: in-scale, encoder: json, group: ferry-scale, start_from: earliest}}
    model: pima-pipeline
    sink: {{topic: out-scale, encoder: json, key: from_source}}
    errors: {{topic: err-scale}}
    batch: {{max_events: 64, max_wait_ms: 5}}
""")

    def replica(self, name):
        """A ferry with a repository of its own (published models are unpacked into it)."""
        repo = os.path.join(self.work, f"repo-{name}")
        for model in ("pima-features", "pima-pipeline"):
            shutil.copytree(os.path.join(models.SOURCE_DIR, "examples", "models", model), os.path.join(repo, model))
        server = FerryProcess(repo, "--config", self.config)
        self.addCleanup(server.stop)
        return server

    def produce(self, prefix, count, chunks=10):
        record = json.dumps(dict(zip(FIELDS, ROW)))
        step = count // chunks
        for c in range(chunks):
            self.broker.produce(self.work, "in-scale", [(f"{prefix}{i}", record) for i in range(c * step, (c + 1) * step)])

    @staticmethod
    def metric(replica, name):
        """A stream metric of one replica (0 when it does not answer)."""
        try:
            _, text, _ = replica.request("GET", "/metrics")
        except OSError:
            return 0.0
        m = re.search(name + r'\{stream="scoring"\} (\S+)', text)
        return float(m.group(1)) if m else 0.0

    def answered(self, replicas):
        return sum(self.metric(r, "ferry_stream_events_produced_total") for r in replicas)

    def wait_working(self, replica, more, timeout=120):
        """Until the replica has answered `more` events than now and holds some it has not committed."""
        start = self.metric(replica, "ferry_stream_events_produced_total")
        deadline = time.time() + timeout
        while time.time() < deadline:
            if (self.metric(replica, "ferry_stream_events_produced_total") >= start + more and
                    self.metric(replica, "ferry_stream_events_in_flight") > 0):
                return
            time.sleep(0.005)
        self.fail(f"the replica did not work:\n{replica.log()}")

    def publish_version_2(self):
        version_dir = os.path.join(self.work, "publish", "pima-features", "2")
        os.makedirs(version_dir)
        onnx.save(models.PIMA.build(NEW_INTERCEPT, models.PIMA.ENGINEERED_WEIGHTS), os.path.join(version_dir, "model.onnx"))
        shutil.copy(os.path.join(models.SOURCE_DIR, "examples", "models", "pima-features", "model.yaml"),
                    os.path.dirname(version_dir))
        out = subprocess.run([FERRY_BIN, "publish", "--bootstrap", self.broker.bootstrap, "--topic", "models",
                              "--model-dir", version_dir, "--name", "pima-features", "--version", "2"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_three_replicas_in_a_group_lose_nothing_when_one_is_killed_and_one_stopped(self):
        replicas = {name: self.replica(name) for name in ("a", "b", "c")}
        deadline = time.time() + 60
        while time.time() < deadline and not all("assigned" in r.log() for r in replicas.values()):
            time.sleep(0.1)
        for name, r in replicas.items():
            self.assertIn("partition(s) of 'in-scale' assigned", r.log(), f"replica {name}")

        half = EVENTS // 2
        producer = threading.Thread(target=self.produce, args=("a", half))
        producer.start()
        deadline = time.time() + 120
        while self.answered(replicas.values()) < half // 10 and time.time() < deadline:
            time.sleep(0.05)
        # A new version while events flow: every replica swaps it in.
        self.publish_version_2()
        deadline = time.time() + 60
        for name, r in replicas.items():
            self.assertIn("models topic: model 'pima-features' version 2 serves", r.wait_for_log("version 2 serves", 60),
                          f"replica {name}")
            while time.time() < deadline and r.request("GET", "/v2/models/pima-features")[1].get("versions") != ["2"]:
                time.sleep(0.1)
            self.assertEqual(r.request("GET", "/v2/models/pima-features")[1].get("versions"), ["2"],
                             f"replica {name}:\n{r.log()}")
        producer.join()

        # The second half, answered by version 2 only. Meanwhile a replica is killed while it holds
        # events it has not committed, and another is stopped, both before the flow is over.
        producer = threading.Thread(target=self.produce, args=("b", EVENTS - half))
        producer.start()
        self.wait_working(replicas["a"], (EVENTS - half) // 20)
        answered_by_a = self.metric(replicas["a"], "ferry_stream_events_produced_total")
        at_kill = self.answered(replicas.values())
        replicas["a"].proc.send_signal(signal.SIGKILL)
        replicas["a"].proc.wait(timeout=10)
        self.wait_working(replicas["b"], (EVENTS - half) // 20)
        at_stop = answered_by_a + self.answered([replicas["b"], replicas["c"]])
        self.assertEqual(replicas["b"].stop(timeout=40), 0, replicas["b"].log())  # drained, committed, left
        self.assertLess(max(at_kill, at_stop), EVENTS, "both faults struck while events were flowing")
        producer.join()

        # Duplicates make the topic reach EVENTS messages before every event is answered: wait for
        # the keys themselves.
        expected = {f"a{i}" for i in range(half)} | {f"b{i}" for i in range(EVENTS - half)}
        deadline = time.time() + 600
        while True:
            outputs = self.broker.consume("out-scale", EVENTS, timeout=600)
            keys = [o[1] for o in outputs]
            if expected <= set(keys) or time.time() > deadline:
                break
            time.sleep(1)
        self.assertEqual(set(keys), expected, "every event answered")
        self.assertEqual(self.broker.consume("err-scale", 0, timeout=0), [], "no event failed")
        old = engineered_probability(dict(zip(FIELDS, ROW)))
        new = probability_v2(dict(zip(FIELDS, ROW)))
        for _, key, headers, value in outputs:
            p = json.loads(value)["probability"]
            if key.startswith("b"):
                self.assertAlmostEqual(p, new, places=5, msg=f"{key} ({headers})")
            else:
                self.assertTrue(abs(p - old) < 1e-5 or abs(p - new) < 1e-5, key)
        duplicates = len(keys) - len(expected)
        _, metrics, _ = replicas["c"].request("GET", "/metrics")
        counted = float(re.search(r'ferry_stream_events_duplicated_total\{stream="scoring"\} (\S+)', metrics).group(1))
        print(f"\n{EVENTS} events over {PARTITIONS} partitions, 3 replicas: SIGKILL at {at_kill:.0f} answers, "
              f"SIGTERM at {at_stop:.0f}; {len(keys)} answers, {duplicates} duplicates "
              f"({counted:.0f} counted by the survivor)")
        self.assertLessEqual(counted, duplicates)


if __name__ == "__main__":
    unittest.main()
