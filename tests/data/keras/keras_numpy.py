"""An independent forward pass of Keras models in NumPy (float64), to check
`nnheat run` on Keras files. It reads the files with h5py, zipfile and json
and follows Keras's own semantics layer by layer; it shares no code with
nnheat.

    keras_numpy.py MODEL IN.npy OUT.npy [--config FILE] [--scale X] [--limit N]
                   [--shard NAME=FILE ...]

MODEL is a .keras zip, a legacy .h5 (a weights-only one needs --config, a
Keras model JSON or a TF.js model.json) or a TF.js model.json. IN.npy holds
samples (first axis) with as many values as the model's input; they are
scaled by X, as `nnheat --scale X` does, before the pass.
"""
import argparse
import io
import json
import math
import os
import re
import sys
import zipfile

import h5py
import numpy as np

WEIGHTED = {"Dense", "Conv1D", "Conv2D", "Conv3D", "BatchNormalization"}


# ----------------------------------------------------------------- reading

def snake(cls):
    name = re.sub(r"\W+", "", cls)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def attr_list(obj, name):
    if name in obj.attrs:
        return [text(v) for v in np.atleast_1d(obj.attrs[name])]
    out, k = [], 0
    while f"{name}{k}" in obj.attrs:
        out += [text(v) for v in np.atleast_1d(obj.attrs[f"{name}{k}"])]
        k += 1
    return out


def legacy_groups(root):
    """[(layer name, [(weight name, array)])] of a legacy HDF5 group."""
    groups = []
    for lname in attr_list(root, "layer_names"):
        g = root[lname]
        groups.append((lname, [(w, np.array(g[w])) for w in attr_list(g, "weight_names")]))
    return groups


def keras3_groups(h5):
    return {k: [np.array(g["vars"][str(i)]) for i in range(len(g["vars"]))]
            for k, g in h5["layers"].items()}


def tfjs_groups(path, rename):
    j = json.load(open(path))
    groups = []
    for group in j["weightsManifest"]:
        data = b"".join(open(rename.get(p, os.path.join(os.path.dirname(path), p)), "rb").read()
                        for p in group["paths"])
        off = 0
        for spec in group["weights"]:
            n = int(np.prod(spec["shape"]))
            arr = np.frombuffer(data, "<f4", n, off).reshape(spec["shape"])
            off += 4 * n
            parts = spec["name"].split("/")
            layer = parts[-2] if len(parts) > 1 else parts[0]
            for g in groups:
                if g[0] == layer:
                    g[1].append((spec["name"], arr))
                    break
            else:
                groups.append((layer, [(spec["name"], arr)]))
    return groups


def arch_of(obj):
    top = obj.get("modelTopology", obj)
    version = top.get("keras_version", obj.get("keras_version"))
    model = top.get("model_config", top)
    keras3 = version.startswith("3.") if version else "module" in model
    return model, keras3


def load(path, config, rename):
    """(model config, keras3, weights) with weights either
    ("class", {group: [arrays]}) or ("name", [(layer, [(name, array)])])."""
    arch = None
    if config:
        arch = arch_of(json.load(open(config)))
    raw = open(path, "rb").read()
    if raw[:4] == b"PK\x03\x04":
        z = zipfile.ZipFile(io.BytesIO(raw))
        if arch is None:
            meta = json.loads(z.read("metadata.json"))
            model = json.loads(z.read("config.json"))
            arch = (model, meta["keras_version"].startswith("3."))
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as h5:
            return arch + (("class", keras3_groups(h5)),)
    if raw[:8] == b"\x89HDF\r\n\x1a\n":
        with h5py.File(path, "r") as f:
            if arch is None:
                version = text(f.attrs.get("keras_version", ""))
                arch = (json.loads(text(f.attrs["model_config"])), version.startswith("3."))
            root = f["model_weights"] if "model_weights" in f else f
            if "layer_names" in root.attrs or "layer_names0" in root.attrs:
                return arch + (("name", legacy_groups(root)),)
            return arch + (("class", keras3_groups(f)),)
    if arch is None:
        arch = arch_of(json.loads(raw))
    return arch + (("name", tfjs_groups(path, rename)),)


def assign_weights(layers, weights, sequential):
    """Each weighted layer's arrays, in Keras's order."""
    kind, store = weights
    out = {}
    if kind == "class":
        seen = {}
        for l in layers:
            if sequential and l["class_name"] == "InputLayer":
                continue
            base = snake(l["class_name"])
            key = base if base not in seen else f"{base}_{seen[base] + 1}"
            seen[base] = seen.get(base, -1) + 1
            if l["class_name"] in WEIGHTED:
                out[l["config"]["name"]] = store[key]
        return out
    named = dict(store)
    wl = [l for l in layers if l["class_name"] in WEIGHTED]
    if all(l["config"]["name"] in named for l in wl):
        pairs = [(l, named[l["config"]["name"]]) for l in wl]
    else:
        pairs = list(zip(wl, [g for _, g in store if g]))
    for l, g in pairs:
        roles = roles_of(l)
        byname = {n.split("/")[-1].split(":")[0]: a for n, a in g}
        out[l["config"]["name"]] = ([byname[r] for r in roles] if set(byname) == set(roles)
                                    else [a for _, a in g])
    return out


