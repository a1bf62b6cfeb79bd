"""Makes the small ONNX models that the heuristic tests run
(tests/data/heuristic/).

Run with Debian's python3-onnx:  /usr/bin/python3 tests/data/heuristic/make_models.py
The random weights come from numpy's default_rng with the fixed seeds below,
so running the script again gives the same files.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(graph, name, opset=13):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="nnheat-tests")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))


def glorot_uniform(rng, fan_in, fan_out):
    """Keras' default kernel initialiser: U(-l, l), l = sqrt(6 / (fan_in + fan_out)),
    so that each weight has variance 2 / (fan_in + fan_out). Shaped (out, in) for
    Gemm with transB=1."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_out, fan_in)).astype(np.float32)


def dense32():
    """Dense 32 -> 32, linear, Glorot-uniform weights, zero bias: the thesis's
    case for comparing the sampled cost with the heuristic."""
    w = glorot_uniform(np.random.default_rng(2023), 32, 32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 32])
    gemm = helper.make_node("Gemm", ["x", "W", "b"], ["y"], name="dense", transB=1)
    g = helper.make_graph([gemm], "dense32", [x], [y],
                          [numpy_helper.from_array(w, "W"),
                           numpy_helper.from_array(np.zeros(32, np.float32), "b")])
    save(g, "dense32.onnx")


def maxpool2():
    """2x2 max pooling, stride 2, on a 1x8x8 input: 16 final neurons of 4
    initial neurons each, no window shared."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1, 4, 4])
    pool = helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2],
                            strides=[2, 2])
    save(helper.make_graph([pool], "maxpool2", [x], [y]), "maxpool2.onnx")


def mixed():
    """Every layer kind once, with windows the formulas must generalise:

    x 4x6x6 -> Sigmoid (elementwise) -> Conv 6 filters 3x3, 2 groups, no pad,
    + Relu (conv 6x4x4, 2 channels x 9 per neuron) -> AveragePool 2x1, stride
    2x1 (pool 6x2x4, a non-square window of 2) -> GlobalMaxPool (pool 6x1x1,
    a window of 8) -> Flatten (reshape 6) -> two Gemm 6 -> 5 (dense) -> Add (add 5).
    """
    rng = np.random.default_rng(5)
    wc = rng.normal(0, 0.3, (6, 2, 3, 3)).astype(np.float32)
    w1 = glorot_uniform(rng, 6, 5)
    w2 = glorot_uniform(rng, 6, 5)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 6, 6])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["s"], name="squash"),
        helper.make_node("Conv", ["s", "wc"], ["c"], name="conv", group=2,
                         kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("AveragePool", ["r"], ["a"], name="avg", kernel_shape=[2, 1],
                         strides=[2, 1]),
        helper.make_node("GlobalMaxPool", ["a"], ["gm"], name="global"),
        helper.make_node("Flatten", ["gm"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "w1"], ["d1"], name="fc1", transB=1),
        helper.make_node("Gemm", ["f", "w2"], ["d2"], name="fc2", transB=1),
        helper.make_node("Add", ["d1", "d2"], ["y"], name="sum"),
    ]
    g = helper.make_graph(nodes, "mixed", [x], [y],
                          [numpy_helper.from_array(wc, "wc"), numpy_helper.from_array(w1, "w1"),
                           numpy_helper.from_array(w2, "w2")])
    save(g, "mixed.onnx")


def conv1d():
    """A 1-D Conv, 3 filters of width 3 over 2 channels, pads 1: 3x10 neurons of
    2 x 3 initial neurons (fewer at the edges, where the padding is)."""
    w = np.random.default_rng(9).normal(0, 0.4, (3, 2, 3)).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 10])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 10])
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv1d", kernel_shape=[3],
                            pads=[1, 1])
    g = helper.make_graph([conv], "conv1d", [x], [y], [numpy_helper.from_array(w, "w")])
    save(g, "conv1d.onnx")


if __name__ == "__main__":
    dense32()
    maxpool2()
    mixed()
    conv1d()
