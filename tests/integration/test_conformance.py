"""What stock Triton and KServe clients do beyond inference, each with an independent client:
stubs compiled at test time from proto/ (Triton's messages) and from KServe's own message shapes
(written below as its grpc_predict_v2.proto has them), and HTTP requests built byte by byte.
"""
import base64
import gzip
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
import unittest
import zlib

import grpc
import numpy as np
from grpc_tools import protoc

import models
from ferry_process import FerryProcess
from test_grpc import compile_protos

# The repository messages of KServe's grpc_predict_v2.proto: model_name is field 1 of the
# requests, and the responses say whether it worked. (Package renamed: Triton's messages of the
# same names are in this process too; the package is not on the wire, the method path is.)
KSERVE_REPOSITORY_PROTO = """\
syntax = "proto3";
package kserve_shape;
message RepositoryModelLoadRequest { string model_name = 1; }
message RepositoryModelLoadResponse { string model_name = 1; bool isLoaded = 2; }
message RepositoryModelUnloadRequest { string model_name = 1; }
message RepositoryModelUnloadResponse { string model_name = 1; bool isUnloaded = 2; }
"""


# grpc.health.v1 as published (grpc/grpc's health.proto).
HEALTH_PROTO = """\
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
"""


def compile_health(out_dir):
    folder = os.path.join(out_dir, "health")
    os.makedirs(folder)
    with open(os.path.join(folder, "health.proto"), "w") as f:
        f.write(HEALTH_PROTO)
    if protoc.main(["grpc_tools.protoc", f"-I{folder}", f"--python_out={folder}", f"--grpc_python_out={folder}",
                    os.path.join(folder, "health.proto")]) != 0:
        raise RuntimeError("protoc failed on health.proto")
    sys.path.insert(0, folder)
    return importlib.import_module("health_pb2"), importlib.import_module("health_pb2_grpc")


LABELS = ["cat", "dog", "bird", "fish", "horse"]


def save_scores(path):
    """scores FP32 [N, 5] and votes INT64 [N, 5], each its input unchanged."""
    from onnx import TensorProto, helper
    import onnx
    nodes = [helper.make_node("Identity", ["x"], ["scores"]), helper.make_node("Identity", ["n"], ["votes"])]
    graph = helper.make_graph(nodes, "scores",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5]),
                               helper.make_tensor_value_info("n", TensorProto.INT64, ["N", 5])],
                              [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 5]),
                               helper.make_tensor_value_info("votes", TensorProto.INT64, ["N", 5])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def top_k(rows, k, labels=None):
    """What the classification extension answers, computed with numpy."""
    out = []
    for row in rows:
        order = np.argsort(-row, kind="stable")[:k]
        out.append([f"{row[i]:f}:{i}" + (f":{labels[i]}" if labels else "") for i in order])
    return out


def compile_kserve(out_dir):
    folder = os.path.join(out_dir, "kserve")
    os.makedirs(folder)
    with open(os.path.join(folder, "kserve_predict_v2.proto"), "w") as f:
        f.write(KSERVE_REPOSITORY_PROTO)
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    if protoc.main(["grpc_tools.protoc", f"-I{folder}", f"-I{include}", f"--python_out={folder}",
                    os.path.join(folder, "kserve_predict_v2.proto")]) != 0:
        raise RuntimeError("protoc failed on the KServe proto")
    sys.path.insert(0, folder)
    return importlib.import_module("kserve_predict_v2_pb2")


def kserve_call(channel, method, response_type):
    return channel.unary_unary(f"/inference.GRPCInferenceService/{method}",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=response_type.FromString)


class ConformanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ferry_conformance_")
        cls.pb, pb_grpc = compile_protos(cls.tmp)
        cls.kserve = compile_kserve(cls.tmp)
        cls.health, health_grpc = compile_health(cls.tmp)
        repo = cls.repo = os.path.join(cls.tmp, "models")
        models.save_pima(f"{repo}/pima/1/model.onnx")
        with open(f"{repo}/pima/model.yaml", "w") as f:
            f.write("max_batch_size: 8\n")
        models.save_pima(f"{repo}/spare/1/model.onnx")
        models.save_identity(f"{repo}/identity/1/model.onnx", types=["FP32"])
        save_scores(f"{repo}/classes/1/model.onnx")
        with open(f"{repo}/classes/labels.txt", "w") as f:
            f.write("\n".join(LABELS) + "\n")
        with open(f"{repo}/classes/model.yaml", "w") as f:
            f.write("max_batch_size: 16\noutputs:\n"
                    "  - {name: scores, datatype: FP32, shape: [-1, 5], labels: labels.txt}\n"
                    "  - {name: votes, datatype: INT64, shape: [-1, 5]}\n")
        cls.ferry = FerryProcess(repo, "--model-control", "explicit", "--load-model", "pima", "--load-model",
                                 "identity", "--load-model", "classes", grpc=True)
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.ferry.grpc_port}")
        grpc.channel_ready_future(cls.channel).result(timeout=20)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)
        cls.health_stub = health_grpc.HealthStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.ferry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def model_ready(self, name):
        return self.ferry.request("GET", f"/v2/models/{name}/ready")[0] == 200

    def test_kserve_repository_calls_name_the_model_in_field_1(self):
        load = kserve_call(self.channel, "RepositoryModelLoad", self.kserve.RepositoryModelLoadResponse)
        unload = kserve_call(self.channel, "RepositoryModelUnload", self.kserve.RepositoryModelUnloadResponse)
        answer = load(self.kserve.RepositoryModelLoadRequest(model_name="spare"), timeout=30)
        self.assertEqual((answer.model_name, answer.isLoaded), ("spare", True))
        self.assertTrue(self.model_ready("spare"))
        answer = unload(self.kserve.RepositoryModelUnloadRequest(model_name="spare"), timeout=30)
        self.assertEqual((answer.model_name, answer.isUnloaded), ("spare", True))
        # Not ready after an unload: 404 over HTTP (false to the clients), NOT_FOUND over gRPC, as Triton.
        status, answer, _ = self.ferry.request("GET", "/v2/models/spare/ready")
        self.assertEqual(status, 404, answer)
        self.assertIn("model 'spare' is not loaded", answer["error"])
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelReady(self.pb.ModelReadyRequest(name="spare"), timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(grpc.RpcError) as caught:
            load(self.kserve.RepositoryModelLoadRequest(model_name="nosuch"), timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND, caught.exception.details())
        # Triton's shape (model_name at field 2) keeps working.
        self.stub.RepositoryModelLoad(self.pb.RepositoryModelLoadRequest(model_name="spare"), timeout=30)
        self.assertTrue(self.model_ready("spare"))
        self.stub.RepositoryModelUnload(self.pb.RepositoryModelUnloadRequest(model_name="spare"), timeout=30)
        self.assertFalse(self.model_ready("spare"))

    def infer_pima(self):
        body = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8], "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]}
        return self.ferry.request("POST", "/v2/models/pima/infer", body)[0]

    def test_triton_model_config_round_trip_over_http_and_grpc(self):
        # HTTP: the configuration get_model_config() returns, changed and loaded back.
        status, config, _ = self.ferry.request("GET", "/v2/models/pima/config")
        self.assertEqual(status, 200, config)
        config["instance_group"][0]["count"] = 2
        config["dynamic_batching"] = {"max_queue_delay_microseconds": 300, "preferred_batch_size": [4]}
        config["optimization"] = {"input_pinned_memory": {"enable": True}}  # a Triton field ferry ignores
        status, answer, _ = self.ferry.request("POST", "/v2/repository/models/pima/load",
                                               {"parameters": {"config": json.dumps(config)}})
        self.assertEqual(status, 200, answer)
        deadline = time.monotonic() + 10  # the log is read from ferry's stderr as it comes
        while "Triton field 'optimization' ignored" not in self.ferry.log():
            self.assertLess(time.monotonic(), deadline, self.ferry.log())
            time.sleep(0.05)
        _, now, _ = self.ferry.request("GET", "/v2/models/pima/config")
        self.assertEqual(now["instance_group"][0]["count"], 2)
        self.assertEqual(now["dynamic_batching"]["max_queue_delay_microseconds"], 300)
        self.assertEqual(self.infer_pima(), 200)
        # gRPC: ModelConfig as protobuf's JSON (camelCase names, int64 as strings), as
        # tritonclient.grpc's get_model_config(as_json=True) gives it.
        from google.protobuf import json_format
        got = self.stub.ModelConfig(self.pb.ModelConfigRequest(name="pima"), timeout=10)
        got.config.instance_group[0].count = 3
        text = json_format.MessageToJson(got.config)
        self.assertIn("maxBatchSize", text)
        request = self.pb.RepositoryModelLoadRequest(model_name="pima")
        request.parameters["config"].string_param = text
        self.stub.RepositoryModelLoad(request, timeout=30)
        got = self.stub.ModelConfig(self.pb.ModelConfigRequest(name="pima"), timeout=10)
        self.assertEqual(got.config.instance_group[0].count, 3)
        self.assertEqual(self.infer_pima(), 200)
        # A configuration ferry cannot honour: 400 / INVALID_ARGUMENT, and the model keeps serving.
        config["sequence_batching"] = {"max_sequence_idle_microseconds": 1000}
        status, answer, _ = self.ferry.request("POST", "/v2/repository/models/pima/load",
                                               {"parameters": {"config": json.dumps(config)}})
        self.assertEqual(status, 400, answer)
        self.assertIn("Triton's 'sequence_batching' is not served by ferry", answer["error"])
        request.parameters["config"].string_param = json.dumps({"name": "pima", "platform": "tensorrt_plan"})
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.RepositoryModelLoad(request, timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("platform 'tensorrt_plan' is not served by ferry", caught.exception.details())
        status, answer, _ = self.ferry.request("POST", "/v2/repository/models/pima/load",
                                               {"parameters": {"config": "max_batch_size: [oops"}})
        self.assertEqual(status, 400, answer)
        self.assertEqual(self.infer_pima(), 200)
        self.assertTrue(self.model_ready("pima"))

    def load_files(self, name, files, config="max_batch_size: 8\n"):
        parameters = {f"file:{path}": base64.b64encode(content).decode() for path, content in files.items()}
        if config is not None:
            parameters["config"] = config
        return self.ferry.request("POST", f"/v2/repository/models/{name}/load", {"parameters": parameters})

    def test_files_pushed_with_a_load_replace_the_models_folder(self):
        with open(f"{self.repo}/pima/1/model.onnx", "rb") as f:
            pima = f.read()
        identity_path = os.path.join(self.tmp, "identity.onnx")
        models.save_identity(identity_path)
        with open(identity_path, "rb") as f:
            identity = f.read()
        # A model the repository does not have, pushed over HTTP (base64, as tritonclient sends).
        status, answer, _ = self.load_files("pushed", {"3/model.onnx": pima})
        self.assertEqual(status, 200, answer)
        _, metadata, _ = self.ferry.request("GET", "/v2/models/pushed")
        self.assertEqual(metadata["versions"], ["3"])
        body = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8], "data": [6, 148, 72, 35, 0, 33.6, 0.627, 50]}]}
        self.assertEqual(self.ferry.request("POST", "/v2/models/pushed/infer", body)[0], 200)
        # The repository's spare replaced by other files, over gRPC (bytes_param), with Triton's config.
        request = self.pb.RepositoryModelLoadRequest(model_name="spare")
        request.parameters["config"].string_param = json.dumps({"name": "spare", "backend": "onnxruntime"})
        request.parameters["file:1/model.onnx"].bytes_param = identity
        self.stub.RepositoryModelLoad(request, timeout=30)
        _, metadata, _ = self.ferry.request("GET", "/v2/models/spare")
        self.assertNotEqual(metadata["inputs"][0]["name"], "features")  # the identity model serves
        # A load without files serves the repository's folder again.
        self.assertEqual(self.ferry.request("POST", "/v2/repository/models/spare/load", {})[0], 200)
        _, metadata, _ = self.ferry.request("GET", "/v2/models/spare")
        self.assertEqual(metadata["inputs"][0]["name"], "features")
        # Refused, each with 400 naming the path, nothing written outside the staging folder.
        outside = os.path.join(self.tmp, "escaped")
        for path, fragment in [("../escaped", "'.' and '..' are not allowed"),
                               ("1/../../escaped", "'.' and '..' are not allowed"),
                               (outside, "an absolute path"),
                               ("model.onnx", "the path must start with a version number"),
                               ("1", "a file goes in a version folder"),
                               ("1//model.onnx", "an empty path component"),
                               ("1/./model.onnx", "'.' and '..' are not allowed"),
                               ("1\\model.onnx", "a backslash")]:
            status, answer, _ = self.load_files("pushed", {path: b"x"})
            self.assertEqual(status, 400, (path, answer))
            self.assertIn(f"file:{path} is refused: {fragment}", answer["error"])
        self.assertFalse(os.path.exists(outside))
        status, answer, _ = self.load_files("pushed", {"1/model.onnx": pima}, config=None)
        self.assertEqual(status, 400, answer)
        self.assertIn("need the 'config' parameter", answer["error"])
        status, answer, _ = self.ferry.request("POST", "/v2/repository/models/pushed/load",
                                               {"parameters": {"config": "{}", "file:1/model.onnx": "not base64!"}})
        self.assertEqual(status, 400, answer)
        self.assertIn("base64", answer["error"])
        status, answer, _ = self.load_files("pushed", {"1/model.onnx": b"not an onnx file"})
        self.assertEqual(status, 503, answer)  # the files do not make a model: the pushed version serves on
        self.assertEqual(self.ferry.request("POST", "/v2/models/pushed/infer", body)[0], 200)
        self.assertEqual(self.ferry.request("POST", "/v2/repository/models/pushed/unload", {})[0], 200)

    def test_compressed_requests_and_answers(self):
        rows = np.arange(600, dtype=np.float32).reshape(300, 2)
        body = json.dumps({"inputs": [{"name": "in_FP32", "datatype": "FP32", "shape": [300, 2],
                                       "data": rows.ravel().tolist()}]}).encode()
        raw_deflate = zlib.compressobj(wbits=-15)
        for encoding, packed in [("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)),
                                 ("deflate", raw_deflate.compress(body) + raw_deflate.flush()),
                                 ("identity", body)]:
            status, answer, headers = self.ferry.post_raw("/v2/models/identity/infer", packed, {"Content-Encoding": encoding})
            self.assertEqual(status, 200, (encoding, answer))
            self.assertNotIn("content-encoding", headers)  # not asked for
            np.testing.assert_array_equal(np.array(json.loads(answer)["outputs"][0]["data"]), rows.ravel())
        # The binary extension: Inference-Header-Content-Length counts the JSON before compression.
        header = json.dumps({"inputs": [{"name": "in_FP32", "datatype": "FP32", "shape": [300, 2],
                                         "parameters": {"binary_data_size": rows.nbytes}}],
                             "outputs": [{"name": "out_FP32", "parameters": {"binary_data": True}}]}).encode()
        status, answer, headers = self.ferry.post_raw(
            "/v2/models/identity/infer", gzip.compress(header + rows.tobytes()),
            {"Content-Encoding": "gzip", "Inference-Header-Content-Length": str(len(header)),
             "Accept-Encoding": "gzip"})
        self.assertEqual(status, 200, answer)
        self.assertEqual(headers["content-encoding"], "gzip")
        plain = gzip.decompress(answer)
        length = int(headers["inference-header-content-length"])
        self.assertEqual(json.loads(plain[:length])["outputs"][0]["parameters"]["binary_data_size"], rows.nbytes)
        np.testing.assert_array_equal(np.frombuffer(plain[length:], dtype="<f4"), rows.ravel())
        # Compressed answers as Accept-Encoding asks (q-values), small ones as they are.
        for accept, expected in [("deflate", "deflate"), ("gzip;q=0.5, deflate;q=0.9", "deflate"),
                                 ("br, gzip", "gzip"), ("*", "gzip"), ("gzip;q=0", None), ("br", None)]:
            status, answer, headers = self.ferry.post_raw("/v2/models/identity/infer", body, {"Accept-Encoding": accept})
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("content-encoding"), expected, accept)
            if expected == "deflate":
                answer = zlib.decompress(answer)
            elif expected == "gzip":
                answer = gzip.decompress(answer)
            np.testing.assert_array_equal(np.array(json.loads(answer)["outputs"][0]["data"]), rows.ravel())
        small = json.dumps({"inputs": [{"name": "in_FP32", "datatype": "FP32", "shape": [1, 2], "data": [1, 2]}]})
        status, answer, headers = self.ferry.post_raw("/v2/models/identity/infer", small, {"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200, answer)
        self.assertNotIn("content-encoding", headers)
        # Refused: an unknown coding (415), a broken stream (400), a bomb (413); ferry serves on.
        status, answer, _ = self.ferry.post_raw("/v2/models/identity/infer", body, {"Content-Encoding": "br"})
        self.assertEqual(status, 415, answer)
        self.assertIn("Content-Encoding 'br' is not supported", json.loads(answer)["error"])
        status, answer, _ = self.ferry.post_raw("/v2/models/identity/infer", gzip.compress(body)[:-20], {"Content-Encoding": "gzip"})
        self.assertEqual(status, 400, answer)
        self.assertIn("not valid gzip data", json.loads(answer)["error"])
        bomb = gzip.compress(b" " * (80 << 20), compresslevel=9)  # 80 MiB of spaces in about 80 KB
        self.assertLess(len(bomb), 1 << 20)
        status, answer, _ = self.ferry.post_raw("/v2/models/identity/infer", bomb, {"Content-Encoding": "gzip"})
        self.assertEqual(status, 413, answer)
        self.assertIn("inflates beyond the limit", json.loads(answer)["error"])
        self.assertEqual(self.infer_pima(), 200)

    def test_classification_extension_over_http_and_grpc(self):
        rng = np.random.default_rng(3)
        x = rng.random((4, 5), dtype=np.float32)
        x[1, 2] = x[1, 4]  # a tie keeps index order
        n = rng.integers(-50, 50, (4, 5))
        body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [4, 5], "data": x.ravel().tolist()},
                           {"name": "n", "datatype": "INT64", "shape": [4, 5], "data": n.ravel().tolist()}],
                "outputs": [{"name": "scores", "parameters": {"classification": 3}},
                            {"name": "votes", "parameters": {"classification": 9}}]}
        status, answer, _ = self.ferry.request("POST", "/v2/models/classes/infer", body)
        self.assertEqual(status, 200, answer)
        outputs = {o["name"]: o for o in answer["outputs"]}
        self.assertEqual((outputs["scores"]["datatype"], outputs["scores"]["shape"]), ("BYTES", [4, 3]))
        self.assertEqual(np.array(outputs["scores"]["data"]).reshape(4, 3).tolist(), top_k(x, 3, LABELS))
        self.assertEqual(outputs["votes"]["shape"], [4, 5])  # 9 asked, 5 classes
        self.assertEqual(np.array(outputs["votes"]["data"]).reshape(4, 5).tolist(),
                         [[f"{row[i]}:{i}" for i in np.argsort(-row, kind="stable")] for row in n])
        # gRPC: the int64 parameter; the BYTES answer comes raw.
        request = self.pb.ModelInferRequest(model_name="classes")
        request.inputs.add(name="x", datatype="FP32", shape=[4, 5]).contents.fp32_contents.extend(x.ravel().tolist())
        request.inputs.add(name="n", datatype="INT64", shape=[4, 5]).contents.int64_contents.extend(n.ravel().tolist())
        request.outputs.add(name="scores").parameters["classification"].int64_param = 2
        response = self.stub.ModelInfer(request, timeout=10)
        raw, items, at = response.raw_output_contents[0], [], 0
        while at < len(raw):
            size = int.from_bytes(raw[at:at + 4], "little")
            items.append(raw[at + 4:at + 4 + size].decode())
            at += 4 + size
        self.assertEqual(list(response.outputs[0].shape), [4, 2])
        self.assertEqual(np.array(items).reshape(4, 2).tolist(), top_k(x, 2, LABELS))
        # Refused: a count that is not a positive integer.
        for value in (0, "3", 1.5):
            body["outputs"] = [{"name": "scores", "parameters": {"classification": value}}]
            status, answer, _ = self.ferry.request("POST", "/v2/models/classes/infer", body)
            self.assertEqual(status, 400, answer)
            self.assertIn("'classification' must be a positive integer", answer["error"])

    def check(self, service):
        return self.health_stub.Check(self.health.HealthCheckRequest(service=service), timeout=10).status

    def wait_for_status(self, service, status, timeout=10):
        deadline = time.monotonic() + timeout
        while self.check(service) != status:
            self.assertLess(time.monotonic(), deadline, f"{service} never became {status}")
            time.sleep(0.05)

    def test_grpc_health_service_follows_the_server_and_each_model(self):
        status = self.health.HealthCheckResponse
        self.wait_for_status("", status.SERVING)  # the statuses follow readiness within 0.1 s
        self.assertEqual(self.check("inference.GRPCInferenceService"), status.SERVING)
        self.assertEqual(self.check("pima"), status.SERVING)
        with self.assertRaises(grpc.RpcError) as caught:
            self.check("nosuch")
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        # Watch: the current status at once, then each change, as a model is loaded and unloaded.
        watch = self.health_stub.Watch(self.health.HealthCheckRequest(service="watched"), timeout=30)
        self.assertEqual(next(watch).status, status.SERVICE_UNKNOWN)
        shutil.copytree(f"{self.repo}/spare", f"{self.repo}/watched")
        try:
            self.assertEqual(self.ferry.request("POST", "/v2/repository/models/watched/load", {})[0], 200)
            # The publisher may see the new folder before the load ends (unloaded, then loading):
            # NOT_SERVING then, and nothing but that may come before SERVING.
            seen = next(watch).status
            while seen == status.NOT_SERVING:
                seen = next(watch).status
            self.assertEqual(seen, status.SERVING)
            self.assertEqual(self.check("watched"), status.SERVING)
            self.assertEqual(self.ferry.request("POST", "/v2/repository/models/watched/unload", {})[0], 200)
            self.assertEqual(next(watch).status, status.NOT_SERVING)
            self.wait_for_status("watched", status.NOT_SERVING)
        finally:
            watch.cancel()
            shutil.rmtree(f"{self.repo}/watched", ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