def roles_of(l):
    c = l["config"]
    if l["class_name"] == "BatchNormalization":
        return ([r for r, on in (("gamma", c.get("scale", True)),
                                 ("beta", c.get("center", True))) if on]
                + ["moving_mean", "moving_variance"])
    return ["kernel", "bias"] if c.get("use_bias", True) else ["kernel"]


# -------------------------------------------------------------------- maths

def activation(name, x, keras3):
    if isinstance(name, dict):
        name = name["config"] if isinstance(name.get("config"), str) else name["class_name"]
    erf = np.vectorize(math.erf)
    sig = lambda v: 1 / (1 + np.exp(-v))
    f = {
        None: lambda v: v, "linear": lambda v: v,
        "relu": lambda v: np.maximum(v, 0), "relu6": lambda v: np.clip(v, 0, 6),
        "sigmoid": sig, "tanh": np.tanh,
        "softmax": lambda v: softmax(v, -1),
        "elu": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))),
        "selu": lambda v: 1.0507009873554805 * np.where(
            v > 0, v, 1.6732632423543772 * np.expm1(np.minimum(v, 0))),
        "softplus": lambda v: np.logaddexp(0, v), "softsign": lambda v: v / (1 + np.abs(v)),
        "swish": lambda v: v * sig(v), "silu": lambda v: v * sig(v),
        "gelu": lambda v: 0.5 * v * (1 + erf(v / math.sqrt(2))),
        "hard_sigmoid": (lambda v: np.clip(v + 3, 0, 6) / 6) if keras3
        else (lambda v: np.clip(0.2 * v + 0.5, 0, 1)),
        "leaky_relu": lambda v: np.where(v > 0, v, 0.2 * v),
    }[name]
    return f(x)


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def pads_same(size, k, s, d):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def conv(x, kernel, bias, c):
    """N-D convolution, channels-last, as tf.nn.convolution."""
    ns = kernel.ndim - 2
    k, st = kernel.shape[:ns], listify(c.get("strides", 1), ns)
    d = listify(c.get("dilation_rate", 1), ns)
    pad = [(0, 0)] * ns
    if c.get("padding") == "same":
        pad = [pads_same(x.shape[1 + i], k[i], st[i], d[i]) for i in range(ns)]
    elif c.get("padding") == "causal":
        pad = [((k[0] - 1) * d[0], 0)]
    x = np.pad(x, [(0, 0)] + pad + [(0, 0)])
    groups = c.get("groups", 1)
    cg, m = kernel.shape[-2], kernel.shape[-1]
    mg = m // groups
    out_sp = [(x.shape[1 + i] - (k[i] - 1) * d[i] - 1) // st[i] + 1 for i in range(ns)]
    y = np.zeros((x.shape[0], *out_sp, m))
    for off in np.ndindex(*k):
        sl = tuple(slice(off[i] * d[i], off[i] * d[i] + (out_sp[i] - 1) * st[i] + 1, st[i])
                   for i in range(ns))
        patch = x[(slice(None),) + sl]
        for g in range(groups):
            y[..., g * mg:(g + 1) * mg] += patch[..., g * cg:(g + 1) * cg] @ \
                kernel[off][:, g * mg:(g + 1) * mg]
    return y + (bias if bias is not None else 0)


def pool(x, c, ns, is_max):
    k = listify(c.get("pool_size", 2), ns)
    st = listify(c.get("strides") or k, ns)
    pad = [(0, 0)] * ns
    if c.get("padding") == "same":
        pad = [pads_same(x.shape[1 + i], k[i], st[i], 1) for i in range(ns)]
    x = np.pad(x, [(0, 0)] + pad + [(0, 0)], constant_values=np.nan)
    out_sp = [(x.shape[1 + i] - k[i]) // st[i] + 1 for i in range(ns)]
    wins = []
    for off in np.ndindex(*k):
        sl = tuple(slice(off[i], off[i] + (out_sp[i] - 1) * st[i] + 1, st[i]) for i in range(ns))
        wins.append(x[(slice(None),) + sl])
    w = np.stack(wins)
    return np.nanmax(w, axis=0) if is_max else np.nanmean(w, axis=0)


def listify(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def run_layer(l, xs, w, keras3):
    cls, c = l["class_name"], l["config"]
    x = xs[0]
    if cls in ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
               "AlphaDropout") or cls.startswith("Random"):
        return x
    if cls == "Dense":
        return activation(c.get("activation"), x @ w[0] + (w[1] if len(w) > 1 else 0), keras3)
    if cls in ("Conv1D", "Conv2D", "Conv3D"):
        return activation(c.get("activation"), conv(x, w[0], w[1] if len(w) > 1 else None, c),
                          keras3)
    m = re.match(r"(Max|Average|Avg)Pool(ing)?(\d)D", cls)
    if m:
        return pool(x, c, int(m.group(3)), m.group(1) == "Max")
    if cls.startswith("Global"):
        axes = tuple(range(1, x.ndim - 1))
        y = x.max(axis=axes) if "Max" in cls else x.mean(axis=axes)
        return y.reshape((len(x),) + (1,) * len(axes) + (y.shape[-1],)) \
            if c.get("keepdims") else y
    if cls == "Flatten":
        return x.reshape(len(x), -1)
    if cls == "Reshape":
        return x.reshape((len(x),) + tuple(c["target_shape"]))
    if cls == "Activation":
        return activation(c["activation"], x, keras3)
    if cls == "ReLU":
        y = np.where(x >= 0, x, c.get("negative_slope", 0) * x)
        return np.minimum(y, c["max_value"]) if c.get("max_value") is not None else y
    if cls == "LeakyReLU":
        a = c.get("negative_slope", c.get("alpha", 0.3))
        return np.where(x > 0, x, a * x)
    if cls == "ELU":
        return np.where(x > 0, x, c.get("alpha", 1.0) * np.expm1(np.minimum(x, 0)))
    if cls == "Softmax":
        return softmax(x, c.get("axis", -1))
    if cls == "BatchNormalization":
        k = 0
        gamma = w[k] if c.get("scale", True) else 1
        k += c.get("scale", True)
        beta = w[k] if c.get("center", True) else 0
        k += c.get("center", True)
        mean, var = w[k], w[k + 1]
        return (x - mean) / np.sqrt(var + c.get("epsilon", 1e-3)) * gamma + beta
    if cls == "Rescaling":
        return x * np.asarray(c.get("scale", 1.0)) + np.asarray(c.get("offset", 0.0))
    if cls == "Add":
        return sum(xs)
    if cls == "Concatenate":
        return np.concatenate(xs, axis=c.get("axis", -1))
    raise ValueError("layer class " + cls)


def inbound(node):
    """The [layer, call] pairs a node reads, in order."""
    if isinstance(node, dict):
        found = []

        def walk(a):
            if isinstance(a, dict) and a.get("class_name") == "__keras_tensor__":
                found.append(tuple(a["config"]["keras_history"][:2]))
            elif isinstance(a, list):
                for e in a:
                    walk(e)
        walk(node["args"])
        return found
    return [tuple(t[:2]) for t in node]


def forward(model, keras3, weights, x):
    cfg = model["config"]
    layers = cfg if isinstance(cfg, list) else cfg["layers"]
    sequential = model["class_name"] == "Sequential"
    w = assign_weights(layers, weights, sequential)
    if sequential:
        for l in layers:
            if l["class_name"] != "InputLayer":
                x = run_layer(l, [x], w.get(l["config"]["name"]), keras3)
        return x
    values = {}
    first = next(l for l in layers if l["class_name"] == "InputLayer")
    values[(first["config"]["name"], 0)] = x
    pending = [l for l in layers if l["class_name"] != "InputLayer"]
    while pending:
        rest = []
        for l in pending:
            srcs = inbound(l["inbound_nodes"][0])
            if all(tuple(s) in values for s in srcs):
                values[(l["config"]["name"], 0)] = run_layer(
                    l, [values[tuple(s)] for s in srcs], w.get(l["config"]["name"]), keras3)
            else:
                rest.append(l)
        if len(rest) == len(pending):
            raise ValueError("unreachable layers")
        pending = rest
    out = cfg["output_layers"][0]
    return values[(out[0], out[1])]


def input_shape(model):
    cfg = model["config"]
    layers = cfg if isinstance(cfg, list) else cfg["layers"]
    c = layers[0]["config"]
    s = c.get("batch_shape") or c.get("batch_input_shape")
    return tuple(s[1:])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--config")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--limit", type=int)
    p.add_argument("--shard", action="append", default=[])
    a = p.parse_args()
    model, keras3, weights = load(a.model, a.config, dict(s.split("=", 1) for s in a.shard))
    x = np.load(a.input)
    if a.limit:
        x = x[:a.limit]
    x = (x.astype(np.float64) * a.scale).astype(np.float32).astype(np.float64)
    x = x.reshape((len(x),) + input_shape(model))
    np.save(a.output, forward(model, keras3, weights, x))


if __name__ == "__main__":
    sys.exit(main())
