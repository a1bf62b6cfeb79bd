#!/usr/bin/python3
"""A reference implementation, in plain NumPy, of what nnheat computes.

An independent check of nnheat's numbers, written from the specification of
the method (layers and neurons, initial sets, histogram estimators,
Landauer and independent Mismatch costs) and not from nnheat's C code.
It is slow and simple on purpose: every step is a few vectorised NumPy lines.

    reference.py MODEL -i INPUT [-p OPTIMAL] [-n N] [--scale X] [--shift X]
                 [-b BIN] [-e chao-shen|plugin|miller-madow]
                 [--entropy differential|discrete] [-T KELVIN] [--json OUT]

INPUT and OPTIMAL: .npy, IDX (.gz or not), .csv, or normal:MU,SIGMA /
uniform:A,B (NumPy's generator, so not nnheat's samples: to compare numbers,
give both programs the same .npy files). The optimal samples default to
normal:0,1, as many as the input samples.

Needs only Debian's python3-numpy and python3-onnx.
"""
import argparse
import gzip
import json
import math
import sys
from fractions import Fraction

import numpy as np
import onnx
from onnx import numpy_helper

K_B = 1.380649e-23      # J/K
TIE = 1e-10             # nats: a per-neuron cost this close to 0 is a tie
E_CHARGE = 1.602176634e-19  # C

# ---------------------------------------------------------------- operators

# Per-neuron operations: fused into a preceding linear stage, or else an
# elementwise layer of their own.
ACTIVATIONS = {"Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid",
               "Tanh", "Softplus", "Clip", "Gelu", "Softmax",
               "BatchNormalization"}
ARITH = {"Add", "Sub", "Mul", "Div"}
LINEAR = {"Conv": "conv", "Gemm": "dense", "MatMul": "dense"}
POOLS = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
MOVES = {"Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
         "Identity", "Dropout", "Concat"}


