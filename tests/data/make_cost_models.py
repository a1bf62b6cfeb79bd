"""Makes the small ONNX models that the cost tests run (tests/data/costs/).

Run with Debian's python3-onnx:  /usr/bin/python3 tests/data/make_cost_models.py
The weights are written here in full so that the tests can compute closed
forms from the same numbers.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "costs")

# Dense 4 -> 2, linear: y = x W^T + b.
DENSE_W = np.array([[0.5, -1.0, 0.25, 2.0],
                    [1.5, 0.1, -0.3, 0.7]], dtype=np.float32)
DENSE_B = np.array([0.1, -0.2], dtype=np.float32)


def save(graph, name, opset=13):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="nnheat-tests")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))


def dense_linear():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
    gemm = helper.make_node("Gemm", ["x", "W", "b"], ["y"], name="dense", transB=1)
    g = helper.make_graph([gemm], "dense_linear", [x], [y],
                          [numpy_helper.from_array(DENSE_W, "W"),
                           numpy_helper.from_array(DENSE_B, "b")])
    save(g, "dense_linear.onnx")


def conv_pool_net():
    """Conv (2 groups, pads) + Relu, MaxPool, Flatten, Gemm + Softmax: the
    layer cut and the initial sets of every kind."""
    rng = np.random.default_rng(7)
    w = rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    fc = rng.normal(0, 0.3, (3, 4 * 2 * 2)).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", group=2,
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc"], ["g"], name="fc", transB=1),
        helper.make_node("Softmax", ["g"], ["y"], name="softmax", axis=1),
    ]
    g = helper.make_graph(nodes, "conv_pool", [x], [y],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
                           numpy_helper.from_array(fc, "fc")])
    save(g, "conv_pool.onnx")


def residual_net():
    """A DAG: Gemm + Relu feeds both a second Gemm and a residual Add."""
    rng = np.random.default_rng(11)
    w1 = rng.normal(0, 0.5, (3, 3)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (3, 3)).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["a"], name="relu1"),
        helper.make_node("MatMul", ["a", "w2"], ["h2"], name="fc2"),
        helper.make_node("Add", ["h2", "a"], ["s"], name="residual"),
        helper.make_node("Sigmoid", ["s"], ["y"], name="sigmoid"),
    ]
    g = helper.make_graph(nodes, "residual", [x], [y],
                          [numpy_helper.from_array(w1, "w1"),
                           numpy_helper.from_array(w2, "w2")])
    save(g, "residual.onnx")


def difference():
    """y = x1 - x2: a network small enough to cost by hand."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])
    w = np.array([[1.0], [-1.0]], dtype=np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="diff")],
                          "difference", [x], [y], [numpy_helper.from_array(w, "w")])
    save(g, "difference.onnx")


def two_outputs():
    """Two graph outputs: the Sigmoid branch must be costed too."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 3])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 3])
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("Sigmoid", ["x"], ["b"], name="sigmoid")]
    save(helper.make_graph(nodes, "two_outputs", [x], [a, b]), "two_outputs.onnx")


def unsupported_op():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    g = helper.make_graph([helper.make_node("Erf", ["x"], ["y"], name="mystery")],
                          "unsupported", [x], [y])
    save(g, "unsupported_op.onnx")


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    dense_linear()
    conv_pool_net()
    residual_net()
    difference()
    two_outputs()
    unsupported_op()
