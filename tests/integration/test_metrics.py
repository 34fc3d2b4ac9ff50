"""Integration tests of dynamic batching and the Prometheus metrics, against the real build/ferry:
concurrent requests must be answered exactly and form batches larger than 1, which /metrics shows;
the exposition must pass `promtool check metrics`.
"""
import re
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.request

import models
from ferry_process import FerryProcess, free_port

ROWS = [[6, 148, 72, 35, 0, 33.6, 0.627, 50], [1, 85, 66, 29, 0, 26.6, 0.351, 31], [8, 183, 64, 0, 0, 23.3, 0.672, 32]]


def metric(text, name, **labels):
    """The value of one sample (labels given in full or in part), or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r'([a-z_]+)(\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    return None


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_metrics_")
        models.save_pima(f"{cls.repo}/batched/1/model.onnx")
        with open(f"{cls.repo}/batched/model.yaml", "w") as f:
            f.write("max_batch_size: 32\ndynamic_batching: {max_queue_delay_us: 2000, preferred_batch_sizes: [16]}\n")
        models.save_pima(f"{cls.repo}/single/1/model.onnx")
        cls.metrics_port = free_port()
        cls.ferry = FerryProcess(cls.repo, "--metrics-port", str(cls.metrics_port))

    @classmethod
    def tearDownClass(cls):
        cls.ferry.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def scrape(self, port=None):
        port = port or self.metrics_port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            self.assertTrue(response.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            return response.read().decode()

    def test_concurrent_requests_form_batches_and_get_their_own_answers(self):
        failures = []

        def client(k):
            conn = self.ferry.connection()
            try:
                for i in range(40):
                    rows = [ROWS[(k + i + j) % 3] for j in range(1 + (k + i) % 3)]
                    status, body, _ = self.ferry.request(
                        "POST", "/v2/models/batched/infer",
                        {"id": f"{k}-{i}", "inputs": [{"name": "features", "shape": [len(rows), 8], "datatype": "FP32",
                                                       "data": rows}]}, conn=conn)
                    if status != 200 or body["id"] != f"{k}-{i}" or body["outputs"][0]["shape"] != [len(rows), 1]:
                        failures.append((k, i, status, body))
                        continue
                    for got, row in zip(body["outputs"][0]["data"], rows):
                        if abs(got - models.pima_probability(row)) > 1e-5:
                            failures.append((k, i, got, row))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(failures, [])

        text = self.scrape()
        labels = {"model": "batched", "version": "1"}
        self.assertEqual(metric(text, "ferry_request_success_total", **labels), 480)
        executions = metric(text, "ferry_execution_total", **labels)
        batches = metric(text, "ferry_batch_size_count", **labels)
        single_row = metric(text, "ferry_batch_size_bucket", le="1", **labels)
        self.assertEqual(executions, batches)
        self.assertLess(executions, 480, "no batches were formed")
        self.assertLess(single_row, batches, "every execution had one row")
        rows = metric(text, "ferry_inference_rows_total", **labels)
        self.assertEqual(rows, metric(text, "ferry_batch_size_sum", **labels))
        self.assertEqual(metric(text, "ferry_request_duration_seconds_count", **labels), 480)
        self.assertEqual(metric(text, "ferry_queue_depth", **labels), 0)

    def test_exposition_passes_promtool(self):
        self.ferry.request("POST", "/v2/models/single/infer",
                           {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROWS[0]}]})
        self.ferry.request("POST", "/v2/models/single/infer", {"inputs": []})  # a failure
        text = self.scrape()
        checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=30)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertEqual(metric(text, "ferry_request_failure_total", model="single"), 1)
        self.assertEqual(metric(text, "ferry_model_ready", model="single", version="1"), 1)
        self.assertGreater(metric(text, "ferry_process_resident_memory_bytes"), 1e6)
        self.assertGreater(metric(text, "ferry_process_cpu_seconds_total"), 0)

    def test_metrics_on_the_http_port_and_only_metrics_and_probes_on_the_metrics_port(self):
        self.assertIn("ferry_request_success_total", self.scrape(self.ferry.port))
        status, body, _ = self.ferry.request("GET", "/v2/health/live")
        self.assertEqual(status, 200)
        for probe in ("live", "ready"):
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/v2/health/{probe}", timeout=10) as r:
                self.assertEqual(r.status, 200)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/v2/models/single", timeout=10)
        self.assertEqual(caught.exception.code, 404)


if __name__ == "__main__":
    unittest.main()