def attrs_of(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def window_geometry(spatial, kernel, strides, dilations, pads, ceil_mode=False):
    """Output size and the begin padding of each spatial axis."""
    nd = len(spatial)
    out, begin = [], []
    for i in range(nd):
        span = (kernel[i] - 1) * dilations[i] + 1
        total = spatial[i] + pads[i] + pads[i + nd] - span
        if ceil_mode:
            o = -(-total // strides[i]) + 1
            # the last window must start inside the input or the left padding
            if (o - 1) * strides[i] >= spatial[i] + pads[i]:
                o -= 1
        else:
            o = total // strides[i] + 1
        out.append(int(o))
        begin.append(pads[i])
    return out, begin


def padded(a, nd, begin, kernel, strides, dilations, out, fill):
    """a [..., *spatial] padded with `fill` so that every window fits."""
    widths = [(0, 0)] * (a.ndim - nd)
    for i in range(nd):
        need = (out[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1
        after = max(0, need - begin[i] - a.shape[a.ndim - nd + i])
        widths.append((begin[i], after))
    return np.pad(a, widths, constant_values=fill)


def window_slices(a_padded, nd, kernel, strides, dilations, out):
    """Yields, for each kernel offset, the strided view [..., *out]."""
    for off in np.ndindex(*kernel):
        idx = [slice(None)] * (a_padded.ndim - nd)
        for i in range(nd):
            start = off[i] * dilations[i]
            idx.append(slice(start, start + (out[i] - 1) * strides[i] + 1,
                             strides[i]))
        yield a_padded[tuple(idx)]


def resolve_auto_pad(at, spatial, kernel, strides, dilations):
    nd = len(spatial)
    auto = at.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    pads = list(at.get("pads", [0] * (2 * nd)))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * nd)
        for i in range(nd):
            o = -(-spatial[i] // strides[i])
            tot = max(0, (o - 1) * strides[i] + (kernel[i] - 1) * dilations[i]
                      + 1 - spatial[i])
            lo = tot // 2 if auto == "SAME_UPPER" else tot - tot // 2
            pads[i], pads[i + nd] = lo, tot - lo
    elif auto == "VALID":
        pads = [0] * (2 * nd)
    return pads


def conv_geometry(at, x_shape, w_shape):
    nd = len(x_shape) - 2
    kernel = list(at.get("kernel_shape", w_shape[2:]))
    strides = list(at.get("strides", [1] * nd))
    dilations = list(at.get("dilations", [1] * nd))
    pads = resolve_auto_pad(at, x_shape[2:], kernel, strides, dilations)
    out, begin = window_geometry(x_shape[2:], kernel, strides, dilations, pads)
    return nd, kernel, strides, dilations, begin, out


def pool_geometry(at, x_shape):
    nd = len(x_shape) - 2
    kernel = list(at["kernel_shape"])
    strides = list(at.get("strides", [1] * nd))
    dilations = list(at.get("dilations", [1] * nd))
    pads = resolve_auto_pad(at, x_shape[2:], kernel, strides, dilations)
    out, begin = window_geometry(x_shape[2:], kernel, strides, dilations, pads,
                                 bool(at.get("ceil_mode", 0)))
    return nd, kernel, strides, dilations, begin, out


def op_conv(x, w, b, at):
    n, c = x.shape[:2]
    g = int(at.get("group", 1))
    m = w.shape[0]
    nd, kernel, strides, dil, begin, out = conv_geometry(at, x.shape, w.shape)
    xp = padded(x, nd, begin, kernel, strides, dil, out, 0.0)
    cols = np.stack(list(window_slices(xp, nd, kernel, strides, dil, out)),
                    axis=2)                       # [n, C, K, *out]
    kk = cols.shape[2]
    p = int(np.prod(out))
    cols = cols.reshape(n, g, (c // g) * kk, p)
    wg = w.reshape(g, m // g, (c // g) * kk)
    y = np.matmul(wg[None], cols)                 # [n, g, M/g, P]
    y = y.reshape(n, m, *out)
    if b is not None:
        y = y + b.reshape(1, m, *([1] * nd))
    return y.astype(np.float32)


def op_pool(op, x, at):
    if op.startswith("Global"):
        axes = tuple(range(2, x.ndim))
        f = np.max if op == "GlobalMaxPool" else np.mean
        return f(x, axis=axes, keepdims=True).astype(np.float32)
    nd, kernel, strides, dil, begin, out = pool_geometry(at, x.shape)
    if op == "MaxPool":
        xp = padded(x, nd, begin, kernel, strides, dil, out, -np.inf)
        y = None
        for s in window_slices(xp, nd, kernel, strides, dil, out):
            y = s if y is None else np.maximum(y, s)
        return y.astype(np.float32)
    xp = padded(x, nd, begin, kernel, strides, dil, out, 0.0)
    total = None
    for s in window_slices(xp, nd, kernel, strides, dil, out):
        total = s if total is None else total + s
    if at.get("count_include_pad", 0):
        # the explicit padding counts, the ceil-mode overhang does not
        ones = np.ones(x.shape[2:], np.float32)
        nd_pads = list(at.get("pads", [0] * (2 * nd)))
        ones = np.pad(ones, [(nd_pads[i], nd_pads[i + nd]) for i in range(nd)],
                      constant_values=1.0)
        count = sum(window_slices(padded(ones, nd, [0] * nd, kernel, strides,
                                         dil, out, 0.0), nd, kernel, strides,
                                  dil, out))
    else:
        ones = np.ones(x.shape[2:], np.float32)
        count = sum(window_slices(padded(ones, nd, begin, kernel, strides,
                                         dil, out, 0.0), nd, kernel, strides,
                                  dil, out))
    return (total / count).astype(np.float32)


def op_softmax(x, axis, opset):
    if opset < 13:
        axis = axis if axis >= 0 else axis + x.ndim
        shape = x.shape
        x2 = x.reshape(int(np.prod(shape[:axis])), -1)
        e = np.exp(x2 - x2.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).reshape(shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def run_node(node, ins, opset):
    """Evaluates one node; `ins` are its input arrays (None for a missing
    optional input). Float data stays float32."""
    op, at = node.op_type, attrs_of(node)
    x = ins[0] if ins else None
    if op == "Constant":
        if "value" in at:
            return [numpy_helper.to_array(at["value"])]
        for k, dt in (("value_float", np.float32), ("value_floats", np.float32),
                      ("value_int", np.int64), ("value_ints", np.int64)):
            if k in at:
                return [np.array(at[k], dtype=dt)]
        raise ValueError("Constant: unsupported value attribute")
    if op == "Conv":
        return [op_conv(x, ins[1], ins[2] if len(ins) > 2 else None, at)]
    if op == "Gemm":
        a = x.T if at.get("transA", 0) else x
        b = ins[1].T if at.get("transB", 0) else ins[1]
        y = np.float32(at.get("alpha", 1.0)) * np.matmul(a, b)
        if len(ins) > 2 and ins[2] is not None:
            y = y + np.float32(at.get("beta", 1.0)) * ins[2]
        return [y.astype(np.float32)]
    if op == "MatMul":
        return [np.matmul(x, ins[1])]
    if op in ARITH:
        a, b = ins
        if op == "Add":
            y = a + b
        elif op == "Sub":
            y = a - b
        elif op == "Mul":
            y = a * b
        elif np.issubdtype(a.dtype, np.integer):
            y = np.trunc(a / b).astype(a.dtype)
        else:
            y = a / b
        return [y.astype(np.result_type(a.dtype, b.dtype))]
    if op == "Relu":
        return [np.maximum(x, np.float32(0))]
    if op == "LeakyRelu":
        al = np.float32(at.get("alpha", 0.01))
        return [np.where(x >= 0, x, al * x)]
    if op == "Elu":
        al = np.float32(at.get("alpha", 1.0))
        return [np.where(x >= 0, x, al * np.expm1(x)).astype(np.float32)]
    if op == "Selu":
        al = np.float32(at.get("alpha", 1.67326319217681884765625))
        ga = np.float32(at.get("gamma", 1.05070102214813232421875))
        return [(ga * np.where(x > 0, x, al * np.expm1(x))).astype(np.float32)]
    if op == "Sigmoid":
        return [(np.float32(1) / (np.float32(1) + np.exp(-x))).astype(np.float32)]
    if op == "HardSigmoid":
        al = np.float32(at.get("alpha", 0.2))
        be = np.float32(at.get("beta", 0.5))
        return [np.clip(al * x + be, 0, 1).astype(np.float32)]
    if op == "Tanh":
        return [np.tanh(x)]
    if op == "Softplus":
        return [np.logaddexp(np.float32(0), x).astype(np.float32)]
    if op == "Gelu":
        t = np.array([math.erf(v) for v in (x.ravel() / math.sqrt(2))])
        return [(0.5 * x * (1 + t.reshape(x.shape))).astype(np.float32)]
    if op == "Clip":
        lo = at.get("min", -np.inf) if opset < 11 else (
            ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf)
        hi = at.get("max", np.inf) if opset < 11 else (
            ins[2] if len(ins) > 2 and ins[2] is not None else np.inf)
        return [np.clip(x, lo, hi).astype(x.dtype)]
    if op == "Softmax":
        return [op_softmax(x, at.get("axis", -1 if opset >= 13 else 1),
                           opset).astype(np.float32)]
    if op == "BatchNormalization":
        scale, bias, mean, var = ins[1:5]
        eps = np.float32(at.get("epsilon", 1e-5))
        shp = (1, -1) + (1,) * (x.ndim - 2)
        y = ((x - mean.reshape(shp)) / np.sqrt(var.reshape(shp) + eps)
             * scale.reshape(shp) + bias.reshape(shp))
        return [y.astype(np.float32)]
    if op in POOLS:
        return [op_pool(op, x, at)]
    if op in ("Identity", "Dropout"):
        return [x]
    if op == "Flatten":
        axis = at.get("axis", 1)
        axis = axis if axis >= 0 else axis + x.ndim
        return [x.reshape(int(np.prod(x.shape[:axis])), -1)]
    if op == "Reshape":
        shape = [int(s) for s in (ins[1] if opset >= 5 else at["shape"])]
        if not at.get("allowzero", 0):
            shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return [x.reshape(shape)]
    if op == "Transpose":
        return [np.transpose(x, at.get("perm"))]
    if op in ("Squeeze", "Unsqueeze"):
        axes = at.get("axes") if opset < 13 else (
            ins[1] if len(ins) > 1 and ins[1] is not None else None)
        if op == "Squeeze":
            if axes is None:
                return [np.squeeze(x)]
            return [np.squeeze(x, axis=tuple(int(a) for a in axes))]
        nout = x.ndim + len(axes)
        y = x
        for a in sorted(int(a) % nout for a in axes):
            y = np.expand_dims(y, a)
        return [y]
    if op == "Concat":
        return [np.concatenate(ins, axis=at["axis"])]
    if op == "Shape":
        s = np.array(x.shape, dtype=np.int64)
        return [s[at.get("start", 0):at.get("end", len(s))]]
    if op == "Gather":
        return [np.take(x, ins[1], axis=at.get("axis", 0))]
    if op == "Cast":
        to = onnx.helper.tensor_dtype_to_np_dtype(at["to"])
        return [x.astype(to)]
    if op == "Slice":
        if opset < 10:
            starts, ends, axes = at["starts"], at["ends"], at.get("axes")
            steps = None
        else:
            starts, ends = ins[1], ins[2]
            axes = ins[3] if len(ins) > 3 and ins[3] is not None else None
            steps = ins[4] if len(ins) > 4 and ins[4] is not None else None
        axes = list(range(len(starts))) if axes is None else list(axes)
        steps = [1] * len(starts) if steps is None else list(steps)
        idx = [slice(None)] * x.ndim
        for s, e, a, st in zip(starts, ends, axes, steps):
            idx[int(a)] = slice(int(s), int(max(min(e, 2**62), -2**62)), int(st))
        return [x[tuple(idx)]]
    raise ValueError(f"unsupported operator {op} (node {node.name})")


# ---------------------------------------------------------------- the model

class Layer:
    def __init__(self, index, name, kind, nodes, inputs, output):
        self.index, self.name, self.kind = index, name, kind
        self.nodes = nodes          # the ONNX nodes, in order
        self.inputs = inputs        # names of the data tensors it reads
        self.output = output        # name of the data tensor of its neurons
        self.shape = None           # neuron shape (no batch axis)


class Model:
    def __init__(self, path):
        m = onnx.load(path)
        self.opset = max([o.version for o in m.opset_import
                          if o.domain in ("", "ai.onnx")] or [13])
        g = m.graph
        self.graph = g
        self.const = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        inputs = [i for i in g.input if i.name not in self.const]
        if len(inputs) != 1:
            raise ValueError("the model must have exactly one data input")
        self.input = inputs[0].name
        dims = inputs[0].type.tensor_type.shape.dim
        self.input_shape = [d.dim_value for d in dims[1:]]
        self.outputs = {o.name for o in g.output}
        # Classify tensors: constant (folded now), data (depends on the
        # samples) or meta (depends on the batch size only: Shape and the
        # small computations on its result, evaluated with each batch).
        self.data = {self.input}
        meta = set()
        self.nodes = []             # data nodes and meta nodes, in order
        self.is_meta = {}
        for node in g.node:
            ins = [i for i in node.input if i]
            if node.op_type == "Shape" and ins[0] in self.data:
                meta.update(node.output)
                self.nodes.append(node)
                self.is_meta[id(node)] = True
                continue
            if any(i in self.data for i in ins):
                self.data.update(node.output)
                self.nodes.append(node)
                self.is_meta[id(node)] = False
            elif any(i in meta for i in ins):
                meta.update(node.output)
                self.nodes.append(node)
                self.is_meta[id(node)] = True
            else:
                vals = run_node(node, [self.const[i] if i else None
                                       for i in node.input], self.opset)
                for name, v in zip(node.output, vals):
                    self.const[name] = v
        self.consumers = {}
        for node in self.nodes:
            for i in node.input:
                self.consumers.setdefault(i, []).append(node)
        self.cut()

    def data_inputs(self, node):
        return [i for i in node.input if i in self.data]

    def per_neuron(self, node):
        """Whether `node` is a per-neuron operation on one data tensor."""
        if node.op_type in ACTIVATIONS:
            return True
        return node.op_type in ARITH and len(self.data_inputs(node)) == 1

    def cut(self):
        """Cuts the data nodes into layers (SPEC "Layers and neurons")."""
        inp = Layer(0, self.input, "input", [], [], self.input)
        inp.shape = list(self.input_shape)
        self.layers = [inp]
        done = set()
        data_nodes = [n for n in self.nodes if not self.is_meta[id(n)]]
        for node in data_nodes:
            if id(node) in done:
                continue
            op = node.op_type
            din = self.data_inputs(node)
            if op in LINEAR:
                if op == "MatMul" and len(din) != 1:
                    raise ValueError("MatMul of two computed tensors")
                kind, fuse = LINEAR[op], True
            elif op in POOLS:
                kind, fuse = "pool", False
            elif op in MOVES:
                kind, fuse = "reshape", False
            elif op in ARITH and len(din) == 2:
                kind, fuse = "add", False
            elif self.per_neuron(node):
                kind, fuse = "elementwise", True
            else:
                raise ValueError(f"unsupported operator {op} (node {node.name})")
            nodes = [node]
            done.add(id(node))
            out = node.output[0]
            while fuse:
                cons = self.consumers.get(out, [])
                if len(cons) != 1 or out in self.outputs:
                    break
                nxt = cons[0]
                if not self.per_neuron(nxt) or self.is_meta[id(nxt)]:
                    break
                nodes.append(nxt)
                done.add(id(nxt))
                out = nxt.output[0]
            self.layers.append(Layer(len(self.layers), node.name or op, kind,
                                     nodes, din, out))

    def forward(self, x):
        """Runs a batch; returns {tensor name: array} for every data tensor
        that is a layer's output."""
        env = {self.input: x}
        for node in self.nodes:
            ins = [(env[i] if i in env else self.const[i]) if i else None
                   for i in node.input]
            for name, v in zip(node.output, run_node(node, ins, self.opset)):
                env[name] = v
        return env


# ---------------------------------------------------------------- samples

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4",
             0x0D: ">f4", 0x0E: ">f8"}


def parse_number(s):
    return float(Fraction(s)) if "/" in s else float(s)


def load_samples(spec, n, shape, rng, at_most=False):
    """Returns a float64 array [N, *shape]: the first n samples of a file
    (at most n with at_most), or n generated ones."""
    if spec.startswith("normal:") or spec.startswith("uniform:"):
        if n is None:
            raise ValueError(f"{spec} needs -n")
        a, b = (parse_number(v) for v in spec.split(":", 1)[1].split(","))
        size = (n, *shape)
        return rng.normal(a, b, size) if spec[0] == "n" else rng.uniform(a, b, size)
    if spec.endswith(".npy"):
        arr = np.load(spec)
    elif spec.endswith(".csv"):
        try:
            arr = np.loadtxt(spec, delimiter=",", ndmin=2)
        except ValueError:
            arr = np.loadtxt(spec, delimiter=",", ndmin=2, skiprows=1)
    else:
        opener = gzip.open if spec.endswith(".gz") else open
        with opener(spec, "rb") as f:
            raw = f.read()
        if raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
            raise ValueError(f"{spec}: not an IDX file")
        nd = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
        arr = np.frombuffer(raw, dtype=IDX_TYPES[raw[2]], count=int(np.prod(dims)),
                            offset=4 + 4 * nd).reshape(dims)
    if n is not None:
        if arr.shape[0] < n and not at_most:
            raise ValueError(f"{spec}: {arr.shape[0]} samples, {n} wanted")
        arr = arr[:n]
    return arr.astype(np.float64).reshape(arr.shape[0], *shape)


# ---------------------------------------------------------------- statistics

def histograms(bins):
    """bins: int64 [n, N]. Returns (neuron, bin, count) of every occupied
    bin, sorted by neuron then bin."""
    n, nn = bins.shape
    t = np.ascontiguousarray(np.sort(bins, axis=0).T)      # [N, n]
    new = np.ones((nn, n), dtype=bool)
    new[:, 1:] = t[:, 1:] != t[:, :-1]
    starts = np.flatnonzero(new.ravel())
    counts = np.diff(np.append(starts, nn * n))
    return starts // n, t.ravel()[starts], counts


def entropies(neuron, counts, n, nn, estimator):
    """Per-neuron entropy (nats) of the histograms."""
    c = counts.astype(np.float64)
    if estimator == "chao-shen":
        f1 = np.bincount(neuron, weights=(counts == 1), minlength=nn)
        f1 = np.where(f1 == n, n - 1, f1)
        cov = 1.0 - f1 / n
        p = cov[neuron] * c / n
        term = -p * np.log(p) / (1.0 - np.power(1.0 - p, n))
        return np.bincount(neuron, weights=term, minlength=nn)
    p = c / n
    s = np.bincount(neuron, weights=-p * np.log(p), minlength=nn)
    if estimator == "miller-madow":
        m = np.bincount(neuron, minlength=nn)
        s = s + (m - 1) / (2.0 * n)
    elif estimator != "plugin":
        raise ValueError(f"unknown estimator {estimator}")
    return s


def divergences(hp, hq, nn, n):
    """Per-neuron common-support KL D(p||q) and p's mass outside the common
    bins. hp, hq: (neuron, bin, count) of the actual and optimal histograms."""
    np_, bp, cp = hp
    nq, bq, cq = hq
    lo = min(bp.min(), bq.min())
    span = int(max(bp.max(), bq.max()) - lo) + 1
    if span * nn >= 2 ** 62:
        raise ValueError("bins too far apart for the combined key")
    kp = np_.astype(np.int64) * span + (bp - lo)
    kq = nq.astype(np.int64) * span + (bq - lo)
    _, ip, iq = np.intersect1d(kp, kq, assume_unique=True, return_indices=True)
    neuron = np_[ip]
    a = cp[ip].astype(np.float64)
    b = cq[iq].astype(np.float64)
    sa = np.bincount(neuron, weights=a, minlength=nn)
    sb = np.bincount(neuron, weights=b, minlength=nn)
    pa = a / sa[neuron]
    qb = b / sb[neuron]
    d = np.bincount(neuron, weights=pa * np.log(pa / qb), minlength=nn)
    outside = 1.0 - sa / n
    return d, outside


def init_sum(layer, model, per_neuron_value):
    """For each neuron j of `layer`, the sum of a per-neuron quantity over
    init(j). per_neuron_value: {tensor name: array of the tensor's neuron
    shape}. Returns (array of the layer's neuron shape, |init| per neuron)."""
    kind = layer.kind
    first = layer.nodes[0]
    at = attrs_of(first)
    if kind == "dense":
        v = per_neuron_value[layer.inputs[0]]
        return np.full(layer.shape, v.sum()), v.size
    if kind in ("conv", "pool"):
        v = per_neuron_value[layer.inputs[0]]            # [C, *spatial]
        c = v.shape[0]
        if first.op_type.startswith("Global"):
            s = v.reshape(c, -1).sum(axis=1)
            return s.reshape(layer.shape), int(np.prod(v.shape[1:]))
        xshape = (1,) + v.shape
        if kind == "conv":
            w = model.const[first.input[1]]
            nd, kernel, strides, dil, begin, out = conv_geometry(at, xshape, w.shape)
            g = int(at.get("group", 1))
            # padding is not a neuron: pad with 0
            vg = v.reshape(g, c // g, *v.shape[1:]).sum(axis=1)   # [g, *sp]
            vp = padded(vg, nd, begin, kernel, strides, dil, out, 0.0)
            s = sum(window_slices(vp, nd, kernel, strides, dil, out))  # [g, *out]
            m = layer.shape[0]
            s = np.repeat(s, m // g, axis=0)
            return s.reshape(layer.shape), (c // g) * int(np.prod(kernel))
        nd, kernel, strides, dil, begin, out = pool_geometry(at, xshape)
        vp = padded(v, nd, begin, kernel, strides, dil, out, 0.0)
        s = sum(window_slices(vp, nd, kernel, strides, dil, out))
        return s.reshape(layer.shape), int(np.prod(kernel))
    if kind == "elementwise":
        return per_neuron_value[layer.inputs[0]].reshape(layer.shape), 1
    if kind == "add":
        total = 0
        for name in first.input:          # the two (broadcast) operands
            total = total + np.broadcast_to(per_neuron_value[name], layer.shape)
        return total, 2
    raise ValueError(kind)


# ---------------------------------------------------------------- driver

def run_all(model, samples, batch):
    """Runs the samples; returns {tensor: float32 [n, *neuron shape]}."""
    names = [l.output for l in model.layers] + \
        [i for l in model.layers for i in l.inputs]
    names = list(dict.fromkeys(names))
    acts = {}
    for start in range(0, samples.shape[0], batch):
        x = samples[start:start + batch].astype(np.float32)
        env = model.forward(x)
        for name in names:
            if name not in acts:
                acts[name] = []
            acts[name].append(np.asarray(env[name], dtype=np.float32))
    return {k: np.concatenate(v, axis=0) for k, v in acts.items()}


def to_bins(a, b):
    return np.rint(a.reshape(a.shape[0], -1).astype(np.float64) / b).astype(np.int64)


def compute(args):
    model = Model(args.model)
    shape = model.input_shape
    rng = np.random.default_rng(args.seed)
    x = load_samples(args.input, args.samples, shape, rng)
    x = (x * args.scale + args.shift).astype(np.float32)
    n = x.shape[0]
    # as many optimal samples as input samples, unless told otherwise or a
    # file holds fewer
    xo = load_samples(args.optimal, args.optimal_samples or n, shape, rng,
                      at_most=not args.optimal_samples).astype(np.float32)
    n_opt = xo.shape[0]

    act = run_all(model, x, args.batch)
    opt = run_all(model, xo, args.batch)
    for l in model.layers:
        l.shape = list(act[l.output].shape[1:])

    b = args.bin_size
    shift = math.log(b) if args.entropy == "differential" else 0.0
    ent, div, outside = {}, {}, {}
    for name in act:
        a = to_bins(act[name], b)
        nn = a.shape[1]
        hp = histograms(a)
        ent[name] = (entropies(hp[0], hp[2], n, nn, args.estimator) + shift
                     ).reshape(act[name].shape[1:])
        hq = histograms(to_bins(opt[name], b))
        d, out = divergences(hp, hq, nn, n)
        div[name] = d.reshape(act[name].shape[1:])
        outside[name] = out

    kt = K_B * args.temperature / E_CHARGE            # eV per nat
    layers = []
    tot_l = tot_m = 0.0
    for l in model.layers:
        rec = {"index": l.index, "name": l.name, "kind": l.kind,
               "ops": [nd.op_type for nd in l.nodes], "shape": l.shape,
               "neurons": int(np.prod(l.shape)), "initial_set": 0,
               "landauer": 0.0, "mismatch": 0.0,
               "clipped_landauer": 0, "clipped_mismatch": 0,
               "outside_mass_mean": 0.0, "outside_mass_max": 0.0}
        o = outside[l.output]
        rec["outside_mass_mean"] = float(o.mean())
        rec["outside_mass_max"] = float(o.max())
        if l.kind == "reshape":
            rec["initial_set"] = 1
        if l.kind not in ("input", "reshape"):
            si, size = init_sum(l, model, ent)
            di, _ = init_sum(l, model, div)
            lj = si - ent[l.output]
            mj = di - div[l.output]
            rec["initial_set"] = size
            rec["landauer"] = float(np.maximum(lj, 0).sum() * kt)
            rec["mismatch"] = float(np.maximum(mj, 0).sum() * kt)
            rec["clipped_landauer"] = int((lj < 0).sum())
            rec["clipped_mismatch"] = int((mj < 0).sum())
            # Neurons whose cost is 0 up to rounding (a neuron equal to its
            # only initial neuron, a max over always-zero inputs): whether
            # such a neuron counts as clipped depends on rounding noise.
            rec["tied_landauer"] = int((np.abs(lj) <= TIE).sum())
            rec["tied_mismatch"] = int((np.abs(mj) <= TIE).sum())
            # diagnostics: per-neuron costs in nats, for locating differences
            if args.per_neuron:
                rec["landauer_neurons"] = lj.ravel().tolist()
                rec["mismatch_neurons"] = mj.ravel().tolist()
        tot_l += rec["landauer"]
        tot_m += rec["mismatch"]
        layers.append(rec)
    return {"reference": True, "model": args.model, "input": args.input,
            "optimal": args.optimal, "samples": n, "optimal_samples": n_opt,
            "bin_size": b, "temperature": args.temperature, "unit": "eV",
            "estimator": args.estimator, "entropy_mode": args.entropy,
            "mismatch_mode": "independent", "layers": layers,
            "total": {"landauer": tot_l, "mismatch": tot_m, "sum": tot_l + tot_m}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("-i", "--input", required=True)
    ap.add_argument("-p", "--optimal", default="normal:0,1")
    ap.add_argument("-n", "--samples", type=int)
    ap.add_argument("--optimal-samples", type=int)
    ap.add_argument("--scale", type=parse_number, default=1.0)
    ap.add_argument("--shift", type=parse_number, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-b", "--bin-size", type=float, default=0.01)
    ap.add_argument("-e", "--estimator", default="chao-shen",
                    choices=["chao-shen", "plugin", "miller-madow"])
    ap.add_argument("--entropy", default="differential",
                    choices=["differential", "discrete"])
    ap.add_argument("-T", "--temperature", type=float, default=293.15)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--per-neuron", action="store_true",
                    help="also write every neuron's raw costs in nats")
    ap.add_argument("--json", default="-")
    args = ap.parse_args(argv)
    res = compute(args)
    text = json.dumps(res, indent=1)
    if args.json == "-":
        print(text)
    else:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    for l in res["layers"]:
        print(f"{l['index']:3d} {l['name']:24s} {l['kind']:11s} "
              f"L {l['landauer']:.9g} eV  M {l['mismatch']:.9g} eV  "
              f"clipped {l['clipped_landauer']}/{l['clipped_mismatch']}",
              file=sys.stderr)
    t = res["total"]
    print(f"total L {t['landauer']:.9g} eV  M {t['mismatch']:.9g} eV",
          file=sys.stderr)


if __name__ == "__main__":
    main()
