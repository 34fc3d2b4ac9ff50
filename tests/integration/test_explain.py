"""POST /v2/models/{m}/explain (docs/explain.md) on the real build/ferry: XGBoost's contributions
equal python3-xgboost's pred_contribs and add up to its margin; a linear model's are exact against
the background mean; top_k, the v2 format, feature names; and bad requests answered with the reason.
"""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import xgboost as xgb

from ferry_process import FerryProcess

FEATURES = 5
NAMES = ["age", "income", "debt", "tenure", "visits"]


def body(rows, **parameters):
    request = {"inputs": [{"name": "features", "shape": list(rows.shape), "datatype": "FP32",
                           "data": rows.astype(np.float32).ravel().tolist()}]}
    if parameters:
        request["parameters"] = parameters
    return request


class ExplainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_explain_")
        rng = np.random.default_rng(5)
        x = rng.normal(size=(400, FEATURES)).astype(np.float32)
        y_bin = (x[:, 0] + 0.5 * x[:, 2] - x[:, 4] > 0).astype(int)
        y_reg = 3 * x[:, 1] - x[:, 3] + rng.normal(scale=0.1, size=400)
        y_multi = np.digitize(x[:, 1], [-0.5, 0.5])
        cls.x = rng.normal(size=(20, FEATURES)).astype(np.float32)
        params = {"max_depth": 4, "eta": 0.3, "nthread": 1}
        cls.boosters = {}
        for name, objective, y, extra, names in [
                ("xgb-bin", "binary:logistic", y_bin, {}, NAMES),
                ("xgb-reg", "reg:squarederror", y_reg, {}, None),
                ("xgb-multi", "multi:softprob", y_multi, {"num_class": 3}, None)]:
            booster = xgb.train({**params, "objective": objective, **extra},
                                xgb.DMatrix(x, label=y, feature_names=names), num_boost_round=30)
            os.makedirs(f"{cls.repo}/{name}/1")
            booster.save_model(f"{cls.repo}/{name}/1/model.json")
            cls.boosters[name] = booster
        # The same regression booster with its columns named in model.yaml.
        os.makedirs(f"{cls.repo}/xgb-named/1")
        shutil.copy(f"{cls.repo}/xgb-reg/1/model.json", f"{cls.repo}/xgb-named/1/model.json")
        with open(f"{cls.repo}/xgb-named/model.yaml", "w") as f:
            f.write(f"feature_names: {json.dumps(NAMES)}\n")
        # A logistic linear model, explained against the mean of its background rows.
        cls.coef = rng.normal(size=FEATURES)
        cls.intercept = -0.3
        cls.background = rng.normal(loc=1.0, size=(8, FEATURES))
        os.makedirs(f"{cls.repo}/linear/1")
        with open(f"{cls.repo}/linear/1/model.json", "w") as f:
            json.dump({"coefficients": [cls.coef.tolist()], "intercept": [cls.intercept], "link": "logistic",
                       "features": NAMES}, f)
        with open(f"{cls.repo}/linear/model.yaml", "w") as f:
            f.write(f"explain: {{rows: {json.dumps(cls.background.tolist())}}}\n")
        os.makedirs(f"{cls.repo}/linear-zero/1")
        shutil.copy(f"{cls.repo}/linear/1/model.json", f"{cls.repo}/linear-zero/1/model.json")
        # An ONNX model: no exact explainer.
        import models
        models.save_pima(f"{cls.repo}/pima/1/model.onnx")
        cls.server = FerryProcess(cls.repo)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def explain(self, model, rows, expect=200, **parameters):
        status, answer, _ = self.server.request("POST", f"/v2/models/{model}/explain", body(rows, **parameters))
        self.assertEqual(status, expect, answer)
        return answer

    def test_xgboost_contributions_are_xgboosts_own_and_add_up_to_the_margin(self):
        for name in ("xgb-bin", "xgb-reg", "xgb-multi"):
            booster = self.boosters[name]
            expected = booster.predict(xgb.DMatrix(self.x, feature_names=booster.feature_names), pred_contribs=True,
                                       strict_shape=True)  # (rows, groups, features + 1)
            margin = booster.predict(xgb.DMatrix(self.x, feature_names=booster.feature_names), output_margin=True,
                                     strict_shape=True)
            answer = self.explain(name, self.x, format="v2")
            outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
            groups = expected.shape[1]
            for g in range(groups):
                prefix = ("probability" if name != "xgb-reg" else "prediction") + (f":{g}" if groups > 1 else "")
                np.testing.assert_allclose(outputs[f"{prefix}.contributions"], expected[:, g, :FEATURES], atol=1e-5,
                                           err_msg=f"{name} group {g}")
                np.testing.assert_allclose(outputs[f"{prefix}.base_value"], expected[:, g, FEATURES], atol=1e-5)
                # Additivity: base value + contributions = the booster's margin.
                np.testing.assert_allclose(outputs[f"{prefix}.prediction"], margin[:, g], atol=1e-4, err_msg=name)
            self.assertEqual(answer["parameters"]["method"], "tree_shap")

    def test_compact_answers_name_features_and_keep_the_top_k(self):
        answer = self.explain("xgb-bin", self.x[:3], top_k=2)
        self.assertEqual(answer["method"], "tree_shap")
        self.assertEqual(answer["features"], NAMES)  # the booster's own names
        [explained] = answer["explanations"]
        self.assertEqual((explained["output"], explained["space"]), ("probability", "logit"))
        self.assertEqual(len(explained["rows"]), 3)
        full = self.boosters["xgb-bin"].predict(xgb.DMatrix(self.x[:3], feature_names=NAMES), pred_contribs=True)
        for row, expected in zip(explained["rows"], full):
            top = sorted(range(FEATURES), key=lambda j: -abs(expected[j]))[:2]
            self.assertEqual(list(row["contributions"]), [NAMES[j] for j in top])
            for j in top:
                self.assertAlmostEqual(row["contributions"][NAMES[j]], float(expected[j]), places=5)
            self.assertAlmostEqual(row["prediction"], float(expected.sum()), places=4)
        named = self.explain("xgb-named", self.x[:1])
        self.assertEqual(named["features"], NAMES)  # model.yaml's feature_names
        self.assertEqual(named["explanations"][0]["space"], "identity")
        unnamed = self.explain("xgb-reg", self.x[:1])
        self.assertEqual(unnamed["features"], [f"f{i}" for i in range(FEATURES)])

    def test_linear_contributions_are_exact_against_the_background_mean(self):
        mean = self.background.mean(axis=0)
        answer = self.explain("linear", self.x, format="v2")
        outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
        x = self.x.astype(np.float64)
        np.testing.assert_allclose(outputs["probability.contributions"], self.coef * (x - mean), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(outputs["probability.base_value"], self.intercept + self.coef @ mean, rtol=1e-5)
        # Additivity, and the prediction is the log-odds of the served probability.
        status, served, _ = self.server.request("POST", "/v2/models/linear/infer", body(self.x))
        self.assertEqual(status, 200, served)
        probability = np.array(served["outputs"][0]["data"])
        np.testing.assert_allclose(1 / (1 + np.exp(-outputs["probability.prediction"])), probability, rtol=1e-4)
        zero = self.explain("linear-zero", self.x[:1])
        row = zero["explanations"][0]["rows"][0]
        self.assertAlmostEqual(row["base_value"], self.intercept, places=5)  # against zero: the intercept
        self.assertEqual(zero["method"], "linear")

    def test_bad_requests_say_what_was_wrong(self):
        refused = self.explain("pima", np.zeros((1, 8)), expect=501)
        self.assertIn("no explainer", refused["error"])
        self.assertIn("pima", refused["error"])
        bad_k = self.explain("xgb-bin", self.x[:1], expect=400, top_k=-1)
        self.assertIn("top_k", bad_k["error"])
        bad_format = self.explain("xgb-bin", self.x[:1], expect=400, format="xml")
        self.assertIn("format", bad_format["error"])
        wrong_shape = self.explain("xgb-bin", np.zeros((1, 3)), expect=400)
        self.assertIn("features", wrong_shape["error"])
        status, unknown, _ = self.server.request("POST", "/v2/models/nope/explain", body(self.x[:1]))
        self.assertEqual(status, 404, unknown)
        status, _, _ = self.server.request("GET", "/v2/models/xgb-bin/explain")
        self.assertEqual(status, 405)


if __name__ == "__main__":
    unittest.main()
