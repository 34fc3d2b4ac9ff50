"""Kafka streams under faults (issue 16): large events, a model that goes away, a shutdown during
an outage, a stream that stops, and the health and lag that say so. `ferry dev-kafka` is the
broker, kcat the independent client, the real `ferry serve --config` the stream.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import models
from dev_kafka import DevKafka
from ferry_process import FerryProcess, free_port
from test_pipeline import FIELDS

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
PARTITIONS = 2


def record(**extra):
    return json.dumps(dict(zip(FIELDS, ROW), **extra))


def wait_for(condition, timeout, message):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(message)


class StreamFaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ferry_stream_faults_")
        topics = []
        for suffix in ("big", "tiny", "gone", "term", "none", "head"):
            topics += [f"in-{suffix}:{PARTITIONS}", f"out-{suffix}:{PARTITIONS}", f"err-{suffix}:1"]
        cls.broker = DevKafka(topics)

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def repo(self, name):
        repo = os.path.join(self.work, name)
        examples = os.path.join(models.SOURCE_DIR, "examples", "models")
        for model in ("pima-features", "pima-pipeline"):
            shutil.copytree(os.path.join(examples, model), os.path.join(repo, model))
        return repo

    def serve(self, suffix, repo, stream_extra="", errors="", properties="", *args):
        path = os.path.join(self.work, f"ferry-{suffix}.yaml")
        with open(path, "w") as f:
            f.write(f"""kafka:
  bootstrap_servers: {self.broker.bootstrap}
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500"{properties}}}
streams:
  - name: s-{suffix}
    source: {{topic: in-{suffix}, group: ferry-{suffix}, start_from: earliest}}
    model: pima-pipeline
    sink: {{topic: out-{suffix}{stream_extra}}}
    errors: {{topic: err-{suffix}{errors}}}
    batch: {{max_events: 16, max_wait_ms: 5}}
