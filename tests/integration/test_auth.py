"""Token authentication on the real build/ferry, over HTTP and gRPC: no token, a bad one, one
without the scope, and one with it; health probes stay open.
"""
import os
import shutil
import tempfile
import unittest

import grpc

import models
from ferry_process import FerryProcess
from test_grpc import compile_protos

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
GOOD = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW}]}
INFER, READ, ADMIN = "infer-token-0123456789", "read-token-0123456789", "admin-token-0123456789"


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ferry_auth_")
        cls.pb, pb_grpc = compile_protos(cls.tmp)
        models.save_pima(f"{cls.tmp}/models/pima/1/model.onnx")
        with open(f"{cls.tmp}/tokens", "w") as f:
            f.write(f"{INFER} infer\n{READ} read\n{ADMIN} admin,read,infer\n")
        cls.ferry = FerryProcess(f"{cls.tmp}/models", "--auth-token-file", f"{cls.tmp}/tokens",
                                 "--model-control", "explicit", "--load-model", "*", grpc=True)
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.ferry.grpc_port}")
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.ferry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def http(self, method, path, token=None, body=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.ferry.request(method, path, body, headers)

    def test_http(self):
        routes = [("POST", "/v2/models/pima/infer", GOOD, INFER), ("GET", "/v2/models/pima", None, READ),
                  ("GET", "/metrics", None, READ), ("POST", "/v2/repository/index", {}, READ),
                  ("POST", "/v2/repository/models/pima/load", {}, ADMIN)]
        wrong_scope = {INFER: READ, READ: INFER, ADMIN: READ}
        for method, path, body, token in routes:
            status, answer, headers = self.http(method, path, None, body)
            self.assertEqual(status, 401, (path, answer))
            self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
            self.assertEqual(self.http(method, path, "not-a-valid-token-at-all", body)[0], 401, path)
            status, answer, _ = self.http(method, path, wrong_scope[token], body)
            self.assertEqual(status, 403, (path, answer))
            self.assertIn("scope", answer["error"])
            self.assertEqual(self.http(method, path, token, body)[0], 200, path)
        # Explanations and a model's operations (a Python model's op_<name>) need the infer scope
        # too; past it, explain reads the body ({} has no inputs) and pima has no describe.
        for path, past in (("/v2/models/pima/explain", 400), ("/v2/models/pima/versions/1/describe", 404)):
            self.assertEqual(self.http("POST", path, READ, {})[0], 403, path)
            self.assertEqual(self.http("POST", path, INFER, {})[0], past, path)
        self.assertEqual(self.http("GET", "/v2/health/live")[0], 200)
        self.assertEqual(self.http("GET", "/v2/health/ready")[0], 200)
        self.assertNotIn(INFER, self.ferry.log())  # tokens are never logged

    def grpc_code(self, call, request, token):
        metadata = [("authorization", f"Bearer {token}")] if token else []
        try:
            call(request, metadata=metadata, timeout=10)
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()

    def test_grpc(self):
        pb = self.pb
        infer = pb.ModelInferRequest(model_name="pima")
        infer.inputs.add(name="features", datatype="FP32", shape=[1, 8]).contents.fp32_contents.extend(ROW)
        cases = [(self.stub.ModelInfer, infer, INFER, READ),
                 (self.stub.ModelMetadata, pb.ModelMetadataRequest(name="pima"), READ, INFER),
                 (self.stub.RepositoryModelLoad, pb.RepositoryModelLoadRequest(model_name="pima"), ADMIN, READ)]
        for call, request, token, wrong in cases:
            self.assertEqual(self.grpc_code(call, request, None), grpc.StatusCode.UNAUTHENTICATED)
            self.assertEqual(self.grpc_code(call, request, "not-a-valid-token-at-all"), grpc.StatusCode.UNAUTHENTICATED)
            self.assertEqual(self.grpc_code(call, request, wrong), grpc.StatusCode.PERMISSION_DENIED)
            self.assertEqual(self.grpc_code(call, request, token), grpc.StatusCode.OK)
        self.assertEqual(self.grpc_code(self.stub.ServerLive, pb.ServerLiveRequest(), None), grpc.StatusCode.OK)
        with self.assertRaises(grpc.RpcError) as caught:
            list(self.stub.ModelStreamInfer(iter([infer]), timeout=10))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        answers = list(self.stub.ModelStreamInfer(iter([infer]), metadata=[("authorization", f"Bearer {INFER}")],
                                                  timeout=10))
        self.assertEqual(len(answers), 1)
        self.assertEqual(answers[0].error_message, "")


if __name__ == "__main__":
    unittest.main()
