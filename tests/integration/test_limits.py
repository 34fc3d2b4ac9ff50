"""Input limits and connection timeouts of the real build/ferry: each limit exceeded gives its 4xx
(or gRPC status) naming the limit, and the next request succeeds; a slowloris client is cut off;
model names from URLs never reach the file system unchecked.
"""
import json
import shutil
import socket
import tempfile
import time
import unittest

import grpc

import models
from ferry_process import FerryProcess
from test_grpc import compile_protos

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
GOOD = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW}]}


class LimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ferry_limits_")
        cls.pb, pb_grpc = compile_protos(cls.tmp)
        models.save_pima(f"{cls.tmp}/models/pima/1/model.onnx")
        cls.ferry = FerryProcess(f"{cls.tmp}/models", "--max-header-bytes", "2048", "--idle-timeout", "1",
                                 "--max-connections", "6", "--max-inputs", "2", "--max-tensor-elements", "1000",
                                 "--max-json-depth", "8", "--max-bytes-element", "100", "--model-control", "explicit",
                                 "--load-model", "*", grpc=True)
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.ferry.grpc_port}")
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.ferry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def assert_serving(self):
        status, body, _ = self.ferry.request("POST", "/v2/models/pima/infer", GOOD)
        self.assertEqual(status, 200, body)

    def assert_refused(self, status, fragment, body, headers=None, path="/v2/models/pima/infer"):
        got, answer, _ = self.ferry.request("POST", path, body, headers)
        self.assertEqual(got, status, answer)
        self.assertIn(fragment, answer["error"])
        self.assert_serving()

    def test_request_limits(self):
        two = dict(GOOD["inputs"][0])
        self.assert_refused(400, "(--max-inputs)", {"inputs": [two, dict(two, name="b"), dict(two, name="c")]})
        self.assert_refused(400, "(--max-tensor-elements)",
                            {"inputs": [{"name": "features", "shape": [200, 8], "datatype": "FP32",
                                         "data": [ROW] * 200}]})
        self.assert_refused(400, "(--max-json-depth)",
                            '{"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", '
                            '"data": [[[[[[[[[[1]]]]]]]]]]}]}')
        self.assert_refused(400, "(--max-bytes-element)",
                            {"inputs": [{"name": "s", "shape": [1], "datatype": "BYTES", "data": ["x" * 101]}]})

    def test_header_limit(self):
        self.assert_refused(431, "(--max-header-bytes)", GOOD, headers={"X-Padding": "p" * 4000})

    def test_grpc_limits(self):
        request = self.pb.ModelInferRequest(model_name="pima")
        for name in ("a", "b", "c"):
            request.inputs.add(name=name, datatype="FP32", shape=[1]).contents.fp32_contents.append(1)
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelInfer(request, timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("(--max-inputs)", caught.exception.details())
        self.assert_serving()

    def test_slowloris_is_cut_off(self):
        begin = time.time()
        with socket.create_connection(("127.0.0.1", self.ferry.port), timeout=10) as s:
            s.sendall(b"POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\n")
            closed = False
            while time.time() - begin < 8:
                try:
                    s.sendall(b"X")  # one header byte every 200 ms: never a complete header
                    time.sleep(0.2)
                    s.settimeout(0.01)
                    if s.recv(1) == b"":
                        closed = True
                        break
                except socket.timeout:
                    continue
                except OSError:
                    closed = True
                    break
        self.assertTrue(closed, "the trickling client was not cut off")
        self.assertLess(time.time() - begin, 4)
        self.assert_serving()

    def test_max_connections(self):
        # Hold connections until six are accepted (one that an earlier test's connection, not yet
        # closed by the server, pushes over the limit is answered 503 at once, and does not count).
        held = []
        for _ in range(5):  # quickly: the server closes idle connections after 1 s here
            fresh = [socket.create_connection(("127.0.0.1", self.ferry.port), timeout=5)
                     for _ in range(6 - len(held))]
            time.sleep(0.1)
            for conn in fresh:
                conn.setblocking(False)
                try:
                    refused = conn.recv(4096)
                except BlockingIOError:
                    refused = None  # nothing said: accepted, waiting for a request
                conn.settimeout(5)
                if refused is None:
                    held.append(conn)
                else:
                    conn.close()
            if len(held) == 6:
                break
        try:
            self.assertEqual(len(held), 6)
            with socket.create_connection(("127.0.0.1", self.ferry.port), timeout=5) as extra:
                reply = extra.recv(4096).decode()
            self.assertTrue(reply.startswith("HTTP/1.1 503"), reply)
            self.assertIn("--max-connections", reply)
        finally:
            for s in held:
                s.close()
        time.sleep(0.2)
        self.assert_serving()

    def test_model_names_never_reach_the_file_system(self):
        for name in ("..%2F..%2Fetc", "%2Fetc", "..", "pima%00", "a%5Cb"):
            status, body, _ = self.ferry.request("POST", f"/v2/repository/models/{name}/load", {})
            self.assertIn(status, (400, 404), (name, body))
        self.assert_serving()


if __name__ == "__main__":
    unittest.main()
