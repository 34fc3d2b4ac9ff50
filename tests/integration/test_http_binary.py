"""Integration tests of the HTTP binary tensor data extension against the real build/ferry.

Requests are built byte by byte here (struct), not with ferry's encoder, and answers are parsed
the same way, so the test checks the wire format itself.
"""
import json
import shutil
import struct
import tempfile
import unittest

import numpy as np

import models
from ferry_process import FerryProcess

ROW_A = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
ROW_B = [1, 85, 66, 29, 0, 26.6, 0.351, 31]


def binary_request(header, *blobs):
    """Body = JSON header then the blobs; returns (body, headers)."""
    head = json.dumps(header).encode()
    body = head + b"".join(blobs)
    return body, {"Inference-Header-Content-Length": str(len(head)), "Content-Type": "application/octet-stream"}


def split_response(raw, headers):
    """Splits a binary response into (json, binary tail) by its Inference-Header-Content-Length."""
    length = int(headers["inference-header-content-length"])
    return json.loads(raw[:length]), raw[length:]


def bytes_elements(*items):
    return b"".join(struct.pack("<I", len(s)) + s for s in items)


class HttpBinaryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_bin_")
        models.save_pima(f"{cls.repo}/pima/1/model.onnx")
        models.save_identity(f"{cls.repo}/identity/1/model.onnx")
        cls.ferry = FerryProcess(cls.repo)

    @classmethod
    def tearDownClass(cls):
        cls.ferry.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def assert_serving(self):
        body, headers = binary_request(
            {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                         "parameters": {"binary_data_size": 32}}]},
            struct.pack("<8f", *ROW_A))
        status, raw, _ = self.ferry.post_raw("/v2/models/pima/infer", body, headers)
        self.assertEqual(status, 200, raw)

    def assert_400(self, fragment, body, headers):
        status, raw, _ = self.ferry.post_raw("/v2/models/pima/infer", body, headers)
        self.assertEqual(status, 400, raw)
        self.assertIn(fragment, json.loads(raw)["error"])
        self.assert_serving()

    def test_binary_input_and_binary_outputs(self):
        body, headers = binary_request(
            {"inputs": [{"name": "features", "shape": [2, 8], "datatype": "FP32",
                         "parameters": {"binary_data_size": 64}}],
             "parameters": {"binary_data_output": True}},
            struct.pack("<16f", *ROW_A, *ROW_B))
        status, raw, response_headers = self.ferry.post_raw("/v2/models/pima/infer", body, headers)
        self.assertEqual(status, 200, raw)
        header, tail = split_response(raw, response_headers)
        probability, label = header["outputs"]
        self.assertNotIn("data", probability)
        self.assertEqual(probability["parameters"]["binary_data_size"], 8)
        self.assertEqual(label["parameters"]["binary_data_size"], 16)
        self.assertEqual(len(tail), 24)
        p = struct.unpack("<2f", tail[:8])
        labels = struct.unpack("<2q", tail[8:])
        for got, row in zip(p, (ROW_A, ROW_B)):
            self.assertAlmostEqual(got, models.pima_probability(row), places=5)
        self.assertEqual(list(labels), [1, 0])

    def test_large_bodies_binary_and_json(self):
        """Bodies over 64 KiB take the server's one-read path; the answer must be the same."""
        rows = [ROW_A if i % 3 else ROW_B for i in range(4000)]
        flat = [x for row in rows for x in row]
        body, headers = binary_request(
            {"inputs": [{"name": "features", "shape": [4000, 8], "datatype": "FP32",
                         "parameters": {"binary_data_size": 4 * len(flat)}}],
             "outputs": [{"name": "label", "parameters": {"binary_data": True}}]},
            struct.pack(f"<{len(flat)}f", *flat))
        self.assertGreater(len(body), 100_000)
        status, raw, response_headers = self.ferry.post_raw("/v2/models/pima/infer", body, headers)
        self.assertEqual(status, 200, raw[:300])
        _, tail = split_response(raw, response_headers)
        expected = [int(models.pima_probability(r) > 0.5) for r in rows]
        self.assertEqual(list(struct.unpack(f"<{len(rows)}q", tail)), expected)
        as_json = json.dumps({"inputs": [{"name": "features", "shape": [4000, 8], "datatype": "FP32", "data": rows}],
                              "outputs": [{"name": "label"}]})
        self.assertGreater(len(as_json), 100_000)
        status, raw, _ = self.ferry.post_raw("/v2/models/pima/infer", as_json, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, raw[:300])
        self.assertEqual(json.loads(raw)["outputs"][0]["data"], expected)
        self.assert_serving()

    def test_per_output_choice_overrides_the_default(self):
        body, headers = binary_request(
            {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW_A}],
             "outputs": [{"name": "probability", "parameters": {"binary_data": True}}, {"name": "label"}]})
        status, raw, response_headers = self.ferry.post_raw("/v2/models/pima/infer", body, headers)
        self.assertEqual(status, 200, raw)
        header, tail = split_response(raw, response_headers)
        self.assertEqual(header["outputs"][1]["data"], [1])
        self.assertAlmostEqual(struct.unpack("<f", tail)[0], models.pima_probability(ROW_A), places=5)

    def test_json_only_request_gets_json_only_answer(self):
        status, raw, headers = self.ferry.post_raw(
            "/v2/models/pima/infer",
            json.dumps({"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW_A}]}),
            {"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertNotIn("Inference-Header-Content-Length", headers)
        self.assertEqual(headers["content-type"], "application/json")
        json.loads(raw)

    def test_every_datatype_mixed_binary_and_json(self):
        blobs = {
            "BOOL": (struct.pack("<4?", True, False, False, True), [True, False, False, True]),
            "UINT8": (struct.pack("<4B", 0, 1, 200, 255), [0, 1, 200, 255]),
            "UINT16": (struct.pack("<4H", 0, 1, 65535, 7), [0, 1, 65535, 7]),
            "UINT32": (struct.pack("<4I", 0, 1, 4294967295, 7), [0, 1, 4294967295, 7]),
            "UINT64": (struct.pack("<4Q", 0, 1, 2**64 - 1, 7), [0, 1, 2**64 - 1, 7]),
            "INT8": (struct.pack("<4b", -128, 0, 127, 5), [-128, 0, 127, 5]),
            "INT16": (struct.pack("<4h", -32768, 0, 32767, 5), [-32768, 0, 32767, 5]),
            "INT32": (struct.pack("<4i", -2**31, 0, 2**31 - 1, 5), [-2**31, 0, 2**31 - 1, 5]),
            "INT64": (struct.pack("<4q", -2**63, 0, 2**63 - 1, 5), [-2**63, 0, 2**63 - 1, 5]),
            "FP16": (np.array([1.5, -2.0, 0.25, 65504.0], dtype="<f2").tobytes(), [1.5, -2.0, 0.25, 65504.0]),
            "FP32": (struct.pack("<4f", 0.5, -3.5, 1e30, 0.0), None),
            "FP64": (struct.pack("<4d", 0.1, -3.5, 1e300, 2.5), [0.1, -3.5, 1e300, 2.5]),
            "BYTES": (bytes_elements(b"a", b"", b"\x00\xffraw", b"x y"), None),
        }
        inputs, tail = [], []
        for i, (dtype, (blob, values)) in enumerate(blobs.items()):
            if i % 2 == 0:  # every other input travels as binary
                inputs.append({"name": f"in_{dtype}", "datatype": dtype, "shape": [2, 2],
                               "parameters": {"binary_data_size": len(blob)}})
                tail.append(blob)
            else:
                inputs.append({"name": f"in_{dtype}", "datatype": dtype, "shape": [2, 2], "data": values})
        body, headers = binary_request({"inputs": inputs, "parameters": {"binary_data_output": True}}, *tail)
        status, raw, response_headers = self.ferry.post_raw("/v2/models/identity/infer", body, headers)
        self.assertEqual(status, 200, raw)
        header, data = split_response(raw, response_headers)
        offset = 0
        for output in header["outputs"]:
            size = output["parameters"]["binary_data_size"]
            chunk = data[offset:offset + size]
            offset += size
            dtype = output["datatype"]
            self.assertEqual(chunk, blobs[dtype][0], dtype)  # identity: the same bytes come back
        self.assertEqual(offset, len(data))

    # --- malformed binary requests: 400 each, then the server still serves ----------------

    def test_header_length_past_the_end_of_the_body(self):
        body, headers = binary_request({"inputs": []})
        headers["Inference-Header-Content-Length"] = str(len(body) + 10)
        self.assert_400("exceeds the body size", body, headers)

    def test_header_length_negative_or_not_a_number(self):
        body, headers = binary_request({"inputs": []})
        for bad in ("-5", "abc", "12x", ""):
            headers["Inference-Header-Content-Length"] = bad
            self.assert_400("is not a byte count", body, headers)

    def test_binary_size_past_the_end(self):
        body, headers = binary_request(
            {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                         "parameters": {"binary_data_size": 64}}]},
            struct.pack("<8f", *ROW_A))
        self.assert_400("binary_data_size 64 runs past the end of the body (32 bytes of binary data remain)",
                        body, headers)

    def test_binary_size_not_matching_the_shape(self):
        body, headers = binary_request(
            {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                         "parameters": {"binary_data_size": 28}}]},
            struct.pack("<7f", *ROW_A[:7]))
        self.assert_400("needs 8 values of 4 bytes, got 28 bytes", body, headers)

    def test_negative_binary_size(self):
        body, headers = binary_request(
            {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                         "parameters": {"binary_data_size": -32}}]},
            struct.pack("<8f", *ROW_A))
        self.assert_400("binary_data_size must be a non-negative integer", body, headers)

    def test_bytes_length_prefix_past_the_end(self):
        blob = struct.pack("<I", 100) + b"short"
        body, headers = binary_request(
            {"inputs": [{"name": "in_BYTES", "shape": [1], "datatype": "BYTES",
                         "parameters": {"binary_data_size": len(blob)}}]}, blob)
        status, raw, _ = self.ferry.post_raw("/v2/models/identity/infer", body, headers)
        self.assertEqual(status, 400, raw)
        self.assertIn("claims 100 bytes, only 5 remain", json.loads(raw)["error"])
        self.assert_serving()

    def test_unclaimed_binary_bytes(self):
        body, headers = binary_request(
            {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW_A}]}, b"\x00\x01")
        self.assert_400("2 bytes of binary data that no input claims", body, headers)


if __name__ == "__main__":
    unittest.main()
