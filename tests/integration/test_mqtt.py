"""Integration tests of MQTT streams: mosquitto (Debian) as the broker on a free loopback port,
mosquitto_pub / mosquitto_sub as the independent clients, and the real `ferry serve --config`
running the shipped Pima pipeline on the messages.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import models
from dev_kafka import DevKafka
from ferry_process import FerryProcess, free_port
from test_pipeline import FIELDS, engineered_probability

DEVICES = 100
PER_DEVICE = 100


def reading(device, i):
    """A Pima record that differs for every message of a device (its answer tells them apart)."""
    return dict(zip(FIELDS, [device % 10, 80 + i, 70, 30, 0, 20.0 + device / 10, 0.5, 21 + i % 60]))


def poison(device, i):
    """The 50th message of each device is bad, three ways."""
    if i != 50:
        return None
    kind = device % 3
    if kind == 0:
        return "decode", "not json at all"
    r = reading(device, i)
    if kind == 1:
        del r["age"]
        return "fields", json.dumps(r)
    return "check", json.dumps(dict(r, plas=999))


class Mosquitto:
    """mosquitto on 127.0.0.1:<port>, restartable on the same port."""

    def __init__(self, work, extra=""):
        self.port = free_port()
        self.conf = os.path.join(work, f"mosquitto-{self.port}.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\n"
                    "persistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n" +
                    ("" if "allow_anonymous" in extra else "allow_anonymous true\n") +
                    ("user root\n" if os.geteuid() == 0 else "") + extra)  # reads the test's files
        self.log = os.path.join(work, f"mosquitto-{self.port}.log")
        self.start()

    def start(self):
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start: " + open(self.log).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class Collector:
    """mosquitto_sub on a persistent session: created before anything is published, so that
    nothing is missed; its lines (topic, properties, payload) are read in the background."""

    def __init__(self, port, topic, name, fmt="%t\t%P\t%p", args=()):
        base = ["mosquitto_sub", "-p", str(port), "-V", "5", "-q", "1", "-c", "-i", name, "-x", "86400", "-t", topic,
                *args]
        subprocess.run(base + ["-E"], check=True, capture_output=True, timeout=10)
        self.proc = subprocess.Popen(base + ["-F", fmt], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.lines = []
        self._lock = threading.Lock()
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def wait(self, done, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                lines = list(self.lines)
            if done(lines):
                return lines
            time.sleep(0.05)
        with self._lock:
            return list(self.lines)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self._pump.join(5)
        self.proc.stdout.close()


def publish(port, topic, lines, qos=1, args=()):
    subprocess.run(["mosquitto_pub", "-p", str(port), "-q", str(qos), "-t", topic, "-l", *args],
                   input="\n".join(lines) + "\n", text=True, check=True, timeout=60)


class MqttStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ferry_mqtt_")
        cls.repo = os.path.join(cls.work, "models")
        examples = os.path.join(models.SOURCE_DIR, "examples", "models")
        for name in ("pima-features", "pima-pipeline"):
            shutil.copytree(os.path.join(examples, name), os.path.join(cls.repo, name))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        self.broker = Mosquitto(self.work)
        self.cleanup = [self.broker.stop]

    def tearDown(self):
        for stop in reversed(self.cleanup):
            stop()

    def serve(self, name, version=5, client_id="ferry-test", max_events=256, shared_group=None, mqtt_extra="",
              broker=None, wait_ready=True, source="plant/+/readings"):
        path = os.path.join(self.work, f"ferry-{name}-{client_id}.yaml")
        shared = f", shared_group: {shared_group}" if shared_group else ""
        with open(path, "w") as f:
            f.write(f"""mqtt:
  broker: {broker or f"mqtt://127.0.0.1:{self.broker.port}"}
  client_id: {client_id}
  version: {version}
  keep_alive_s: 5
{mqtt_extra}
streams:
  - name: {name}
    source: {{mqtt: {{topic: "{source}", qos: 1{shared}}}}}
    model: pima-pipeline
    sink: {{mqtt: {{topic: "plant/{{1}}/scores", qos: 1}}}}
    errors: {{mqtt: {{topic: "plant/errors"}}}}
    batch: {{max_events: {max_events}, max_wait_ms: 5}}
