"""Writes the small Keras test models of tests/data/keras, by hand.

There is no Keras here: each network is described once below, and written
with h5py, zipfile and json in the layouts the real files use (see
../shared/fixtures/keras and docs/keras.md):

- NAME.keras       Keras 3 zip: config.json (layers with "module", functional
                   inbound_nodes as {"args": [keras tensors]}), metadata.json,
                   model.weights.h5 (layers/<class in snake case>[_k]/vars/i)
- NAME_k2.h5       legacy HDF5 from Keras 2: model_config, model_weights with
                   fixed-length byte-string layer_names / weight_names
                   ("layer/kernel:0"), inbound_nodes as [[name, 0, 0, {}]]
- NAME_k3.h5       legacy HDF5 from Keras 3: variable-length UTF-8 strings,
                   weight names "model/layer/kernel", layer_names split into
                   layer_names0, layer_names1 (as Keras does past 64 KiB)
- NAME_tfjs.json   TF.js layers model (converter's nested modelTopology),
                   weights in NAME_tfjs.bin and NAME_tfjs_2.bin, listed
                   trainable weights first as tfjs itself saves them
- cnn1_tfjs.json   the CNN without grouped convolution, which TF.js lacks
- extra.keras, extra_k2.h5  augmentation layers and activations TF.js lacks
- NAME_weights.h5  legacy weights only, under other layer names (needs
                   --config NAME_tfjs.json; matched by order)
- NAME.onnx        the same network channels-first (the layout converted:
                   NCHW tensors, OIHW kernels, a Transpose before Flatten)

and samples NAME_in.npy / NAME_opt.npy (channels-last).

Also bad files for the error tests. Run with Debian's python3 (python3-h5py,
python3-numpy, python3-onnx):  /usr/bin/python3 make_keras_models.py
"""
import io
import json
import os
import re
import sys
import zipfile

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- networks

class Layer:
    def __init__(self, cls, name, inputs, cfg=None, weights=None):
        self.cls = cls
        self.name = name
        self.inputs = inputs            # names of the layers it reads
        self.cfg = cfg or {}
        self.weights = weights or []    # [(role, array)] in Keras's order


