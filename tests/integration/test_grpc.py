"""Integration tests of the gRPC frontend with an independent client: Debian's python3-grpcio,
with stubs that python3-grpc-tools compiles from proto/ at test time.
"""
import importlib
import json
import os
import subprocess
import shutil
import struct
import sys
import tempfile
import threading
import unittest

import grpc
import numpy as np
from grpc_tools import protoc

import models
from ferry_process import FERRY_BIN, FerryProcess

ROW_A = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
ROW_B = [1, 85, 66, 29, 0, 26.6, 0.351, 31]
MAX_MESSAGE = 1_000_000


def compile_protos(out_dir):
    proto_dir = os.path.join(models.SOURCE_DIR, "proto")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    for name in ("model_config.proto", "grpc_service.proto"):
        code = protoc.main(["grpc_tools.protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}",
                            f"--grpc_python_out={out_dir}", os.path.join(proto_dir, name)])
        if code != 0:
            raise RuntimeError(f"protoc failed on {name}")
    sys.path.insert(0, out_dir)
    return importlib.import_module("grpc_service_pb2"), importlib.import_module("grpc_service_pb2_grpc")


class GrpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ferry_grpc_")
        cls.pb, pb_grpc = compile_protos(cls.tmp)
        repo = os.path.join(cls.tmp, "models")
        models.save_pima(f"{repo}/pima/1/model.onnx")
        with open(f"{repo}/pima/model.yaml", "w") as f:
            f.write("max_batch_size: 64\ndynamic_batching: {max_queue_delay_us: 100, preferred_batch_sizes: [4, 8]}\n")
        models.save_identity(f"{repo}/identity/1/model.onnx")
        # FP16 has no typed gRPC field: a model without it takes a request of typed contents only.
        models.save_identity(f"{repo}/typed/1/model.onnx", types=[t for t in models.IDENTITY_TYPES if t != "FP16"])
        os.makedirs(f"{repo}/broken/1")
        with open(f"{repo}/broken/1/model.onnx", "wb") as f:
            f.write(b"not onnx")
        cls.ferry = FerryProcess(repo, "--max-request-bytes", str(MAX_MESSAGE), grpc=True)
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.ferry.grpc_port}",
                                            options=[("grpc.max_send_message_length", 16 << 20)])
        grpc.channel_ready_future(cls.channel).result(timeout=20)
        cls.stub = pb_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code = cls.ferry.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0, f"ferry exited with {code}:\n{cls.ferry.log()}"

    def pima_request(self, rows, raw=True, **fields):
        pb = self.pb
        request = pb.ModelInferRequest(model_name="pima", **fields)
        tensor = request.inputs.add(name="features", datatype="FP32", shape=[len(rows), 8])
        flat = [x for row in rows for x in row]
        if raw:
            request.raw_input_contents.append(struct.pack(f"<{len(flat)}f", *flat))
        else:
            tensor.contents.fp32_contents.extend(flat)
        return request

    def assert_code(self, code, fragment, call, request):
        with self.assertRaises(grpc.RpcError) as caught:
            call(request, timeout=10)
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        self.assertIn(fragment, caught.exception.details())
        self.assert_serving()

    def assert_serving(self):
        response = self.stub.ModelInfer(self.pima_request([ROW_A]), timeout=10)
        p = struct.unpack("<f", response.raw_output_contents[0])[0]
        self.assertAlmostEqual(p, models.pima_probability(ROW_A), places=5)

    # --- every RPC ------------------------------------------------------------------------

    def test_health_and_server_metadata(self):
        pb = self.pb
        self.assertTrue(self.stub.ServerLive(pb.ServerLiveRequest()).live)
        self.assertTrue(self.stub.ServerReady(pb.ServerReadyRequest()).ready)
        metadata = self.stub.ServerMetadata(pb.ServerMetadataRequest())
        self.assertEqual(metadata.name, "ferry")
        self.assertIn("binary_tensor_data", metadata.extensions)

    def test_model_ready(self):
        pb = self.pb
        self.assertTrue(self.stub.ModelReady(pb.ModelReadyRequest(name="pima")).ready)
        self.assertTrue(self.stub.ModelReady(pb.ModelReadyRequest(name="pima", version="1")).ready)
        self.assertFalse(self.stub.ModelReady(pb.ModelReadyRequest(name="broken")).ready)
        self.assert_code(grpc.StatusCode.NOT_FOUND, "unknown model 'nope'", self.stub.ModelReady,
                         pb.ModelReadyRequest(name="nope"))
        self.assert_code(grpc.StatusCode.NOT_FOUND, "has no version 7", self.stub.ModelReady,
                         pb.ModelReadyRequest(name="pima", version="7"))

    def test_model_metadata(self):
        metadata = self.stub.ModelMetadata(self.pb.ModelMetadataRequest(name="pima"))
        self.assertEqual(metadata.name, "pima")
        self.assertEqual(list(metadata.versions), ["1"])
        self.assertEqual(metadata.platform, "onnxruntime_onnx")
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in metadata.inputs],
                         [("features", "FP32", [-1, 8])])
        self.assertEqual([t.name for t in metadata.outputs], ["probability", "label"])

    def test_model_config(self):
        config = self.stub.ModelConfig(self.pb.ModelConfigRequest(name="pima")).config
        self.assertEqual((config.name, config.platform, config.backend), ("pima", "onnxruntime_onnx", "onnxruntime"))
        self.assertEqual(config.max_batch_size, 64)
        self.assertEqual(config.version_policy.latest.num_versions, 1)
        self.assertEqual([(i.name, i.data_type, list(i.dims)) for i in config.input],
                         [("features", self.pb.model__config__pb2.TYPE_FP32, [8])])
        self.assertEqual(config.instance_group[0].count, 2)  # not in model.yaml: ONNX Runtime's default
        # dynamic_batching, as Triton's tools read it.
        self.assertEqual(config.WhichOneof("scheduling_choice"), "dynamic_batching")
        self.assertEqual(list(config.dynamic_batching.preferred_batch_size), [4, 8])
        self.assertEqual(config.dynamic_batching.max_queue_delay_microseconds, 100)
        self.assertEqual(config.dynamic_batching.default_queue_policy.max_queue_size, 4096)

    def test_model_statistics(self):
        before = self.stub.ModelStatistics(self.pb.ModelStatisticsRequest(name="pima", version="1")).model_stats[0]
        self.stub.ModelInfer(self.pima_request([ROW_A, ROW_B]))
        after = self.stub.ModelStatistics(self.pb.ModelStatisticsRequest(name="pima")).model_stats[0]
        self.assertEqual(after.inference_count - before.inference_count, 2)
        self.assertEqual(after.execution_count - before.execution_count, 1)
        self.assertGreater(after.inference_stats.compute_infer.ns, 0)
        self.assertGreater(after.last_inference, 0)
        everything = self.stub.ModelStatistics(self.pb.ModelStatisticsRequest())
        self.assertEqual({s.name for s in everything.model_stats}, {"pima", "identity", "typed"})

    def test_repository_index(self):
        index = self.stub.RepositoryIndex(self.pb.RepositoryIndexRequest())
        states = {(m.name, m.version): m.state for m in index.models}
        self.assertEqual(states, {("pima", "1"): "READY", ("identity", "1"): "READY", ("typed", "1"): "READY",
                                  ("broken", "1"): "UNAVAILABLE"})
        broken = [m for m in index.models if m.name == "broken"][0]
        self.assertIn("ONNX Runtime cannot load", broken.reason)
        ready = self.stub.RepositoryIndex(self.pb.RepositoryIndexRequest(ready=True))
        self.assertEqual({m.name for m in ready.models}, {"pima", "identity", "typed"})

    # --- inference ----------------------------------------------------------------------

    def test_infer_typed_and_raw_contents(self):
        for raw in (False, True):
            response = self.stub.ModelInfer(self.pima_request([ROW_A, ROW_B], raw=raw, id="r1"))
            self.assertEqual((response.model_name, response.model_version, response.id), ("pima", "1", "r1"))
            self.assertEqual([(o.name, o.datatype, list(o.shape)) for o in response.outputs],
                             [("probability", "FP32", [2, 1]), ("label", "INT64", [2, 1])])
            p = struct.unpack("<2f", response.raw_output_contents[0])
            for got, row in zip(p, (ROW_A, ROW_B)):
                self.assertAlmostEqual(got, models.pima_probability(row), places=5)
            self.assertEqual(struct.unpack("<2q", response.raw_output_contents[1]), (1, 0))

    def test_selected_outputs(self):
        request = self.pima_request([ROW_A])
        request.outputs.add(name="label")
        response = self.stub.ModelInfer(request)
        self.assertEqual([o.name for o in response.outputs], ["label"])

    def test_every_datatype(self):
        pb = self.pb
        values = {
            "BOOL": ("bool_contents", [True, False, False, True], "<4?"),
            "UINT8": ("uint_contents", [0, 1, 200, 255], "<4B"),
            "UINT16": ("uint_contents", [0, 1, 65535, 7], "<4H"),
            "UINT32": ("uint_contents", [0, 1, 4294967295, 7], "<4I"),
            "UINT64": ("uint64_contents", [0, 1, 2**64 - 1, 7], "<4Q"),
            "INT8": ("int_contents", [-128, 0, 127, 5], "<4b"),
            "INT16": ("int_contents", [-32768, 0, 32767, 5], "<4h"),
            "INT32": ("int_contents", [-2**31, 0, 2**31 - 1, 5], "<4i"),
            "INT64": ("int64_contents", [-2**63, 0, 2**63 - 1, 5], "<4q"),
            "FP32": ("fp32_contents", [0.5, -3.5, 1e30, 0.0], "<4f"),
            "FP64": ("fp64_contents", [0.1, -3.5, 1e300, 2.5], "<4d"),
            "BYTES": ("bytes_contents", [b"a", b"", b"\x00\xff", b"x y"], None),
        }
        for raw in (False, True):
            request = pb.ModelInferRequest(model_name="identity" if raw else "typed")
            expected = {}
            for dtype, (field, data, fmt) in values.items():
                tensor = request.inputs.add(name=f"in_{dtype}", datatype=dtype, shape=[2, 2])
                blob = (b"".join(struct.pack("<I", len(b)) + b for b in data) if fmt is None
                        else struct.pack(fmt, *data))
                expected[f"out_{dtype}"] = blob
                if raw:
                    request.raw_input_contents.append(blob)
                else:
                    getattr(tensor.contents, field).extend(data)
            if raw:
                fp16 = np.array([1.5, -2.0, 0.25, 65504.0], dtype="<f2").tobytes()
                request.inputs.add(name="in_FP16", datatype="FP16", shape=[2, 2])
                request.raw_input_contents.append(fp16)
                expected["out_FP16"] = fp16
            response = self.stub.ModelInfer(request)
            got = {o.name: response.raw_output_contents[i] for i, o in enumerate(response.outputs)}
            for name, blob in expected.items():
                self.assertEqual(got[name], blob, f"{name} raw={raw}")

    # --- errors: status codes and messages, and the server keeps serving -----------------

    def test_errors(self):
        pb = self.pb
        infer = self.stub.ModelInfer
        self.assert_code(grpc.StatusCode.NOT_FOUND, "unknown model 'nope'", infer, pb.ModelInferRequest(model_name="nope"))
        bad_for_nope = self.pima_request([ROW_A])
        bad_for_nope.model_name = "nope"
        bad_for_nope.inputs[0].datatype = "FLOAT"  # the model is looked up before the request is decoded
        self.assert_code(grpc.StatusCode.NOT_FOUND, "unknown model 'nope'", infer, bad_for_nope)
        self.assert_code(grpc.StatusCode.UNAVAILABLE, "model 'broken' version 1 is unavailable", infer,
                         pb.ModelInferRequest(model_name="broken"))
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "model version 'abc' is not a positive integer", infer,
                         self.pima_request([ROW_A], model_version="abc"))
        bad_type = self.pima_request([ROW_A])
        bad_type.inputs[0].datatype = "FLOAT"
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "unknown datatype 'FLOAT'", infer, bad_type)
        short = self.pima_request([ROW_A], raw=False)
        del short.inputs[0].contents.fp32_contents[-1]
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "shape [1, 8] needs 8 values, contents.fp32_contents has 7",
                         infer, short)
        short_raw = self.pima_request([ROW_A])
        short_raw.raw_input_contents[0] = short_raw.raw_input_contents[0][:-4]
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "needs 8 values of 4 bytes, got 28 bytes", infer, short_raw)
        extra_raw = self.pima_request([ROW_A])
        extra_raw.raw_input_contents.append(b"\x00")
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "raw_input_contents has 2 entries for 1 inputs", infer,
                         extra_raw)
        wrong_dtype = pb.ModelInferRequest(model_name="pima")
        wrong_dtype.inputs.add(name="features", datatype="FP64", shape=[1, 8]).contents.fp64_contents.extend(ROW_A)
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "must be FP32, got FP64", infer, wrong_dtype)
        typed_fp16 = pb.ModelInferRequest(model_name="identity")
        typed_fp16.inputs.add(name="in_FP16", datatype="FP16", shape=[1])
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "FP16 data travels only in raw_input_contents", infer,
                         typed_fp16)
        out_of_range = pb.ModelInferRequest(model_name="identity")
        out_of_range.inputs.add(name="in_INT8", datatype="INT8", shape=[1]).contents.int_contents.append(300)
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "element 0 (300) is out of range for INT8", infer,
                         out_of_range)
        unknown_output = self.pima_request([ROW_A])
        unknown_output.outputs.add(name="score")
        self.assert_code(grpc.StatusCode.INVALID_ARGUMENT, "has no output 'score'", infer, unknown_output)
        too_big = self.pima_request([ROW_A] * 40_000)  # about 1.3 MB, over --max-request-bytes
        with self.assertRaises(grpc.RpcError) as caught:
            infer(too_big, timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assert_serving()

    def test_stream_of_1000_with_one_bad_request(self):
        bad_index = 500

        def requests():
            for i in range(1000):
                request = self.pima_request([ROW_A if i % 2 else ROW_B], id=str(i))
                if i == bad_index:
                    request.inputs[0].datatype = "INT32"
                yield request

        answers = list(self.stub.ModelStreamInfer(requests(), timeout=60))
        self.assertEqual(len(answers), 1000)
        errors = [a for a in answers if a.error_message]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0].infer_response.id, str(bad_index))
        self.assertIn("must be FP32, got INT32", errors[0].error_message)
        ids = sorted(int(a.infer_response.id) for a in answers)
        self.assertEqual(ids, list(range(1000)))
        for a in answers:
            if a.error_message:
                continue
            i = int(a.infer_response.id)
            p = struct.unpack("<f", a.infer_response.raw_output_contents[0])[0]
            self.assertAlmostEqual(p, models.pima_probability(ROW_A if i % 2 else ROW_B), places=5)

    def test_ferry_infer_command(self):
        spec = "features:FP32:2,8:" + ",".join(str(x) for x in ROW_A + ROW_B)
        http_url = f"http://127.0.0.1:{self.ferry.port}"
        runs = {
            "json": [FERRY_BIN, "infer", "--url", http_url, "--model", "pima", "--input", spec, "--id", "x"],
            "binary": [FERRY_BIN, "infer", "--url", http_url, "--model", "pima", "--input", spec, "--id", "x",
                       "--binary"],
            "grpc": [FERRY_BIN, "infer", "--grpc", "--url", f"127.0.0.1:{self.ferry.grpc_port}", "--model", "pima",
                     "--input", spec, "--id", "x"],
        }
        for mode, command in runs.items():
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 0, (mode, done.stderr))
            answer = json.loads(done.stdout)
            self.assertEqual(answer["id"], "x", mode)
            probability = answer["outputs"][0]
            self.assertEqual(probability["shape"], [2, 1], mode)
            for got, row in zip(probability["data"], (ROW_A, ROW_B)):
                self.assertAlmostEqual(got, models.pima_probability(row), places=5, msg=mode)
        failed = subprocess.run([FERRY_BIN, "infer", "--grpc", "--url", f"127.0.0.1:{self.ferry.grpc_port}",
                                 "--model", "nope", "--input", "x:FP32:1:1"], capture_output=True, text=True,
                                timeout=30)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("gRPC NOT_FOUND: unknown model 'nope'", failed.stderr)
        malformed = subprocess.run([FERRY_BIN, "infer", "--url", f"127.0.0.1:{self.ferry.port}", "--model", "pima",
                                    "--input", "features:FP32:1,8"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(malformed.returncode, 0)
        self.assertIn("--input 'features:FP32:1,8' has 3 of the 4 parts", malformed.stderr)  # the whole of it

    def test_ferry_bench_command(self):
        base = ["--model", "pima", "--concurrency-range", "1:3:2", "--duration", "0.5", "--warmup", "0.2", "--json"]
        runs = {
            "json": ["--url", f"127.0.0.1:{self.ferry.port}"],
            "binary": ["--url", f"127.0.0.1:{self.ferry.port}", "--binary"],
            "grpc": ["--url", f"127.0.0.1:{self.ferry.grpc_port}", "--protocol", "grpc"],
        }
        for mode, args in runs.items():
            done = subprocess.run([FERRY_BIN, "bench", *args, *base], capture_output=True, text=True, timeout=60)
            self.assertEqual(done.returncode, 0, (mode, done.stdout, done.stderr))
            steps = json.loads(done.stdout)
            self.assertEqual([s["concurrency"] for s in steps], [1, 3], mode)
            for step in steps:
                self.assertGreater(step["requests"], 10, mode)
                self.assertEqual(step["errors"], 0, mode)
                self.assertLessEqual(step["p50_ms"], step["p99_ms"])
        for args in runs.values():  # open loop: the rate asked is the rate served
            done = subprocess.run([FERRY_BIN, "bench", *args, "--model", "pima", "--request-rate", "400",
                                   "--duration", "1", "--warmup", "0.2", "--json"],
                                  capture_output=True, text=True, timeout=60)
            self.assertEqual(done.returncode, 0, done.stderr)
            (step,) = json.loads(done.stdout)
            self.assertEqual(step["request_rate"], 400)
            # Answers are counted when they arrive within the window, so a slow server (the
            # sanitizer build) may land some of the warm-up's answers in it: near 400, not a
            # closed loop's thousands.
            self.assertAlmostEqual(step["throughput"], 400, delta=200)
        failing = subprocess.run([FERRY_BIN, "bench", "--url", f"127.0.0.1:{self.ferry.port}", "--model", "broken",
                                  "--duration", "0.3", "--warmup", "0"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(failing.returncode, 0)

    def test_concurrent_unary_calls(self):
        failures = []

        def client(k):
            for i in range(30):
                row = ROW_A if (k + i) % 2 else ROW_B
                response = self.stub.ModelInfer(self.pima_request([row], id=f"{k}-{i}"), timeout=10)
                p = struct.unpack("<f", response.raw_output_contents[0])[0]
                if response.id != f"{k}-{i}" or abs(p - models.pima_probability(row)) > 1e-5:
                    failures.append((k, i))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(failures, [])


if __name__ == "__main__":
    unittest.main()
