"""POST /v2/models/{m}/explain (docs/explain.md) on the real build/ferry: XGBoost's contributions
equal python3-xgboost's pred_contribs and add up to its margin; the same boosters written as PMML
(scripts/xgboost_to_pmml.py) give the same contributions through ferry's own TreeSHAP, missing
values too; a scikit-learn forest written as PMML gets the exact path-dependent Shapley values (by
enumerating every coalition here); a PMML RegressionModel is explained exactly; a linear model's are exact against
the background mean; KernelSHAP on ONNX models is exact on a linear score (all coalitions, or a
sample), deterministic for a seed, adds up to the model's answer and runs through batching;
top_k, the v2 format, feature names; and bad requests answered with the reason.
"""
import itertools
import json
import math
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
import xgboost as xgb

import models
from ferry_process import FerryProcess

FEATURES = 5
NAMES = ["age", "income", "debt", "tenure", "visits"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A PMML linear regression of two of three fields (the third unused): exact contributions
# coefficient * value against an all-zero reference, the intercept the base value.
LINEAR_PMML = """<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  <DataDictionary><DataField name="a" optype="continuous" dataType="double"/>
    <DataField name="b" optype="continuous" dataType="double"/><DataField name="c" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="c"/>
      <MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="1.5"><NumericPredictor name="a" coefficient="2"/>
      <NumericPredictor name="c" coefficient="-0.25"/></RegressionTable>
  </RegressionModel>
</PMML>
"""


def save_sklearn_pmml(fitted, repo, name):
    """`fitted` as the PMML model `name` of `repo`, by scripts/sklearn_to_pmml.py."""
    import joblib
    joblib.dump(fitted, f"{repo}/{name}.joblib")
    os.makedirs(f"{repo}/{name}/1")
    subprocess.run(["/usr/bin/python3", f"{ROOT}/scripts/sklearn_to_pmml.py", f"{repo}/{name}.joblib",
                    f"{repo}/{name}/1/model.pmml"], check=True)


def path_dependent_shapley(estimators, x, leaf=lambda value: value[0][0]):
    """The exact Shapley values of the path-dependent game (Lundberg et al. 2020): a coalition S is
    valued by walking each tree, following x where the split's feature is in S and averaging the
    branches by their training rows elsewhere; the forest averages its trees' `leaf` values (a
    regression's, or one class's probability). By enumeration."""
    def value(tree, node, s):
        t = tree.tree_
        if t.children_left[node] == -1:
            return leaf(t.value[node])
        left, right = t.children_left[node], t.children_right[node]
        if t.feature[node] in s:
            return value(tree, left if x[t.feature[node]] <= t.threshold[node] else right, s)
        n = t.weighted_n_node_samples
        return (n[left] * value(tree, left, s) + n[right] * value(tree, right, s)) / n[node]

    def game(s):
        return np.mean([value(e, 0, s) for e in estimators])

    m = len(x)
    phi = np.zeros(m)
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for size in range(m):
            for s in itertools.combinations(others, size):
                weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
                phi[i] += weight * (game(set(s) | {i}) - game(set(s)))
    return phi, game(set())


def save_linear_onnx(path, weights, bias, logistic=False):
    """score = x @ weights + bias, FP32 [N, len(weights)] -> [N, 1]; `logistic`: a logistic
    regression answering its log-odds as `logit` and their logistic as `probability`."""
    from onnx import TensorProto, helper, numpy_helper
    import onnx
    w = numpy_helper.from_array(np.asarray(weights, dtype=np.float32).reshape(-1, 1), "w")
    b = numpy_helper.from_array(np.array([bias], dtype=np.float32), "b")
    score = "logit" if logistic else "score"
    nodes = [helper.make_node("MatMul", ["features", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], [score])]
    outputs = [helper.make_tensor_value_info(score, TensorProto.FLOAT, ["N", 1])]
    if logistic:
        nodes.append(helper.make_node("Sigmoid", ["logit"], ["probability"]))
        outputs.append(helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1]))
    graph = helper.make_graph(
        nodes, "linear", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", len(weights)])],
        outputs, initializer=[w, b])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def body(rows, **parameters):
    """A V2 request of `rows` as FP32, or FP64 when they are float64; NaN (missing) as null."""
    datatype = "FP64" if rows.dtype == np.float64 else "FP32"
    data = [None if math.isnan(v) else v for v in rows.astype(np.float32 if datatype == "FP32" else np.float64).ravel().tolist()]
    request = {"inputs": [{"name": "features", "shape": list(rows.shape), "datatype": datatype, "data": data}]}
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
        # A second regression booster, and routers over the two: a split and a weighted mean.
        cls.boosters["xgb-reg-b"] = xgb.train({**params, "max_depth": 2, "objective": "reg:squarederror"},
                                              xgb.DMatrix(x, label=y_reg), num_boost_round=10)
        os.makedirs(f"{cls.repo}/xgb-reg-b/1")
        cls.boosters["xgb-reg-b"].save_model(f"{cls.repo}/xgb-reg-b/1/model.json")
        os.makedirs(f"{cls.repo}/split")
        with open(f"{cls.repo}/split/model.yaml", "w") as f:
            f.write("router:\n  routes: [{name: a, target: xgb-reg, weight: 1}, {name: b, target: xgb-reg-b, weight: 1}]\n")
        os.makedirs(f"{cls.repo}/blend")
        with open(f"{cls.repo}/blend/model.yaml", "w") as f:
            f.write("router:\n  ensemble:\n    members: [{target: xgb-reg, weight: 1}, {target: xgb-reg-b, weight: 3}]\n"
                    "    aggregate: {output: prediction, method: weighted_mean}\n")
        os.makedirs(f"{cls.repo}/vote")
        with open(f"{cls.repo}/vote/model.yaml", "w") as f:
            f.write("router:\n  ensemble:\n    members: [{target: xgb-reg}, {target: xgb-reg-b}]\n"
                    "    aggregate: {output: prediction, method: median}\n")
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
        # The same logistic regression as ONNX: KernelSHAP, over the same background.
        save_linear_onnx(f"{cls.repo}/onnx-logistic/1/model.onnx", cls.coef, cls.intercept, logistic=True)
        with open(f"{cls.repo}/onnx-logistic/model.yaml", "w") as f:
            f.write(f"max_batch_size: 256\nfeature_names: {json.dumps(NAMES)}\n"
                    f"explain: {{rows: {json.dumps(cls.background.tolist())}}}\n")
        os.makedirs(f"{cls.repo}/linear-zero/1")
        shutil.copy(f"{cls.repo}/linear/1/model.json", f"{cls.repo}/linear-zero/1/model.json")
        # ONNX models: no exact explainer, so KernelSHAP over a background set. A linear score
        # (whose Shapley values are known exactly: w * (x - mean)) with 4 and with 12 features.
        cls.onnx_weights = {}
        for name, width in (("onnx-linear", 4), ("onnx-wide", 12)):
            w = rng.normal(size=width)
            cls.onnx_weights[name] = w
            save_linear_onnx(f"{cls.repo}/{name}/1/model.onnx", w, 0.7)
            with open(f"{cls.repo}/{name}/model.yaml", "w") as f:
                background = rng.normal(loc=0.5, size=(6, width)).tolist()
                f.write("max_batch_size: 128\ndynamic_batching: {max_queue_delay_us: 200}\n"
                        f"explain: {{rows: {json.dumps(background)}, samples: 256, seed: 3}}\n")
            if name == "onnx-linear":  # the same model with its background in a .npy file
                os.makedirs(f"{cls.repo}/onnx-npy/1")
                shutil.copy(f"{cls.repo}/{name}/1/model.onnx", f"{cls.repo}/onnx-npy/1/model.onnx")
                np.save(f"{cls.repo}/onnx-npy/background.npy", np.array(background, dtype=np.float32))
                cls.npy_background = np.array(background, dtype=np.float32).astype(np.float64)
                with open(f"{cls.repo}/onnx-npy/model.yaml", "w") as f:
                    f.write("max_batch_size: 128\nexplain: {background: background.npy, samples: 256, seed: 3}\n")
        # Past --explain-max-background (50, below): refused at load, saying so.
        os.makedirs(f"{cls.repo}/onnx-big/1")
        shutil.copy(f"{cls.repo}/onnx-linear/1/model.onnx", f"{cls.repo}/onnx-big/1/model.onnx")
        np.save(f"{cls.repo}/onnx-big/background.npy", rng.normal(size=(60, 4)))
        with open(f"{cls.repo}/onnx-big/model.yaml", "w") as f:
            f.write("explain: {background: background.npy}\n")
        # The Pima logistic regression (probability, not linear in x), batched, 8 features.
        models.save_pima(f"{cls.repo}/pima/1/model.onnx")
        cls.pima_background = rng.normal(loc=[3, 120, 70, 20, 80, 32, 0.5, 33], scale=[2, 20, 8, 6, 40, 5, 0.2, 8],
                                         size=(10, 8))
        with open(f"{cls.repo}/pima/model.yaml", "w") as f:
            f.write("max_batch_size: 256\ndynamic_batching: {max_queue_delay_us: 500}\n"
                    f"feature_names: [preg, plas, pres, skin, test, mass, pedi, age]\n"
                    f"explain: {{rows: {json.dumps(cls.pima_background.tolist())}, samples: 64}}\n")
        models.save_pima(f"{cls.repo}/pima-bare/1/model.onnx")  # no background
        # The boosters written as PMML: ferry's TreeSHAP over its own trees (recordCount = cover).
        for name in ("xgb-bin", "xgb-reg", "xgb-multi"):
            os.makedirs(f"{cls.repo}/pmml-{name}/1")
            subprocess.run(["/usr/bin/python3", f"{ROOT}/scripts/xgboost_to_pmml.py", f"{cls.repo}/{name}/1/model.json",
                            f"{cls.repo}/pmml-{name}/1/model.pmml"], check=True)
        # scikit-learn forests written by scripts/sklearn_to_pmml.py: 10 regression trees averaged,
        # and a classifier of 5 trees averaging their leaves' class probabilities, 3 classes.
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        cls.forest = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(
            x[:, :4].astype(np.float64), y_reg)
        cls.classifier = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(
            x[:, :4].astype(np.float64), y_multi)
        for name, fitted in (("forest", cls.forest), ("classifier", cls.classifier)):
            save_sklearn_pmml(fitted, cls.repo, f"pmml-{name}")
        os.makedirs(f"{cls.repo}/pmml-linear/1")
        with open(f"{cls.repo}/pmml-linear/1/model.pmml", "w") as f:
            f.write(LINEAR_PMML)
        # A pipeline from records: income standardized, color one-hot, into a linear model of 5
        # columns; its explanation speaks in record fields (the one-hot columns summed back).
        cls.pipe_coef = [0.5, 2.0, 1.0, -1.0, 3.0]  # age, income, color_red, color_green, color_blue
        os.makedirs(f"{cls.repo}/pipe-linear/1")
        with open(f"{cls.repo}/pipe-linear/1/model.json", "w") as f:
            json.dump({"coefficients": [cls.pipe_coef], "intercept": [0.25]}, f)
        os.makedirs(f"{cls.repo}/pipe")
        with open(f"{cls.repo}/pipe/model.yaml", "w") as f:
            f.write("""pipeline:
  - {name: fields, kind: record, fields: {age: number, income: number, color: string}}
  - {name: scale, kind: standardize, field: income, mean: 50000, std: 10000, output: income_z}
  - {name: colors, kind: one_hot, field: color, values: [red, green, blue]}
  - {name: features, kind: tensor, output: features, fields: [age, income_z, color_red, color_green, color_blue]}
  - {name: score, kind: model, model: pipe-linear}
""")
        # A tree without recordCount: no exact explainer, and no background for KernelSHAP.
        os.makedirs(f"{cls.repo}/pmml-uncounted/1")
        with open(f"{cls.repo}/pmml-forest/1/model.pmml") as f:
            uncounted = f.read()
        with open(f"{cls.repo}/pmml-uncounted/1/model.pmml", "w") as f:
            f.write(uncounted.replace(" recordCount=", " x-recordCount=").replace(" x-recordCount=", " data-count="))
        cls.server = FerryProcess(cls.repo, "--explain-max-samples", "4096", "--explain-max-background", "50",
                                  "--explain-threads", "3", grpc=True)

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

    def test_pmml_boosters_get_xgboosts_contributions_from_ferrys_own_tree_shap(self):
        x = self.x.copy()
        x[::4, 2] = np.nan  # missing values follow the trees' default branches, as in XGBoost
        x[1::5, 0] = np.nan
        for name in ("xgb-bin", "xgb-reg", "xgb-multi"):
            booster = self.boosters[name]
            expected = booster.predict(xgb.DMatrix(x, feature_names=booster.feature_names), pred_contribs=True,
                                       strict_shape=True)
            answer = self.explain(f"pmml-{name}", x, format="v2")
            self.assertEqual(answer["parameters"]["method"], "tree_shap")
            outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
            # binary: the probability of class 1 in log-odds; multi: each class's margin.
            prefixes = {"xgb-bin": ["probability:1"], "xgb-reg": ["prediction"],
                        "xgb-multi": ["probability:0", "probability:1", "probability:2"]}[name]
            self.assertEqual(sorted(outputs), sorted(f"{p}.{k}" for p in prefixes
                                                     for k in ("contributions", "base_value", "prediction")))
            for g, prefix in enumerate(prefixes):
                np.testing.assert_allclose(outputs[f"{prefix}.contributions"], expected[:, g, :FEATURES], atol=2e-5,
                                           err_msg=f"{name} {prefix}")
                np.testing.assert_allclose(outputs[f"{prefix}.base_value"], expected[:, g, FEATURES], atol=2e-5)
            # Additivity against the served answer: the logistic of the prediction is the probability.
            status, served, _ = self.server.request("POST", f"/v2/models/pmml-{name}/infer", body(x))
            self.assertEqual(status, 200, served)
            if name == "xgb-bin":
                probability = np.array(served["outputs"][0]["data"]).reshape(-1, 2)[:, 1]
                np.testing.assert_allclose(1 / (1 + np.exp(-outputs["probability:1.prediction"])), probability, rtol=1e-6)  # served as FP32

    def test_pmml_forest_gets_the_exact_path_dependent_shapley_values(self):
        x = self.x[:4, :4].astype(np.float64)
        answer = self.explain("pmml-forest", x, format="v2")
        self.assertEqual(answer["parameters"]["method"], "tree_shap")
        outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
        for r in range(len(x)):
            phi, base = path_dependent_shapley(self.forest.estimators_, x[r])
            np.testing.assert_allclose(outputs["prediction.contributions"][r], phi, atol=1e-9, rtol=1e-9)
            self.assertAlmostEqual(outputs["prediction.base_value"][r], base, places=9)
        np.testing.assert_allclose(outputs["prediction.prediction"], self.forest.predict(x), rtol=1e-9)

    def test_pmml_classifier_forest_explains_each_class_probability_exactly(self):
        x = self.x[:3, :4].astype(np.float64)
        answer = self.explain("pmml-classifier", x, format="v2")
        self.assertEqual(answer["parameters"]["method"], "tree_shap")
        outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
        probabilities = self.classifier.predict_proba(x)
        for c in range(3):
            for r in range(len(x)):
                phi, base = path_dependent_shapley(self.classifier.estimators_, x[r],
                                                   leaf=lambda v, c=c: v[0][c] / v[0].sum())
                np.testing.assert_allclose(outputs[f"probability:{c}.contributions"][r], phi, atol=1e-9)
                self.assertAlmostEqual(outputs[f"probability:{c}.base_value"][r], base, places=9)
            np.testing.assert_allclose(outputs[f"probability:{c}.prediction"], probabilities[:, c], atol=1e-9)

    def test_pmml_regression_model_is_explained_exactly_and_trees_without_counts_are_not(self):
        x = np.array([[1.0, 2.0, 4.0], [-3.0, 0.5, 0.0]])
        answer = self.explain("pmml-linear", x, format="v2")
        self.assertEqual(answer["parameters"]["method"], "linear")
        outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
        np.testing.assert_allclose(outputs["prediction.contributions"], x * [2, 0, -0.25])
        np.testing.assert_allclose(outputs["prediction.base_value"], [1.5, 1.5])
        answer = self.explain("pmml-uncounted", self.x[:1, :4].astype(np.float64), expect=400)
        self.assertIn("background", answer["error"])

    def test_a_pipeline_is_explained_by_record_field_with_one_hot_columns_summed_back(self):
        records = {"instances": [{"age": 40, "income": 62000, "color": "blue"},
                                 {"age": 20, "income": 45000, "color": "green"}],
                   "parameters": {"format": "compact"}}
        status, answer, _ = self.server.request("POST", "/v2/models/pipe/explain", records)
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["model_name"], "pipe")
        self.assertEqual(answer["method"], "linear")
        self.assertEqual(answer["features"], ["age", "income", "color"])
        rows = answer["explanations"][0]["rows"]
        w = self.pipe_coef
        self.assertAlmostEqual(rows[0]["contributions"]["age"], w[0] * 40, places=5)
        self.assertAlmostEqual(rows[0]["contributions"]["income"], w[1] * 1.2, places=5)
        self.assertAlmostEqual(rows[0]["contributions"]["color"], w[4])  # blue's column, the others 0
        self.assertAlmostEqual(rows[1]["contributions"]["color"], w[3], places=5)
        self.assertAlmostEqual(rows[1]["contributions"]["income"], w[1] * -0.5, places=5)
        self.assertAlmostEqual(rows[0]["prediction"], 0.25 + w[0] * 40 + w[1] * 1.2 + w[4], places=5)
        # top_k, and a record the pipeline rejects is refused naming the step and the reason.
        records["parameters"] = {"top_k": 1}
        status, top, _ = self.server.request("POST", "/v2/models/pipe/explain", records)
        self.assertEqual(status, 200, top)
        self.assertEqual(list(top["explanations"][0]["rows"][0]["contributions"]), ["age"])
        status, refused, _ = self.server.request("POST", "/v2/models/pipe/explain", {"age": 40, "color": "red"})
        self.assertEqual(status, 400, refused)
        self.assertIn("income", refused["error"])
        status, tensors, _ = self.server.request("POST", "/v2/models/pipe/explain", body(self.x[:1]))
        self.assertEqual(status, 400, tensors)

    def test_routers_explain_their_route_and_ensembles_their_weighted_mean(self):
        x = self.x[:3]
        contribs = {name: self.boosters[name].predict(xgb.DMatrix(x), pred_contribs=True)
                    for name in ("xgb-reg", "xgb-reg-b")}
        for route, name in (("a", "xgb-reg"), ("b", "xgb-reg-b")):
            answer = self.explain("split", x, format="v2", route=route)
            self.assertEqual(answer["parameters"]["route"], f"split/{route}")
            self.assertEqual(answer["model_name"], name)
            outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
            np.testing.assert_allclose(outputs["prediction.contributions"], contribs[name][:, :FEATURES], atol=1e-5)
        drawn = self.explain("split", x)  # no route named: the split draws one, and says which
        self.assertIn(drawn["route"], ("split/a", "split/b"))
        bad = self.explain("split", x, expect=400, route="c")
        self.assertIn("names no route", bad["error"])
        blend = self.explain("blend", x, format="v2")
        self.assertEqual(blend["model_name"], "blend")
        outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in blend["outputs"] if o["datatype"] == "FP64"}
        mixed = 0.25 * contribs["xgb-reg"] + 0.75 * contribs["xgb-reg-b"]
        np.testing.assert_allclose(outputs["prediction.contributions"], mixed[:, :FEATURES], atol=1e-5)
        np.testing.assert_allclose(outputs["prediction.base_value"], mixed[:, FEATURES], atol=1e-5)
        status, served, _ = self.server.request("POST", "/v2/models/blend/infer", body(x))
        self.assertEqual(status, 200, served)
        served = {o["name"]: o["data"] for o in served["outputs"]}["prediction"]
        np.testing.assert_allclose(outputs["prediction.prediction"], served, atol=1e-4)  # adds up to its answer
        vote = self.explain("vote", x, expect=501)
        self.assertIn("median", vote["error"])

    def test_xgboost_interactions_on_request_equal_pred_interactions(self):
        for name in ("xgb-reg", "xgb-multi"):
            booster = self.boosters[name]
            expected = booster.predict(xgb.DMatrix(self.x[:4]), pred_interactions=True, strict_shape=True)
            answer = self.explain(name, self.x[:4], format="v2", interactions=True)
            outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
            groups = expected.shape[1]
            for g in range(groups):
                prefix = ("prediction" if name == "xgb-reg" else "probability") + (f":{g}" if groups > 1 else "")
                np.testing.assert_allclose(outputs[f"{prefix}.interactions"], expected[:, g, :FEATURES, :FEATURES],
                                           atol=1e-5)
                # A feature's row (with the bias column) is its contribution.
                np.testing.assert_allclose(outputs[f"{prefix}.contributions"], expected[:, g, :FEATURES, :].sum(axis=2),
                                           atol=1e-5)
        compact = self.explain("xgb-reg", self.x[:1], interactions=True)
        matrix = compact["explanations"][0]["rows"][0]["interactions"]
        self.assertEqual((len(matrix), len(matrix[0])), (FEATURES, FEATURES))
        refused = self.explain("pima", np.zeros((1, 8), np.float32), expect=400, interactions=True)
        self.assertIn("interaction", refused["error"])
        refused = self.explain("linear", self.x[:1], expect=400, interactions=True)
        self.assertIn("interaction", refused["error"])

    def test_explanations_computed_at_once_answer_as_one_at_a_time(self):
        # --explain-threads 3: ferry's TreeSHAP, libxgboost's and KernelSHAP (through the
        # scheduler) side by side from 12 clients; each answer is the one computed alone.
        from concurrent.futures import ThreadPoolExecutor
        calls = [("pmml-forest", self.x[i:i + 2, :4].astype(np.float64)) for i in range(4)]
        calls += [("xgb-multi", self.x[i:i + 2]) for i in range(4)] + [("pima", np.float32(self.pima_background[i:i + 1]))
                                                                   for i in range(4)]
        alone = [self.explain(model, rows) for model, rows in calls]
        with ThreadPoolExecutor(12) as pool:
            together = list(pool.map(lambda call: self.explain(*call), calls * 3))
        for i, answer in enumerate(together):
            self.assertEqual(answer, alone[i % len(calls)], calls[i % len(calls)][0])

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

    def test_kernel_shap_is_exact_on_a_linear_score_enumerated_or_sampled(self):
        for name in ("onnx-linear", "onnx-wide"):  # 14 coalitions, all; 4094, 256 of them drawn
            w = self.onnx_weights[name]
            with open(f"{self.repo}/{name}/model.yaml") as f:
                background = np.array(json.loads(f.read().split("rows: ")[1].split(", samples")[0]))
            x = np.random.default_rng(1).normal(size=(3, len(w))).astype(np.float32)
            answer = self.explain(name, x, format="v2")
            self.assertEqual(answer["parameters"]["method"], "kernel_shap")
            self.assertLess(answer["parameters"]["additivity_error"], 1e-9)  # reported, and rounding only
            outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"] if o["datatype"] == "FP64"}
            np.testing.assert_allclose(outputs["score.contributions"], w * (x.astype(np.float64) - background.mean(axis=0)),
                                       atol=2e-4, err_msg=name)
            np.testing.assert_allclose(outputs["score.base_value"], (background @ w).mean() + 0.7, atol=2e-4)
            np.testing.assert_allclose(outputs["score.prediction"], x.astype(np.float64) @ w + 0.7, atol=2e-4)

    def test_background_from_a_npy_file_and_the_limits_set_by_flags(self):
        x = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
        from_file = self.explain("onnx-npy", x, format="v2")
        outputs = {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in from_file["outputs"] if o["datatype"] == "FP64"}
        w = self.onnx_weights["onnx-linear"]
        np.testing.assert_allclose(outputs["score.contributions"], w * (x.astype(np.float64) - self.npy_background.mean(axis=0)),
                                   atol=2e-4)
        too_many = self.explain("onnx-npy", x, expect=400, samples=5000)
        self.assertIn("--explain-max-samples", too_many["error"])
        self.assertIn("4096", too_many["error"])
        status, index, _ = self.server.request("POST", "/v2/repository/index", {})
        self.assertEqual(status, 200, index)
        big = [m for m in index if m["name"] == "onnx-big"][0]
        self.assertEqual(big["state"], "UNAVAILABLE")
        self.assertIn("--explain-max-background", big["reason"])

    def test_kernel_shap_of_an_onnx_logistic_regression_agrees_with_the_exact_linear_explainer(self):
        # The log-odds output is linear in x: KernelSHAP (all 30 coalitions of 5 features) gives the
        # linear backend's exact contributions against the same background's mean, to float32.
        exact = self.explain("linear", self.x, format="v2")
        agnostic = self.explain("onnx-logistic", self.x, format="v2")
        self.assertEqual(agnostic["parameters"]["method"], "kernel_shap")
        tensors = lambda a: {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in a["outputs"] if o["datatype"] == "FP64"}
        exact, agnostic = tensors(exact), tensors(agnostic)
        np.testing.assert_allclose(agnostic["logit.contributions"], exact["probability.contributions"], atol=1e-4)
        np.testing.assert_allclose(agnostic["logit.base_value"], exact["probability.base_value"], atol=1e-4)
        # The probability output is explained too, in its own space: it adds up to the probability.
        probability = 1 / (1 + np.exp(-exact["probability.prediction"]))
        np.testing.assert_allclose(agnostic["probability.prediction"], probability, atol=1e-5)

    def test_kernel_shap_is_deterministic_for_a_seed_and_batched(self):
        x = np.array([[6, 148, 72, 35, 0, 33.6, 0.627, 50], [1, 85, 66, 29, 0, 26.6, 0.351, 31]], dtype=np.float32)
        first = self.explain("pima", x)
        self.assertEqual(first, self.explain("pima", x))
        self.assertEqual(first["features"][:2], ["preg", "plas"])
        self.assertLess(first["additivity_error"], 1e-9)
        self.assertNotIn("additivity_error", self.explain("xgb-reg", self.x[:1]))  # exact: not measured
        other = self.explain("pima", x, seed=99)
        rows = [r for e in first["explanations"] if e["output"] == "probability" for r in e["rows"]]
        other_rows = [r for e in other["explanations"] if e["output"] == "probability" for r in e["rows"]]
        self.assertNotEqual(rows[0]["contributions"], other_rows[0]["contributions"])  # sampled: the seed shows
        for row, probability in zip(rows, [models.pima_probability(r) for r in x.astype(np.float64)]):
            self.assertAlmostEqual(row["prediction"], probability, places=5)  # adds up to the model's answer
            self.assertAlmostEqual(row["base_value"], np.mean([models.pima_probability(b) for b in self.pima_background]),
                                   places=5)
        # The coalitions went through the model's scheduler in batches of many rows.
        status, stats, _ = self.server.request("GET", "/v2/models/pima/stats")
        self.assertEqual(status, 200, stats)
        sizes = [b["batch_size"] for b in stats["model_stats"][0]["batch_stats"]]
        self.assertGreater(max(sizes), 1, sizes)
        # Explanations are a kind of their own: here three requests of two rows (other tests
        # explain pima too), and the coalitions' calls are not requests (no inference was asked of
        # pima), though their rows ran.
        model = stats["model_stats"][0]
        self.assertGreaterEqual(model["explain_stats"]["success"]["count"], 3)
        self.assertGreaterEqual(model["explain_stats"]["rows"], 6)
        self.assertEqual(model["inference_stats"]["success"]["count"], 0)
        self.assertGreater(model["inference_count"], 1000)

    def test_grpc_model_infer_with_ferry_explain_answers_the_v2_tensors(self):
        import grpc
        from test_grpc import compile_protos
        protos = tempfile.mkdtemp(prefix="ferry_explain_grpc_")
        self.addCleanup(shutil.rmtree, protos, True)
        pb, pb_grpc = compile_protos(protos)
        with grpc.insecure_channel(f"127.0.0.1:{self.server.grpc_port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            request = pb.ModelInferRequest(model_name="xgb-bin")
            request.inputs.add(name="features", datatype="FP32", shape=list(self.x.shape)).contents.fp32_contents.extend(
                self.x.ravel().tolist())
            request.parameters["ferry_explain"].bool_param = True
            reply = stub.ModelInfer(request, timeout=30)
            self.assertEqual(reply.parameters["method"].string_param, "tree_shap")
            names = [o.name for o in reply.outputs]
            self.assertEqual(names[0], "feature_names")
            index = names.index("probability.contributions")
            contributions = np.frombuffer(reply.raw_output_contents[index], dtype="<f8").reshape(len(self.x), FEATURES)
            expected = self.boosters["xgb-bin"].predict(xgb.DMatrix(self.x, feature_names=NAMES), pred_contribs=True)
            np.testing.assert_allclose(contributions, expected[:, :FEATURES], atol=1e-5)
            request.parameters["ferry_explain"].string_param = "yes"
            with self.assertRaises(grpc.RpcError) as raised:
                stub.ModelInfer(request, timeout=30)
            self.assertEqual(raised.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
            self.assertIn("ferry_explain", raised.exception.details())

    def test_explanations_are_counted_apart_in_metrics(self):
        self.explain("linear", self.x[:2])
        self.explain("pima-bare", np.zeros((1, 8), np.float32), expect=400)
        status, text, _ = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("ferry_explanation")}
        self.assertGreaterEqual(samples['ferry_explanations_total{model="linear",version="1",outcome="ok"}'], 1)
        self.assertGreaterEqual(samples['ferry_explanations_total{model="pima-bare",version="1",outcome="error"}'], 1)
        self.assertGreater(samples['ferry_explanation_seconds_total{model="linear",version="1"}'], 0)

    def test_bad_requests_say_what_was_wrong(self):
        refused = self.explain("pima-bare", np.zeros((1, 8), np.float32), expect=400)
        self.assertIn("background rows", refused["error"])
        self.assertIn("pima-bare", refused["error"])
        too_many = self.explain("pima", np.zeros((1, 8), np.float32), expect=400, samples=100000)
        self.assertIn("samples", too_many["error"])
        bad_k = self.explain("xgb-bin", self.x[:1], expect=400, top_k=-1)
        self.assertIn("top_k", bad_k["error"])
        bad_format = self.explain("xgb-bin", self.x[:1], expect=400, format="xml")
        self.assertIn("format", bad_format["error"])
        wrong_shape = self.explain("xgb-bin", np.zeros((1, 3), np.float32), expect=400)
        self.assertIn("features", wrong_shape["error"])
        status, unknown, _ = self.server.request("POST", "/v2/models/nope/explain", body(self.x[:1]))
        self.assertEqual(status, 404, unknown)
        status, _, _ = self.server.request("GET", "/v2/models/xgb-bin/explain")
        self.assertEqual(status, 405)


if __name__ == "__main__":
    unittest.main()
