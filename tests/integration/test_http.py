"""Integration tests: the real build/ferry on a loopback port, talked to over HTTP.

Run by ctest (tests/CMakeLists.txt) with Debian's /usr/bin/python3, which has python3-onnx.
"""
import json
import os
import shutil
import socket
import tempfile
import threading
import unittest

import numpy as np

import models
from ferry_process import FerryProcess

ROW_A = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
ROW_B = [1, 85, 66, 29, 0, 26.6, 0.351, 31]
ROW_C = [8, 183, 64, 0, 0, 23.3, 0.672, 32]
MAX_REQUEST_BYTES = 100_000
V1_INTERCEPT = -7.0  # pima version 1 differs from version 3 (the documented coefficients)


def infer_body(rows, **extra):
    body = {"inputs": [{"name": "features", "shape": [len(rows), 8], "datatype": "FP32", "data": rows}]}
    body.update(extra)
    return body


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_it_")
        repo = cls.repo
        # pima: two versions served side by side, inputs declared in model.yaml.
        models.save_pima(f"{repo}/pima/1/model.onnx", intercept=V1_INTERCEPT)
        models.save_pima(f"{repo}/pima/3/model.onnx")
        with open(f"{repo}/pima/model.yaml", "w") as f:
            f.write("version_policy: all\nmax_batch_size: 64\n"
                    "inputs:\n  - {name: features, datatype: FP32, shape: [-1, 8]}\n")
        # latest: default policy serves only the highest version; no model.yaml.
        models.save_pima(f"{repo}/latest/1/model.onnx", intercept=V1_INTERCEPT)
        models.save_pima(f"{repo}/latest/2/model.onnx")
        os.makedirs(f"{repo}/latest/notaversion")
        # counted: only test_statistics infers it, so its counters are known.
        models.save_pima(f"{repo}/counted/1/model.onnx")
        with open(f"{repo}/counted/model.yaml", "w") as f:
            f.write("max_batch_size: 8\ninstances: 2\nparameters: {intra_op_threads: 1}\n")
        # identity: every datatype through ONNX Runtime and back.
        models.save_identity(f"{repo}/identity/1/model.onnx")
        # broken: a model file ONNX Runtime cannot read; badyaml: a model.yaml with a typo.
        os.makedirs(f"{repo}/broken/1")
        with open(f"{repo}/broken/1/model.onnx", "wb") as f:
            f.write(b"this is not an onnx model")
        models.save_pima(f"{repo}/badyaml/1/model.onnx")
        with open(f"{repo}/badyaml/model.yaml", "w") as f:
            f.write("max_batchsize: 4\n")
        cls.ferry = FerryProcess(repo, "--max-request-bytes", str(MAX_REQUEST_BYTES), "--http-threads", "2")

    @classmethod
    def tearDownClass(cls):
        code = cls.ferry.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)
        assert code == 0, f"ferry exited with {code} on SIGTERM:\n{cls.ferry.log()}"

    def call(self, method, path, body=None, headers=None, conn=None):
        return self.ferry.request(method, path, body, headers, conn)

    def infer(self, rows, path="/v2/models/pima/infer", **extra):
        status, body, _ = self.call("POST", path, infer_body(rows, **extra))
        self.assertEqual(status, 200, body)
        return body

    def assert_serving(self):
        """After an error, the server still answers a good request correctly."""
        body = self.infer([ROW_A])
        self.assertAlmostEqual(body["outputs"][0]["data"][0], models.pima_probability(ROW_A), places=5)

    def assert_error(self, status, fragment, method, path, body=None, headers=None):
        got, answer, _ = self.call(method, path, body, headers)
        self.assertEqual(got, status, answer)
        self.assertIsInstance(answer, dict, answer)
        self.assertIn("error", answer)
        self.assertIn(fragment, answer["error"])
        self.assert_serving()

    # --- health, metadata, readiness -------------------------------------------------------

    def test_health(self):
        self.assertEqual(self.call("GET", "/v2/health/live")[0], 200)
        self.assertEqual(self.call("GET", "/v2/health/ready")[0], 200)

    def test_server_metadata(self):
        status, body, headers = self.call("GET", "/v2")
        self.assertEqual(status, 200)
        self.assertEqual(body["name"], "ferry")
        self.assertIn("version", body)
        self.assertIsInstance(body["extensions"], list)
        self.assertEqual(headers["Content-Type"], "application/json")

    def test_model_metadata(self):
        status, body, _ = self.call("GET", "/v2/models/pima")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {
            "name": "pima", "versions": ["1", "3"], "platform": "onnxruntime_onnx",
            "inputs": [{"name": "features", "datatype": "FP32", "shape": [-1, 8]}],
            "outputs": [{"name": "probability", "datatype": "FP32", "shape": [-1, 1]},
                        {"name": "label", "datatype": "INT64", "shape": [-1, 1]}]})
        status, body, _ = self.call("GET", "/v2/models/pima/versions/1")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["versions"], ["1"])

    def test_signature_read_from_the_model_without_model_yaml(self):
        status, body, _ = self.call("GET", "/v2/models/latest")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["versions"], ["2"])
        self.assertEqual(body["inputs"], [{"name": "features", "datatype": "FP32", "shape": [-1, 8]}])

    def test_readiness(self):
        self.assertEqual(self.call("GET", "/v2/models/pima/ready")[0], 200)
        self.assertEqual(self.call("GET", "/v2/models/pima/versions/3/ready")[0], 200)
        self.assertEqual(self.call("GET", "/v2/models/latest/versions/1/ready")[0], 404)
        self.assertEqual(self.call("GET", "/v2/models/broken/ready")[0], 503)
        self.assertEqual(self.call("GET", "/v2/models/broken/versions/1/ready")[0], 503)
        self.assertEqual(self.call("GET", "/v2/models/badyaml/ready")[0], 503)
        self.assertEqual(self.call("GET", "/v2/models/nope/ready")[0], 404)

    def test_startup_log_names_each_model_and_state(self):
        log = self.ferry.log()
        self.assertIn("model repository", log)
        self.assertIn("model 'pima' version 1: READY", log)
        self.assertIn("model 'pima' version 3: READY", log)
        self.assertIn("model 'broken' version 1: UNAVAILABLE", log)
        self.assertIn("model 'badyaml': UNAVAILABLE", log)
        self.assertIn("unknown key 'max_batchsize'", log)
        self.assertIn("latest/notaversion: not a numeric version folder", log)

    # --- inference --------------------------------------------------------------------------

    def test_infer_one_row_matches_the_logistic_formula(self):
        body = self.infer([ROW_A], id="req-42")
        self.assertEqual(body["model_name"], "pima")
        self.assertEqual(body["model_version"], "3")
        self.assertEqual(body["id"], "req-42")
        probability, label = body["outputs"]
        self.assertEqual(probability["name"], "probability")
        self.assertEqual(probability["datatype"], "FP32")
        self.assertEqual(probability["shape"], [1, 1])
        expected = models.pima_probability(ROW_A)
        self.assertAlmostEqual(probability["data"][0], expected, places=5)
        self.assertEqual(label, {"name": "label", "datatype": "INT64", "shape": [1, 1],
                                 "data": [int(expected > 0.5)]})

    def test_infer_batch_of_rows_nested_and_flat(self):
        rows = [ROW_A, ROW_B, ROW_C, ROW_B, ROW_A]
        nested = self.infer(rows)
        status, flat, _ = self.call("POST", "/v2/models/pima/infer", {"inputs": [
            {"name": "features", "shape": [5, 8], "datatype": "FP32", "data": [x for row in rows for x in row]}]})
        self.assertEqual(status, 200, flat)
        for body in (nested, flat):
            probability = body["outputs"][0]
            self.assertEqual(probability["shape"], [5, 1])
            for got, row in zip(probability["data"], rows):
                self.assertAlmostEqual(got, models.pima_probability(row), places=5)
            self.assertEqual(body["outputs"][1]["data"], [int(models.pima_probability(r) > 0.5) for r in rows])

    def test_selected_outputs(self):
        body = self.infer([ROW_A, ROW_B], outputs=[{"name": "label"}])
        self.assertEqual([o["name"] for o in body["outputs"]], ["label"])
        body = self.infer([ROW_A], outputs=[{"name": "label"}, {"name": "probability"}])
        self.assertEqual([o["name"] for o in body["outputs"]], ["label", "probability"])

    def test_version_routes(self):
        v1 = self.infer([ROW_B], path="/v2/models/pima/versions/1/infer")
        v3 = self.infer([ROW_B], path="/v2/models/pima/versions/3/infer")
        self.assertEqual(v1["model_version"], "1")
        self.assertEqual(v3["model_version"], "3")
        self.assertAlmostEqual(v1["outputs"][0]["data"][0], models.pima_probability(ROW_B, V1_INTERCEPT), places=5)
        self.assertAlmostEqual(v3["outputs"][0]["data"][0], models.pima_probability(ROW_B), places=5)
        latest = self.infer([ROW_B], path="/v2/models/latest/infer")
        self.assertEqual(latest["model_version"], "2")

    def test_every_datatype_through_onnx_runtime(self):
        data = {
            "BOOL": [True, False, False, True], "UINT8": [0, 1, 200, 255], "UINT16": [0, 1, 65535, 7],
            "UINT32": [0, 1, 4294967295, 7], "UINT64": [0, 1, 18446744073709551615, 7],
            "INT8": [-128, 0, 127, 5], "INT16": [-32768, 0, 32767, 5], "INT32": [-2147483648, 0, 2147483647, 5],
            "INT64": [-9223372036854775808, 0, 9223372036854775807, 5], "FP16": [1.5, -2.0, 0.25, 65504.0],
            "FP32": [0.1, -3.5, 1e30, 0.0], "FP64": [0.1, -3.5, 1e300, 2.5],
            "BYTES": ["a", "", "ünïcode", "x y"],
        }
        body = {"inputs": [{"name": f"in_{t}", "datatype": t, "shape": [2, 2], "data": v} for t, v in data.items()]}
        status, answer, _ = self.call("POST", "/v2/models/identity/infer", body)
        self.assertEqual(status, 200, answer)
        outputs = {o["name"]: o for o in answer["outputs"]}
        for t, values in data.items():
            out = outputs[f"out_{t}"]
            self.assertEqual(out["datatype"], t)
            self.assertEqual(out["shape"], [2, 2])
            if t == "FP32":
                np.testing.assert_allclose(out["data"], values, rtol=1e-7)
            else:
                self.assertEqual(out["data"], values, t)

    def test_keep_alive_connection_serves_many_requests(self):
        conn = self.ferry.connection()
        try:
            for i in range(20):
                status, body, _ = self.call("POST", "/v2/models/pima/infer", infer_body([ROW_C], id=str(i)), conn=conn)
                self.assertEqual(status, 200)
                self.assertEqual(body["id"], str(i))
            status, _, _ = self.call("GET", "/v2/models/nope", conn=conn)  # an error keeps the connection
            self.assertEqual(status, 404)
            self.assertEqual(self.call("GET", "/v2/health/live", conn=conn)[0], 200)
        finally:
            conn.close()

    def test_concurrent_requests_get_their_own_answers(self):
        rows = [ROW_A, ROW_B, ROW_C]
        failures = []

        def client(k):
            conn = self.ferry.connection()
            try:
                for i in range(25):
                    row = rows[(k + i) % 3]
                    status, body, _ = self.call("POST", "/v2/models/pima/infer", infer_body([row], id=f"{k}-{i}"),
                                                conn=conn)
                    if status != 200 or body["id"] != f"{k}-{i}" or \
                            abs(body["outputs"][0]["data"][0] - models.pima_probability(row)) > 1e-5:
                        failures.append((k, i, status, body))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(failures, [])

    # --- statistics and configuration extensions ------------------------------------------

    def test_statistics(self):
        for rows in ([ROW_A], [ROW_A, ROW_B], [ROW_B, ROW_C]):
            self.infer(rows, path="/v2/models/counted/infer")
        status, _, _ = self.call("POST", "/v2/models/counted/infer", {"inputs": []})  # fails validation
        self.assertEqual(status, 400)
        status, body, _ = self.call("GET", "/v2/models/counted/stats")
        self.assertEqual(status, 200, body)
        (stats,) = body["model_stats"]
        self.assertEqual((stats["name"], stats["version"]), ("counted", "1"))
        self.assertEqual(stats["inference_count"], 5)
        self.assertEqual(stats["execution_count"], 3)
        self.assertGreater(stats["last_inference"], 1_700_000_000_000)
        inference = stats["inference_stats"]
        self.assertEqual(inference["success"]["count"], 3)
        self.assertEqual(inference["fail"]["count"], 1)
        for key in ("queue", "compute_input", "compute_infer", "compute_output"):
            self.assertEqual(inference[key]["count"], 3, key)
        self.assertGreater(inference["success"]["ns"], inference["compute_infer"]["ns"])
        self.assertGreater(inference["compute_infer"]["ns"], 0)
        self.assertEqual([(b["batch_size"], b["compute_infer"]["count"]) for b in stats["batch_stats"]],
                         [(1, 1), (2, 2)])
        same = self.call("GET", "/v2/models/counted/versions/1/stats")[1]
        self.assertEqual(same["model_stats"][0]["inference_count"], 5)
        everything = self.call("GET", "/v2/models/stats")[1]
        names = {(s["name"], s["version"]) for s in everything["model_stats"]}
        self.assertLessEqual({("counted", "1"), ("pima", "1"), ("pima", "3"), ("latest", "2")}, names)
        self.assertEqual(self.call("GET", "/v2/models/nope/stats")[0], 404)
        self.assertEqual(self.call("GET", "/v2/models/broken/stats")[0], 503)

    def test_model_config(self):
        status, config, _ = self.call("GET", "/v2/models/counted/config")
        self.assertEqual(status, 200, config)
        self.assertEqual(config["name"], "counted")
        self.assertEqual(config["platform"], "onnxruntime_onnx")
        self.assertEqual(config["backend"], "onnxruntime")
        self.assertEqual(config["max_batch_size"], 8)
        self.assertEqual(config["version_policy"], {"latest": {"num_versions": 1}})
        self.assertEqual(config["input"], [{"name": "features", "data_type": "TYPE_FP32", "dims": [8]}])
        self.assertEqual(config["output"], [{"name": "probability", "data_type": "TYPE_FP32", "dims": [1]},
                                            {"name": "label", "data_type": "TYPE_INT64", "dims": [1]}])
        self.assertEqual(config["instance_group"], [{"name": "counted", "kind": "KIND_CPU", "count": 2}])
        self.assertEqual(config["parameters"], {"intra_op_threads": {"string_value": "1"}})
        self.assertNotIn("dynamic_batching", config)  # off: Triton leaves it out too
        unbatched = self.call("GET", "/v2/models/latest/versions/2/config")[1]
        self.assertEqual(unbatched["max_batch_size"], 0)
        self.assertEqual(unbatched["input"][0]["dims"], [-1, 8])  # no batch dim to strip
        self.assertEqual(self.call("GET", "/v2/models/latest/versions/1/config")[0], 404)

    def test_extensions_listed(self):
        extensions = self.call("GET", "/v2")[1]["extensions"]
        self.assertEqual(sorted(extensions), ["binary_tensor_data", "classification", "model_configuration",
                                              "model_repository", "statistics"])

    # --- errors: each answered clearly, and the server keeps serving ------------------------

    def test_malformed_json(self):
        self.assert_error(400, "not valid JSON", "POST", "/v2/models/pima/infer", '{"inputs": [')

    def test_unknown_datatype(self):
        body = infer_body([ROW_A])
        body["inputs"][0]["datatype"] = "FLOAT32"
        self.assert_error(400, "unknown datatype 'FLOAT32'", "POST", "/v2/models/pima/infer", body)

    def test_shape_and_data_count_mismatch(self):
        body = infer_body([ROW_A])
        body["inputs"][0]["data"] = ROW_A[:7]
        self.assert_error(400, "shape [1, 8] needs 8 values, data has 7", "POST", "/v2/models/pima/infer", body)

    def test_shape_not_fitting_the_model(self):
        body = {"inputs": [{"name": "features", "shape": [1, 7], "datatype": "FP32", "data": ROW_A[:7]}]}
        self.assert_error(400, "has shape [1, 7], the model expects [-1, 8]", "POST", "/v2/models/pima/infer", body)

    def test_wrong_datatype_for_the_model_input(self):
        body = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "INT32", "data": [1] * 8}]}
        self.assert_error(400, "must be FP32, got INT32", "POST", "/v2/models/pima/infer", body)

    def test_missing_input(self):
        body = {"inputs": [{"name": "feature", "shape": [1, 8], "datatype": "FP32", "data": ROW_A}]}
        self.assert_error(400, "has no input 'feature'", "POST", "/v2/models/pima/infer", body)
        self.assert_error(400, "missing input 'features'", "POST", "/v2/models/pima/infer", {"inputs": []})

    def test_unknown_output(self):
        self.assert_error(400, "has no output 'score'", "POST", "/v2/models/pima/infer",
                          infer_body([ROW_A], outputs=[{"name": "score"}]))

    def test_too_many_rows_for_max_batch_size(self):
        self.assert_error(400, "more than max_batch_size 64", "POST", "/v2/models/pima/infer", infer_body([ROW_A] * 65))

    def test_unknown_model_version_and_route(self):
        self.assert_error(404, "unknown model 'nope'", "POST", "/v2/models/nope/infer", infer_body([ROW_A]))
        self.assert_error(404, "has no version 2 being served", "POST", "/v2/models/pima/versions/2/infer",
                          infer_body([ROW_A]))
        self.assert_error(404, "has no version 1 being served (served: [2])", "GET", "/v2/models/latest/versions/1")
        self.assert_error(404, "no route /v2/whatever", "GET", "/v2/whatever")
        self.assert_error(404, "no route /v1/models", "GET", "/v1/models")
        # The model is looked up before the body is read: an unknown one is 404 whatever the body.
        self.assert_error(404, "unknown model 'nope'", "POST", "/v2/models/nope/infer", "not json at all")
        self.assert_error(404, "unknown model 'nope'", "POST", "/v2/models/nope/predict", "not json at all")
        self.assert_error(404, "has no version 2 being served", "POST", "/v2/models/pima/versions/2/infer", "{")

    def test_method_not_allowed(self):
        status, body, headers = self.call("GET", "/v2/models/pima/infer")
        self.assertEqual(status, 405, body)
        self.assertEqual(headers["Allow"], "POST")
        self.assertIn("accepts only POST", body["error"])
        self.assert_error(405, "accepts only GET", "DELETE", "/v2/models/pima")

    def test_body_over_the_limit(self):
        rows = [ROW_A] * 5000  # about 185 kB of JSON
        self.assert_error(413, f"exceeds the limit of {MAX_REQUEST_BYTES} bytes", "POST", "/v2/models/pima/infer",
                          infer_body(rows))

    def test_model_not_ready(self):
        self.assert_error(503, "model 'broken' version 1 is unavailable", "POST", "/v2/models/broken/infer",
                          infer_body([ROW_A]))
        self.assert_error(503, "unknown key 'max_batchsize'", "POST", "/v2/models/badyaml/infer", infer_body([ROW_A]))

    def test_malformed_http(self):
        with socket.create_connection(("127.0.0.1", self.ferry.port), timeout=10) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            reply = s.recv(4096).decode("latin-1")
        self.assertTrue(reply.startswith("HTTP/1.1 400"), reply)
        self.assertIn('"error"', reply)
        self.assert_serving()

    def test_expect_100_continue_gets_its_go_ahead(self):
        body = json.dumps(infer_body([ROW_A])).encode()
        head = (f"POST /v2/models/pima/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", self.ferry.port), timeout=2) as s:
            s.sendall(head)
            interim = s.recv(4096).decode("latin-1")  # times out (fails) if ferry waits for the body
            self.assertTrue(interim.startswith("HTTP/1.1 100 Continue"), interim)
            s.sendall(body)
            final = b""
            while b'"outputs"' not in final or not final.endswith(b"}"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                final += chunk
        self.assertTrue(final.startswith(b"HTTP/1.1 200"), final)

    def test_garbage_in_every_field_never_crashes(self):
        bad_bodies = [
            "", "null", "[]", '{"inputs": null}', '{"inputs": [null]}', '{"inputs": [{"name": 1}]}',
            '{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8], "data": {"a": 1}}]}',
            '{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8], "data": [[[[[[1]]]]]]}]}',
            '{"inputs": [{"name": "features", "datatype": "FP32", "shape": [99999999999, 99999999999], "data": []}]}',
            '{"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8], "data": [1,2,3,4,5,6,7,"8"]}]}',
            json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [1, 8], "data": ROW_A}],
                        "outputs": "all"}),
            '{"inputs": [{"name": "features", "datatype": "BYTES", "shape": [1, 8], "data": ["a"]}]}',
        ]
        for body in bad_bodies:
            status, answer, _ = self.call("POST", "/v2/models/pima/infer", body)
            self.assertEqual(status, 400, (body, answer))
            self.assertIn("error", answer)
        self.assert_serving()


if __name__ == "__main__":
    unittest.main()
