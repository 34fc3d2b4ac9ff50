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
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FEATURES = ["preg", "plas", "pres", "skin", "test", "mass", "pedi", "age"]
WEIGHTS = [0.1231823, 0.0351637, -0.0132955, 0.0006190, -0.0011917, 0.0897010, 0.9451797, 0.0148690]
INTERCEPT = -8.4046964


def build(intercept: float) -> onnx.ModelProto:
    w = numpy_helper.from_array(np.array(WEIGHTS, dtype=np.float32).reshape(8, 1), "w")
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
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 8])],
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
    parser.add_argument("--out", default="examples/models/pima/1/model.onnx")
    parser.add_argument("--intercept", type=float, default=INTERCEPT)
    args = parser.parse_args()
    onnx.save(build(args.intercept), args.out)


if __name__ == "__main__":
    main()
