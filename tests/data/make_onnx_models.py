"""Makes the small ONNX models that tests/test_onnx_load.c loads
(tests/data/onnx/).

Run with Debian's python3-onnx (and python3-torch for the PyTorch exports):
    /usr/bin/python3 tests/data/make_onnx_models.py
Every weight is a short arange or a fixed list, so that the test can check
the loaded values from the same formulas.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx")

# Gemm 3 -> 2: W[i][j] = 0.1 * (3 i + j) - 0.2, b = (0.5, -0.5).
GEMM_W = (np.arange(6, dtype=np.float32).reshape(2, 3) * 0.1 - 0.2).astype(np.float32)
GEMM_B = np.array([0.5, -0.5], dtype=np.float32)


def save(graph, name, opset=13, ir_version=7, check=True):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="nnheat-tests")
    model.ir_version = ir_version
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name))


def io(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def gemm_graph(name, inits, extra_inputs=()):
    x = io("x", ["N", 3])
    y = io("y", ["N", 2])
    gemm = helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="dense", transB=1,
                            alpha=0.5, beta=2.0)
    return helper.make_graph([gemm], name, [x, *extra_inputs], [y], inits)


def gemm_raw():
    """Weights in raw_data (what numpy_helper and most exporters write)."""
    inits = [numpy_helper.from_array(GEMM_W, "W"), numpy_helper.from_array(GEMM_B, "B")]
    save(gemm_graph("gemm_raw", inits), "gemm_raw.onnx")


def gemm_float_data():
    """Weights in the typed float_data field, then a Relu; opset 11."""
    inits = [helper.make_tensor("W", TensorProto.FLOAT, [2, 3], GEMM_W.ravel().tolist()),
             helper.make_tensor("B", TensorProto.FLOAT, [2], GEMM_B.tolist())]
    g = gemm_graph("gemm_float_data", inits)
    g.node[0].output[0] = "g"
    g.node.append(helper.make_node("Relu", ["g"], ["y"]))  # no name: "Relu_1"
    save(g, "gemm_float_data.onnx", opset=11)


def old_style():
    """IR version 3, opset 7: initializers are also listed as graph inputs,
    and the batch is fixed to 1."""
    inits = [numpy_helper.from_array(GEMM_W, "W"), numpy_helper.from_array(GEMM_B, "B")]
    x = io("x", [1, 3])
    y = io("y", [1, 2])
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["g"], name="dense", transB=1),
             helper.make_node("Sigmoid", ["g"], ["y"], name="sigmoid")]
    g = helper.make_graph(nodes, "old_style", [x, io("W", [2, 3]), io("B", [2])], [y],
                          inits)
    save(g, "old_style.onnx", opset=7, ir_version=3)


def constant_node():
    """Constant nodes: a tensor value, value_float and value_ints; a dead
    branch that pruning removes."""
    x = io("x", ["N", 4])
    y = io("y", ["N", 4])
    c = numpy_helper.from_array(np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32), "c")
    nodes = [
        helper.make_node("Constant", [], ["c"], name="const_c", value=c),
        helper.make_node("Constant", [], ["s"], name="const_s", value_float=0.25),
        helper.make_node("Constant", [], ["shape"], name="const_shape", value_ints=[-1, 4]),
        helper.make_node("Add", ["x", "c"], ["a"], name="add"),
        helper.make_node("Mul", ["a", "s"], ["m"], name="mul"),
        helper.make_node("Reshape", ["m", "shape"], ["y"], name="reshape"),
        helper.make_node("Relu", ["x"], ["dead"], name="dead_relu"),
    ]
    save(helper.make_graph(nodes, "constant_node", [x], [y]), "constant_node.onnx")


def dtypes():
    """Initializers of several types: float16 and double weights, an int8
    constant cast to float at load time, an int32 Reshape shape."""
    x = io("x", ["N", 4])
    y = io("y", ["N", 2, 2])
    inits = [
        numpy_helper.from_array(np.array([0.5, -1.5, 2.0, 65504.0], dtype=np.float16), "h"),
        numpy_helper.from_array(np.array([0.1, 0.2, 0.3, 1e-3], dtype=np.float64), "d"),
        numpy_helper.from_array(np.array([-3, 1, 2, 127], dtype=np.int8), "i8"),
        numpy_helper.from_array(np.array([0, 2, 2], dtype=np.int32), "shape32"),
    ]
    nodes = [
        helper.make_node("Add", ["x", "h"], ["a"], name="add_h"),
        helper.make_node("Mul", ["a", "d"], ["m"], name="mul_d"),
        helper.make_node("Cast", ["i8"], ["i8f"], name="cast", to=TensorProto.FLOAT),
        helper.make_node("Sub", ["m", "i8f"], ["s"], name="sub_i8"),
        helper.make_node("Reshape", ["s", "shape32"], ["y"], name="reshape"),
    ]
    # Reshape's shape must be int64 by the standard: no checker here.
    save(helper.make_graph(nodes, "dtypes", [x], [y], inits), "dtypes.onnx", check=False)


def conv_attrs():
    """Conv without kernel_shape (taken from W), then BatchNormalization,
    MaxPool and AveragePool with every window attribute; opset 11."""
    w = (np.arange(2 * 1 * 3 * 2, dtype=np.float32).reshape(2, 1, 3, 2) / 10).astype(
        np.float32)
    bn = [numpy_helper.from_array(np.array(v, dtype=np.float32), n)
          for n, v in (("scale", [1.0, 2.0]), ("bias", [0.0, 0.5]), ("mean", [0.1, 0.2]),
                       ("var", [1.0, 4.0]))]
    x = io("x", ["N", 1, 8, 8])
    y = io("y", ["N", 2, 2, 2])
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", strides=[1, 2],
                         dilations=[2, 1], pads=[1, 0, 2, 1]),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["b"],
                         name="bn", epsilon=1e-3),
        helper.make_node("MaxPool", ["b"], ["p"], name="maxpool", kernel_shape=[2, 2],
                         strides=[2, 1], ceil_mode=1, auto_pad="SAME_UPPER"),
        helper.make_node("AveragePool", ["p"], ["y"], name="avgpool", kernel_shape=[3, 2],
                         pads=[1, 1, 1, 1], count_include_pad=1, strides=[3, 2]),
    ]
    g = helper.make_graph(nodes, "conv_attrs", [x], [y], [numpy_helper.from_array(w, "w"),
                                                          *bn])
    save(g, "conv_attrs.onnx", opset=11, check=False)


def ops_opset7():
    """Opset 7 forms: Clip bounds, Pad pads and value as attributes;
    Softmax's default axis 1; Dropout; LeakyRelu's default alpha."""
    x = io("x", ["N", 3])
    y = io("y", ["N", 5])
    nodes = [
        helper.make_node("Clip", ["x"], ["c"], name="clip", min=-1.0, max=6.0),
        helper.make_node("Pad", ["c"], ["p"], name="pad", pads=[0, 1, 0, 1], value=0.5),
        helper.make_node("Dropout", ["p"], ["d"], name="dropout", ratio=0.3),
        helper.make_node("LeakyRelu", ["d"], ["l"], name="leaky"),
        helper.make_node("Softmax", ["l"], ["y"], name="softmax"),
    ]
    save(helper.make_graph(nodes, "ops_opset7", [x], [y]), "ops_opset7.onnx", opset=7)


def ops_opset13():
    """Opset 13 forms: Clip bounds and Pad pads as constant inputs (max
    absent), Softmax's default axis -1, Squeeze of a computed tensor, Dropout
    with its mask unused, Selu and HardSigmoid defaults, Transpose."""
    x = io("x", ["N", 3, 1])
    y = io("y", ["N", 7])
    inits = [numpy_helper.from_array(np.array(0.0, dtype=np.float32), "lo"),
             numpy_helper.from_array(np.array([0, 2, 0, 2], dtype=np.int64), "pads"),
             numpy_helper.from_array(np.array(-2.0, dtype=np.float32), "pv"),
             numpy_helper.from_array(np.array([2], dtype=np.int64), "axes")]
    nodes = [
        helper.make_node("Squeeze", ["x", "axes"], ["s"], name="squeeze"),
        helper.make_node("Clip", ["s", "lo", ""], ["c"], name="clip"),
        helper.make_node("Pad", ["c", "pads", "pv"], ["p"], name="pad"),
        helper.make_node("Dropout", ["p"], ["d", "mask"], name="dropout"),
        helper.make_node("Selu", ["d"], ["se"], name="selu"),
        helper.make_node("HardSigmoid", ["se"], ["hs"], name="hsig", beta=0.25),
        helper.make_node("Transpose", ["hs"], ["t"], name="transpose", perm=[0, 1]),
        helper.make_node("Softmax", ["t"], ["y"], name="softmax"),
    ]
    save(helper.make_graph(nodes, "ops_opset13", [x], [y], inits), "ops_opset13.onnx")


def error_models():
    """Files that must load with a precise error."""
    x = io("x", ["N", 3])
    y = io("y", ["N", 3])

    # An operator nnheat does not run.
    w = numpy_helper.from_array(np.zeros((1, 8, 3), dtype=np.float32), "W")
    r = numpy_helper.from_array(np.zeros((1, 8, 2), dtype=np.float32), "R")
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("LSTM", ["r", "W", "R"], ["y"], name="lstm7", hidden_size=2)]
    save(helper.make_graph(nodes, "unsupported", [x], [y], [w, r]), "unsupported_op.onnx",
         check=False)

    # A node of another domain.
    nodes = [helper.make_node("FusedGemm", ["x"], ["y"], name="fused", domain="com.microsoft")]
    save(helper.make_graph(nodes, "other_domain", [x], [y]), "other_domain.onnx",
         check=False)

    # Two computed inputs.
    nodes = [helper.make_node("Add", ["x", "z"], ["y"], name="add")]
    save(helper.make_graph(nodes, "two_inputs", [x, io("z", [1, 3])], [y]),
         "two_inputs.onnx")

    # A node that reads a value nothing defines.
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "ghost"], ["y"], name="add_ghost")]
    save(helper.make_graph(nodes, "missing_input", [x], [y]), "missing_input.onnx",
         check=False)

    # A Shape node without its input.
    nodes = [helper.make_node("Shape", [], ["s"], name="shape"),
             helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape")]
    save(helper.make_graph(nodes, "shape_no_input", [x], [y]), "shape_no_input.onnx",
         check=False)

    # raw_data of the wrong size.
    bad = numpy_helper.from_array(np.zeros(3, dtype=np.float32), "bias")
    bad.raw_data = bad.raw_data[:8]
    nodes = [helper.make_node("Add", ["x", "bias"], ["y"], name="add")]
    save(helper.make_graph(nodes, "bad_raw_size", [x], [y], [bad]), "bad_raw_size.onnx",
         check=False)

    # Weights in an external file.
    ext = TensorProto()
    ext.name = "bias"
    ext.data_type = TensorProto.FLOAT
    ext.dims.append(3)
    ext.data_location = TensorProto.EXTERNAL
    entry = ext.external_data.add()
    entry.key, entry.value = "location", "bias.bin"
    save(helper.make_graph(nodes, "external_data", [x], [y], [ext]), "external_data.onnx",
         check=False)

    # MaxPool's Indices output used (as a graph output).
    x4 = io("x", ["N", 1, 4, 4])
    nodes = [helper.make_node("MaxPool", ["x"], ["p", "idx"], name="pool",
                              kernel_shape=[2, 2])]
    save(helper.make_graph(nodes, "maxpool_indices", [x4],
                           [io("p", ["N", 1, 3, 3]),
                            helper.make_tensor_value_info("idx", TensorProto.INT64,
                                                          ["N", 1, 3, 3])]),
         "maxpool_indices.onnx")

    # Pad in reflect mode.
    pads = numpy_helper.from_array(np.array([0, 1, 0, 1], dtype=np.int64), "pads")
    nodes = [helper.make_node("Pad", ["x", "pads"], ["y"], name="pad_reflect",
                              mode="reflect")]
    save(helper.make_graph(nodes, "pad_reflect", [x], [io("y", ["N", 5])], [pads]),
         "pad_reflect.onnx")

    # Opset 6: Relu has its current form, Add its legacy broadcast one.
    c = numpy_helper.from_array(np.ones(3, dtype=np.float32), "c")
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Add", ["r", "c"], ["y"], name="add", broadcast=1)]
    save(helper.make_graph(nodes, "opset6", [x, io("c", [3])], [y], [c]), "opset6.onnx",
         opset=6, ir_version=3)
    # Opset 22, past what the loader knows.
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    save(helper.make_graph(nodes, "opset22", [x], [y]), "opset22.onnx", opset=22, check=False)
    # A symbolic axis other than the batch.
    save(helper.make_graph(nodes, "symbolic_axis", [io("x", ["N", "C"])], [io("y", ["N", "C"])]),
         "symbolic_axis.onnx")

    # An integer computed input.
    xi = helper.make_tensor_value_info("x", TensorProto.INT64, ["N", 3])
    nodes = [helper.make_node("Identity", ["x"], ["y"], name="id")]
    save(helper.make_graph(nodes, "int_input", [xi], [y]), "int_input.onnx", check=False)


def bind_models():
    """A Reshape whose shape is a graph input (as in ONNX's backend tests),
    and two TensorProto files like their input_0.pb."""
    x = io("x", ["N", 2, 3])
    shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [2])
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")]
    save(helper.make_graph(nodes, "reshape_bind", [x, shape], [io("y", ["N", 6])]),
         "reshape_bind.onnx")

    t = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3) / 4, "t")
    with open(os.path.join(HERE, "tensor_float.pb"), "wb") as f:
        f.write(t.SerializeToString())
    t = numpy_helper.from_array(np.array([[7], [-2]], dtype=np.int64), "i")
    with open(os.path.join(HERE, "tensor_int64.pb"), "wb") as f:
        f.write(t.SerializeToString())


def torch_models():
    """x.view(x.size(0), -1) as PyTorch exports it: with a dynamic batch it
    is Shape -> Gather -> Unsqueeze -> Concat -> Reshape; with a fixed batch
    of 1 it is Reshape to the constant [1, -1]. The expected outputs of a
    fixed input are written next to the models."""
    try:
        import torch
    except ImportError:
        print("no torch: torch_view*.onnx not remade")
        return

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 2, 3)
            self.fc = torch.nn.Linear(2 * 2 * 2, 3)
            with torch.no_grad():
                self.conv.weight.copy_(torch.arange(18.0).reshape(2, 1, 3, 3) / 20 - 0.4)
                self.conv.bias.copy_(torch.tensor([0.1, -0.1]))
                self.fc.weight.copy_(torch.arange(24.0).reshape(3, 8) / 30 - 0.35)
                self.fc.bias.copy_(torch.tensor([0.0, 0.2, -0.2]))

        def forward(self, x):
            y = torch.relu(self.conv(x))
            return self.fc(y.view(y.size(0), -1))

    net = Net().eval()
    x = (torch.arange(32.0).reshape(2, 1, 4, 4) / 16 - 1).sin()
    with torch.no_grad():
        y = net(x)
    torch.onnx.export(net, x[:1], os.path.join(HERE, "torch_view.onnx"), input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                      opset_version=13)
    torch.onnx.export(net, x[:1], os.path.join(HERE, "torch_view_static.onnx"),
                      input_names=["x"], output_names=["y"], opset_version=13)
    with open(os.path.join(HERE, "torch_view.txt"), "w") as f:
        f.write("# input (2 x 1 x 4 x 4) then output (2 x 3) of torch_view*.onnx\n")
        f.write(" ".join("%.9g" % v for v in x.numpy().ravel()) + "\n")
        f.write(" ".join("%.9g" % v for v in y.numpy().ravel()) + "\n")


def main():
    os.makedirs(HERE, exist_ok=True)
    gemm_raw()
    gemm_float_data()
    old_style()
    constant_node()
    dtypes()
    conv_attrs()
    ops_opset7()
    ops_opset13()
    error_models()
    bind_models()
    torch_models()


if __name__ == "__main__":
    main()
