"""Integration tests of the native backends besides ONNX Runtime, on the real build/ferry:
XGBoost boosters trained at test time with Debian's python3-xgboost (JSON, UBJSON and legacy
binary files), linear coefficients in model.json, a PMML logistic regression and PMML ensembles
(the boosters and a 100-tree random forest written as PMML by scripts/xgboost_to_pmml.py, a
forest voting on string fields), each compared with its own library or numpy; and bad files,
which leave their model UNAVAILABLE with a reason while the rest serves.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import joblib
import numpy as np
import xgboost as xgb

from ferry_process import FerryProcess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FEATURES = 6

PMML = """<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  <DataDictionary>
    <DataField name="y" optype="categorical" dataType="integer"><Value value="0"/><Value value="1"/></DataField>
    <DataField name="a" optype="continuous" dataType="double"/>
    <DataField name="b" optype="continuous" dataType="double"/>
  </DataDictionary>
  <TransformationDictionary>
    <DerivedField name="lb" optype="continuous" dataType="double"><Apply function="x-ln1p"><FieldRef field="b"/></Apply></DerivedField>
  </TransformationDictionary>
  <RegressionModel functionName="classification" normalizationMethod="logit">
    <MiningSchema><MiningField name="y" usageType="target"/><MiningField name="a"/><MiningField name="b"/></MiningSchema>
    <RegressionTable intercept="-0.5" targetCategory="1">
      <NumericPredictor name="a" coefficient="0.8"/><NumericPredictor name="lb" coefficient="-1.2"/>
    </RegressionTable>
    <RegressionTable intercept="0" targetCategory="0"/>
  </RegressionModel>
</PMML>
"""


# Fields layout (a string field) with an integer and a boolean field that may be missing.
NULLABLE_PMML = """<PMML version="4.4"><DataDictionary>
    <DataField name="color" optype="categorical" dataType="string"><Value value="red"/><Value value="blue"/></DataField>
    <DataField name="n" optype="continuous" dataType="integer"/>
    <DataField name="member" optype="categorical" dataType="boolean"><Value value="true"/><Value value="false"/></DataField>
    <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <RegressionModel functionName="regression"><MiningSchema><MiningField name="color"/>
      <MiningField name="n" missingValueReplacement="7"/><MiningField name="member" missingValueReplacement="true"/>
      <MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="0"><NumericPredictor name="n" coefficient="1"/>
      <CategoricalPredictor name="member" value="true" coefficient="100"/>
      <CategoricalPredictor name="color" value="blue" coefficient="1000"/></RegressionTable></RegressionModel></PMML>
"""


# Double thresholds and interval margins, and a transformedValue of strings.
PRECISION_PMML = """<PMML version="4.4"><DataDictionary>
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="z" optype="continuous" dataType="double"><Interval closure="closedClosed" leftMargin="0" rightMargin="0.3"/></DataField>
    <DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
  <TreeModel functionName="regression"><MiningSchema><MiningField name="x"/><MiningField name="z"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output><OutputField name="band" feature="transformedValue">
      <MapValues outputColumn="data:band"><FieldColumnPair field="x" column="data:x"/>
        <InlineTable><row><data:x>14.9</data:x><data:band>high</data:band></row>
                     <row><data:x>14.899999618530273</data:x><data:band>low</data:band></row></InlineTable></MapValues>
    </OutputField></Output>
    <Node><True/><Node score="1"><SimplePredicate field="x" operator="lessThan" value="14.9"/></Node><Node score="2"><True/></Node></Node>
  </TreeModel></PMML>
"""


# A forest of three trees voting on string categories, with a string field.
STRING_PMML = """<PMML version="4.4"><DataDictionary>
  <DataField name="color" optype="categorical" dataType="string"><Value value="red"/><Value value="green"/><Value value="blue"/></DataField>
  <DataField name="size" optype="continuous" dataType="double"/>
  <DataField name="kind" optype="categorical" dataType="string"><Value value="cat"/><Value value="dog"/></DataField></DataDictionary>
