#!/usr/bin/python3
"""Builds a large ONNX model for the reload benchmark: one Gemm with a 8192x8192 FP32 weight
(268 MB), input x FP32 [N, 8192] -> y FP32 [N, 8192]. Weights are pseudo-random (seed 3).

    /usr/bin/python3 bench/models/generate_big.py --out DIR/big/1/model.onnx [--size 8192]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(size: int) -> onnx.ModelProto:
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((size, size), dtype=np.float32) * 0.01, "w")
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"])], "big_gemm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", size])], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="ferry bench/models/generate_big.py")
    model.ir_version = 8
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", type=int, default=8192)
    args = parser.parse_args()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    onnx.save(build(args.size), args.out)


if __name__ == "__main__":
    main()
