"""Builds the ONNX models the integration tests serve, with Debian's python3-onnx."""
import importlib.util
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SOURCE_DIR = os.environ.get("FERRY_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))


def load_pima_generator():
    spec = importlib.util.spec_from_file_location("generate_pima", os.path.join(SOURCE_DIR, "examples/generate_pima.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PIMA = load_pima_generator()


def pima_probability(row, intercept=PIMA.INTERCEPT):
    """The logistic regression, computed independently of ONNX Runtime."""
    z = intercept + sum(w * x for w, x in zip(PIMA.WEIGHTS, row))
    return 1.0 / (1.0 + np.exp(-z))


def save_pima(path, intercept=PIMA.INTERCEPT):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(PIMA.build(intercept), path)


# Every KServe datatype that ONNX has, with the element type each one maps to.
IDENTITY_TYPES = {
    "BOOL": TensorProto.BOOL, "UINT8": TensorProto.UINT8, "UINT16": TensorProto.UINT16,
    "UINT32": TensorProto.UINT32, "UINT64": TensorProto.UINT64, "INT8": TensorProto.INT8,
    "INT16": TensorProto.INT16, "INT32": TensorProto.INT32, "INT64": TensorProto.INT64,
    "FP16": TensorProto.FLOAT16, "FP32": TensorProto.FLOAT, "FP64": TensorProto.DOUBLE,
    "BYTES": TensorProto.STRING,
}


def save_identity(path, types=tuple(IDENTITY_TYPES)):
    """One Identity node per datatype: input in_<TYPE> [-1, 2] -> output out_<TYPE>."""
    nodes, inputs, outputs = [], [], []
    for name in types:
        elem = IDENTITY_TYPES[name]
        nodes.append(helper.make_node("Identity", [f"in_{name}"], [f"out_{name}"]))
        inputs.append(helper.make_tensor_value_info(f"in_{name}", elem, ["N", 2]))
        outputs.append(helper.make_tensor_value_info(f"out_{name}", elem, ["N", 2]))
    graph = helper.make_graph(nodes, "identity_all_types", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def save_reshape3(path):
    """x FP32 [-1] reshaped to [3]: runs only with exactly 3 elements (warm-up failure fixture)."""
    shape = helper.make_tensor("shape", TensorProto.INT64, [1], [3])
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])], "reshape3",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])], initializer=[shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)


def save_slow(path, size=2048):
    """A Gemm with a size x size weight, x FP32 [N, size] -> y: slow enough to hold requests in flight."""
    rng = np.random.default_rng(5)
    w = numpy_helper.from_array(rng.standard_normal((size, size), dtype=np.float32) * 0.01, "w")
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"])], "slow_gemm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", size])], initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(model, path)
