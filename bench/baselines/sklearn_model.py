"""The Pima logistic regression as a scikit-learn estimator, for the baseline servers: the same
coefficients as examples/generate_pima.py, set on a LogisticRegression, pickled to a file.

    /usr/bin/python3 bench/baselines/sklearn_model.py OUT.pkl
"""
import importlib.util
import os
import pickle
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))


def build(engineered=False):
    """engineered: the 9-feature model of examples/models/pima-features (log1p(mass), is_adult)."""
    spec = importlib.util.spec_from_file_location("generate_pima", os.path.join(HERE, "../../examples/generate_pima.py"))
    pima = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pima)
    model = LogisticRegression()
    model.classes_ = np.array([0, 1])
    model.coef_ = np.array([pima.ENGINEERED_WEIGHTS if engineered else pima.WEIGHTS])
    model.intercept_ = np.array([pima.ENGINEERED_INTERCEPT if engineered else pima.INTERCEPT])
    return model


if __name__ == "__main__":
    with open(sys.argv[1], "wb") as f:
        pickle.dump(build(), f)
