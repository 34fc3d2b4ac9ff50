"""A generated corpus of malformed requests against the real build/ferry: every one gets a 4xx
with {"error": ...}, the server never crashes, and a good request still works after each batch.
Cases: truncated JSON, huge and negative shapes, mismatched counts, wrong types, invalid UTF-8,
binary lengths past the end, bad headers, garbage bytes. Run under the sanitizers too.
"""
import json
import random
import shutil
import struct
import tempfile
import unittest

import models
from ferry_process import FerryProcess

ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
GOOD = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW}]}
TYPES = ["BOOL", "UINT8", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16", "UINT64"]


def corpus():
    """(description, body bytes, extra headers) for at least 200 malformed requests."""
    rng = random.Random(20261121)
    cases = []
    good = json.dumps(GOOD).encode()
    for cut in range(1, len(good) - 1, max(1, len(good) // 40)):  # truncated JSON
        cases.append((f"truncated at {cut}", good[:cut], {}))
    for dims in ([-1, 8], [1, -8], [2 ** 62, 2 ** 62], [10 ** 12], [0, 8], [1, 8, 1], [], [1.5, 8], ["1", 8],
                 [None], [1, 2 ** 63], [True, 8]):
        body = {"inputs": [dict(GOOD["inputs"][0], shape=dims)]}
        cases.append((f"shape {dims}", json.dumps(body).encode(), {}))
    for n in (0, 1, 7, 9, 16, 1000):  # count mismatch
        body = {"inputs": [dict(GOOD["inputs"][0], data=[1.0] * n)]}
        cases.append((f"{n} values", json.dumps(body).encode(), {}))
    for dtype in TYPES + ["FLOAT", "fp32", "", "INT128", None, 5]:  # wrong datatypes and values
        for data in (ROW, ["a"] * 8, [True] * 8, [[1, 2]] * 4, [None] * 8, [{"x": 1}] * 8, [1e300] * 8, [-1] * 8):
            body = {"inputs": [dict(GOOD["inputs"][0], datatype=dtype, data=data)]}
            if dtype == "FP32" and data in (ROW, [[1, 2]] * 4, [-1] * 8, [None] * 8):
                continue  # valid, (nested [4,2] data) valid for FP32 [1, 8], or null: missing (NaN)
            cases.append((f"{dtype} with {str(data)[:20]}", json.dumps(body).encode(), {}))
    for raw in (b"\xff\xfe\xfd", b'{"inputs": [{"name": "\xc3\x28", "shape": [1], "datatype": "BYTES", "data": ["x"]}]}',
                b'{"inputs": [{"name": "features", "shape": [1], "datatype": "BYTES", "data": ["\xed\xa0\x80"]}]}',
                b"\x00" * 64, b"[" * 5000, b'{"inputs": ' + b"[" * 100 + b"]" * 100 + b"}", b"null", b"true", b"1e999",
                b'{"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": [NaN]}]}'):
        cases.append((f"raw {raw[:20]!r}", raw, {}))
    # Binary extension: lengths past the end, negative, non-numeric headers, BYTES prefixes past the end.
    payload = struct.pack("<8f", *ROW)
    for size in (-1, 0, 31, 33, 64, 2 ** 40, "32", 3.5, None):
        head = json.dumps({"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                                       "parameters": {"binary_data_size": size}}]}).encode()
        cases.append((f"binary size {size}", head + payload, {"Inference-Header-Content-Length": str(len(head))}))
    head = json.dumps({"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                                   "parameters": {"binary_data_size": 32}}]}).encode()
    for header in ("-5", "abc", "", "99999999999999999999", str(len(head) + 100), "1e3", " 12"):
        cases.append((f"header length {header!r}", head + payload, {"Inference-Header-Content-Length": header}))
    for prefix in (100, 2 ** 31, 2 ** 32 - 1):
        blob = struct.pack("<I", prefix) + b"abc"
        head = json.dumps({"inputs": [{"name": "s", "shape": [1], "datatype": "BYTES",
                                       "parameters": {"binary_data_size": len(blob)}}]}).encode()
        cases.append((f"BYTES prefix {prefix}", head + blob, {"Inference-Header-Content-Length": str(len(head))}))
    for i in range(60):  # random mutations of a good body
        mutated = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            if json.loads(mutated) == GOOD:
                continue
            doc = json.loads(mutated)
            if isinstance(doc, dict) and doc.get("inputs") and doc["inputs"][0].get("name") == "features" and \
                    doc["inputs"][0].get("datatype") == "FP32" and doc["inputs"][0].get("shape") == [1, 8]:
                continue  # a mutation in the numbers may still be a valid request
        except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError, IndexError):
            pass
        cases.append((f"mutation {i}", bytes(mutated), {}))
    return cases


class MalformedCorpusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_bad_")
        models.save_pima(f"{cls.repo}/pima/1/model.onnx")
        cls.ferry = FerryProcess(cls.repo)

    @classmethod
    def tearDownClass(cls):
        code = cls.ferry.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)
        assert code == 0, f"ferry exited with {code}:\n{cls.ferry.log()[-3000:]}"

    def test_every_malformed_request_gets_a_4xx_and_the_server_keeps_serving(self):
        cases = corpus()
        self.assertGreaterEqual(len(cases), 200)
        wrong = []
        conn = self.ferry.connection()
        for i, (name, body, headers) in enumerate(cases):
            try:
                status, answer, _ = self.ferry.request("POST", "/v2/models/pima/infer", body,
                                                       dict({"Content-Type": "application/json"}, **headers), conn=conn)
            except OSError as e:
                conn.close()
                conn = self.ferry.connection()
                status, answer = 0, str(e)
            if not (400 <= status < 500 and isinstance(answer, dict) and "error" in answer):
                wrong.append((name, status, answer))
            if i % 25 == 0:
                self.assertEqual(self.ferry.request("POST", "/v2/models/pima/infer", GOOD)[0], 200,
                                 f"not serving after case {name}")
        conn.close()
        self.assertEqual(wrong, [])
        self.assertIsNone(self.ferry.proc.poll(), "ferry died")
        self.assertEqual(self.ferry.request("POST", "/v2/models/pima/infer", GOOD)[0], 200)


if __name__ == "__main__":
    unittest.main()