<MiningModel functionName="classification">
  <MiningSchema><MiningField name="kind" usageType="target"/><MiningField name="color"/><MiningField name="size"/></MiningSchema>
  <Segmentation multipleModelMethod="majorityVote">
    <Segment><True/><TreeModel functionName="classification"><MiningSchema><MiningField name="color"/></MiningSchema>
      <Node><True/><Node score="cat"><SimplePredicate field="color" operator="equal" value="red"/></Node><Node score="dog"><True/></Node></Node></TreeModel></Segment>
    <Segment><True/><TreeModel functionName="classification"><MiningSchema><MiningField name="size"/></MiningSchema>
      <Node><True/><Node score="cat"><SimplePredicate field="size" operator="lessThan" value="10"/></Node><Node score="dog"><True/></Node></Node></TreeModel></Segment>
    <Segment><True/><TreeModel functionName="classification"><MiningSchema><MiningField name="color"/></MiningSchema>
      <Node><True/><Node score="dog"><SimpleSetPredicate field="color" booleanOperator="isIn"><Array n="2" type="string">"green" "blue"</Array></SimpleSetPredicate></Node>
        <Node score="cat"><True/></Node></Node></TreeModel></Segment>
  </Segmentation></MiningModel></PMML>
"""


def write_pmml(repo, name, document, model_yaml=None):
    os.makedirs(f"{repo}/{name}/1")
    with open(f"{repo}/{name}/1/model.pmml", "w") as f:
        f.write(document)
    if model_yaml:
        with open(f"{repo}/{name}/model.yaml", "w") as f:
            f.write(model_yaml)


def infer(server, model, rows, datatype="FP32"):
    values = rows.astype(np.float32 if datatype == "FP32" else np.float64)
    body = {"inputs": [{"name": "features", "shape": list(rows.shape), "datatype": datatype,
                        "data": values.ravel().tolist()}]}
    status, answer, _ = server.request("POST", f"/v2/models/{model}/infer", body)
    if status != 200:
        raise AssertionError(f"{model}: {status} {answer}")
    return {o["name"]: np.array(o["data"]).reshape(o["shape"]) for o in answer["outputs"]}


class BackendsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.repo = tempfile.mkdtemp(prefix="ferry_backends_")
        rng = np.random.default_rng(11)
        x = rng.normal(size=(400, FEATURES)).astype(np.float32)
        y_reg = x[:, 0] * 2 - x[:, 1] + rng.normal(scale=0.1, size=400)
        y_bin = (x[:, 0] + x[:, 2] > 0).astype(int)
        y_multi = np.digitize(x[:, 1], [-0.5, 0.5])
        cls.x_test = rng.normal(size=(50, FEATURES)).astype(np.float32)
        params = {"max_depth": 3, "eta": 0.3, "nthread": 1}
        cls.boosters = {}
        for name, objective, y, extra, file in [
                ("xgb-reg", "reg:squarederror", y_reg, {}, "model.json"),
                ("xgb-bin", "binary:logistic", y_bin, {}, "model.ubj"),
                ("xgb-multi", "multi:softprob", y_multi, {"num_class": 3}, "model.bin")]:
            booster = xgb.train({**params, "objective": objective, **extra}, xgb.DMatrix(x, label=y), num_boost_round=20)
            os.makedirs(f"{cls.repo}/{name}/1")
            booster.save_model(f"{cls.repo}/{name}/1/{file}")
            cls.boosters[name] = booster
        # KServe's XGBoost server names the file model.bst (the legacy binary format).
        os.makedirs(f"{cls.repo}/xgb-bst/1")
        cls.boosters["xgb-reg"].save_model(f"{cls.repo}/xgb-bst/1/model.bst")
        with open(f"{cls.repo}/xgb-bin/model.yaml", "w") as f:
            f.write("max_batch_size: 256\ninstances: 2\nparameters: {nthread: 1}\n")
        # Linear coefficients: a 3-class softmax.
        cls.coef = rng.normal(size=(3, FEATURES))
        cls.intercept = rng.normal(size=3)
        os.makedirs(f"{cls.repo}/linear/1")
        with open(f"{cls.repo}/linear/1/model.json", "w") as f:
            json.dump({"coefficients": cls.coef.tolist(), "intercept": cls.intercept.tolist(), "link": "softmax",
                       "features": [f"f{i}" for i in range(FEATURES)]}, f)
        # PMML: a logistic regression with a derived log1p field.
        write_pmml(cls.repo, "pmml", PMML)
        write_pmml(cls.repo, "pmml-fp32", PMML,
                   "inputs: [{name: features, datatype: FP32, shape: [-1, 2]}]\n"
                   "outputs: [{name: probability, datatype: FP32, shape: [-1, 2]}, {name: label, datatype: INT64, shape: [-1, 1]}]\n")
        write_pmml(cls.repo, "pmml-nullable", NULLABLE_PMML,
                   "inputs: [{name: color, datatype: BYTES, shape: [-1, 1]}, {name: n, datatype: FP64, shape: [-1, 1]},\n"
                   "         {name: member, datatype: FP64, shape: [-1, 1]}]\n")
        write_pmml(cls.repo, "pmml-precision", PRECISION_PMML)
        write_pmml(cls.repo, "pmml-neural", '<PMML version="4.4">\n  <DataDictionary/>\n  <NeuralNetwork functionName="regression"/>\n</PMML>\n')
        # scikit-learn networks written as PMML NeuralNetworks by scripts/sklearn_to_pmml.py.
        from sklearn.neural_network import MLPClassifier, MLPRegressor
        cls.fitted = {
            "mlp-multi": MLPClassifier((16, 8), activation="relu", max_iter=300, random_state=0).fit(x, y_multi),
            "mlp-bin": MLPClassifier((8,), activation="tanh", max_iter=300, random_state=0).fit(x, y_bin),
            "mlp-reg": MLPRegressor((10,), activation="logistic", max_iter=300, random_state=0).fit(x, y_reg),
        }
        from sklearn.svm import SVC, SVR
        cls.fitted.update({
            "svm-rbf": SVC(kernel="rbf", gamma="scale", C=2).fit(x, y_multi),
            "svm-poly": SVC(kernel="poly", degree=3, coef0=0.5, gamma=0.3).fit(x, y_bin),
            "svm-sigmoid": SVC(kernel="sigmoid", gamma=0.05, coef0=0.1).fit(x, y_multi),
            "svm-linear": SVC(kernel="linear", C=0.5).fit(x, y_bin),
            "svr-rbf": SVR(kernel="rbf", C=3, epsilon=0.05).fit(x, y_reg),
        })
        from sklearn.cluster import KMeans
        cls.fitted["kmeans"] = KMeans(n_clusters=4, n_init=3, random_state=0).fit(x.astype(np.float64))
        from sklearn.naive_bayes import GaussianNB
        cls.fitted["gnb"] = GaussianNB().fit(x.astype(np.float64), y_multi)
        from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor
        x64 = x.astype(np.float64)
        cls.fitted["glm-multi"] = LogisticRegression(max_iter=500).fit(x64, y_multi)
        cls.fitted["glm-bin"] = LogisticRegression(max_iter=500).fit(x64, y_bin)
        cls.fitted["glm-linear"] = LinearRegression().fit(x64, y_reg)
        cls.fitted["glm-poisson"] = PoissonRegressor().fit(x64, np.round(np.exp(y_reg / 3)))
        for name, fitted in cls.fitted.items():
            os.makedirs(f"{cls.repo}/pmml-{name}/1")
            joblib.dump(fitted, f"{cls.repo}/{name}.joblib")
            subprocess.run(["/usr/bin/python3", f"{ROOT}/scripts/sklearn_to_pmml.py", f"{cls.repo}/{name}.joblib",
                            f"{cls.repo}/pmml-{name}/1/model.pmml"], check=True)
        # PMML ensembles: the boosters above, and a random forest (100 parallel trees), written as
        # PMML by scripts/xgboost_to_pmml.py.
        forest = xgb.train({"objective": "binary:logistic", "num_parallel_tree": 100, "subsample": 0.8,
                            "colsample_bynode": 0.8, "learning_rate": 1, "max_depth": 4, "nthread": 1},
                           xgb.DMatrix(x, label=y_bin), num_boost_round=1)
        forest.save_model(f"{cls.repo}/forest.json")
        cls.boosters["forest"] = forest
        for name, file in [("xgb-reg", "xgb-reg/1/model.json"), ("xgb-bin", "xgb-bin/1/model.ubj"),
                           ("xgb-multi", "xgb-multi/1/model.bin"), ("forest", "forest.json")]:
            os.makedirs(f"{cls.repo}/pmml-{name}/1")
            subprocess.run(["/usr/bin/python3", f"{ROOT}/scripts/xgboost_to_pmml.py", f"{cls.repo}/{file}",
                            f"{cls.repo}/pmml-{name}/1/model.pmml"], check=True)
        # PMML with a string field: one input tensor a field, labels as strings.
        write_pmml(cls.repo, "pmml-strings", STRING_PMML)
        # R-made documents of the conformance corpus (tests/pmml/make_r_corpus.R).
        for name in ("r-rpart-class", "r-coxph-strata"):
            with open(f"{ROOT}/tests/pmml/corpus/{name}.pmml") as f:
                write_pmml(cls.repo, name, f.read())
        # Bad files.
        os.makedirs(f"{cls.repo}/xgb-truncated/1")
        with open(f"{cls.repo}/xgb-reg/1/model.json") as src, open(f"{cls.repo}/xgb-truncated/1/model.json", "w") as dst:
            dst.write(src.read()[:200])
        with open(f"{cls.repo}/xgb-truncated/model.yaml", "w") as f:
            f.write("backend: xgboost\n")
        os.makedirs(f"{cls.repo}/xgb-garbage/1")
        with open(f"{cls.repo}/xgb-garbage/1/model.ubj", "wb") as f:
            f.write(b"this is not a booster")
        os.makedirs(f"{cls.repo}/linear-bad/1")
        with open(f"{cls.repo}/linear-bad/1/model.json", "w") as f:
            f.write('{"coefficients": [[1, 2], [3]]}')
        cls.server = FerryProcess(cls.repo)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.repo, ignore_errors=True)

    def test_xgboost_regression_binary_and_multiclass_match_xgboost(self):
        x = self.x_test
        for name in ("xgb-reg", "xgb-bst"):
            reg = infer(self.server, name, x)
            np.testing.assert_allclose(reg["prediction"].ravel(), self.boosters["xgb-reg"].inplace_predict(x),
                                       rtol=1e-5, atol=1e-6, err_msg=name)
        binary = infer(self.server, "xgb-bin", x)
        p = self.boosters["xgb-bin"].inplace_predict(x)
        np.testing.assert_allclose(binary["probability"].ravel(), p, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(binary["label"].ravel(), (p > 0.5).astype(int))
        multi = infer(self.server, "xgb-multi", x)
        p = self.boosters["xgb-multi"].inplace_predict(x)
        self.assertEqual(multi["probability"].shape, (50, 3))
        np.testing.assert_allclose(multi["probability"], p, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(multi["label"].ravel(), p.argmax(axis=1))

    def test_xgboost_metadata(self):
        status, meta, _ = self.server.request("GET", "/v2/models/xgb-multi")
        self.assertEqual(status, 200)
        self.assertEqual(meta["platform"], "xgboost")
        self.assertEqual(meta["inputs"], [{"name": "features", "datatype": "FP32", "shape": [-1, FEATURES]}])
        self.assertEqual(meta["outputs"][0], {"name": "probability", "datatype": "FP32", "shape": [-1, 3]})

    def test_linear_softmax_matches_numpy(self):
        x = self.x_test
        out = infer(self.server, "linear", x)
        z = x.astype(np.float64) @ self.coef.T + self.intercept
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(out["probability"], p, rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(out["label"].ravel(), p.argmax(axis=1))
        _, meta, _ = self.server.request("GET", "/v2/models/linear")
        self.assertEqual(meta["platform"], "ferry_linear")

    def test_pmml_logistic_regression_matches_the_hand_computation(self):
        x = np.abs(self.x_test[:, :2]).astype(np.float64)
        out = infer(self.server, "pmml", x, "FP64")  # double DataFields: FP64 in and out
        p1 = 1 / (1 + np.exp(-(-0.5 + 0.8 * x[:, 0] - 1.2 * np.log1p(x[:, 1]))))
        # The columns follow the target's Values (0, 1); the label is the category itself.
        np.testing.assert_allclose(out["probability"][:, 1], p1, rtol=1e-12)
        np.testing.assert_allclose(out["probability"][:, 0], 1 - p1, rtol=1e-12)
        np.testing.assert_array_equal(out["label"].ravel(), np.where(p1 > 1 - p1, 1, 0))
        _, meta, _ = self.server.request("GET", "/v2/models/pmml")
        self.assertEqual(meta["platform"], "ferry_pmml")
        self.assertEqual(meta["inputs"], [{"name": "features", "datatype": "FP64", "shape": [-1, 2]}])
        self.assertEqual(meta["outputs"][0], {"name": "probability", "datatype": "FP64", "shape": [-1, 2]})
        # model.yaml may ask for FP32 (to sit beside FP32 models in an ensemble).
        _, meta, _ = self.server.request("GET", "/v2/models/pmml-fp32")
        self.assertEqual(meta["inputs"], [{"name": "features", "datatype": "FP32", "shape": [-1, 2]}])
        out32 = infer(self.server, "pmml-fp32", x)
        np.testing.assert_allclose(out32["probability"][:, 1], p1, rtol=1e-5, atol=1e-6)

    def test_pmml_neural_networks_match_scikit_learn(self):
        x = self.x_test.astype(np.float64)
        for name in ("mlp-multi", "mlp-bin"):
            out = infer(self.server, f"pmml-{name}", x, "FP64")
            expected = self.fitted[name].predict_proba(x)
            np.testing.assert_allclose(out["probability"], expected, rtol=1e-9, atol=1e-12, err_msg=name)
            np.testing.assert_array_equal(out["label"].ravel(), self.fitted[name].predict(x), err_msg=name)
        out = infer(self.server, "pmml-mlp-reg", x, "FP64")
        np.testing.assert_allclose(out["prediction"].ravel(), self.fitted["mlp-reg"].predict(x), rtol=1e-9, atol=1e-12)

    def test_pmml_svms_clusters_naive_bayes_and_glms_match_scikit_learn(self):
        x = self.x_test.astype(np.float64)
        for name in ("svm-rbf", "svm-poly", "svm-sigmoid", "svm-linear"):
            out = infer(self.server, f"pmml-{name}", x, "FP64")
            np.testing.assert_array_equal(out["label"].ravel(), self.fitted[name].predict(x), err_msg=name)
        out = infer(self.server, "pmml-gnb", x, "FP64")
        np.testing.assert_allclose(out["probability"], self.fitted["gnb"].predict_proba(x), rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(out["label"].ravel(), self.fitted["gnb"].predict(x))
        for name in ("glm-multi", "glm-bin"):
            out = infer(self.server, f"pmml-{name}", x, "FP64")
            np.testing.assert_allclose(out["probability"], self.fitted[name].predict_proba(x), rtol=1e-9, atol=1e-12,
                                       err_msg=name)
        for name in ("glm-linear", "glm-poisson"):
            out = infer(self.server, f"pmml-{name}", x, "FP64")
            np.testing.assert_allclose(out["prediction"].ravel(), self.fitted[name].predict(x), rtol=1e-9, atol=1e-12,
                                       err_msg=name)
        out = infer(self.server, "pmml-kmeans", x, "FP64")
        np.testing.assert_array_equal(out["label"].ravel(), self.fitted["kmeans"].predict(x))
        out = infer(self.server, "pmml-svr-rbf", x, "FP64")
        np.testing.assert_allclose(out["prediction"].ravel(), self.fitted["svr-rbf"].predict(x), rtol=1e-9, atol=1e-12)

    def test_pmml_integer_and_boolean_fields_declared_fp64_take_missing_values(self):
        _, meta, _ = self.server.request("GET", "/v2/models/pmml-nullable")
        self.assertEqual([i["datatype"] for i in meta["inputs"]], ["BYTES", "FP64", "FP64"])
        body = {"inputs": [{"name": "color", "shape": [3, 1], "datatype": "BYTES", "data": ["blue", "red", "red"]},
                           {"name": "n", "shape": [3, 1], "datatype": "FP64", "data": [2, None, 3]},
                           {"name": "member", "shape": [3, 1], "datatype": "FP64", "data": [0, 1, None]}]}
        status, answer, _ = self.server.request("POST", "/v2/models/pmml-nullable/infer", body)
        self.assertEqual(status, 200, answer)
        # null: missing, replaced by the MiningField's missingValueReplacement (n: 7, member: true).
        self.assertEqual(answer["outputs"][0]["data"], [1002, 107, 103])

    def test_pmml_double_fields_keep_double_precision(self):
        # 14.9 as a double is not below the threshold 14.9; as a float (14.899999618530273) it is.
        # 0.3 is inside [0, 0.3]; as a float (0.30000001192092896) it would be invalid.
        out = infer(self.server, "pmml-precision", np.array([[14.9, 0.3], [14.899999618530273, 0.1]]), "FP64")
        np.testing.assert_array_equal(out["prediction"].ravel(), [2, 1])
        self.assertEqual(out["band"].ravel().tolist(), ["high", "low"])  # a transformedValue of strings: BYTES
        _, meta, _ = self.server.request("GET", "/v2/models/pmml-precision")
        self.assertEqual(meta["outputs"], [{"name": "prediction", "datatype": "FP64", "shape": [-1, 1]},
                                           {"name": "band", "datatype": "BYTES", "shape": [-1, 1]}])

    def test_pmml_ensembles_match_xgboost(self):
        x = self.x_test
        for name in ("xgb-bin", "forest"):
            out = infer(self.server, f"pmml-{name}", x)
            p = self.boosters[name].inplace_predict(x)
            np.testing.assert_allclose(out["probability"][:, 1], p, rtol=1e-5, atol=1e-6, err_msg=name)
            np.testing.assert_array_equal(out["label"].ravel(), (p > 0.5).astype(int), err_msg=name)
        out = infer(self.server, "pmml-xgb-reg", x)
        np.testing.assert_allclose(out["prediction"].ravel(), self.boosters["xgb-reg"].inplace_predict(x), rtol=1e-5,
                                   atol=1e-5)
        out = infer(self.server, "pmml-xgb-multi", x)
        p = self.boosters["xgb-multi"].inplace_predict(x)
        np.testing.assert_allclose(out["probability"], p, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out["label"].ravel(), p.argmax(axis=1))

    def test_pmml_string_fields_are_one_tensor_each(self):
        _, meta, _ = self.server.request("GET", "/v2/models/pmml-strings")
        self.assertEqual(meta["inputs"], [{"name": "color", "datatype": "BYTES", "shape": [-1, 1]},
                                          {"name": "size", "datatype": "FP64", "shape": [-1, 1]}])
        self.assertEqual(meta["outputs"][1], {"name": "label", "datatype": "BYTES", "shape": [-1, 1]})
        body = {"inputs": [{"name": "color", "shape": [3, 1], "datatype": "BYTES", "data": ["red", "green", "blue"]},
                           {"name": "size", "shape": [3, 1], "datatype": "FP64", "data": [5, 5, 20]}]}
        status, answer, _ = self.server.request("POST", "/v2/models/pmml-strings/infer", body)
        self.assertEqual(status, 200, answer)
        out = {o["name"]: o["data"] for o in answer["outputs"]}
        self.assertEqual(out["label"], ["cat", "dog", "dog"])
        np.testing.assert_allclose(out["probability"], [1, 0, 1 / 3, 2 / 3, 0, 1], rtol=1e-6)
        body["inputs"][0]["data"][1] = "purple"
        status, answer, _ = self.server.request("POST", "/v2/models/pmml-strings/infer", body)
        self.assertEqual(status, 400, answer)
        self.assertEqual(answer["error"], "row 1: field 'color' has a value that is not one of its categories")

    def test_pmml_r_documents_answer_over_http_as_r_did(self):
        """An rpart tree (its node id a BYTES output, its confidence) and a stratified Cox model
        (a string field, the cumulative hazard and the survival) answer over HTTP what R answered."""
        import csv
        def rows(name, count):
            with open(f"{ROOT}/tests/pmml/corpus/{name}.csv") as f:
                return [r for r in csv.DictReader(f) if not r.get("error")][:count]
        tree = rows("r-rpart-class", 6)
        x = np.array([[float(r[f"in:x{i}"]) for i in (1, 2, 3)] for r in tree])
        out = infer(self.server, "r-rpart-class", x, "FP64")
        self.assertEqual(out["label"].ravel().tolist(), [r["label"] for r in tree])
        self.assertEqual(out["node"].ravel().tolist(), [r["out:node"] for r in tree])
        np.testing.assert_allclose(out["confidence"].ravel(), [float(r["out:confidence"]) for r in tree], rtol=1e-12)
        np.testing.assert_allclose(out["probability"][:, 1], [float(r["p:yes"]) for r in tree], rtol=1e-12)
        cox = rows("r-coxph-strata", 5)
        inputs = [{"name": "g", "shape": [len(cox), 1], "datatype": "BYTES", "data": [r["in:g"] for r in cox]}]
        for field in ("x1", "x2", "time", "status"):
            inputs.append({"name": field, "shape": [len(cox), 1], "datatype": "FP64",
                           "data": [float(r[f"in:{field}"]) for r in cox]})
        status, answer, _ = self.server.request("POST", "/v2/models/r-coxph-strata/infer", {"inputs": inputs})
        self.assertEqual(status, 200, answer)
        got = {o["name"]: o["data"] for o in answer["outputs"]}
        np.testing.assert_allclose(got["prediction"], [float(r["prediction"]) for r in cox], rtol=1e-9)
        np.testing.assert_allclose(got["survival"], [float(r["out:survival"]) for r in cox], rtol=1e-9)
        inputs[0]["data"][2] = "z"
        status, answer, _ = self.server.request("POST", "/v2/models/r-coxph-strata/infer", {"inputs": inputs})
        self.assertEqual(status, 400, answer)
        self.assertEqual(answer["error"], "row 2: field 'g' has a value that is not one of its categories")

    def test_bad_files_are_unavailable_with_a_reason_and_the_rest_serves(self):
        status, index, _ = self.server.request("POST", "/v2/repository/index", {})
        self.assertEqual(status, 200)
        states = {(m["name"], m.get("version", "")): m for m in index}
        reasons = {m["name"]: m.get("reason", "") for m in index if m["state"] == "UNAVAILABLE"}
        self.assertIn("model.json", reasons.get("xgb-truncated", ""), index)
        self.assertIn("model.ubj", reasons.get("xgb-garbage", ""), index)
        self.assertIn("must all have 2 numbers", reasons.get("linear-bad", ""), index)
        self.assertIn("model.pmml:3: <NeuralNetwork>: a NeuralNetwork needs an activationFunction",
                      reasons.get("pmml-neural", ""), index)
        for name in ("xgb-reg", "xgb-bin", "xgb-multi", "linear", "pmml", "pmml-xgb-bin", "pmml-forest", "pmml-strings",
                     "pmml-fp32", "pmml-precision", "pmml-mlp-multi", "pmml-mlp-bin", "pmml-mlp-reg",
                     "pmml-svm-rbf", "pmml-svm-poly", "pmml-svm-sigmoid", "pmml-svm-linear", "pmml-svr-rbf", "pmml-kmeans", "pmml-gnb", "pmml-glm-multi", "pmml-glm-bin", "pmml-glm-linear",
                     "pmml-glm-poisson", "pmml-nullable"):
            self.assertNotIn(name, reasons)
        status, _, _ = self.server.request("GET", "/v2/models/xgb-garbage/ready")
        self.assertEqual(status, 503)
        infer(self.server, "xgb-bin", self.x_test[:1])


if __name__ == "__main__":
    unittest.main()
