#!/usr/bin/python3
"""Makes the benchmark's models and sample files.

    make_models.py OUTDIR [--samples 10000] [--vgg-reference 1000]
                          [--scaling mlp] [--sizes 1000,10000,100000]

Writes into OUTDIR:
  mlp.onnx       784-1024-1024-10, ReLU after the two hidden layers;
  vgg.onnx       3x32x32 -> conv 32, conv 32, max pool, conv 64, conv 64,
                 max pool, dense 256, dense 10; 3x3 kernels, same padding,
                 ReLU after every conv and after dense 256;
  M_xN.npy       N input samples of model M: for fashion the first N
                 Fashion-MNIST test images as float32 x / 255, computed as
                 nnheat computes --scale 1/255; for mlp and vgg N(0, 1);
  M_pN.npy       N optimal samples N(0, 1);
for every model at --samples, for vgg also at --vgg-reference, and for the
--scaling model at every size of --sizes.

Weights are Glorot-uniform, biases 0, from a fixed seed; every input is a
dynamic batch axis "N". A file that exists already is kept.
Needs only Debian's python3-numpy and python3-onnx.
"""
import argparse
import gzip
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
SEED = 20240601


def glorot(rng, shape, fan_in, fan_out):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, size=shape).astype(np.float32)


def save(path, nodes, inits, in_shape, out_shape):
    g = h.make_graph(nodes, os.path.basename(path)[:-5],
                     [h.make_tensor_value_info("x", T.FLOAT, ["N"] + in_shape)],
                     [h.make_tensor_value_info("y", T.FLOAT, ["N"] + out_shape)],
                     [nh.from_array(v, k) for k, v in inits.items()])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)],
                     producer_name="nnheat-bench")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)


def make_mlp(path, rng):
    sizes = [784, 1024, 1024, 10]
    nodes, inits, x = [], {}, "x"
    for i in range(3):
        a, b = sizes[i], sizes[i + 1]
        inits[f"w{i}"] = glorot(rng, (b, a), a, b)        # Gemm transB=1
        inits[f"b{i}"] = np.zeros(b, np.float32)
        y = "y" if i == 2 else f"g{i}"
        nodes.append(h.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y],
                                 name=f"dense{i + 1}", transB=1))
        if i < 2:
            nodes.append(h.make_node("Relu", [y], [f"r{i}"], name=f"relu{i + 1}"))
            y = f"r{i}"
        x = y
    save(path, nodes, inits, [784], [10])


def make_vgg(path, rng):
    nodes, inits, x = [], {}, "x"
    chans = [(3, 32), (32, 32), None, (32, 64), (64, 64), None]
    k = 0
    for spec in chans:
        if spec is None:
            k += 1
            nodes.append(h.make_node("MaxPool", [x], [f"p{k}"], name=f"pool{k}",
                                     kernel_shape=[2, 2], strides=[2, 2]))
            x = f"p{k}"
            continue
        cin, cout = spec
        i = len([n for n in nodes if n.op_type == "Conv"]) + 1
        inits[f"cw{i}"] = glorot(rng, (cout, cin, 3, 3), cin * 9, cout * 9)
        inits[f"cb{i}"] = np.zeros(cout, np.float32)
        nodes.append(h.make_node("Conv", [x, f"cw{i}", f"cb{i}"], [f"c{i}"],
                                 name=f"conv{i}", kernel_shape=[3, 3],
                                 pads=[1, 1, 1, 1]))
        nodes.append(h.make_node("Relu", [f"c{i}"], [f"cr{i}"], name=f"relu_c{i}"))
        x = f"cr{i}"
    nodes.append(h.make_node("Flatten", [x], ["f"], name="flatten", axis=1))
    inits["dw1"] = glorot(rng, (256, 64 * 8 * 8), 64 * 8 * 8, 256)
    inits["db1"] = np.zeros(256, np.float32)
    inits["dw2"] = glorot(rng, (10, 256), 256, 10)
    inits["db2"] = np.zeros(10, np.float32)
    nodes += [
        h.make_node("Gemm", ["f", "dw1", "db1"], ["d1"], name="dense1", transB=1),
        h.make_node("Relu", ["d1"], ["dr1"], name="relu_d1"),
        h.make_node("Gemm", ["dr1", "dw2", "db2"], ["y"], name="dense2", transB=1),
    ]
    save(path, nodes, inits, [3, 32, 32], [10])


def normal(path, n, shape, seed):
    """n samples N(0, 1) of the given shape, written in pieces so that 100,000
    VGG inputs need no more memory than a piece."""
    if os.path.exists(path):
        return
    rng = np.random.default_rng(seed)
    tmp = path + ".part"
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32,
                                    shape=(n, *shape))
    step = 5000
    for s in range(0, n, step):
        m = min(step, n - s)
        arr[s:s + m] = rng.standard_normal((m, *shape), dtype=np.float32)
    arr.flush()
    del arr
    os.replace(tmp, path)


def fashion(path, n):
    """The first n Fashion-MNIST test images as nnheat reads them with
    --scale 1/255: (float)(x * (1/255) + 0), the product in double."""
    if os.path.exists(path):
        return
    with gzip.open(IMAGES, "rb") as f:
        raw = f.read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    if n > dims[0]:
        raise SystemExit(f"{IMAGES} holds {dims[0]} images, {n} wanted")
    x = np.frombuffer(raw, dtype=np.uint8, count=n * dims[1] * dims[2],
                      offset=4 + 4 * raw[3]).reshape(n, 1, dims[1], dims[2])
    np.save(path, (x.astype(np.float64) * (1.0 / 255.0) + 0.0).astype(np.float32))


SHAPES = {"fashion": (1, 28, 28), "mlp": (784,), "vgg": (3, 32, 32)}


def samples(d, model, n):
    """{model}_x{n}.npy (input) and {model}_p{n}.npy (optimal, N(0, 1)).
    A file's seed depends on its model, role and size only."""
    k = list(SHAPES).index(model)
    if model == "fashion":
        fashion(f"{d}/fashion_x{n}.npy", n)
    else:
        normal(f"{d}/{model}_x{n}.npy", n, SHAPES[model], SEED + 10 * n + 2 * k)
    normal(f"{d}/{model}_p{n}.npy", n, SHAPES[model], SEED + 10 * n + 2 * k + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--samples", type=int, default=10000,
                    help="input and optimal samples of every model [10000]")
    ap.add_argument("--vgg-reference", type=int, default=1000,
                    help="the smaller VGG sample set for the reference [1000]")
    ap.add_argument("--scaling", default="mlp", choices=["mlp", "vgg"])
    ap.add_argument("--sizes", default="1000,10000,100000",
                    help="sample counts of the scaling runs")
    args = ap.parse_args()
    d = args.outdir
    os.makedirs(d, exist_ok=True)
    if not os.path.exists(f"{d}/mlp.onnx"):
        make_mlp(f"{d}/mlp.onnx", np.random.default_rng(SEED))
    if not os.path.exists(f"{d}/vgg.onnx"):
        make_vgg(f"{d}/vgg.onnx", np.random.default_rng(SEED + 1))
    for model in SHAPES:
        samples(d, model, args.samples)
    samples(d, "vgg", args.vgg_reference)
    for n in (int(s) for s in args.sizes.split(",")):
        samples(d, args.scaling, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
