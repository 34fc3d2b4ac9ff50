"""Integration tests of the monitoring stream (docs/monitoring.md) on the real build/ferry: a record
for each transport (HTTP JSON and binary, gRPC, /predict, a Kafka stream) with its fields and
latency breakdown; a rate of 0.1 over 10,000 requests within tolerance; keyed sampling that picks
the same keys in two server processes (and the keys the documented hash picks); errors recorded
whatever the rate; payloads past max_bytes truncated; a sink that cannot take records (the broker
away) never slows or fails a request, its records dropped and counted; shutdown sends what is
queued; CloudEvents headers on a Kafka sink; the rate changed at run time; bad sections refused.
"""
import json
import os
import shutil
import struct
import tempfile
import time
import unittest

import grpc

import models
from dev_kafka import DevKafka
from ferry_process import FerryProcess, free_port
from test_grpc import compile_protos

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
RECORD = {"preg": 6, "plas": 148, "pres": 72, "skin": 35, "test": 0, "mass": 33.6, "pedi": 0.627, "age": 50}
EXAMPLES = os.path.join(models.SOURCE_DIR, "examples", "models")


def infer_body(rows=1, id=None):
    body = {"inputs": [{"name": "features", "shape": [rows, 8], "datatype": "FP32", "data": ROW * rows}]}
    if id:
        body["id"] = id
    return body


def key_share(key):
    """The documented keyed-sampling hash: 64-bit FNV-1a of the key's bytes, top 53 bits / 2^53."""
    h = 0xcbf29ce484222325
    for b in key.encode():
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return (h >> 11) / float(1 << 53)


def read_records(path, expected=0, timeout=10):
    """The records written to a file sink, once at least `expected` are there (or `timeout` passed)."""
    deadline = time.time() + timeout
    while True:
        records = []
        if os.path.exists(path):
            with open(path) as f:
                records = [json.loads(line) for line in f if line.strip()]
        if len(records) >= expected or time.time() > deadline:
            return records
        time.sleep(0.05)


class MonitoringTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ferry_monitoring_")
        cls.pb, pb_grpc = compile_protos(cls.work)
        cls.pb_grpc = pb_grpc

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def repo(self, name, monitoring, pipeline_monitoring=None, extra_models=()):
        """A repository with pima (monitored as `monitoring` says) and, when asked, pima-pipeline."""
        repo = os.path.join(self.work, name)
        models.save_pima(f"{repo}/pima/1/model.onnx")
        with open(f"{repo}/pima/model.yaml", "w") as f:
            f.write("max_batch_size: 64\n" + (f"monitoring: {monitoring}\n" if monitoring else ""))
        if pipeline_monitoring is not None:
            for model in ("pima-features", "pima-pipeline"):
                shutil.copytree(os.path.join(EXAMPLES, model), os.path.join(repo, model))
            with open(f"{repo}/pima-pipeline/model.yaml", "a") as f:
                f.write(f"monitoring: {pipeline_monitoring}\n")
        for model in extra_models:
            models.save_pima(f"{repo}/{model}/1/model.onnx")
        return repo

    def sink(self, name):
        return os.path.join(self.work, name, "records.jsonl")

    def stop(self, ferry):
        code = ferry.stop()
        self.assertEqual(code, 0, ferry.log())

    def assert_common(self, r, protocol, model="pima"):
        self.assertEqual(r["schema"], "ferry.monitoring.v1")
        self.assertEqual(r["model"], model)
        self.assertEqual(r["version"], 1)
        self.assertEqual(r["protocol"], protocol)
        self.assertRegex(r["event_id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        self.assertLess(abs(r["time_us"] / 1e6 - time.time()), 60)
        self.assertGreater(r["latency_us"]["total"], 0)

    # -- records of each transport ---------------------------------------------------------------

    def test_a_record_for_each_transport(self):
        sink = self.sink("transports")
        monitoring = f"{{sink: {{file: {sink}}}, batching: {{linger_ms: 20}}, labels: {{team: risk}}}}"
        repo = self.repo("transports", monitoring, pipeline_monitoring=monitoring)
        ferry = FerryProcess(repo, grpc=True)
        try:
            status, _, _ = ferry.request("POST", "/v2/models/pima/infer", infer_body(2, id="json-1"))
            self.assertEqual(status, 200)
            # The binary tensor extension.
            header = json.dumps({"id": "bin-1", "inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                                                            "parameters": {"binary_data_size": 32}}]}).encode()
            status, _, _ = ferry.post_raw("/v2/models/pima/infer", header + struct.pack("<8f", *ROW),
                                          {"Inference-Header-Content-Length": str(len(header))})
            self.assertEqual(status, 200)
            with grpc.insecure_channel(f"127.0.0.1:{ferry.grpc_port}") as channel:
                stub = self.pb_grpc.GRPCInferenceServiceStub(channel)
                request = self.pb.ModelInferRequest(model_name="pima", id="grpc-1")
                request.inputs.add(name="features", datatype="FP32", shape=[1, 8])
                request.raw_input_contents.append(struct.pack("<8f", *ROW))
                stub.ModelInfer(request, timeout=10, metadata=[("traceparent",
                                                                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")])
            status, _, _ = ferry.request("POST", "/v2/models/pima-pipeline/predict", {"instances": [RECORD, RECORD]},
                                         headers={"x-request-id": "predict-1"})
            self.assertEqual(status, 200)
            records = read_records(sink, 4)
        finally:
            self.stop(ferry)
        by_id = {r["request_id"]: r for r in records}
        self.assertEqual(set(by_id), {"json-1", "bin-1", "grpc-1", "predict-1"}, records)

        r = by_id["json-1"]
        self.assert_common(r, "http")
        self.assertEqual(r["backend"], "onnxruntime")
        self.assertEqual(r["labels"], {"team": "risk"})
        self.assertEqual(r["status"], {"code": "OK", "http": 200})
        self.assertEqual(r["batch_size"], 2)
        latency = r["latency_us"]
        self.assertGreaterEqual(latency["queue"], 0)
        self.assertGreater(latency["compute"], 0)
        self.assertGreaterEqual(latency["total"], latency["queue"] + latency["compute"])
        self.assertEqual(r["sampling"], {"rate": 1, "weight": 1, "reason": "random"})
        self.assertEqual(r["request"]["inputs"][0]["shape"], [2, 8])
        self.assertAlmostEqual(r["request"]["inputs"][0]["data"][5], 33.6, places=5)
        outputs = {o["name"]: o for o in r["response"]["outputs"]}
        self.assertAlmostEqual(outputs["probability"]["data"][0], models.pima_probability(ROW), places=5)

        self.assertTrue(by_id["bin-1"]["binary"])
        self.assertEqual(by_id["bin-1"]["request"]["inputs"][0]["data"][1], 148)
        r = by_id["grpc-1"]
        self.assert_common(r, "grpc")
        self.assertEqual(r["trace"]["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")

        r = by_id["predict-1"]
        self.assert_common(r, "http", model="pima-pipeline")
        self.assertEqual(r["backend"], "pipeline")
        self.assertEqual(r["records"], [RECORD, RECORD])
        self.assertEqual([a["state"] for a in r["answers"]], ["answered", "answered"])
        self.assertIn("probability", r["answers"][0]["answer"])

    def test_kafka_stream_events_and_cloudevents_sink(self):
        broker = DevKafka(["in:1", "out:1", "err:1", "monitoring:1"])
        try:
            repo = self.repo("kafka", None, pipeline_monitoring="{}")
            config = os.path.join(self.work, "kafka.yaml")
            with open(config, "w") as f:
                f.write(f"""kafka:
  bootstrap_servers: {broker.bootstrap}
monitoring:
  sink: {{kafka: {{topic: monitoring}}}}
  format: cloudevents
  sampling: {{key: key}}
  batching: {{linger_ms: 20}}
streams:
  - name: scoring
    source: {{topic: in, encoder: json, group: ferry-scoring, start_from: earliest}}
    model: pima-pipeline
    sink: {{topic: out}}
    errors: {{topic: err}}
""")
            ferry = FerryProcess(repo, "--config", config)
            try:
                bad = dict(RECORD, age=500)  # breaks a validate rule: rejected, on the error topic
                broker.produce(self.work, "in", [("k1", json.dumps(RECORD)), ("k2", json.dumps(bad))])
                self.assertEqual(len(broker.consume("out", 1, timeout=60)), 1)
                # HTTP to pima (monitored by ferry.yaml's default) lands on the same topic.
                ferry.request("POST", "/v2/models/pima/infer", infer_body())
                messages = broker.consume("monitoring", 3, timeout=60)
            finally:
                self.stop(ferry)
        finally:
            broker.stop()
        self.assertEqual(len(messages), 3, messages)
        events = {}
        for partition, key, headers, value in messages:
            record = json.loads(value)
            self.assertIn("ce_specversion=1.0", headers)
            self.assertIn(f"ce_id={record['event_id']}", headers)
            self.assertIn("ce_type=ferry.inference.record.v1", headers)
            self.assertIn(f"ce_source=/ferry/models/{record['model']}/versions/1", headers)
            self.assertIn("content-type=application/json", headers)
            events[key] = record
        self.assertEqual(set(events), {"k1", "k2", "pima"})
        r = events["k1"]
        self.assert_common(r, "kafka", model="pima-pipeline")
        self.assertEqual(r["sampling"]["reason"], "hashed")
        self.assertEqual(r["records"], [RECORD])
        self.assertEqual(r["answers"][0]["state"], "answered")
        r = events["k2"]
        self.assertEqual(r["status"]["code"], "REJECTED")
        self.assertEqual(r["answers"][0]["state"], "rejected")
        self.assertIn("age", r["answers"][0]["error"])
        self.assertEqual(events["pima"]["protocol"], "http")

    # -- sampling ------------------------------------------------------------------------------------

    def test_rate_over_ten_thousand_requests_and_errors_always(self):
        sink = self.sink("rate")
        repo = self.repo("rate", f"{{sink: {{file: {sink}}}, sampling: {{rate: 0.1, always: [error]}}}}")
        ferry = FerryProcess(repo)
        try:
            n = 10000
            answers = ferry.post_concurrently("/v2/models/pima/infer", [infer_body()] * n, clients=8)
            self.assertTrue(all(a[0] == 200 for a in answers))
            bad = {"inputs": [{"name": "features", "shape": [1, 7], "datatype": "FP32", "data": ROW[:7]}]}
            for _ in range(20):
                status, _, _ = ferry.request("POST", "/v2/models/pima/infer", bad)
                self.assertEqual(status, 400)
            time.sleep(0.5)
            _, report, _ = ferry.request("GET", "/v2/monitoring")
        finally:
            self.stop(ferry)
        records = read_records(sink)
        ok = [r for r in records if r["status"]["code"] == "OK"]
        errors = [r for r in records if r["status"]["code"] != "OK"]
        # Binomial(10000, 0.1): sd 30; 5 sd either side.
        self.assertLess(abs(len(ok) - 1000), 150, len(ok))
        self.assertTrue(all(r["sampling"]["weight"] == 10 for r in ok))
        self.assertEqual(len(errors), 20)
        self.assertTrue(all(r["status"]["http"] == 400 and "shape" in r["status"]["message"] for r in errors))
        status = report["monitoring"][0]
        self.assertEqual(status["sent"], len(records))
        self.assertEqual(status["sent"] + status["sampled_out"], n + 20)

    def test_keyed_sampling_is_the_same_in_two_processes(self):
        keys = [f"user-{i}" for i in range(300)]
        chosen = []
        for name in ("keyed-a", "keyed-b"):
            sink = self.sink(name)
            repo = self.repo(name, f"{{sink: {{file: {sink}}}, sampling: {{rate: 0.3, key: header:x-user-id}}}}")
            ferry = FerryProcess(repo)
            try:
                conn = ferry.connection()
                for key in keys:
                    status, _, _ = ferry.request("POST", "/v2/models/pima/infer", infer_body(id=key),
                                                 headers={"X-User-Id": key}, conn=conn)
                    self.assertEqual(status, 200)
                conn.close()
            finally:
                self.stop(ferry)
            records = read_records(sink)
            self.assertTrue(all(r["sampling"]["reason"] == "hashed" for r in records))
            chosen.append({r["request_id"] for r in records})
        self.assertEqual(chosen[0], chosen[1])
        self.assertEqual(chosen[0], {k for k in keys if key_share(k) < 0.3})
        self.assertTrue(40 < len(chosen[0]) < 140, len(chosen[0]))

    def test_rate_changed_at_run_time(self):
        sink = self.sink("runtime")
        repo = self.repo("runtime", f"{{sink: {{file: {sink}}}, sampling: {{rate: 0}}, batching: {{linger_ms: 10}}}}")
        ferry = FerryProcess(repo)
        try:
            for _ in range(50):
                ferry.request("POST", "/v2/models/pima/infer", infer_body())
            status, answer, _ = ferry.request("PUT", "/v2/models/pima/monitoring", {"rate": 1})
            self.assertEqual(status, 200, answer)
            self.assertEqual(answer["monitoring"][0]["rate"], 1)
            for _ in range(10):
                ferry.request("POST", "/v2/models/pima/infer", infer_body())
            self.assertEqual(len(read_records(sink, 10)), 10)
            for body, fragment in (({"rate": 2}, "between 0 and 1"), ({"weight": 1}, "rate")):
                status, answer, _ = ferry.request("PUT", "/v2/models/pima/monitoring", body)
                self.assertEqual(status, 400)
                self.assertIn(fragment, answer["error"])
            status, answer, _ = ferry.request("PUT", "/v2/models/nope/monitoring", {"rate": 1})
            self.assertEqual(status, 404)
            status, _, _ = ferry.request("GET", "/v2/models/pima/monitoring")
            self.assertEqual(status, 405)
        finally:
            self.stop(ferry)

    # -- payloads, sinks, shutdown --------------------------------------------------------------------

    def test_payload_truncated_and_excluded(self):
        sink = self.sink("truncate")
        repo = self.repo("truncate", f"{{sink: {{file: {sink}}}, payload: {{max_bytes: 200, exclude: [label]}}, "
                                     f"batching: {{linger_ms: 10}}}}")
        ferry = FerryProcess(repo)
        try:
            ferry.request("POST", "/v2/models/pima/infer", infer_body(1))
            ferry.request("POST", "/v2/models/pima/infer", infer_body(20))
            records = read_records(sink, 2)
            _, metrics, _ = ferry.request("GET", "/metrics")
        finally:
            self.stop(ferry)
        small, large = sorted(records, key=lambda r: r["request"]["inputs"][0]["shape"][0])
        self.assertIn("data", small["request"]["inputs"][0])
        self.assertEqual(large["request"]["inputs"][0], {"name": "features", "datatype": "FP32", "shape": [20, 8],
                                                        "truncated": True})
        label = [o for o in small["response"]["outputs"] if o["name"] == "label"][0]
        self.assertTrue(label["excluded"])
        self.assertNotIn("data", label)
        self.assertRegex(metrics, r'ferry_monitoring_truncated_total\{model="pima",version="1"\} [1-9]')

    def test_sink_away_never_slows_requests(self):
        # A Kafka sink whose broker is not there: each batch waits out message.timeout.ms, the
        # queue fills, records are dropped and counted; requests go on at their usual pace.
        config = os.path.join(self.work, "away.yaml")
        with open(config, "w") as f:
            f.write("kafka: {bootstrap_servers: '127.0.0.1:9', properties: {message.timeout.ms: '3000'}}\n")
        repo = self.repo("away", "{sink: {kafka: {topic: monitoring}}, queue: {capacity: 50}, "
                                 "batching: {max_records: 10, linger_ms: 10}}", extra_models=("plain",))
        ferry = FerryProcess(repo, "--config", config)
        try:
            def timed(model, n=600):
                started = time.perf_counter()
                answers = ferry.post_concurrently(f"/v2/models/{model}/infer", [infer_body()] * n, clients=4)
                self.assertTrue(all(a[0] == 200 for a in answers))
                return time.perf_counter() - started
            timed("plain", 100)  # warm up
            plain, monitored = timed("plain"), timed("pima")
            plain = min(plain, timed("plain"))
            _, report, _ = ferry.request("GET", "/v2/monitoring")
            _, metrics, _ = ferry.request("GET", "/metrics")
        finally:
            self.stop(ferry)
        self.assertLess(monitored / plain, 2.0, (monitored, plain))
        status = report["monitoring"][0]
        self.assertGreater(status["dropped_full"], 400, status)
        self.assertEqual(status["sent"], 0)
        self.assertIn('outcome="dropped_full"', metrics)

    def test_records_flow_again_when_the_broker_comes(self):
        # No broker yet: records fail after message.timeout.ms and are counted. Once a broker takes
        # connections on the configured address, the next records reach the topic.
        port = free_port()
        config = os.path.join(self.work, "comes.yaml")
        with open(config, "w") as f:
            f.write(f"kafka: {{bootstrap_servers: '127.0.0.1:{port}', properties: {{message.timeout.ms: '2000', "
                    "reconnect.backoff.max.ms: '500'}}\n")
        repo = self.repo("comes", "{sink: {kafka: {topic: monitoring}}, batching: {max_records: 10, linger_ms: 10}}")
        ferry = FerryProcess(repo, "--config", config)
        broker = None
        try:
            for i in range(20):
                self.assertEqual(ferry.request("POST", "/v2/models/pima/infer", infer_body(id=f"before{i}"))[0], 200)
            deadline = time.time() + 30
            while time.time() < deadline:
                status = ferry.request("GET", "/v2/monitoring")[1]["monitoring"][0]
                if status["send_error"] >= 20:
                    break
                time.sleep(0.2)
            self.assertEqual((status["send_error"], status["sent"]), (20, 0), status)
            self.assertTrue(status["last_error"], status)
            broker = DevKafka(["monitoring:1"], port=port)
            received = []
            deadline = time.time() + 60
            i = 0
            while time.time() < deadline and not received:
                ferry.request("POST", "/v2/models/pima/infer", infer_body(id=f"after{i}"))
                i += 1
                received = broker.consume("monitoring", 1, timeout=1)
            self.assertTrue(received, ferry.log())
            self.assertTrue(json.loads(received[0][3])["request_id"].startswith("after"))
            status = ferry.request("GET", "/v2/monitoring")[1]["monitoring"][0]
            self.assertGreater(status["sent"], 0, status)
        finally:
            self.stop(ferry)
            if broker:
                broker.stop()

    def test_shutdown_sends_what_is_queued(self):
        sink = self.sink("shutdown")
        repo = self.repo("shutdown", f"{{sink: {{file: {sink}}}, batching: {{max_records: 1000, linger_ms: 60000}}}}")
        ferry = FerryProcess(repo)
        try:
            for i in range(200):
                ferry.request("POST", "/v2/models/pima/infer", infer_body(id=f"r{i}"))
            self.assertEqual(read_records(sink, timeout=0.3), [])  # still lingering
        finally:
            self.stop(ferry)
        self.assertEqual(len(read_records(sink)), 200)

    def test_bad_sections_are_refused_with_their_reason(self):
        repo = self.repo("bad", "{sink: {file: x.jsonl}, sampling: {rate: 3}}")
        models.save_pima(f"{repo}/nosink/1/model.onnx")
        with open(f"{repo}/nosink/model.yaml", "w") as f:
            f.write("monitoring: {sink: {kafka: {topic: t}}}\n")
        ferry = FerryProcess(repo, wait_ready=False)
        try:
            time.sleep(2)
            _, index, _ = ferry.request("POST", "/v2/repository/index", {})
        finally:
            self.stop(ferry)
        reasons = {m["name"]: m.get("reason", "") for m in index}
        self.assertIn("monitoring.sampling.rate", reasons["pima"])
        self.assertIn("ferry.yaml a kafka section", reasons["nosink"])


if __name__ == "__main__":
    unittest.main()
