#!/usr/bin/python3
"""Builds a small convolutional ONNX model with a 1x3x224x224 FP32 input, for benchmarks where the
tensor, not the compute, dominates: ~0.6 MB per request in binary, ~1.6 MB as JSON numbers.

    /usr/bin/python3 bench/models/generate_conv.py --out DIR/conv/1/model.onnx

Graph: image FP32 [N, 3, 224, 224] -> Conv 3->8, 3x3, stride 4 -> Relu -> GlobalAveragePool
-> Flatten -> MatMul 8x10 -> Softmax -> scores FP32 [N, 10]. Weights are fixed pseudo-random
numbers (seed 7), so every build is the same model.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build() -> onnx.ModelProto:
    rng = np.random.default_rng(7)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.1, (8, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(np.zeros(8, dtype=np.float32), "conv_b"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8, 10)).astype(np.float32), "fc_w"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "conv_w", "conv_b"], ["conv"], kernel_shape=[3, 3], strides=[4, 4]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"]),
        helper.make_node("MatMul", ["flat", "fc_w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
    ]
    graph = helper.make_graph(
        nodes, "small_conv",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 10])],
        initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="ferry bench/models/generate_conv.py")
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