def net_cnn(rng, groups=2):
    """A functional CNN with every listed layer that ONNX can mirror. TF.js
    has no grouped convolution: its twin takes groups=1."""
    def w(*shape, scale=0.5):
        return rng.normal(0, scale, shape).astype(np.float32)

    L = [
        Layer("InputLayer", "image", [], {"batch_shape": [None, 10, 10, 2]}),
        Layer("Rescaling", "rescale", ["image"], {"scale": 0.5, "offset": -0.25}),
        Layer("Conv2D", "conv_a", ["rescale"],
              {"filters": 6, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
               "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": True},
              [("kernel", w(3, 3, 2, 6)), ("bias", w(6, scale=0.1))]),
        Layer("BatchNormalization", "bn_a", ["conv_a"],
              {"axis": -1, "epsilon": 0.001, "center": True, "scale": True},
              [("gamma", rng.uniform(0.5, 1.5, 6).astype(np.float32)),
               ("beta", w(6, scale=0.1)), ("moving_mean", w(6, scale=0.2)),
               ("moving_variance", rng.uniform(0.5, 2, 6).astype(np.float32))]),
        Layer("Activation", "relu_a", ["bn_a"], {"activation": "relu"}),
        Layer("MaxPooling2D", "pool_a", ["relu_a"],
              {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid"}),
        Layer("Conv2D", "conv_b", ["pool_a"],
              {"filters": 6, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
               "dilation_rate": [1, 1], "groups": groups, "activation": "linear",
               "use_bias": True},
              [("kernel", w(3, 3, 6 // groups, 6)), ("bias", w(6, scale=0.1))]),
        Layer("ELU", "elu_b", ["conv_b"], {"alpha": 1.0}),
        Layer("Add", "residual", ["pool_a", "elu_b"]),
        Layer("Conv2D", "conv_c", ["residual"],
              {"filters": 4, "kernel_size": [2, 2], "strides": [1, 1], "padding": "valid",
               "dilation_rate": [2, 2], "groups": 1, "activation": "tanh", "use_bias": True},
              [("kernel", w(2, 2, 6, 4)), ("bias", w(4, scale=0.1))]),
        Layer("AveragePooling2D", "avg", ["residual"],
              {"pool_size": [2, 2], "strides": [1, 1], "padding": "same"}),
        Layer("GlobalAveragePooling2D", "gap", ["avg"], {"keepdims": False}),
        Layer("GlobalMaxPooling2D", "gmp", ["conv_c"], {"keepdims": False}),
        Layer("Concatenate", "cat", ["gap", "gmp"], {"axis": -1}),
        Layer("Dense", "dense_a", ["cat"], {"units": 8, "activation": "sigmoid", "use_bias": True},
              [("kernel", w(10, 8)), ("bias", w(8, scale=0.1))]),
        Layer("Dropout", "drop", ["dense_a"], {"rate": 0.5}),
        Layer("Conv2D", "conv_s", ["image"],
              {"filters": 3, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
               "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": False},
              [("kernel", w(3, 3, 2, 3))]),
        Layer("Reshape", "rows", ["conv_s"], {"target_shape": [25, 3]}),
        Layer("Dense", "dense_rows", ["rows"],
              {"units": 2, "activation": "linear", "use_bias": True},
              [("kernel", w(3, 2)), ("bias", w(2, scale=0.1))]),
        Layer("ReLU", "relu6", ["dense_rows"], {"max_value": 6.0, "negative_slope": 0.0,
                                                "threshold": 0.0}),
        Layer("Flatten", "flat", ["relu6"], {}),
        Layer("Dense", "dense_b", ["flat"], {"units": 5, "activation": "linear",
                                             "use_bias": True},
              [("kernel", w(50, 5, scale=0.3)), ("bias", w(5, scale=0.1))]),
        Layer("LeakyReLU", "leaky", ["dense_b"], {"negative_slope": 0.1}),
        Layer("Concatenate", "cat2", ["drop", "leaky"], {"axis": -1}),
        Layer("Dense", "dense_c", ["cat2"], {"units": 4, "activation": "linear",
                                             "use_bias": True},
              [("kernel", w(13, 4)), ("bias", w(4, scale=0.1))]),
        Layer("Softmax", "probs", ["dense_c"], {"axis": -1}),
    ]
    return L, "probs"


def net_act(rng):
    """A Sequential stack of Dense layers, one per activation."""
    def w(*shape, scale=0.6):
        return rng.normal(0, scale, shape).astype(np.float32)

    acts = ["softsign", "swish", "gelu", "selu", "softplus", "hard_sigmoid", "elu",
            "relu6", "sigmoid", "tanh", "relu", "linear"]
    L = [Layer("InputLayer", "x", [], {"batch_shape": [None, 6]})]
    prev, width = "x", 6
    for i, a in enumerate(acts):
        name = f"dense_{a}"
        L.append(Layer("Dense", name, [prev], {"units": 7, "activation": a, "use_bias": True},
                       [("kernel", w(width, 7)), ("bias", w(7, scale=0.3))]))
        prev, width = name, 7
        if i == 3:
            L.append(Layer("Dropout", "noise", [prev], {"rate": 0.1}))
            prev = "noise"
    L.append(Layer("Dense", "out", [prev], {"units": 3, "activation": "softmax",
                                            "use_bias": True},
                   [("kernel", w(width, 3)), ("bias", w(3, scale=0.3))]))
    return L, "out"


def net_extra(rng):
    """What the other two leave out and TF.js cannot run: augmentation
    layers (identities at inference), the leaky_relu and silu activations,
    batch normalisation without gamma, a global pool with keepdims, and a
    second output."""
    def w(*shape, scale=0.6):
        return rng.normal(0, scale, shape).astype(np.float32)

    L = [
        Layer("InputLayer", "image", [], {"batch_shape": [None, 5, 5, 2]}),
        Layer("RandomFlip", "flip", ["image"], {"mode": "horizontal", "seed": None}),
        Layer("RandomCrop", "crop", ["flip"], {"height": 5, "width": 5, "seed": None}),
        Layer("Conv2D", "conv", ["crop"],
              {"filters": 3, "kernel_size": [2, 2], "strides": [1, 1], "padding": "valid",
               "dilation_rate": [1, 1], "groups": 1, "activation": "leaky_relu",
               "use_bias": True},
              [("kernel", w(2, 2, 2, 3)), ("bias", w(3, scale=0.2))]),
        Layer("BatchNormalization", "bn", ["conv"],
              {"axis": -1, "epsilon": 0.01, "center": True, "scale": False},
              [("beta", w(3, scale=0.1)), ("moving_mean", w(3, scale=0.2)),
               ("moving_variance", rng.uniform(0.5, 2, 3).astype(np.float32))]),
        Layer("GlobalMaxPooling2D", "gmp", ["bn"], {"keepdims": True}),
        Layer("Flatten", "flat", ["gmp"], {}),
        Layer("Dense", "out", ["flat"], {"units": 4, "activation": "silu", "use_bias": True},
              [("kernel", w(3, 4)), ("bias", w(4, scale=0.2))]),
        Layer("Dense", "head2", ["flat"], {"units": 2, "activation": "tanh", "use_bias": True},
              [("kernel", w(3, 2)), ("bias", w(2, scale=0.2))]),
    ]
    return L, ["out", "head2"]  # two outputs: nnheat run writes the first


# ----------------------------------------------------------- Keras configs

def snake(cls):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", cls)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def dtype3():
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
            "registered_name": None}


def layer_config(layer, keras3):
    cfg = dict(layer.cfg)
    if layer.cls == "InputLayer":
        shape = cfg.pop("batch_shape")
        out = {"batch_shape" if keras3 else "batch_input_shape": shape,
               "dtype": "float32", "sparse": False, "name": layer.name}
        if not keras3:
            out["ragged"] = False
        return out
    out = {"name": layer.name, "trainable": True,
           "dtype": dtype3() if keras3 else "float32"}
    if not keras3 and layer.cls == "LeakyReLU":
        cfg = {"alpha": cfg["negative_slope"]}
    if layer.cls in ("Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
                     "GlobalMaxPooling2D", "Flatten"):
        cfg["data_format"] = "channels_last"
    if not keras3 and layer.cls == "BatchNormalization":
        cfg["axis"] = [3] if cfg["axis"] == -1 else cfg["axis"]
    out.update(cfg)
    return out


def tensor3(name):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": None, "dtype": "float32", "keras_history": [name, 0, 0]}}


def model_config(layers, output, keras3, functional, model_name):
    items = []
    for layer in layers:
        item = {"class_name": layer.cls, "config": layer_config(layer, keras3)}
        if keras3:
            item = {"module": "keras.layers", **item, "registered_name": None}
        if functional:
            item["name"] = layer.name
            if not layer.inputs:
                item["inbound_nodes"] = []
            elif keras3:
                args = [tensor3(n) for n in layer.inputs]
                item["inbound_nodes"] = [{"args": [args] if len(args) > 1 else args,
                                          "kwargs": {}}]
            else:
                item["inbound_nodes"] = [[[n, 0, 0, {}] for n in layer.inputs]]
        items.append(item)
    config = {"name": model_name, "trainable": True, "layers": items}
    if functional:
        config["input_layers"] = [[layers[0].name, 0, 0]]
        outs = output if isinstance(output, list) else [output]
        config["output_layers"] = [[o, 0, 0] for o in outs]
    if keras3:
        config["dtype"] = dtype3()
    top = {"class_name": "Functional" if functional else "Sequential", "config": config}
    if keras3:
        top = {"module": "keras", **top,
               "registered_name": "Functional" if functional else None}
    return top


# ------------------------------------------------------------------ writers

def string_array(values, fixed):
    if fixed:
        return np.array([v.encode() for v in values]) if values else np.array([])
    return np.array(values, dtype=h5py.string_dtype())


def write_keras3_weights(h5, layers, functional):
    """model.weights.h5 of a .keras file."""
    used = {}
    top = h5.create_group("layers")
    for layer in layers:
        if layer.cls == "InputLayer" and not functional:
            continue
        base = snake(layer.cls)
        if base in used:
            used[base] += 1
            key = f"{base}_{used[base]}"
        else:
            used[base] = 0
            key = base
        vars_ = top.create_group(key).create_group("vars")
        for i, (_, arr) in enumerate(layer.weights):
            vars_.create_dataset(str(i), data=arr)
    h5.create_group("optimizer").create_group("vars")
    h5.create_group("vars")


def write_keras(path, layers, output, functional):
    config = model_config(layers, output, True, functional, "net")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        write_keras3_weights(h5, layers, functional)
    with zipfile.ZipFile(path, "w") as z:
        # Dated 1980-01-01 as Keras dates its entries.
        z.writestr(zipfile.ZipInfo("metadata.json"),
                   json.dumps({"keras_version": "3.4.1", "date_saved": "2024-07-01@15:08:29"}))
        z.writestr(zipfile.ZipInfo("config.json"), json.dumps(config),
                   compress_type=zipfile.ZIP_DEFLATED)
        z.writestr(zipfile.ZipInfo("model.weights.h5"), buf.getvalue())


def write_legacy_group(root, layers, keras3, model_name, split, functional):
    """Keras lists model.layers: a functional model's InputLayer too."""
    names = [l.name for l in layers if functional or l.cls != "InputLayer"]
    for layer in layers:
        if layer.name not in names:
            continue
        g = root.create_group(layer.name)
        wnames = []
        for role, arr in layer.weights:
            wn = f"{model_name}/{layer.name}/{role}" if keras3 else f"{layer.name}/{role}:0"
            g.create_dataset(wn, data=arr)
            wnames.append(wn)
        g.attrs["weight_names"] = string_array(wnames, not keras3)
    if split:
        half = len(names) // 2
        root.attrs["layer_names0"] = string_array(names[:half], not keras3)
        root.attrs["layer_names1"] = string_array(names[half:], not keras3)
    else:
        root.attrs["layer_names"] = string_array(names, not keras3)
    root.attrs["backend"] = "tensorflow"
    root.attrs["keras_version"] = "3.8.0" if keras3 else "2.12.0"


def write_legacy(path, layers, output, functional, keras3):
    config = model_config(layers, output, keras3, functional, "net")
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "3.8.0" if keras3 else "2.12.0"
        f.attrs["model_config"] = json.dumps(config)
        write_legacy_group(f.create_group("model_weights"), layers, keras3, "net", keras3,
                           functional)


def write_weights_only(path, layers):
    """save_weights in Keras 2's HDF5 layout, under other layer names."""
    renamed = []
    for layer in layers:
        c = Layer(layer.cls, layer.name + "_7", layer.inputs, layer.cfg, layer.weights)
        renamed.append(c)
    with h5py.File(path, "w") as f:
        write_legacy_group(f, renamed, False, "net", False, True)


def write_tfjs(path, layers, output, functional):
    stem = os.path.splitext(os.path.basename(path))[0]
    config = model_config(layers, output, False, functional, "net")
    trainable, frozen = [], []
    for layer in layers:
        for role, arr in layer.weights:
            spec = ({"name": f"{layer.name}/{role}", "shape": list(arr.shape),
                     "dtype": "float32"}, arr)
            (frozen if role.startswith("moving_") else trainable).append(spec)
    specs = trainable + frozen
    data = b"".join(a.astype("<f4").tobytes() for _, a in specs)
    cut = len(data) // 2 // 4 * 4
    shards = [stem + ".bin", stem + "_2.bin"]
    for name, part in zip(shards, (data[:cut], data[cut:])):
        with open(os.path.join(os.path.dirname(path), name), "wb") as f:
            f.write(part)
    model = {"format": "layers-model", "generatedBy": "keras v2.12.0",
             "convertedBy": "TensorFlow.js Converter v4.4.0",
             "modelTopology": {"keras_version": "2.12.0", "backend": "tensorflow",
                               "model_config": config},
             "weightsManifest": [{"paths": shards, "weights": [s for s, _ in specs]}]}
    with open(path, "w") as f:
        json.dump(model, f)


# -------------------------------------------------------------------- ONNX

def write_onnx(path, layers, output):
    """The network channels-first: what a converter makes of it."""
    nodes, inits = [], []
    rank = {}

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), name))
        return name

    def node(op, ins, out, **attrs):
        nodes.append(helper.make_node(op, ins, [out], name=out, **attrs))
        return out

    def same_pads(size, k, s, d):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        return total // 2, total - total // 2

    shape = {}  # channels-last shape per layer, batch excluded
    for layer in layers:
        c, n, ins = layer.cfg, layer.name, layer.inputs
        wts = dict(layer.weights)
        x = ins[0] if ins else None
        if layer.cls == "InputLayer":
            shape[n] = tuple(c["batch_shape"][1:])
            continue
        s = shape[x] if x else None
        if layer.cls == "Rescaling":
            t = node("Mul", [x, const(n + "/scale", [c["scale"]])], n + "/mul")
            node("Add", [t, const(n + "/offset", [c["offset"]])], n)
            shape[n] = s
        elif layer.cls == "Conv2D":
            k, st, d = c["kernel_size"], c["strides"], c["dilation_rate"]
            h, wd = s[0], s[1]
            if c["padding"] == "same":
                ph, pw = same_pads(h, k[0], st[0], d[0]), same_pads(wd, k[1], st[1], d[1])
            else:
                ph, pw = (0, 0), (0, 0)
            oh = (h + sum(ph) - (k[0] - 1) * d[0] - 1) // st[0] + 1
            ow = (wd + sum(pw) - (k[1] - 1) * d[1] - 1) // st[1] + 1
            kern = wts["kernel"].transpose(3, 2, 0, 1)
            cins = [x, const(n + "/W", kern)]
            if c["use_bias"]:
                cins.append(const(n + "/B", wts["bias"]))
            act = c["activation"]
            out = n if act == "linear" else n + "/conv"
            node("Conv", cins, out, kernel_shape=k, strides=st, dilations=d,
                 pads=[ph[0], pw[0], ph[1], pw[1]], group=c["groups"])
            if act != "linear":
                node({"relu": "Relu", "tanh": "Tanh"}[act], [out], n)
            shape[n] = (oh, ow, c["filters"])
        elif layer.cls == "BatchNormalization":
            node("BatchNormalization",
                 [x] + [const(n + "/" + r, wts[r]) for r in
                        ("gamma", "beta", "moving_mean", "moving_variance")], n,
                 epsilon=c["epsilon"])
            shape[n] = s
        elif layer.cls == "Activation":
            node({"relu": "Relu"}[c["activation"]], [x], n)
            shape[n] = s
        elif layer.cls in ("MaxPooling2D", "AveragePooling2D"):
            k, st = c["pool_size"], c["strides"]
            if c["padding"] == "same":
                ph, pw = same_pads(s[0], k[0], st[0], 1), same_pads(s[1], k[1], st[1], 1)
            else:
                ph, pw = (0, 0), (0, 0)
            oh = (s[0] + sum(ph) - k[0]) // st[0] + 1
            ow = (s[1] + sum(pw) - k[1]) // st[1] + 1
            node("MaxPool" if layer.cls == "MaxPooling2D" else "AveragePool", [x], n,
                 kernel_shape=k, strides=st, pads=[ph[0], pw[0], ph[1], pw[1]])
            shape[n] = (oh, ow, s[2])
        elif layer.cls == "ELU":
            node("Elu", [x], n, alpha=c["alpha"])
            shape[n] = s
        elif layer.cls == "Add":
            node("Add", ins, n)
            shape[n] = s
        elif layer.cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
            g = node("GlobalAveragePool" if "Average" in layer.cls else "GlobalMaxPool", [x],
                     n + "/pool")
            node("Flatten", [g], n, axis=1)
            shape[n] = (s[2],)
        elif layer.cls == "Concatenate":
            node("Concat", ins, n, axis=len(s))  # the channels: axis 1 channels-first
            shape[n] = s[:-1] + (sum(shape[i][-1] for i in ins),)
        elif layer.cls == "Dense":
            kern, act = wts["kernel"], c["activation"]
            out = n if act == "linear" else n + "/gemm"
            if len(s) == 1:
                node("Gemm", [x, const(n + "/W", kern), const(n + "/B", wts["bias"])], out)
            else:
                t = node("MatMul", [x, const(n + "/W", kern)], n + "/matmul")
                node("Add", [t, const(n + "/B", wts["bias"])], out)
            if act != "linear":
                node({"sigmoid": "Sigmoid", "relu": "Relu"}[act], [out], n)
            shape[n] = s[:-1] + (c["units"],)
        elif layer.cls == "Dropout":
            node("Identity", [x], n)
            shape[n] = s
        elif layer.cls in ("Reshape", "Flatten"):
            # Keras's (H, W, C) order: move the channels last first.
            if len(s) == 3:
                x = node("Transpose", [x], n + "/nhwc", perm=[0, 2, 3, 1])
            target = ([-1] + c["target_shape"]) if layer.cls == "Reshape" else [0, -1]
            node("Reshape", [x, n + "/shape"], n)
            inits.append(numpy_helper.from_array(np.array(target, np.int64), n + "/shape"))
            shape[n] = tuple(c["target_shape"]) if layer.cls == "Reshape" \
                else (int(np.prod(s)),)
        elif layer.cls == "ReLU":
            node("Clip", [x, const(n + "/min", 0.0), const(n + "/max", c["max_value"])], n)
            shape[n] = s
        elif layer.cls == "LeakyReLU":
            node("LeakyRelu", [x], n, alpha=c["negative_slope"])
            shape[n] = s
        elif layer.cls == "Softmax":
            node("Softmax", [x], n, axis=-1)
            shape[n] = s
        else:
            raise ValueError(layer.cls)
    first = layers[0]
    s = shape[first.name]
    cf = [s[2], s[0], s[1]] if len(s) == 3 else list(s)
    # Tensors are NCHW, so the input must be too: transpose the graph input.
    graph = helper.make_graph(
        nodes, "net",
        [helper.make_tensor_value_info(first.name, TensorProto.FLOAT, ["N"] + cf)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["N", 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="make_keras_models.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


# --------------------------------------------------------------- bad files

def write_bad(layers, output):
    d = os.path.join(HERE, "bad")
    os.makedirs(d, exist_ok=True)
    with zipfile.ZipFile(os.path.join(d, "no_config.keras"), "w") as z:
        z.writestr(zipfile.ZipInfo("metadata.json"), json.dumps({"keras_version": "3.4.1"}))
        z.writestr(zipfile.ZipInfo("model.weights.h5"), b"")
    # A weights file whose kernel disagrees with the config.
    wrong = [Layer(l.cls, l.name, l.inputs, l.cfg, l.weights) for l in layers]
    for l in wrong:
        if l.name == "dense_c":
            l.weights = [("kernel", np.zeros((12, 4), np.float32)), l.weights[1]]
    write_legacy(os.path.join(d, "wrong_shape.h5"), wrong, output, True, False)
    # A layer class nnheat does not read.
    odd = [Layer(l.cls, l.name, l.inputs, l.cfg, l.weights) for l in layers]
    for l in odd:
        if l.name == "drop":
            l.cls, l.cfg = "UnitNormalization", {"axis": -1}
    write_legacy(os.path.join(d, "unsupported.h5"), odd, output, True, False)


# ----------------------------------------------------------------- samples

def write_samples(stem, shape, rng, n):
    """Input samples N(0.3, 0.8^2) and optimal samples N(0, 1). (The tests
    transpose them for the channels-first ONNX twin.)"""
    for kind in ("in", "opt"):
        x = rng.normal(0, 1, (n,) + shape).astype(np.float32)
        if kind == "in":
            x = (x * 0.8 + 0.3).astype(np.float32)
        np.save(os.path.join(HERE, f"{stem}_{kind}.npy"), x)


def main():
    rng = np.random.default_rng(20240704)
    cnn, cnn_out = net_cnn(rng)
    act, act_out = net_act(rng)

    write_keras(os.path.join(HERE, "cnn.keras"), cnn, cnn_out, True)
    write_legacy(os.path.join(HERE, "cnn_k2.h5"), cnn, cnn_out, True, False)
    write_legacy(os.path.join(HERE, "cnn_k3.h5"), cnn, cnn_out, True, True)
    write_tfjs(os.path.join(HERE, "cnn_tfjs.json"), cnn, cnn_out, True)
    write_weights_only(os.path.join(HERE, "cnn_weights.h5"), cnn)
    write_onnx(os.path.join(HERE, "cnn.onnx"), cnn, cnn_out)
    write_samples("cnn", (10, 10, 2), rng, 300)

    write_keras(os.path.join(HERE, "act.keras"), act, act_out, False)
    write_legacy(os.path.join(HERE, "act_k2.h5"), act, act_out, False, False)
    write_tfjs(os.path.join(HERE, "act_tfjs.json"), act, act_out, False)
    write_samples("act", (6,), rng, 200)

    # TF.js cannot group convolutions: the same network with groups=1 for
    # the comparison with TensorFlow.js.
    cnn1, _ = net_cnn(np.random.default_rng(7), groups=1)
    write_tfjs(os.path.join(HERE, "cnn1_tfjs.json"), cnn1, cnn_out, True)

    extra, extra_out = net_extra(np.random.default_rng(11))
    write_keras(os.path.join(HERE, "extra.keras"), extra, extra_out, True)
    write_legacy(os.path.join(HERE, "extra_k2.h5"), extra, extra_out, True, False)
    write_samples("extra", (5, 5, 2), np.random.default_rng(12), 100)

    write_bad(cnn, cnn_out)


if __name__ == "__main__":
    sys.exit(main())