""")
        ferry = FerryProcess(self.repo, "--config", path, wait_ready=wait_ready)
        self.cleanup.append(ferry.stop)
        if wait_ready:
            ferry.wait_for_log("subscribed to")
        return ferry

    def publish_readings(self, devices=DEVICES, per_device=PER_DEVICE, first=0):
        """Every device's readings, in order, on plant/<device>/readings. Returns the expected
        probabilities per device and the bad messages."""
        expected, bad = {}, {}
        for d in range(first, first + devices):
            lines, probabilities = [], []
            for i in range(per_device):
                p = poison(d, i)
                if p:
                    bad[d] = p
                    lines.append(p[1])
                else:
                    lines.append(json.dumps(reading(d, i)))
                    probabilities.append(engineered_probability(reading(d, i)))
            expected[str(d)] = probabilities
            publish(self.broker.port, f"plant/{d}/readings", lines)
        return expected, bad

    @staticmethod
    def stream_state(ferry):
        _, body, _ = ferry.request("GET", "/v2/streams")
        return body["streams"][0]

    @staticmethod
    def answers(lines):
        """Answers by device, in the order they came."""
        out = {}
        for line in lines:
            topic, _, payload = line.split("\t", 2)
            device = topic.split("/")[1]
            out.setdefault(device, []).append(json.loads(payload)["probability"])
        return out

    def assert_answered(self, got, expected, duplicates_allowed=False):
        for device, probabilities in expected.items():
            answers = got.get(device, [])
            if duplicates_allowed:
                # At least once: each answer there, in order of first appearance.
                seen = []
                for a in answers:
                    if not seen or all(abs(a - s) > 1e-9 for s in seen):
                        seen.append(a)
                answers = seen
            self.assertEqual(len(answers), len(probabilities), f"device {device}")
            for a, p in zip(answers, probabilities):
                self.assertAlmostEqual(a, p, places=5, msg=f"device {device}")

    # -- tests -----------------------------------------------------------------------------------

    def test_10000_readings_answered_in_order_per_device_and_poison_on_the_error_topic(self):
        scores = Collector(self.broker.port, "plant/+/scores", "scores-flow")
        errors = Collector(self.broker.port, "plant/errors", "errors-flow")
        self.cleanup += [scores.stop, errors.stop]
        ferry = self.serve("flow")
        started = time.time()
        expected, bad = self.publish_readings()
        total = sum(len(v) for v in expected.values())
        lines = scores.wait(lambda lines: len(lines) >= total)
        elapsed = time.time() - started
        self.assert_answered(self.answers(lines), expected)
        dead = errors.wait(lambda lines: len(lines) >= len(bad), timeout=30)
        self.assertEqual(len(dead), len(bad))
        for line in dead:
            topic, properties, payload = line.split("\t", 2)
            device = int(re.search(r"ferry-source:plant/(\d+)/readings", properties).group(1))
            stage, original = bad[device]
            self.assertIn(f"ferry-stage:{stage}", properties)
            self.assertIn("ferry-error:", properties)
            self.assertEqual(payload, original, "the bad message itself")
        _, metrics, _ = ferry.request("GET", "/metrics")
        self.assertRegex(metrics, r'ferry_stream_events_consumed_total\{stream="flow"\} 10000\b')
        state = self.stream_state(ferry)
        self.assertEqual((state["state"], state["transport"]), ("running", "mqtt"))
        print(f"\n{total} answers and {len(bad)} dead letters through mosquitto in {elapsed:.1f} s")

    def test_mqtt_3_1_1_errors_are_a_json_envelope(self):
        errors = Collector(self.broker.port, "plant/errors", "errors-311")
        scores = Collector(self.broker.port, "plant/+/scores", "scores-311")
        self.cleanup += [scores.stop, errors.stop]
        self.serve("v311", version="3.1.1")
        publish(self.broker.port, "plant/3/readings", ["not json", json.dumps(reading(3, 1))])
        dead = errors.wait(lambda lines: len(lines) >= 1, timeout=30)
        envelope = json.loads(dead[0].split("\t", 2)[2])
        self.assertEqual(envelope["payload"], "not json")
        self.assertEqual(envelope["stage"], "decode")
        self.assertEqual(envelope["class"], "decode")
        self.assertEqual(envelope["topic"], "plant/3/readings")
        self.assertIn("not valid JSON", envelope["error"])
        got = self.answers(scores.wait(lambda lines: len(lines) >= 1, timeout=30))
        self.assertAlmostEqual(got["3"][0], engineered_probability(reading(3, 1)), places=5)

    def test_request_reply_answers_on_the_response_topic_with_the_correlation_data(self):
        replies = Collector(self.broker.port, "reply/me", "replies", fmt="%D\t%P\t%p")
        self.cleanup.append(replies.stop)
        self.serve("rpc")
        for correlation, body in (("c-1", json.dumps(reading(1, 1))), ("c-2", "not json")):
            subprocess.run(["mosquitto_pub", "-p", str(self.broker.port), "-V", "5", "-q", "1", "-t",
                            "plant/9/readings", "-D", "publish", "response-topic", "reply/me", "-D", "publish",
                            "correlation-data", correlation, "-m", body], check=True, timeout=10)
        lines = replies.wait(lambda lines: len(lines) >= 2, timeout=30)
        by_id = {line.split("\t", 1)[0]: line.split("\t", 2) for line in lines}
        self.assertEqual(set(by_id), {"c-1", "c-2"})
        answer = json.loads(by_id["c-1"][2])
        self.assertAlmostEqual(answer["probability"], engineered_probability(reading(1, 1)),
                               places=5)
        self.assertIn("ferry-model:pima-pipeline", by_id["c-1"][1])
        self.assertIn("not valid JSON", json.loads(by_id["c-2"][2])["error"])
        self.assertIn("ferry-error-class:decode", by_id["c-2"][1])

    def test_kill_9_mid_stream_with_a_persistent_session_loses_nothing(self):
        scores = Collector(self.broker.port, "plant/+/scores", "scores-kill")
        self.cleanup.append(scores.stop)
        self.serve("kill", max_events=1).stop()  # the session, subscribed, keeps what comes meanwhile
        expected, _ = self.publish_readings(devices=40)
        ferry = self.serve("kill", max_events=1)  # 2 messages in flight: slow enough to be caught
        total = sum(len(v) for v in expected.values())
        scores.wait(lambda lines: len(lines) >= 200, timeout=60)
        ferry.proc.send_signal(signal.SIGKILL)
        ferry.proc.wait(timeout=10)
        at_kill = len(scores.wait(lambda lines: False, timeout=0.5))
        self.assertGreater(at_kill, 0, "killed while it was working")
        self.assertLess(at_kill, total, "killed before the end")
        ferry = self.serve("kill", max_events=64)  # the same client id: the same session
        self.assertTrue(any("session resumed" in line for line in ferry.log_lines), ferry.log())

        def complete(lines):
            got = self.answers(lines)
            return all(len(set(round(a, 9) for a in got.get(d, []))) >= len(set(round(p, 9) for p in v))
                       for d, v in expected.items())

        lines = scores.wait(complete, timeout=120)
        self.assert_answered(self.answers(lines), expected, duplicates_allowed=True)
        print(f"\nkill -9 after {at_kill} answers: {len(lines)} answers for {total} readings")

    def test_a_subscription_an_earlier_configuration_left_in_the_session_is_not_answered(self):
        scores = Collector(self.broker.port, "plant/+/scores", "scores-stale")
        self.cleanup.append(scores.stop)
        self.serve("stale").stop()  # subscribed to plant/+/readings in session ferry-test-stale
        ferry = self.serve("stale", source="plant/+/values")  # the same session, another filter
        publish(self.broker.port, "plant/5/readings", [json.dumps(reading(5, 1))])
        publish(self.broker.port, "plant/6/values", [json.dumps(reading(6, 1))])
        got = self.answers(scores.wait(lambda lines: len(lines) >= 1, timeout=30))
        self.assertEqual(list(got), ["6"])
        self.assertIn("earlier configuration left in session", ferry.wait_for_log("earlier configuration"))
        _, metrics, _ = ferry.request("GET", "/metrics")
        self.assertRegex(metrics, r'ferry_stream_events_skipped_total\{stream="stale"\} 1\b')
        self.assertEqual(len(scores.wait(lambda lines: False, timeout=1)), 1, "nothing for the old filter")

    def test_the_broker_restarts_and_the_stream_reconnects(self):
        scores = Collector(self.broker.port, "plant/+/scores", "scores-restart")
        self.cleanup.append(scores.stop)
        ferry = self.serve("restart")
        publish(self.broker.port, "plant/1/readings", [json.dumps(reading(1, 1))])
        scores.wait(lambda lines: len(lines) >= 1, timeout=30)
        scores.stop()
        self.broker.stop()
        deadline = time.time() + 30
        while time.time() < deadline and self.stream_state(ferry)["state"] != "backing_off":
            time.sleep(0.1)
        self.assertEqual(self.stream_state(ferry)["state"], "backing_off")
        self.assertIn("Connection refused", self.stream_state(ferry)["reason"])
        self.broker.start()  # persistence false: every session is gone; ferry subscribes again
        scores = Collector(self.broker.port, "plant/+/scores", "scores-restart-2")
        self.cleanup.append(scores.stop)
        deadline = time.time() + 30
        while time.time() < deadline and ferry.log().count("subscribed to") < 2:
            time.sleep(0.1)
        publish(self.broker.port, "plant/2/readings", [json.dumps(reading(2, 1))])
        got = self.answers(scores.wait(lambda lines: len(lines) >= 1, timeout=30))
        self.assertAlmostEqual(got["2"][0], engineered_probability(reading(2, 1)), places=5)

    def test_two_processes_share_a_subscription(self):
        scores = Collector(self.broker.port, "plant/+/scores", "scores-shared")
        self.cleanup.append(scores.stop)
        first = self.serve("shared", client_id="ferry-a", shared_group="ferry")
        second = self.serve("shared", client_id="ferry-b", shared_group="ferry")
        expected, bad = self.publish_readings(devices=20)
        total = sum(len(v) for v in expected.values())
        lines = scores.wait(lambda lines: len(lines) >= total)
        got = self.answers(lines)
        self.assertEqual(sum(len(v) for v in got.values()), total, "each answered once")
        for ferry in (first, second):
            _, metrics, _ = ferry.request("GET", "/metrics")
            consumed = float(re.search(r'ferry_stream_events_consumed_total\{stream="shared"\} (\S+)', metrics).group(1))
            self.assertGreater(consumed, 0, "both instances take a share")

    def test_username_password_and_tls(self):
        certs = os.path.join(self.work, "certs")
        os.makedirs(certs, exist_ok=True)
        ssl = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True, cwd=certs)
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ferry test CA",
            "-keyout", "ca.key", "-out", "ca.pem")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")
        with open(os.path.join(certs, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
            "-extfile", "ext.cnf", "-out", "server.pem")
        passwords = os.path.join(certs, "passwords")
        subprocess.run(["mosquitto_passwd", "-c", "-b", passwords, "scorer", "s3cret"], check=True, capture_output=True)
        secret = os.path.join(certs, "mqtt-password")
        with open(secret, "w") as f:
            f.write("s3cret\n")
        tls_port = free_port()
        self.broker.stop()
        self.broker = Mosquitto(self.work, extra=(
            f"password_file {passwords}\nallow_anonymous false\n"
            f"listener {tls_port} 127.0.0.1\ncafile {certs}/ca.pem\ncertfile {certs}/server.pem\n"
            f"keyfile {certs}/server.key\n"))
        self.cleanup[0] = self.broker.stop
        auth = ["-u", "scorer", "-P", "s3cret"]
        scores = Collector(self.broker.port, "plant/+/scores", "scores-tls", args=auth)
        self.cleanup.append(scores.stop)
        ferry = self.serve("tls", broker=f"mqtts://127.0.0.1:{tls_port}",
                           mqtt_extra=f"  username: scorer\n  password: file:{secret}\n  tls: {{ca: {certs}/ca.pem}}")
        publish(self.broker.port, "plant/4/readings", [json.dumps(reading(4, 1))], args=auth)
        got = self.answers(scores.wait(lambda lines: len(lines) >= 1, timeout=30))
        self.assertAlmostEqual(got["4"][0], engineered_probability(reading(4, 1)), places=5)
        ferry.stop()
        # A wrong password: the stream backs off and says why; the server keeps serving.
        with open(secret, "w") as f:
            f.write("wrong\n")
        ferry = self.serve("tls", broker=f"mqtts://127.0.0.1:{tls_port}", wait_ready=False,
                           mqtt_extra=f"  username: scorer\n  password: file:{secret}\n  tls: {{ca: {certs}/ca.pem}}")
        ferry.wait_ready(30)
        deadline = time.time() + 30
        while time.time() < deadline and "refused the connection" not in self.stream_state(ferry)["reason"]:
            time.sleep(0.1)
        self.assertRegex(self.stream_state(ferry)["reason"], "refused the connection: (not authorized|bad user name or password)")


class MixedTransportTest(unittest.TestCase):
    """Streams that read one transport and answer on the other, through one Kafka-protocol broker
    (ferry dev-kafka, read and written with kcat) and one mosquitto (mosquitto_pub/_sub)."""

    @classmethod
    def setUpClass(cls):
        MqttStreamTest.setUpClass.__func__(cls)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        # Persistent, so that the collectors' sessions outlive a broker restart.
        store = tempfile.mkdtemp(dir=self.work) + "/"
        self.broker = Mosquitto(self.work, extra=f"persistence true\npersistence_location {store}\n")
        self.kafka = DevKafka(["readings:1", "scores:3", "errors:1", "requests:1", "replies:2"])
        self.cleanup = [self.broker.stop, self.kafka.stop]

    def tearDown(self):
        for stop in reversed(self.cleanup):
            stop()

    def serve(self, stream, name):
        path = os.path.join(self.work, f"ferry-{name}.yaml")
        with open(path, "w") as f:
            f.write(f"""kafka: {{bootstrap_servers: "{self.kafka.bootstrap}"}}
