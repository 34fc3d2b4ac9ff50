#!/usr/bin/python3
"""Builds examples/models/pima/1/model.onnx: a logistic regression on the 8 Pima diabetes features.

Run with Debian's interpreter, which has python3-onnx:  /usr/bin/python3 examples/generate_pima.py

The coefficients are the maximum-likelihood logistic regression (R's glm, binomial family) fitted
on the full Pima Indians Diabetes data set (768 rows, mlbench::PimaIndiansDiabetes), features in
this order and in their raw units:

    feature  meaning                                   coefficient
    preg     number of pregnancies                      0.1231823
    plas     plasma glucose (2 h OGTT), mg/dl           0.0351637
    pres     diastolic blood pressure, mm Hg           -0.0132955
    skin     triceps skin fold thickness, mm            0.0006190
    test     2-hour serum insulin, mu U/ml             -0.0011917
    mass     body mass index                            0.0897010
    pedi     diabetes pedigree function                 0.9451797
    age      age, years                                 0.0148690
    (intercept)                                        -8.4046964

The graph computes, for a batch of rows x (FP32 [N, 8]):
    probability = sigmoid(x @ w + b)            FP32  [N, 1]
    label       = int64(probability > 0.5)      INT64 [N, 1]

Options let tests build variants: --out PATH, --intercept B (same weights, another intercept).

--engineered builds examples/models/pima-features/1/model.onnx instead, the model that the
pima-pipeline example feeds: 9 features, mass replaced by log1p(mass) and is_adult (age > 18)
added at the end:
    preg, plas, pres, skin, test, log_mass, pedi, age, is_adult
Its weights are the ones above with the mass term linearised around the data set's mean BMI
(31.99): w_log_mass = 0.0897010 * (1 + 31.99) and the intercept moved so that both models agree at
the mean; is_adult has weight 0, because every patient of the data set is 21 or older. They are
derived, not refitted: the example is about serving, not about the best model.
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FEATURES = ["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"]
WEIGHTS = [0.1231823, 0.0351637, -0.0132955, 0.0006190, -0.0011917, 0.0897010, 0.9451797, 0.0148690]
INTERCEPT = -8.4046964


MEAN_MASS = 31.99
ENGINEERED_WEIGHTS = WEIGHTS[:5] + [WEIGHTS[5] * (1 + MEAN_MASS)] + WEIGHTS[6:] + [0.0]
ENGINEERED_INTERCEPT = INTERCEPT + WEIGHTS[5] * MEAN_MASS - ENGINEERED_WEIGHTS[5] * float(np.log1p(MEAN_MASS))


def build(intercept: float, weights=WEIGHTS) -> onnx.ModelProto:
    n = len(weights)
    w = numpy_helper.from_array(np.array(weights, dtype=np.float32).reshape(n, 1), "w")
    b = numpy_helper.from_array(np.array([intercept], dtype=np.float32), "b")
    half = numpy_helper.from_array(np.array([0.5], dtype=np.float32), "half")
    nodes = [
        helper.make_node("MatMul", ["features", "w"], ["logit0"]),
        helper.make_node("Add", ["logit0", "b"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability"]),
        helper.make_node("Greater", ["probability", "half"], ["positive"]),
        helper.make_node("Cast", ["positive"], ["label"], to=TensorProto.INT64),
    ]
    graph = helper.make_graph(
        nodes,
        "pima_logistic_regression",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", n])],
        [
            helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["N", 1]),
        ],
        initializer=[w, b, half],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="ferry examples/generate_pima.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out")
    parser.add_argument("--intercept", type=float)
    parser.add_argument("--engineered", action="store_true", help="the 9-feature model of pima-pipeline")
    args = parser.parse_args()
    if args.engineered:
        out = args.out or "examples/models/pima-features/1/model.onnx"
        model = build(ENGINEERED_INTERCEPT if args.intercept is None else args.intercept, ENGINEERED_WEIGHTS)
    else:
        out = args.out or "examples/models/pima/1/model.onnx"
        model = build(INTERCEPT if args.intercept is None else args.intercept)
    onnx.save(model, out)


if __name__ == "__main__":
    main()
