#!/usr/bin/python3
"""Builds an MLP ONNX model for the batching benchmarks: 64 -> 512 -> 512 -> 1, FP32, ReLU.

    /usr/bin/python3 bench/models/generate_mlp.py --out DIR/mlp/1/model.onnx

Input x FP32 [N, 64]; output y FP32 [N, 1]. About 0.3 M multiply-adds a row, enough that
batching pays off on a CPU. Weights are fixed pseudo-random numbers (seed 11).
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build() -> onnx.ModelProto:
    rng = np.random.default_rng(11)
    sizes = [64, 512, 512, 1]
    nodes, initializers = [], []
    current = "x"
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out)).astype(np.float32)
        b = np.zeros(n_out, dtype=np.float32)
        initializers += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [current, f"w{i}", f"b{i}"], [f"h{i}"]))
        current = f"h{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [current], [f"r{i}"]))
            current = f"r{i}"
    nodes.append(helper.make_node("Identity", [current], ["y"]))
    graph = helper.make_graph(nodes, "mlp_64_512_512_1",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="ferry bench/models/generate_mlp.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    onnx.save(build(), args.out)


if __name__ == "__main__":
    main()