mqtt: {{broker: "mqtt://127.0.0.1:{self.broker.port}", client_id: ferry-{name}, keep_alive_s: 5}}
streams:
  - name: {name}
    model: pima-pipeline
{stream}""")
        ferry = FerryProcess(self.repo, "--config", path)
        self.cleanup.append(ferry.stop)
        return ferry

    @staticmethod
    def headers(text):
        return dict(h.split("=", 1) for h in text.split(",") if "=" in h)

    def test_mqtt_source_kafka_sink(self):
        ferry = self.serve("""    source: {mqtt: {topic: "plant/+/readings", qos: 1}}
    sink: {topic: scores, headers: copy}
    errors: {topic: errors}
    batch: {max_events: 64, max_wait_ms: 5}
""", "up")
        ferry.wait_for_log("subscribed to", timeout=30)
        expected, bad = {}, {}
        for d in range(20):
            lines, probabilities = [], []
            for i in range(100):
                p = poison(d, i)
                if p:
                    bad[f"plant/{d}/readings"] = p
                    lines.append(p[1])
                else:
                    lines.append(json.dumps(reading(d, i)))
                    probabilities.append(engineered_probability(reading(d, i)))
            expected[f"plant/{d}/readings"] = probabilities
            publish(self.broker.port, f"plant/{d}/readings", lines,
                    args=["-V", "5", "-D", "publish", "user-property", "tenant", "t1"])
        answers = self.kafka.consume("scores", 2000 - len(bad))
        by_key = {}
        for partition, key, headers, value in answers:
            by_key.setdefault(key, []).append(json.loads(value)["probability"])
            h = self.headers(headers)
            self.assertEqual(h.get("ferry-source"), key, "the MQTT topic is the key and the source")
            self.assertEqual(h.get("tenant"), "t1", "user properties copied as headers")
        self.assertEqual(set(by_key), set(expected))
        for key, probabilities in expected.items():
            self.assertEqual(len(by_key[key]), len(probabilities), key)
            for a, p in zip(by_key[key], probabilities):  # a key's answers in one partition, in order
                self.assertAlmostEqual(a, p, places=5, msg=key)
        dead = self.kafka.consume("errors", len(bad), timeout=30)
        self.assertEqual(len(dead), len(bad))
        for _, key, headers, value in dead:
            h = self.headers(headers)
            stage, original = bad[key]
            self.assertEqual((h.get("ferry-stage"), value), (stage, original))
        _, body, _ = ferry.request("GET", "/v2/streams")
        state = body["streams"][0]
        self.assertEqual((state["transport"], state["sink_transport"], state["state"]), ("mqtt", "kafka", "running"))

    def test_kafka_source_mqtt_sink_survives_the_mqtt_broker_restarting(self):
        scores = Collector(self.broker.port, "scores/pima", "scores-down")
        errors = Collector(self.broker.port, "scores/errors", "errors-down", fmt="%t\t%P\t%p")
        self.cleanup += [scores.stop, errors.stop]
        events, expected = [], []
        for i in range(3000):
            if i == 1500:
                events.append(("p-bad", "not json"))
                continue
            r = reading(i % 10, i % 97)
            events.append((f"p-{i}", json.dumps(r)))
            expected.append(engineered_probability(r))
        self.kafka.produce(self.work, "readings", events)
        ferry = self.serve("""    source: {topic: readings, start_from: earliest}
    sink: {mqtt: {topic: scores/pima, qos: 1}}
    errors: {mqtt: {topic: scores/errors}}
    batch: {max_events: 8, max_wait_ms: 1}
