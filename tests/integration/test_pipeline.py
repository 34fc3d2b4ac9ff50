"""Integration tests of pipelines and the business API (POST /v2/models/{m}/predict) on the real
build/ferry: the shipped examples/models/pima-pipeline over its real ONNX model, and a second
pipeline with optional fields, a skip filter and the default answer.
"""
import json
import math
import os
import shutil
import tempfile
import unittest

import numpy as np

import grpc

import models
from ferry_process import FerryProcess
from test_grpc import compile_protos

PIMA = models.PIMA
FIELDS = ["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"]
ROW_A = dict(zip(FIELDS, [6, 148, 72, 35, 0, 33.6, 0.627, 50]))
ROW_B = dict(zip(FIELDS, [1, 85, 66, 29, 0, 26.6, 0.351, 31]))

# A second pipeline over the 8-feature pima model: mass may be missing (imputed), records of
# people under 21 are skipped, and with no respond step the answer is the model's outputs.
SCREEN = """
pipeline:
  - name: fields
    kind: record
    fields:
      preg: number
      plas: number
      pres: number
      skin: number
      test: number
      mass: {type: number, required: false}
      pedi: number
      age: integer
  - {name: fill_mass, kind: impute, field: mass, mean: 32.0}
  - {name: adults_only, kind: filter, field: age, less_than: 21}
  - {name: features, kind: tensor, output: features, fields: [preg, plas, pres, skin, test, mass, pedi, age]}
  - {name: score, kind: model, model: pima}
"""

BROKEN = """
pipeline:
  - {name: fields, kind: record, fields: {a: number}}
  - {name: lg, kind: log1p, field: b}
"""


def engineered_probability(record):
    """What pima-pipeline computes, done here: log1p(mass), is_adult, the 9-feature model."""
    features = [record["preg"], record["plas"], record["pres"], record["skin"], record["test"],
                math.log1p(record["mass"]), record["pedi"], record["age"], 1.0 if record["age"] > 18 else 0.0]
    z = PIMA.ENGINEERED_INTERCEPT + sum(w * x for w, x in zip(PIMA.ENGINEERED_WEIGHTS, features))
    return 1.0 / (1.0 + math.exp(-z))


class PipelineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_pipeline_")
        examples = os.path.join(models.SOURCE_DIR, "examples", "models")
        for name in ("pima-features", "pima-pipeline"):
            shutil.copytree(os.path.join(examples, name), os.path.join(cls.repo, name))
        models.save_pima(f"{cls.repo}/pima/1/model.onnx")
        with open(f"{cls.repo}/pima/model.yaml", "w") as f:
            f.write("max_batch_size: 256\n")
        os.makedirs(f"{cls.repo}/screen")
        with open(f"{cls.repo}/screen/model.yaml", "w") as f:
            f.write(SCREEN)
        os.makedirs(f"{cls.repo}/broken")
        with open(f"{cls.repo}/broken/model.yaml", "w") as f:
            f.write(BROKEN)
        # The same model without max_batch_size: its declared shape ([-1, 9] or [1, 9]) is
        # taken as it is, and a pipeline's model step must call it so.
        pipeline = open(os.path.join(examples, "pima-pipeline", "model.yaml")).read()
        for name, shape in (("any", "[-1, 9]"), ("one", "[1, 9]")):
            shutil.copytree(os.path.join(examples, "pima-features", "1"), f"{cls.repo}/features-{name}/1")
            with open(f"{cls.repo}/features-{name}/model.yaml", "w") as f:
                f.write(f"backend: onnxruntime\ninputs: [{{name: features, datatype: FP32, shape: {shape}}}]\n")
            os.makedirs(f"{cls.repo}/pipeline-{name}")
            with open(f"{cls.repo}/pipeline-{name}/model.yaml", "w") as f:
                f.write(pipeline.replace("model: pima-features", f"model: features-{name}"))
        cls.server = FerryProcess(cls.repo, grpc=True)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def predict(self, body, model="pima-pipeline"):
        return self.server.request("POST", f"/v2/models/{model}/predict", body)[:2]

    def assert_serving(self):
        status, body = self.predict(ROW_A)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["predictions"][0]["label"], "diabetic")

    def assert_rejected(self, prediction, step, *fragments):
        self.assertEqual(prediction["step"], step, prediction)
        for fragment in fragments:
            self.assertIn(fragment, prediction["error"])

    def test_metadata_describes_the_record_and_the_tensors(self):
        status, meta, _ = self.server.request("GET", "/v2/models/pima-pipeline")
        self.assertEqual(status, 200)
        self.assertEqual(meta["platform"], "ferry_pipeline")
        self.assertEqual([f["name"] for f in meta["record_fields"]], FIELDS)
        self.assertEqual(meta["record_fields"][7], {"name": "age", "type": "integer", "required": True})
        self.assertEqual(meta["inputs"], [{"name": "features", "datatype": "FP32", "shape": [-1, 9]}])
        self.assertEqual(meta["outputs"], [{"name": "probability", "datatype": "FP32", "shape": [-1, 1]},
                                           {"name": "label", "datatype": "BYTES", "shape": [-1]}])
        _, screen, _ = self.server.request("GET", "/v2/models/screen")
        self.assertEqual(screen["record_fields"][5], {"name": "mass", "type": "number", "required": False})

    def test_one_record_is_answered_as_computed_by_hand(self):
        for record in (ROW_A, ROW_B):
            status, body = self.predict(record)
            self.assertEqual(status, 200, body)
            [answer] = body["predictions"]
            expected = engineered_probability(record)
            self.assertAlmostEqual(answer["probability"], expected, places=5)
            self.assertEqual(answer["label"], "diabetic" if expected > 0.5 else "healthy")

    def test_a_model_step_calls_a_model_without_max_batch_size_by_its_declared_shape(self):
        records = [ROW_A, ROW_B, ROW_A]
        for name in ("any", "one"):
            status, body = self.predict({"instances": records}, model=f"pipeline-{name}")
            self.assertEqual(status, 200, f"{name}: {body}")
            for record, answer in zip(records, body["predictions"]):
                self.assertAlmostEqual(answer["probability"], engineered_probability(record), places=5, msg=name)

    def test_instances_keep_their_order_and_rejections_name_field_and_step(self):
        bad_type = dict(ROW_B, age="old")
        missing = {k: v for k, v in ROW_A.items() if k != "plas"}
        out_of_range = dict(ROW_A, plas=585)
        not_integer = dict(ROW_A, age=33.5)
        negative = dict(ROW_A, mass=-1)  # log1p(-1) is not defined; validate rejects it first
        nan_string = dict(ROW_A, mass="NaN")
        status, body = self.predict({"instances": [ROW_A, bad_type, missing, out_of_range, ROW_B, not_integer,
                                                   negative, nan_string]})
        self.assertEqual(status, 200, body)
        p = body["predictions"]
        self.assertEqual(len(p), 8)
        self.assertAlmostEqual(p[0]["probability"], engineered_probability(ROW_A), places=5)
        self.assert_rejected(p[1], "fields", "field 'age' must be an integer, got a string")
        self.assert_rejected(p[2], "fields", "field 'plas' is missing")
        self.assert_rejected(p[3], "check", "field 'plas': 585 is above the maximum 400")
        self.assertAlmostEqual(p[4]["probability"], engineered_probability(ROW_B), places=5)
        self.assert_rejected(p[5], "fields", "field 'age' must be an integer, got 33.5")
        self.assert_rejected(p[6], "check", "field 'mass': -1 is below the minimum 0")
        self.assert_rejected(p[7], "fields", "field 'mass' must be a number, got a string")
        self.assertNotIn("skipped", body)
        self.assert_serving()

    def test_a_single_rejected_record_is_422(self):
        status, body = self.predict(dict(ROW_A, pres=None))
        self.assertEqual(status, 422, body)
        self.assertEqual(body, {"error": "field 'pres' is missing", "step": "fields",
                                "errors": [{"field": "pres", "reason": "field 'pres' is missing"}]})
        status, body = self.predict({"instances": [dict(ROW_A, age=-5), dict(ROW_A, age=500)]})
        self.assertEqual(status, 422, body)
        self.assertEqual([p["step"] for p in body["predictions"]], ["check", "check"])
        self.assert_serving()

    def test_every_problem_of_a_record_is_reported_at_once(self):
        record = dict(ROW_A, age="old", plas=585, skin=-3)
        del record["pres"]
        status, body = self.predict(record)
        self.assertEqual(status, 422, body)
        # The record step's problems (type, missing), then the validate step's on the fields that
        # were read (ranges); the first is today's `error`.
        self.assertEqual(body["error"], "field 'pres' is missing")
        self.assertEqual(body["step"], "fields")
        self.assertEqual(body["errors"], [
            {"field": "pres", "reason": "field 'pres' is missing"},
            {"field": "age", "reason": "field 'age' must be an integer, got a string"},
            {"field": "plas", "reason": "field 'plas': 585 is above the maximum 400"},
            {"field": "skin", "reason": "field 'skin': -3 is below the minimum 0"}])
        status, body = self.predict({"instances": [ROW_B, dict(ROW_A, mass=-1, preg=99)]})
        self.assertEqual(status, 200, body)
        self.assertEqual([e["field"] for e in body["predictions"][1]["errors"]], ["preg", "mass"])
        self.assertNotIn("errors", body["predictions"][0])
        self.assert_serving()

    def test_empty_instances(self):
        self.assertEqual(self.predict({"instances": []}), (200, {"predictions": []}))
        self.assert_serving()

    def test_ten_thousand_instances_in_one_call(self):
        rng = np.random.default_rng(7)
        records = []
        for _ in range(10_000):
            records.append({"preg": int(rng.integers(0, 15)), "plas": float(rng.uniform(50, 200)),
                            "pres": float(rng.uniform(40, 110)), "skin": float(rng.uniform(0, 60)),
                            "test": float(rng.uniform(0, 300)), "mass": float(rng.uniform(18, 50)),
                            "pedi": float(rng.uniform(0.1, 2)), "age": int(rng.integers(21, 80))})
        status, body = self.predict({"instances": records})
        self.assertEqual(status, 200)
        self.assertEqual(len(body["predictions"]), 10_000)
        got = np.array([p["probability"] for p in body["predictions"]])
        expected = np.array([engineered_probability(r) for r in records])
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
        labels = [p["label"] for p in body["predictions"]]
        self.assertEqual(labels, ["diabetic" if e > 0.5 else "healthy" for e in expected])

    def test_skipped_records_are_left_out_and_listed(self):
        young = dict(ROW_B, age=19)
        no_mass = {k: v for k, v in ROW_A.items() if k != "mass"}
        status, body = self.predict({"instances": [ROW_A, young, no_mass]}, model="screen")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["skipped"], [1])
        first, second = body["predictions"]
        # The default answer: the model's outputs.
        self.assertEqual(set(first), {"probability", "label"})
        self.assertAlmostEqual(first["probability"], models.pima_probability([ROW_A[f] for f in FIELDS]), places=5)
        self.assertAlmostEqual(second["probability"],
                               models.pima_probability([32.0 if f == "mass" else ROW_A[f] for f in FIELDS]), places=5)
        self.assertEqual(second["label"], 1)
        status, body = self.predict(young, model="screen")
        self.assertEqual((status, body), (200, {"predictions": [], "skipped": [0]}))

    def test_bad_requests_get_a_clear_4xx(self):
        cases = [
            ("pima-pipeline", "{not json", 400, "not valid JSON"),
            ("pima-pipeline", '{"preg": NaN}', 400, "not valid JSON"),
            ("pima-pipeline", "[1, 2]", 400, "must be a JSON object"),
            ("pima-pipeline", '{"instances": [1]}', 400, "instances[0] must be a JSON object"),
            ("pima", json.dumps(ROW_A), 400, "model 'pima' is not a pipeline"),
            ("nope", json.dumps(ROW_A), 404, "unknown model 'nope'"),
            ("broken", json.dumps(ROW_A), 503, "'b' is not defined by an earlier step"),
        ]
        for model, body, code, fragment in cases:
            status, answer, _ = self.server.request("POST", f"/v2/models/{model}/predict", body)
            self.assertEqual(status, code, (model, body, answer))
            self.assertIn(fragment, answer["error"])
        status, _, headers = self.server.request("GET", "/v2/models/pima-pipeline/predict")
        self.assertEqual(status, 405)
        self.assert_serving()

    def test_a_broken_pipeline_is_unavailable_with_the_step_and_line(self):
        status, index, _ = self.server.request("POST", "/v2/repository/index", {})
        self.assertEqual(status, 200)
        broken = [m for m in index if m["name"] == "broken"]
        self.assertEqual(broken[0]["state"], "UNAVAILABLE")
        self.assertIn("broken/model.yaml:4: step 'lg' (log1p)", broken[0]["reason"])

    def test_infer_with_tensors_enters_after_the_tensor_step(self):
        features = [6, 148, 72, 35, 0, math.log1p(33.6), 0.627, 50, 1]
        body = {"inputs": [{"name": "features", "shape": [1, 9], "datatype": "FP32", "data": features}]}
        status, answer, _ = self.server.request("POST", "/v2/models/pima-pipeline/infer", body)
        self.assertEqual(status, 200, answer)
        outputs = {o["name"]: o for o in answer["outputs"]}
        self.assertAlmostEqual(outputs["probability"]["data"][0], engineered_probability(ROW_A), places=5)
        self.assertEqual(outputs["label"], {"name": "label", "datatype": "BYTES", "shape": [1], "data": ["diabetic"]})
        body["inputs"][0]["name"] = "x"
        status, answer, _ = self.server.request("POST", "/v2/models/pima-pipeline/infer", body)
        self.assertEqual(status, 400, answer)
        self.assertIn("missing input 'features'", answer["error"])
        self.assert_serving()

    def test_grpc_model_infer_on_a_pipeline(self):
        stubs = tempfile.mkdtemp(prefix="ferry_stubs_")
        try:
            pb, pb_grpc = compile_protos(stubs)
            with grpc.insecure_channel(f"127.0.0.1:{self.server.grpc_port}") as channel:
                stub = pb_grpc.GRPCInferenceServiceStub(channel)
                features = [6, 148, 72, 35, 0, math.log1p(33.6), 0.627, 50, 1]
                request = pb.ModelInferRequest(model_name="pima-pipeline")
                tensor = request.inputs.add(name="features", datatype="FP32", shape=[1, 9])
                tensor.contents.fp32_contents.extend(features)
                response = stub.ModelInfer(request, timeout=10)
                outputs = {o.name: i for i, o in enumerate(response.outputs)}
                probability = np.frombuffer(response.raw_output_contents[outputs["probability"]], dtype=np.float32)
                self.assertAlmostEqual(float(probability[0]), engineered_probability(ROW_A), places=5)
                label = response.raw_output_contents[outputs["label"]]
                self.assertEqual(label, b"\x08\x00\x00\x00diabetic")
                metadata = stub.ModelMetadata(pb.ModelMetadataRequest(name="pima-pipeline"), timeout=10)
                self.assertEqual(metadata.platform, "ferry_pipeline")
        finally:
            shutil.rmtree(stubs, ignore_errors=True)

    def test_statistics_count_pipeline_calls(self):
        self.assert_serving()
        status, stats, _ = self.server.request("GET", "/v2/models/pima-pipeline/stats")
        self.assertEqual(status, 200)
        self.assertGreater(stats["model_stats"][0]["inference_stats"]["success"]["count"], 0)


if __name__ == "__main__":
    unittest.main()
