"""Integration tests of tracing (docs/tracing.md) on the real build/ferry with --trace-file: a
client's W3C traceparent is the parent of ferry's request span, whose children are the queue wait
and the batch execution; gRPC and /predict spans with their attributes; the sampler follows the
caller's flag and samples traces that start at ferry at --trace-rate; a malformed traceparent is
ignored, never an error.
"""
import http.server
import json
import os
import re
import shutil
import subprocess
import struct
import tempfile
import time
import unittest

import threading

import grpc

import models
from dev_kafka import DevKafka
from ferry_process import FerryProcess, free_port
from test_grpc import compile_protos

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
RECORD = {"preg": 6, "plas": 148, "pres": 72, "skin": 35, "test": 0, "mass": 33.6, "pedi": 0.627, "age": 50}
BODY = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW}]}
TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


def read_spans(path, expected=0, timeout=10):
    deadline = time.time() + timeout
    while True:
        spans = []
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    request = json.loads(line)
                    for resource in request["resourceSpans"]:
                        for scope in resource["scopeSpans"]:
                            spans += scope["spans"]
        if len(spans) >= expected or time.time() > deadline:
            return spans
        time.sleep(0.05)


def attributes(span):
    out = {}
    for a in span["attributes"]:
        value = a["value"]
        out[a["key"]] = value.get("stringValue", value.get("intValue", value.get("doubleValue")))
    return out


