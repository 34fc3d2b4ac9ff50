#!/usr/bin/python3
"""Writes the PMML conformance corpus: tests/pmml/corpus/<name>.pmml and <name>.csv.

    /usr/bin/python3 tests/pmml/make_corpus.py

Each document is a model fitted here with scikit-learn (Debian's python3-sklearn) or XGBoost,
written as PMML by ferry's converters (scripts/sklearn_to_pmml.py, scripts/xgboost_to_pmml.py) in
the shapes the common exporters use; the CSV holds input rows and the answers scikit-learn or
XGBoost itself gives for them (predict_proba, predict), computed independently of ferry. A row
with a missing input (an empty cell) expects what PMML says for that family: no prediction (an
empty answer) for the networks, SVMs, GLMs and scikit-learn trees (nullPrediction), XGBoost's own
answer for its trees (missing values follow its default branches).

Columns: `in:<field>` inputs, then `label` (the predicted category), `p:<category>` (its
probability), or `prediction` (a regression). tests/unit/backends/pmml_corpus_test.cc runs them.
Inputs are float32-representable (scikit-learn compares float32 copies with tree thresholds).
"""
import csv
import os
import subprocess
import sys
import tempfile
import warnings

import joblib
import numpy as np

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")
FEATURES = 4


def data(seed, n=300):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, FEATURES)).astype(np.float32).astype(np.float64)
    y_bin = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] > 0).astype(int)
    y_multi = np.digitize(x[:, 1] + 0.3 * x[:, 3], [-0.6, 0.6])
    y_reg = 2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] ** 2 + rng.normal(scale=0.1, size=n)
    return x, y_bin, y_multi, y_reg


