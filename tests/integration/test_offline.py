"""`ferry test` and `ferry infer --model-repository`: the shipped example models tested without a
server, as a data scientist's CI would -- case files with expected answers (exact and within a
tolerance), expected errors, --update, --junit -- and one request answered in-process."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

import models
from ferry_process import FERRY_BIN
from test_pipeline import engineered_probability

EXAMPLES = os.path.join(models.SOURCE_DIR, "examples", "models")
ROW = [6, 148, 72, 35, 0, 33.6, 0.627, 50]
RECORD = dict(zip(["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"], ROW))
PIMA = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW}]}


class OfflineTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="ferry_offline_")
        self.cases = os.path.join(self.work, "cases")
        os.makedirs(self.cases)

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def case(self, name, **fields):
        with open(os.path.join(self.cases, name + ".json"), "w") as f:
            json.dump(fields, f)

    def run_cases(self, *args):
        return subprocess.run([FERRY_BIN, "test", "--model-repository", EXAMPLES, self.cases, *args],
                              capture_output=True, text=True, timeout=300)

    def test_cases_pass_fail_and_say_where_an_answer_differs(self):
        self.case("a_predict", route="/v2/models/pima-pipeline/predict", body=RECORD,
                  expect={"predictions": [{"probability": engineered_probability(RECORD), "label": "diabetic"}]},
                  tolerance=1e-5)
        self.case("b_unknown_model", route="/v2/models/nope/infer", body=PIMA, status=404, error="nope")
        self.case("c_ready", route="/v2/health/ready", expect={"ready": True})
        self.case("d_off_by_a_little", route="/v2/models/pima-pipeline/predict", body=RECORD,
                  expect={"predictions": [{"probability": engineered_probability(RECORD) + 1e-3,
                                           "label": "diabetic"}]}, tolerance=1e-5)
        self.case("e_wrong_error", route="/v2/models/pima/infer", body={"inputs": []}, status=400,
                  error="something else")
        junit = os.path.join(self.work, "report.xml")
        run = self.run_cases("--junit", junit)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        lines = run.stdout.splitlines()
        self.assertIn("PASS " + os.path.join(self.cases, "a_predict.json"), "\n".join(lines))
        self.assertTrue(any(l.startswith("PASS") and "b_unknown_model" in l for l in lines), run.stdout)
        self.assertTrue(any(l.startswith("PASS") and "c_ready" in l for l in lines), run.stdout)
        off = next(l for l in lines if "d_off_by_a_little" in l)
        self.assertTrue(off.startswith("FAIL"), off)
        self.assertIn("$.predictions[0].probability: expected", off)
        wrong = next(l for l in lines if "e_wrong_error" in l)
        self.assertIn("does not say 'something else'", wrong)
        self.assertEqual(lines[-1], "3 passed, 2 failed")
        suite = ElementTree.parse(junit).getroot()
        self.assertEqual((suite.get("tests"), suite.get("failures")), ("5", "2"))
        failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
        self.assertEqual([os.path.basename(n) for n in failed], ["d_off_by_a_little.json", "e_wrong_error.json"])

    def test_update_records_the_answers_and_then_they_pass(self):
        self.case("infer", route="/v2/models/pima/infer", body=PIMA)
        self.case("missing", route="/v2/models/pima/infer", body={"inputs": []}, status=200)
        first = self.run_cases()
        self.assertEqual(first.returncode, 1)
        self.assertIn("expects nothing", first.stdout)
        updated = self.run_cases("--update")
        self.assertEqual(updated.returncode, 0, updated.stdout + updated.stderr)
        self.assertIn("(2 updated)", updated.stdout)
        with open(os.path.join(self.cases, "infer.json")) as f:
            recorded = json.load(f)
        self.assertEqual(recorded["body"], PIMA)
        probability = recorded["expect"]["outputs"][0]["data"][0]
        self.assertAlmostEqual(probability, 0.7217, places=3)
        with open(os.path.join(self.cases, "missing.json")) as f:
            recorded = json.load(f)
        self.assertEqual(recorded["status"], 400)
        self.assertIn("error", recorded)
        again = self.run_cases()
        self.assertEqual(again.returncode, 0, again.stdout)
        self.assertEqual(again.stdout.splitlines()[-1], "2 passed, 0 failed")

    def test_a_malformed_case_is_refused_naming_the_file_and_the_key(self):
        self.case("bad", route="/v2/health/ready", expected={"ready": True})
        run = self.run_cases()
        self.assertEqual(run.returncode, 2)
        self.assertIn("bad.json: unknown or mistyped key 'expected'", run.stderr)

    def test_infer_answers_from_a_repository_in_this_process(self):
        run = subprocess.run([FERRY_BIN, "infer", "--model-repository", EXAMPLES, "--model", "pima", "--input",
                              "features:FP32:1,8:" + ",".join(str(v) for v in ROW)],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, 0, run.stderr)
        answer = json.loads(run.stdout)
        self.assertAlmostEqual(answer["outputs"][0]["data"][0], 0.7217, places=3)
        run = subprocess.run([FERRY_BIN, "infer", "--model-repository", EXAMPLES, "--model", "nope", "--input",
                              "features:FP32:1,8:" + ",".join(str(v) for v in ROW)],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, 1)
        self.assertIn("HTTP 404", run.stderr)


if __name__ == "__main__":
    unittest.main()