class OtlpReceiver:
    """A small OTLP/HTTP collector: decodes the JSON export requests POSTed to /v1/traces."""

    def __init__(self):
        self.requests = []
        self.paths = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append((self.path, self.headers["Content-Type"]))
                receiver.requests.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self, expected, timeout=10):
        deadline = time.time() + timeout
        while True:
            spans = [span for r in list(self.requests) for rs in r["resourceSpans"] for ss in rs["scopeSpans"]
                     for span in ss["spans"]]
            if len(spans) >= expected or time.time() > deadline:
                return spans
            time.sleep(0.05)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TracingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="ferry_tracing_")
        cls.pb, cls.pb_grpc = compile_protos(cls.work)
        cls.repo = os.path.join(cls.work, "models")
        models.save_pima(f"{cls.repo}/pima/1/model.onnx")
        with open(f"{cls.repo}/pima/model.yaml", "w") as f:
            f.write("max_batch_size: 64\n")
        examples = os.path.join(models.SOURCE_DIR, "examples", "models")
        for name in ("pima-features", "pima-pipeline"):
            shutil.copytree(os.path.join(examples, name), os.path.join(cls.repo, name))
        os.makedirs(f"{cls.repo}/front")
        with open(f"{cls.repo}/front/model.yaml", "w") as f:
            f.write("router:\n  routes: [{name: main, target: pima-pipeline}]\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def serve(self, name, *args):
        path = os.path.join(self.work, f"{name}.jsonl")
        return FerryProcess(self.repo, "--trace-file", path, *args, grpc=True), path

    def stop(self, ferry):
        code = ferry.stop()
        self.assertEqual(code, 0, ferry.log())

    def test_parent_from_traceparent_and_children(self):
        ferry, path = self.serve("parent")
        try:
            status, _, _ = ferry.request("POST", "/v2/models/pima/infer", BODY,
                                         headers={"traceparent": f"00-{TRACE}-{PARENT}-01",
                                                  "tracestate": "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"})
            self.assertEqual(status, 200)
            spans = read_spans(path, 4)
        finally:
            self.stop(ferry)
        self.assertEqual(len(spans), 4, spans)
        self.assertTrue(all(s["traceId"] == TRACE for s in spans))
        # The caller's tracestate on every span of its trace (OTLP traceState).
        self.assertEqual({s.get("traceState") for s in spans}, {"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"})
        by_name = {s["name"]: s for s in spans}
        request = by_name["infer pima"]
        self.assertEqual(request["parentSpanId"], PARENT)
        self.assertEqual(request["kind"], 2)
        a = attributes(request)
        self.assertEqual((a["ferry.model"], a["ferry.version"], a["ferry.protocol"]), ("pima", "1", "http"))
        self.assertEqual(a["http.request.method"], "POST")
        for child in ("queue", "execute", "respond"):
            self.assertEqual(by_name[child]["parentSpanId"], request["spanId"])
            self.assertGreaterEqual(int(by_name[child]["startTimeUnixNano"]), int(request["startTimeUnixNano"]))
            self.assertLessEqual(int(by_name[child]["endTimeUnixNano"]), int(request["endTimeUnixNano"]))
        self.assertEqual(attributes(by_name["execute"])["ferry.batch_size"], "1")
        self.assertLessEqual(int(by_name["queue"]["endTimeUnixNano"]), int(by_name["execute"]["startTimeUnixNano"]))
        # The answer's encoding and sending: after the execution, and the request span's end.
        self.assertLessEqual(int(by_name["execute"]["endTimeUnixNano"]), int(by_name["respond"]["startTimeUnixNano"]))
        self.assertEqual(by_name["respond"]["endTimeUnixNano"], request["endTimeUnixNano"])

    def test_router_decision_and_pipeline_steps(self):
        ferry, path = self.serve("steps")
        try:
            status, answer, _ = ferry.request("POST", "/v2/models/front/predict", RECORD,
                                              headers={"traceparent": f"00-{TRACE}-{PARENT}-01"})
            self.assertEqual(status, 200, answer)
            status, _, _ = ferry.request("POST", "/v2/models/pima-pipeline/predict", dict(RECORD, age=500))
            self.assertEqual(status, 422)
            spans = read_spans(path, 20)
        finally:
            self.stop(ferry)
        traced = [s for s in spans if s["traceId"] == TRACE]
        request = [s for s in traced if s["name"] == "predict front"][0]
        children = {s["name"]: s for s in traced if s.get("parentSpanId") == request["spanId"]}
        route = attributes(children["route front"])
        self.assertEqual((route["ferry.route"], route["ferry.route.reason"], route["ferry.route.target"]),
                         ("main", "weighted", "pima-pipeline"))
        # Every step of the pipeline behind the route, in order, each inside the request span.
        steps = [("fields", "record"), ("check", "validate"), ("log_mass", "log1p"), ("adult", "threshold"),
                 ("features", "tensor"), ("score", "model"), ("diagnosis", "label")]  # examples/models/pima-pipeline
        recorded = sorted((s for s in traced if s["name"].startswith("step ")), key=lambda s: int(s["startTimeUnixNano"]))
        self.assertEqual([(s["name"][5:], attributes(s)["ferry.step.kind"]) for s in recorded], steps)
        for s in recorded + [children["route front"], children["respond"]]:
            self.assertEqual(s["parentSpanId"], request["spanId"])
            self.assertGreaterEqual(int(s["startTimeUnixNano"]), int(request["startTimeUnixNano"]))
            self.assertLessEqual(int(s["endTimeUnixNano"]), int(request["endTimeUnixNano"]))
        model_steps = [s for s in recorded if attributes(s)["ferry.step.kind"] == "model"]
        self.assertTrue(model_steps and all(attributes(s)["ferry.step.model"] for s in model_steps))
        # A record a validate step rejects: the steps up to it ran; the span says which rejected it.
        other = [s for s in spans if s["traceId"] != TRACE]
        rejected = [s for s in other if s["name"] == "predict pima-pipeline"]
        self.assertEqual(len(rejected), 1)
        ran = {s["name"] for s in other if s.get("parentSpanId") == rejected[0]["spanId"]}
        self.assertIn("step check", ran)
        self.assertNotIn("step score", ran)  # nothing left to score

    def test_grpc_predict_and_errors(self):
        ferry, path = self.serve("grpc")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{ferry.grpc_port}") as channel:
                stub = self.pb_grpc.GRPCInferenceServiceStub(channel)
                request = self.pb.ModelInferRequest(model_name="pima")
                request.inputs.add(name="features", datatype="FP32", shape=[1, 8])
                request.raw_input_contents.append(struct.pack("<8f", *ROW))
                stub.ModelInfer(request, timeout=10, metadata=[("traceparent", f"00-{TRACE}-{PARENT}-01")])
            ferry.request("POST", "/v2/models/pima-pipeline/predict", RECORD)
            bad = {"inputs": [{"name": "features", "shape": [1, 7], "datatype": "FP32", "data": ROW[:7]}]}
            ferry.request("POST", "/v2/models/pima/infer", bad)
            spans = read_spans(path, 6)
        finally:
            self.stop(ferry)
        roots = [s for s in spans if s["name"] in ("infer pima", "predict pima-pipeline")]
        self.assertEqual(len(roots), 3, spans)
        grpc_span = [s for s in roots if attributes(s)["ferry.protocol"] == "grpc"][0]
        self.assertEqual(grpc_span["traceId"], TRACE)
        self.assertEqual(attributes(grpc_span)["rpc.system"], "grpc")
        self.assertEqual(attributes(grpc_span)["rpc.method"], "ModelInfer")
        self.assertIn("respond", [s["name"] for s in spans if s.get("parentSpanId") == grpc_span["spanId"]])
        predict = [s for s in roots if s["name"] == "predict pima-pipeline"][0]
        self.assertEqual(attributes(predict)["ferry.records"], "1")
        self.assertNotIn("parentSpanId", predict)  # a trace that starts at ferry
        failed = [s for s in roots if s["status"]["code"] == 2]
        self.assertEqual(len(failed), 1)
        self.assertIn("shape", failed[0]["status"]["message"])
        self.assertEqual(attributes(failed[0])["error.type"], "INVALID_ARGUMENT")

    def test_sampling_follows_the_caller_and_the_rate(self):
        ferry, path = self.serve("rate", "--trace-rate", "0.2")
        try:
            n = 2000
            answers = ferry.post_concurrently("/v2/models/pima/infer", [BODY] * n, clients=4)
            self.assertTrue(all(a[0] == 200 for a in answers))
            conn = ferry.connection()
            for flag, count in (("00", 50), ("01", 50)):  # the caller's decision wins over the rate
                for i in range(count):
                    ferry.request("POST", "/v2/models/pima/infer", BODY, conn=conn,
                                  headers={"traceparent": f"00-{i + 1:032x}-{PARENT}-{flag}"})
            for header in ("garbage", f"00-{'0' * 32}-{PARENT}-01", f"00-{TRACE.upper()}-{PARENT}-01"):
                status, _, _ = ferry.request("POST", "/v2/models/pima/infer", BODY, conn=conn,
                                             headers={"traceparent": header})
                self.assertEqual(status, 200)
            conn.close()
        finally:
            self.stop(ferry)
        roots = [s for s in read_spans(path) if s["name"] == "infer pima"]
        children = [s for s in roots if s.get("parentSpanId") == PARENT]
        self.assertEqual(len(children), 50)  # every sampled caller's, none of the unsampled
        own = len(roots) - len(children)
        # 2,000 + 3 malformed at 0.2: 400 expected, sd 18; 5 sd either side.
        self.assertLess(abs(own - 400), 90, own)

    def test_otlp_http_export_and_collector_down(self):
        receiver = OtlpReceiver()
        try:
            ferry = FerryProcess(self.repo, "--trace-endpoint", f"http://127.0.0.1:{receiver.port}")
            try:
                ferry.request("POST", "/v2/models/pima/infer", BODY, headers={"traceparent": f"00-{TRACE}-{PARENT}-01"})
                spans = receiver.spans(4)
                self.assertEqual(sorted(s["name"] for s in spans), ["execute", "infer pima", "queue", "respond"])
                self.assertTrue(all(s["traceId"] == TRACE for s in spans))
                self.assertEqual(receiver.paths[0], ("/v1/traces", "application/json"))
                service = receiver.requests[0]["resourceSpans"][0]["resource"]["attributes"][0]
                self.assertEqual(service, {"key": "service.name", "value": {"stringValue": "ferry"}})
                receiver.stop()  # the collector goes away: spans dropped and counted, requests unaffected
                for _ in range(20):
                    status, _, _ = ferry.request("POST", "/v2/models/pima/infer", BODY)
                    self.assertEqual(status, 200)
                deadline = time.time() + 15
                failed = 0
                while time.time() < deadline and failed < 80:
                    _, metrics, _ = ferry.request("GET", "/metrics")
                    failed = float(re.search(r'ferry_trace_spans_total\{outcome="export_failed"\} (\S+)', metrics).group(1))
                    time.sleep(0.2)
                self.assertEqual(failed, 80)  # 20 requests, 4 spans each
                self.assertIn('ferry_trace_spans_total{outcome="exported"} 4', metrics)
            finally:
                self.stop(ferry)
        finally:
            try:
                receiver.stop()
            except Exception:
                pass

    def test_kafka_events_continue_their_traces_on_sink_error_and_monitoring_records(self):
        broker = DevKafka(["in-r:1", "out-r:1", "err-r:1", "in-t:1", "out-t:1", "err-t:1"])
        try:
            path = os.path.join(self.work, "kafka.jsonl")
            records = os.path.join(self.work, "kafka-monitoring.jsonl")
            config = os.path.join(self.work, "kafka.yaml")
            with open(config, "w") as f:
                f.write(f"""kafka:
  bootstrap_servers: {broker.bootstrap}
monitoring:
  sink: {{file: {records}}}
  batching: {{linger_ms: 20}}
streams:
  - name: records
    source: {{topic: in-r, encoder: json, group: ferry-r, start_from: earliest}}
    model: pima-pipeline
    sink: {{topic: out-r}}
    errors: {{topic: err-r}}
  - name: tensors
    source: {{topic: in-t, encoder: json, group: ferry-t, start_from: earliest}}
    model: pima
    sink: {{topic: out-t}}
    errors: {{topic: err-t}}
""")
            ferry = FerryProcess(self.repo, "--config", config, "--trace-file", path)
            try:
                traced = lambda i: f"traceparent=00-{i:032x}-{PARENT}-01"
                broker.produce(self.work, "in-r", [("r1", json.dumps(RECORD))],
                               headers=[traced(1), "tracestate=congo=t61rcWkgMzE"])
                broker.produce(self.work, "in-r", [("r2", json.dumps(dict(RECORD, age=500)))], headers=[traced(2)])
                broker.produce(self.work, "in-r", [("r3", json.dumps(RECORD))])  # a trace that starts at ferry
                broker.produce(self.work, "in-t", [("t1", json.dumps(BODY))], headers=[traced(3)])
                out_r = broker.consume("out-r", 2, timeout=60)
                err_r = broker.consume("err-r", 1, timeout=60)
                out_t = broker.consume("out-t", 1, timeout=60)
                spans = read_spans(path, 6, timeout=20)
            finally:
                self.stop(ferry)
        finally:
            broker.stop()
        headers = lambda text: dict(h.split("=", 1) for h in text.split(",") if "=" in h)
        by_trace = {}
        for span in spans:
            by_trace.setdefault(span["traceId"], []).append(span)
        consumer = {}  # trace id -> ferry's span of the event
        for trace, named in by_trace.items():
            roots = [s for s in named if s["name"] in ("predict pima-pipeline", "infer pima")]
            self.assertEqual(len(roots), 1, named)
            consumer[trace] = roots[0]
            self.assertEqual(roots[0]["kind"], 5)  # consumer
            a = attributes(roots[0])
            self.assertEqual((a["messaging.system"], a["messaging.operation.type"], a["ferry.protocol"]),
                             ("kafka", "process", "kafka"))
        for i in (1, 2, 3):
            self.assertEqual(consumer[f"{i:032x}"]["parentSpanId"], PARENT)
        self.assertEqual(consumer[f"{2:032x}"]["status"]["code"], 2)  # the record the pipeline rejected
        self.assertIn("age", consumer[f"{2:032x}"]["status"]["message"])
        # A pipeline takes a batch of events in one call: its steps are in each event's trace.
        r1 = by_trace[f"{1:032x}"]
        self.assertIn("step score", [s["name"] for s in r1 if s.get("parentSpanId") == consumer[f"{1:032x}"]["spanId"]])
        tensors = by_trace[f"{3:032x}"]
        self.assertEqual(sorted(s["name"] for s in tensors), ["execute", "infer pima", "queue"])  # no respond: the
        # answer goes out with the batch's, on the sink

        def ferry_span(trace):
            return f"00-{trace}-{consumer[trace]['spanId']}-01"

        # Sink and error records carry ferry's span as their traceparent, for consumers downstream.
        sunk = {key: headers(h)["traceparent"] for _, key, h, _ in out_r + err_r + out_t}
        self.assertEqual(sunk["r1"], ferry_span(f"{1:032x}"))
        self.assertEqual(headers([h for _, key, h, _ in out_r if key == "r1"][0])["tracestate"], "congo=t61rcWkgMzE")
        self.assertEqual(sunk["r2"], ferry_span(f"{2:032x}"))
        self.assertEqual(sunk["t1"], ferry_span(f"{3:032x}"))
        own = [t for t in consumer if t not in (f"{i:032x}" for i in (1, 2, 3))]
        self.assertEqual(len(own), 1)
        self.assertNotIn("parentSpanId", consumer[own[0]])
        self.assertEqual(sunk["r3"], ferry_span(own[0]))
        # And so do the monitoring records of those events.
        with open(records) as f:
            monitored = [json.loads(line) for line in f]
        self.assertEqual(sorted(r["trace"]["traceparent"] for r in monitored), sorted(sunk.values()))
        self.assertEqual([r["trace"].get("tracestate") for r in monitored if r["trace"]["traceparent"] == sunk["r1"]],
                         ["congo=t61rcWkgMzE"])

    def test_bad_endpoint_is_refused_at_start(self):
        proc = subprocess.run([os.environ.get("FERRY_BIN", "build/ferry"), "serve", "--model-repository", self.repo,
                               "--http-port", str(free_port()), "--grpc-port", "0", "--metrics-port", "0",
                               "--trace-endpoint", "https://collector:4318"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--trace-endpoint must be an http:// URL", proc.stderr)


if __name__ == "__main__":
    unittest.main()