def write(name, model, pmml_writer, rows, expected, missing_row=None):
    """rows: inputs; expected(rows) -> list of dicts of answer columns."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model")
        pmml_writer(model, path, os.path.join(OUT, f"{name}.pmml"))
    answers = expected(rows)
    table = [({f"in:f{i}": repr(float(v)) for i, v in enumerate(row)}, answer) for row, answer in zip(rows, answers)]
    if missing_row is not None:
        inputs, answer = missing_row
        table.append(({f"in:f{i}": "" if v is None else repr(float(v)) for i, v in enumerate(inputs)}, answer))
    columns = [f"in:f{i}" for i in range(FEATURES)] + sorted({k for _, a in table for k in a},
                                                              key=lambda c: (c != "label", c))
    with open(os.path.join(OUT, f"{name}.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for inputs, answer in table:
            w.writerow([inputs.get(c, answer.get(c, "")) for c in columns])


def sklearn_writer(model, path, out):
    joblib.dump(model, path)
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "sklearn_to_pmml.py"), path, out], check=True)


def xgboost_writer(booster, path, out):
    booster.save_model(path + ".json")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "xgboost_to_pmml.py"), path + ".json", out],
                   check=True)


def classifier_answers(model):
    def answers(rows):
        proba, labels = model.predict_proba(rows), model.predict(rows)
        return [dict({"label": str(l)}, **{f"p:{c}": repr(float(p)) for c, p in zip(model.classes_, ps)})
                for ps, l in zip(proba, labels)]
    return answers


def label_answers(model):
    return lambda rows: [{"label": str(l)} for l in model.predict(rows)]


def regression_answers(model):
    return lambda rows: [{"prediction": repr(float(v))} for v in model.predict(rows)]


NULL = [None, 0.5, -0.25, 1.0]  # f0 missing


def main():
    from sklearn.cluster import KMeans
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LinearRegression, LogisticRegression, PoissonRegressor
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.svm import SVC, SVR
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
    import xgboost as xgb

    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    x, y_bin, y_multi, y_reg = data(1)
    rows = data(2, 25)[0]
    no_answer = (NULL, {})
    count = 0

    def add(name, model, writer, answers, missing=no_answer):
        nonlocal count
        write(name, model, writer, rows, answers, missing)
        count += 1

    for activation in ("relu", "tanh", "logistic", "identity"):
        for target, y in (("bin", y_bin), ("multi", y_multi)):
            m = MLPClassifier((6, 4), activation=activation, max_iter=300, random_state=0).fit(x, y)
            add(f"nn-{activation}-{target}", m, sklearn_writer, classifier_answers(m))
        m = MLPClassifier((8,), activation=activation, max_iter=300, random_state=1).fit(x, y_multi)
        add(f"nn-{activation}-multi-wide", m, sklearn_writer, classifier_answers(m))
        m = MLPRegressor((6,), activation=activation, max_iter=300, random_state=0).fit(x, y_reg)
        add(f"nn-{activation}-reg", m, sklearn_writer, regression_answers(m))
    for kernel in ("linear", "poly", "rbf", "sigmoid"):
        extra = {"degree": 2, "coef0": 0.5} if kernel == "poly" else {"coef0": 0.1, "gamma": 0.1} if kernel == "sigmoid" else {}
        for target, y in (("bin", y_bin), ("multi", y_multi)):
            m = SVC(kernel=kernel, C=1.0, **extra).fit(x[:120], y[:120])
            add(f"svm-{kernel}-{target}", m, sklearn_writer, label_answers(m))
        m = SVR(kernel=kernel, C=1.0, **extra).fit(x[:120], y_reg[:120])
        add(f"svr-{kernel}", m, sklearn_writer, regression_answers(m))
    present = np.array(NULL[1:])
    for k in (2, 3, 4, 5):
        m = KMeans(n_clusters=k, n_init=3, random_state=0).fit(x)
        # f0 missing: the nearest center over the other fields (PMML leaves a missing value out).
        nearest = int(((m.cluster_centers_[:, 1:] - present) ** 2).sum(axis=1).argmin())
        add(f"kmeans-{k}", m, sklearn_writer, label_answers(m), (NULL, {"label": str(nearest)}))
    for target, y, smoothing in (("bin", y_bin, 1e-9), ("multi", y_multi, 1e-9), ("multi-smooth", y_multi, 0.05)):
        m = GaussianNB(var_smoothing=smoothing).fit(x, y)
        # f0 missing: the likelihoods of the other fields only (PMML leaves it out).
        log = np.log(m.class_count_) + (-0.5 * np.log(2 * np.pi * m.var_[:, 1:])
                                        - (present - m.theta_[:, 1:]) ** 2 / (2 * m.var_[:, 1:])).sum(axis=1)
        p = np.exp(log - log.max())
        p /= p.sum()
        missing = dict({"label": str(m.classes_[p.argmax()])}, **{f"p:{c}": repr(float(q)) for c, q in zip(m.classes_, p)})
        add(f"nb-{target}", m, sklearn_writer, classifier_answers(m), (NULL, missing))
    for target, y in (("bin", y_bin), ("multi", y_multi)):
        m = LogisticRegression(max_iter=500).fit(x, y)
        add(f"glm-logistic-{target}", m, sklearn_writer, classifier_answers(m))
        for depth in (2, 4) if target == "multi" else (2, 4, 6):
            m = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(x, y)
            add(f"tree-{target}-depth{depth}", m, sklearn_writer, classifier_answers(m), None)
        for trees, depth in ((5, 3), (10, 4)):
            m = RandomForestClassifier(n_estimators=trees, max_depth=depth, random_state=0).fit(x, y)
            add(f"forest-{target}-{trees}x{depth}", m, sklearn_writer, classifier_answers(m), None)
    m = LinearRegression().fit(x, y_reg)
    add("glm-linear", m, sklearn_writer, regression_answers(m))
    m = PoissonRegressor().fit(x, np.round(np.exp(y_reg / 3)))
    add("glm-poisson", m, sklearn_writer, regression_answers(m))
    for depth in (2, 5):
        m = DecisionTreeRegressor(max_depth=depth, random_state=0).fit(x, y_reg)
        add(f"tree-reg-depth{depth}", m, sklearn_writer, regression_answers(m), None)
    for trees, depth in ((5, 3), (10, 4)):
        m = RandomForestRegressor(n_estimators=trees, max_depth=depth, random_state=0).fit(x, y_reg)
        add(f"forest-reg-{trees}x{depth}", m, sklearn_writer, regression_answers(m), None)
    # XGBoost boosters (float32 thresholds, missing values down the default branches).
    for objective, y, extra in (("binary:logistic", y_bin, {}), ("multi:softprob", y_multi, {"num_class": 3}),
                                ("reg:squarederror", y_reg, {})):
        for depth in (2, 3, 4):
            params = {"objective": objective, "max_depth": depth, "nthread": 1, **extra}
            booster = xgb.train(params, xgb.DMatrix(x.astype(np.float32), label=y), num_boost_round=8)
            name = f"xgb-{objective.split(':')[0]}-depth{depth}"

            def answers(r, booster=booster, objective=objective):
                p = booster.inplace_predict(np.asarray(r, dtype=np.float32))
                if objective == "binary:logistic":
                    return [{"label": str(int(q > 0.5)), "p:0": repr(float(1 - q)), "p:1": repr(float(q))} for q in p]
                if objective == "multi:softprob":
                    return [dict({"label": str(int(q.argmax()))}, **{f"p:{k}": repr(float(v)) for k, v in enumerate(q)})
                            for q in p]
                return [{"prediction": repr(float(q))} for q in p]
            missing = (NULL, answers(np.array([[np.nan, 0.5, -0.25, 1.0]]))[0])
            add(name, booster, xgboost_writer, answers, missing)
    print(f"{count} documents in {OUT}")


if __name__ == "__main__":
    sys.exit(main())