""", "down")
        scores.wait(lambda lines: len(lines) >= 300, timeout=60)
        self.broker.stop()
        deadline = time.time() + 30
        state = {}
        while time.time() < deadline:
            _, body, _ = ferry.request("GET", "/v2/streams")
            state = body["streams"][0]
            if state["reason"].startswith("the sink cannot take events now (sink: "):
                break
            time.sleep(0.1)
        self.assertEqual(state["state"], "paused", state)
        self.broker.start()
        offset = lambda line: int(re.search(r"ferry-source:readings/0/(\d+)", line).group(1))
        lines = scores.wait(lambda lines: len({offset(l) for l in lines}) >= len(expected), timeout=120)
        first_seen = {}
        for line in lines:
            first_seen.setdefault(offset(line), json.loads(line.split("\t", 2)[2])["probability"])
        self.assertEqual(len(first_seen), len(expected), "every event answered (duplicates allowed)")
        got = [first_seen[o] for o in sorted(first_seen)]
        for a, p in zip(got, expected):
            self.assertAlmostEqual(a, p, places=5)
        dead = errors.wait(lambda lines: len(lines) >= 1, timeout=30)
        self.assertIn("ferry-source:readings/0/1500", dead[0])
        self.assertEqual(dead[0].split("\t", 2)[2], "not json")
        print(f"\nMQTT broker restarted mid-stream: {len(lines)} answers for {len(expected)} events")

    def test_kafka_requests_are_answered_on_their_reply_topic(self):
        self.serve("""    source: {topic: requests, start_from: earliest, reply: {}}
    sink: {topic: scores}
    errors: {topic: errors}
""", "rpc")
        self.kafka.produce(self.work, "requests", [("k1", json.dumps(reading(1, 1)))],
                           headers=["kafka_replyTopic=replies", "kafka_correlationId=c-1"])
        self.kafka.produce(self.work, "requests", [("k2", "not json")],
                           headers=["kafka_replyTopic=replies", "kafka_correlationId=c-2"])
        self.kafka.produce(self.work, "requests", [("k3", json.dumps(reading(3, 3)))])  # not a request
        replies = self.kafka.consume("replies", 2, timeout=60)
        by_id = {self.headers(h)["kafka_correlationId"]: json.loads(v) for _, _, h, v in replies}
        self.assertEqual(set(by_id), {"c-1", "c-2"})
        self.assertAlmostEqual(by_id["c-1"]["probability"], engineered_probability(reading(1, 1)), places=5)
        self.assertIn("not valid JSON", by_id["c-2"]["error"])
        plain = self.kafka.consume("scores", 1, timeout=30)
        self.assertEqual([m[1] for m in plain], ["k3"], "only the event without a reply topic on the sink")
        self.assertEqual(len(self.kafka.consume("errors", 1, timeout=30)), 1, "the bad request is a dead letter too")


if __name__ == "__main__":
    unittest.main()
