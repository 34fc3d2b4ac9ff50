"""Graceful shutdown of the real build/ferry: on SIGTERM every request already accepted gets its
answer and the process exits 0; a second signal exits at once.
"""
import json
import shutil
import signal
import socket
import tempfile
import threading
import time
import unittest

import numpy as np

import models
from ferry_process import FerryProcess

ROWS = 2048  # ~17 GFLOP a request: a few hundred ms each on this machine
SIZE = 2048


def slow_request():
    data = np.ones((ROWS, SIZE), dtype="<f4").tobytes()
    head = json.dumps({"inputs": [{"name": "x", "shape": [ROWS, SIZE], "datatype": "FP32",
                                   "parameters": {"binary_data_size": len(data)}}],
                       "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}).encode()
    return head + data, {"Inference-Header-Content-Length": str(len(head))}


class ShutdownTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_stop_")
        models.save_slow(f"{cls.repo}/slow/1/model.onnx", SIZE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.repo, ignore_errors=True)

    def send_in_threads(self, ferry, count):
        body, headers = slow_request()
        results = [None] * count
        started = threading.Barrier(count + 1)

        def client(i):
            conn = ferry.connection()
            started.wait()
            try:
                conn.request("POST", "/v2/models/slow/infer", body=body, headers=headers)
                response = conn.getresponse()
                results[i] = (response.status, len(response.read()))
            except OSError as e:
                results[i] = (0, str(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        started.wait()
        return threads, results

    def test_sigterm_answers_every_accepted_request_then_exits(self):
        ferry = FerryProcess(self.repo, "--shutdown-timeout", "60")
        threads, results = self.send_in_threads(ferry, 6)
        time.sleep(0.3)  # the requests are in: one runs, the others wait in the queue
        ferry.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(60)
        code = ferry.proc.wait(60)  # exits by itself once the answers are out
        ferry.stop()
        self.assertEqual([r[0] for r in results], [200] * 6, results)
        self.assertEqual(code, 0, ferry.log())
        self.assertIn("finishing requests in flight", ferry.log())

    def test_during_the_drain_probes_see_not_ready_and_new_work_is_turned_away(self):
        ferry = FerryProcess(self.repo, "--shutdown-timeout", "60")
        threads, results = self.send_in_threads(ferry, 4)
        time.sleep(0.3)
        ferry.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)  # draining: the accepted requests are still being answered
        status, body, _ = ferry.request("GET", "/v2/health/ready")
        self.assertEqual(status, 503, "a probe sees the not-ready step instead of a refused connection")
        self.assertIn("shutting down", body["error"])
        self.assertEqual(ferry.request("GET", "/v2/health/live")[0], 200)
        status, body, _ = ferry.request("POST", "/v2/models/slow/infer", {"inputs": []})
        self.assertEqual(status, 503)
        self.assertIn("shutting down", body["error"])
        for t in threads:
            t.join(60)
        self.assertEqual(ferry.proc.wait(60), 0, ferry.log())
        ferry.stop()
        self.assertEqual([r[0] for r in results], [200] * 4, results)

    def test_a_request_whose_body_is_still_uploading_when_the_shutdown_begins_is_answered(self):
        ferry = FerryProcess(self.repo, "--shutdown-timeout", "60")
        body, headers = slow_request()
        sock = socket.create_connection(("127.0.0.1", ferry.port), timeout=30)
        try:
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            sock.sendall(f"POST /v2/models/slow/infer HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                         f"{head}\r\n".encode() + body[:1000])
            time.sleep(0.3)  # the header is in, the body is not
            ferry.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertIsNone(ferry.proc.poll(), "the shutdown waits for the request being uploaded")
            sock.sendall(body[1000:])
            response = b""
            while b"\r\n\r\n" not in response:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                response += chunk
        finally:
            sock.close()
        code = ferry.proc.wait(60)
        ferry.stop()
        self.assertTrue(response.startswith(b"HTTP/1.1 200"), response[:300])
        self.assertEqual(code, 0, ferry.log())

    def test_a_shutdown_timeout_that_abandons_requests_exits_non_zero_and_says_how_many(self):
        ferry = FerryProcess(self.repo, "--shutdown-timeout", "0.2")
        threads, results = self.send_in_threads(ferry, 6)
        time.sleep(0.3)
        ferry.proc.send_signal(signal.SIGTERM)
        code = ferry.proc.wait(60)
        for t in threads:
            t.join(60)
        ferry.stop()
        self.assertNotEqual(code, 0, ferry.log())
        self.assertRegex(ferry.log(), r"shutdown timeout: [1-9]\d* HTTP request\(s\) got no answer")

    def test_a_second_signal_exits_at_once(self):
        ferry = FerryProcess(self.repo, "--shutdown-timeout", "60")
        threads, _ = self.send_in_threads(ferry, 8)
        time.sleep(0.3)
        ferry.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        begin = time.time()
        ferry.proc.send_signal(signal.SIGTERM)
        code = ferry.proc.wait(10)
        ferry.stop()
        self.assertLess(time.time() - begin, 3)
        self.assertEqual(code, 1, ferry.log())
        for t in threads:
            t.join(30)


if __name__ == "__main__":
    unittest.main()
