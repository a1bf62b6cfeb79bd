"""Makes examples/thesis/model.onnx: the network of the thesis's usage
example, a 4x4 single-channel input, 2x2 max pooling, flatten and a dense
layer of 2 with Glorot-uniform weights (fixed seed), as Keras would build it
(here channels-first, which for one channel is the same layout).

Run with Debian's python3-onnx:  /usr/bin/python3 examples/thesis/make_model.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(2023)
limit = np.sqrt(6.0 / (4 + 2))  # Glorot uniform, fan_in 4, fan_out 2
w = rng.uniform(-limit, limit, (4, 2)).astype(np.float32)
b = np.zeros(2, dtype=np.float32)

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])
nodes = [
    helper.make_node("MaxPool", ["x"], ["p"], name="max_pooling2d", kernel_shape=[2, 2],
                     strides=[2, 2]),
    helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
    helper.make_node("MatMul", ["f", "w"], ["m"], name="dense"),
    helper.make_node("Add", ["m", "b"], ["y"], name="dense_bias"),
]
graph = helper.make_graph(nodes, "thesis_example", [x], [y],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="nnheat-examples")
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.onnx"))
