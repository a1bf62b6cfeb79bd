#!/usr/bin/python3
"""Independent check of model.onnx against logits_first100.npy.

Runs the exported graph with a small NumPy-only interpreter written here
(no PyTorch, no onnxruntime): weights are read from the graph initializers
with onnx.numpy_helper and every node is evaluated by hand, honouring its
attributes. The first 100 Fashion-MNIST test images, scaled to [0, 1], are
run through it and the logits are compared with the PyTorch reference in
logits_first100.npy. Exits non-zero on any mismatch.

Usage: /usr/bin/python3 examples/fashion_mnist/check_onnx.py
"""

import gzip
import os
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = "/usr/share/datasets/fashion-mnist"
TOL = 1e-4


def read_idx_images(path, count):
    with gzip.open(path, "rb") as f:
        head = f.read(16)
        magic, n, rows, cols = struct.unpack(">IIII", head)
        if magic != 0x00000803:
            raise ValueError("%s: not an IDX3 ubyte file" % path)
        count = min(count, n)
        data = np.frombuffer(f.read(count * rows * cols), dtype=np.uint8)
    return data.reshape(count, 1, rows, cols)


def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv2d(x, w, b, a):
    if a.get("group", 1) != 1:
        raise NotImplementedError("grouped Conv")
    if any(d != 1 for d in a.get("dilations", [1, 1])):
        raise NotImplementedError("dilated Conv")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    n, c, h, wd = x.shape
    m, c2, kh, kw = w.shape
    assert c == c2
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr), dtype=np.float64)
    xp[:, :, pt:pt + h, pl:pl + wd] = x
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    y = np.zeros((n, m, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]  # n c oh ow
            y += np.einsum("nchw,mc->nmhw", patch, w[:, :, i, j])
    if b is not None:
        y += b.reshape(1, m, 1, 1)
    return y


def maxpool2d(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pads = a.get("pads", [0, 0, 0, 0])
    if any(pads) or a.get("ceil_mode", 0) or \
            any(d != 1 for d in a.get("dilations", [1, 1])):
        raise NotImplementedError("MaxPool with pads/ceil_mode/dilations")
    n, c, h, w = x.shape
    oh = (h - kh) // sh + 1
    ow = (w - kw) // sw + 1
    y = np.full((n, c, oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw])
    return y


def gemm(a_, b_, c_, a):
    if a.get("transA", 0):
        a_ = a_.T
    if a.get("transB", 0):
        b_ = b_.T
    y = a.get("alpha", 1.0) * (a_ @ b_)
    if c_ is not None:
        y = y + a.get("beta", 1.0) * c_
    return y


def reshape(x, shape):
    shape = [int(s) for s in shape]
    out = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(out)


def run(model, image):
    """Evaluate the graph in float64 on one input array; return outputs."""
    g = model.graph
    env = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    init_names = set(env)
    inputs = [i.name for i in g.input if i.name not in init_names]
    assert len(inputs) == 1, inputs
    env[inputs[0]] = image.astype(np.float64)

    for node in g.node:
        a = attrs_of(node)
        x = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Constant":
            y = numpy_helper.to_array(a["value"])
        elif op == "Conv":
            y = conv2d(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op == "Relu":
            y = np.maximum(x[0], 0.0)
        elif op == "MaxPool":
            y = maxpool2d(x[0], a)
        elif op == "Shape":
            y = np.array(x[0].shape, dtype=np.int64)
        elif op == "Gather":
            y = np.take(x[0], x[1], axis=a.get("axis", 0))
        elif op == "Unsqueeze":        # opset 13: axes is an input
            y = x[0]
            for ax in sorted(int(v) for v in x[1]):
                y = np.expand_dims(y, ax if ax >= 0 else ax + y.ndim + 1)
        elif op == "Concat":
            y = np.concatenate([np.atleast_1d(v) for v in x], axis=a["axis"])
        elif op == "Reshape":
            y = reshape(x[0], x[1])
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
        elif op == "Gemm":
            y = gemm(x[0], x[1], x[2] if len(x) > 2 else None, a)
        else:
            raise NotImplementedError("op %s" % op)
        assert len(node.output) == 1, node.op_type
        env[node.output[0]] = y
    return {o.name: env[o.name] for o in g.output}


def main():
    model = onnx.load(os.path.join(HERE, "model.onnx"))
    onnx.checker.check_model(model)
    ref = np.load(os.path.join(HERE, "logits_first100.npy"))
    ok = True

    g = model.graph
    names_in = [i.name for i in g.input]
    names_out = [o.name for o in g.output]
    if names_in != ["image"] or names_out != ["logits"]:
        print("FAIL: graph input/output names %s -> %s" % (names_in, names_out))
        ok = False
    batch_dim = g.input[0].type.tensor_type.shape.dim[0]
    if not batch_dim.dim_param:
        print("FAIL: batch axis of 'image' is not dynamic")
        ok = False
    if ref.dtype != np.float32 or ref.shape != (100, 10):
        print("FAIL: reference is %s %s, want float32 (100, 10)"
              % (ref.dtype, ref.shape))
        ok = False

    imgs = read_idx_images(
        os.path.join(DATA_DIR, "t10k-images-idx3-ubyte.gz"), 100)
    x = imgs.astype(np.float32) / np.float32(255.0)

    got = run(model, x)["logits"]
    err = float(np.max(np.abs(got - ref)))
    print("batch of 100: max |numpy - torch| = %.3g (tolerance %g)"
          % (err, TOL))
    if not err <= TOL:
        ok = False

    # The batch axis is dynamic: a different batch size gives the same rows.
    part = run(model, x[37:44])["logits"]
    err7 = float(np.max(np.abs(part - ref[37:44])))
    print("batch of 7:   max |numpy - torch| = %.3g" % err7)
    if not err7 <= TOL:
        ok = False

    if np.any(got.argmax(1) != ref.argmax(1)):
        print("FAIL: predicted classes differ")
        ok = False

    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