""")
        return FerryProcess(repo, "--config", path, "--model-control", "poll", "--repository-poll-secs", "0.2",
                            *args)

    def produce(self, topic, events, *extra):
        path = os.path.join(self.work, f"{topic}.events")
        with open(path, "w") as f:
            for key, value in events:
                f.write(f"{key}\t{value}\n")
        subprocess.run(["kcat", "-P", "-b", self.broker.bootstrap, "-t", topic, "-K", "\t", "-l", path,
                        "-X", "message.max.bytes=4000000", *extra], check=True, timeout=120)

    def consume(self, topic, expected, timeout=60):
        return self.broker.consume(topic, expected, timeout)

    def stream(self, ferry, name):
        status, body, _ = ferry.request("GET", "/v2/streams")
        self.assertEqual(status, 200, body)
        return next((s for s in body["streams"] if s["name"] == name), {"state": "not started yet", "reason": ""})

    def metric(self, ferry, pattern):
        _, metrics, _ = ferry.request("GET", "/metrics")
        return [(m.group(1), float(m.group(2))) for m in re.finditer(pattern, metrics)]

    def high_watermarks(self, topic):
        """kcat's view of each partition's end."""
        args = ["kcat", "-Q", "-b", self.broker.bootstrap]
        for p in range(PARTITIONS):
            args += ["-t", f"{topic}:{p}:-1"]
        out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
        return {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"\[(\d+)\]\s+offset (-?\d+)", out)}

    # -- tests -----------------------------------------------------------------------------------

    def test_large_events_and_answers_never_stop_the_stream(self):
        """A 999,935-byte bad event (its error copy is over the producer's limit) and a 1 MiB good
        event whose pass-through answer is over it: both end on the error topic, the stream goes
        on, and it says so in its metrics."""
        repo = self.repo("repo-big")
        ferry = self.serve("big", repo, ", encoder: none")
        try:
            self.produce("in-big", [("bad", "x" * 999_935)])
            self.produce("in-big", [("huge", record(note="y" * (1 << 20)))])
            self.produce("in-big", [(f"ok{i}", record()) for i in range(20)])
            outputs = self.consume("out-big", 20)
            self.assertEqual({o[1] for o in outputs}, {f"ok{i}" for i in range(20)})
            errors = {e[1]: e for e in self.consume("err-big", 2)}
            self.assertEqual(set(errors), {"bad", "huge"})
            _, _, headers, value = errors["bad"]
            self.assertIn("ferry-stage=decode", headers)
            _, _, headers, value = errors["huge"]
            self.assertIn("ferry-error-class=too_large", headers)
            self.assertIn("ferry-truncated=", headers)
            self.assertLess(len(value), 1 << 20)
            self.assertEqual(self.stream(ferry, "s-big")["state"], "running")
            self.assertEqual(ferry.request("GET", "/v2/health/ready")[0], 200)
            counted = dict(self.metric(ferry, r'ferry_stream_dead_letters_total\{stream="s-big",class="(\w+)"\} (\S+)'))
            self.assertEqual(counted.get("too_large"), 1.0, counted)
            self.assertEqual(counted.get("decode"), 1.0, counted)
        finally:
            ferry.stop()

    def test_events_ten_times_the_producer_limit_never_stop_the_stream(self):
        """A 10 MB event cannot pass through `ferry dev-kafka` (it drops any message over 5 MiB), so
        the producer's limit is lowered to 100 kB and 1 MiB events stand in for 10 MB ones."""
        repo = self.repo("repo-tiny")
        ferry = self.serve("tiny", repo, ", encoder: none", "", ', message.max.bytes: "100000"')
        try:
            self.produce("in-tiny", [("bad", "x" * (1 << 20))])
            self.produce("in-tiny", [("huge", record(note="y" * (1 << 20)))])
            self.produce("in-tiny", [(f"ok{i}", record()) for i in range(10)])
            self.assertEqual({o[1] for o in self.consume("out-tiny", 10)}, {f"ok{i}" for i in range(10)})
            errors = {e[1]: e for e in self.consume("err-tiny", 2)}
            self.assertEqual(set(errors), {"bad", "huge"})
            for key, (_, _, headers, value) in errors.items():
                self.assertIn("ferry-truncated=", headers, key)
                self.assertLess(len(value), 100_000, key)
            self.assertIn("ferry-error-class=too_large", errors["huge"][2])
            self.assertEqual(self.stream(ferry, "s-tiny")["state"], "running")
        finally:
            ferry.stop()

    def test_answers_the_broker_refuses_for_their_size_become_dead_letters_and_the_stream_goes_on(self):
        """The broker's own limit below the producer's: it refuses a produce request with
        MESSAGE_TOO_LARGE. Those answers are written again as dead letters; nothing is lost."""
        broker = DevKafka(["in-refused:1", "out-refused:1", "err-refused:1"])
        repo = self.repo("repo-refused")
        path = os.path.join(self.work, "ferry-refused.yaml")
        with open(path, "w") as f:
            f.write(f"""kafka: {{bootstrap_servers: "{broker.bootstrap}"}}
streams:
  - name: s-refused
    source: {{topic: in-refused, start_from: earliest}}
    model: pima-pipeline
    sink: {{topic: out-refused}}
    errors: {{topic: err-refused}}
""")
        ferry = None
        try:
            broker.produce(self.work, "in-refused", [(f"r{i}", record()) for i in range(50)])
            broker.fail("produce", "MSG_SIZE_TOO_LARGE", 1)
            ferry = FerryProcess(repo, "--config", path)
            answered = {m[1] for m in broker.consume("out-refused", 0, timeout=0)}
            deadline = time.time() + 60
            while time.time() < deadline:
                answered = {m[1] for m in broker.consume("out-refused", 0, timeout=0)}
                refused = {m[1]: m for m in broker.consume("err-refused", 0, timeout=0)}
                if len(answered) + len(refused) >= 50:
                    break
                time.sleep(0.2)
            self.assertEqual(answered | set(refused), {f"r{i}" for i in range(50)}, ferry.log())
            self.assertGreater(len(refused), 0, "the refused answers are dead letters")
            for _, key, headers, _ in refused.values():
                self.assertIn("ferry-error-class=too_large", headers)
                self.assertIn("ferry-stage=sink", headers)
            self.assertEqual(self.stream(ferry, "s-refused")["state"], "running")
        finally:
            if ferry:
                ferry.stop()
            broker.stop()

    def test_a_model_gone_for_five_seconds_pauses_the_stream_and_nothing_is_dead_lettered(self):
        repo = self.repo("repo-gone")
        ferry = self.serve("gone", repo)
        away = os.path.join(self.work, "pima-pipeline-away")
        try:
            self.produce("in-gone", [(f"a{i}", record()) for i in range(200)])
            self.consume("out-gone", 200)
            shutil.move(os.path.join(repo, "pima-pipeline"), away)
            wait_for(lambda: ferry.request("GET", "/v2/models/pima-pipeline/ready")[0] == 404, 30,
                     "the poll saw the model go")
            # Events keep coming while the model is gone: 100 a second for five seconds.
            for chunk in range(5):
                self.produce("in-gone", [(f"b{i}", record()) for i in range(chunk * 100, chunk * 100 + 100)])
                time.sleep(1)
            state = wait_for(lambda: (s := self.stream(ferry, "s-gone"))["state"] == "paused" and s, 30,
                             "the stream pauses while its model is gone")
            self.assertIn("pima-pipeline", state["reason"])
            # Lag while paused, per partition: the end of the partition (kcat's view) minus what
            # was committed (everything before the outage).
            ends = self.high_watermarks("in-gone")
            lag = {int(p): v for p, v in self.metric(
                ferry, r'ferry_stream_consumer_lag\{stream="s-gone",partition="(\d+)"\} (\S+)')}
            self.assertEqual(sum(ends.values()), 700)
            wait_for(lambda: sum(v for _, v in self.metric(
                ferry, r'ferry_stream_consumer_lag\{stream="s-gone",partition="(\d+)"\} (\S+)')) == 500, 10,
                f"lag is the 500 waiting events: {lag}")
            shutil.move(away, os.path.join(repo, "pima-pipeline"))
            outputs = self.consume("out-gone", 700)
            self.assertEqual({o[1] for o in outputs},
                             {f"a{i}" for i in range(200)} | {f"b{i}" for i in range(500)})
            self.assertEqual(self.consume("err-gone", 0, timeout=0), [], "nothing on the error topic")
            wait_for(lambda: self.stream(ferry, "s-gone")["state"] == "running", 10, "the stream runs again")
            wait_for(lambda: sum(v for _, v in self.metric(
                ferry, r'ferry_stream_consumer_lag\{stream="s-gone",partition="(\d+)"\} (\S+)')) == 0, 10,
                "no lag once everything is committed")
            # Per partition, ferry's view of the end and the committed offset is kcat's end.
            ends = self.high_watermarks("in-gone")
            wait_for(lambda: {p["partition"]: (p["end"], p["committed"], p["lag"])
                              for p in self.stream(ferry, "s-gone")["partitions"]} ==
                     {p: (end, end, 0) for p, end in ends.items()}, 10,
                     f"partitions as kcat sees them: {ends}")
            pauses = self.metric(ferry, r'ferry_stream_pauses_total\{stream="s-gone",reason="(\w+)"\} (\S+)')
            self.assertGreater(dict(pauses).get("model_unavailable", 0), 0, pauses)
        finally:
            if os.path.exists(away):
                shutil.move(away, os.path.join(repo, "pima-pipeline"))
            ferry.stop()

    def test_sigterm_during_an_outage_leaves_the_events_for_the_restart(self):
        repo = self.repo("repo-term")
        away = os.path.join(self.work, "pima-pipeline-term")
        shutil.move(os.path.join(repo, "pima-pipeline"), away)
        ferry = self.serve("term", repo)
        try:
            self.produce("in-term", [(f"t{i}", record()) for i in range(300)])
            wait_for(lambda: self.stream(ferry, "s-term")["state"] == "paused", 30, "paused: no model")
            self.assertEqual(ferry.stop(), 0)
        finally:
            ferry.stop()
        self.assertEqual(self.consume("err-term", 0, timeout=0), [], "shutdown dead-letters nothing")
        shutil.move(away, os.path.join(repo, "pima-pipeline"))
        ferry = self.serve("term", repo)
        try:
            outputs = self.consume("out-term", 300)
            self.assertEqual({o[1] for o in outputs}, {f"t{i}" for i in range(300)})
            self.assertEqual(self.consume("err-term", 0, timeout=0), [])
        finally:
            ferry.stop()

    def test_tolerance_none_stops_the_stream_and_readiness_says_why(self):
        repo = self.repo("repo-none")
        ferry = self.serve("none", repo, errors=", tolerance: none")
        try:
            self.produce("in-none", [("good", record())], "-p", "0")
            self.consume("out-none", 1)
            self.assertEqual(self.stream(ferry, "s-none")["state"], "running")
            self.assertEqual(ferry.request("GET", "/v2/health/ready")[0], 200)
            self.produce("in-none", [("bad", "not json"), ("after", record())], "-p", "0")
            stream = wait_for(lambda: (s := self.stream(ferry, "s-none"))["state"] == "stopped" and s, 30,
                              "the stream stops at its first bad event: " + ferry.log())
            self.assertIn("in-none/0/1", stream["reason"])
            self.assertIn("tolerance", stream["reason"])
            status, body, _ = ferry.request("GET", "/v2/health/ready")
            self.assertEqual(status, 503)
            self.assertIn("s-none", body["error"])
            self.assertEqual(self.consume("err-none", 0, timeout=0), [])
            self.assertEqual(len(self.consume("out-none", 1, timeout=0)), 1, "nothing after the bad event")
            # Models serve on: only the stream stopped.
            status, _, _ = ferry.request("POST", "/v2/models/pima-pipeline/predict", record())
            self.assertEqual(status, 200)
        finally:
            ferry.stop()

    def test_sink_answers_say_which_version_answered_and_may_keep_the_event_headers(self):
        repo = self.repo("repo-head")
        ferry = self.serve("head", repo, ", headers: copy")
        try:
            self.produce("in-head", [("h1", record())], "-H", "trace-id=abc123")
            [(_, key, headers, _)] = self.consume("out-head", 1)
            self.assertEqual(key, "h1")
            self.assertIn("ferry-model=pima-pipeline", headers)
            self.assertRegex(headers, r"ferry-model-version=\d+")
            self.assertIn("trace-id=abc123", headers)
            self.assertIn("ferry-source=in-head/", headers)
        finally:
            ferry.stop()

    def test_a_broker_down_at_start_backs_off_and_the_stream_recovers_by_itself(self):
        port = free_port()
        repo = self.repo("repo-down")
        path = os.path.join(self.work, "ferry-down.yaml")
        with open(path, "w") as f:
            f.write(f"""kafka:
  bootstrap_servers: 127.0.0.1:{port}
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500", reconnect.backoff.max.ms: "1000"}}
models_topic: {{topic: models-down}}
streams:
  - name: s-down
    source: {{topic: in-down, start_from: earliest}}
    model: pima-pipeline
    sink: {{topic: out-down}}
    errors: {{topic: err-down}}
""")
        ferry = FerryProcess(repo, "--config", path)
        broker = None
        try:
            stream = wait_for(lambda: (s := self.stream(ferry, "s-down"))["state"] == "backing_off" and s, 30,
                              "no broker: the stream backs off")
            self.assertIn("sink topic", stream["reason"])
            self.assertEqual(ferry.request("GET", "/v2/health/ready")[0], 200, "backing off heals: still ready")
            broker = DevKafka(["in-down:1", "out-down:1", "err-down:1", "models-down:1"], port=port)
            wait_for(lambda: self.stream(ferry, "s-down")["state"] == "assigned", 60,
                     "the stream recovers once the broker is there: " + ferry.log())
            broker.produce(self.work, "in-down", [("d1", record())])
            self.assertEqual([m[1] for m in broker.consume("out-down", 1)], ["d1"])
            self.assertEqual(self.stream(ferry, "s-down")["state"], "running")
            wait_for(lambda: "models topic 'models-down': connected" in ferry.log(), 60,
                     "the models topic is read once the broker is there")
        finally:
            ferry.stop()
            if broker:
                broker.stop()

    def test_dev_kafka_takes_bootstrap_connections_on_a_chosen_port(self):
        port = free_port()
        broker = DevKafka(["t:1"], port=port)
        try:
            self.assertEqual(broker.bootstrap, f"127.0.0.1:{port}")
            broker.produce(self.work, "t", [("k", "v")])
            broker.produce(self.work, "auto", [("k", "w")])  # not created up front: created on first use
            self.assertEqual([m[1:] for m in broker.consume("t", 1)], [["k", "", "v"]])
            self.assertEqual([m[1:] for m in broker.consume("auto", 1)], [["k", "", "w"]])
        finally:
            broker.stop()


if __name__ == "__main__":
    unittest.main()
