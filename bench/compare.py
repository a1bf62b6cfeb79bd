#!/usr/bin/python3
"""Compares nnheat's JSON with bench/reference.py's, layer by layer, and
explains a difference by the activations that the two programs put in
different bins.

    compare.py REF.json NNHEAT.json [--rtol 1e-6] [--explain NNHEAT MODEL
               INPUT.npy OPTIMAL.npy] [--json OUT]

Prints, per layer and cost, both values and their relative difference, and
the largest one. With --explain, for every layer whose costs (or whose
consumers' costs) differ by more than RTOL, the layer's activations over
both sample files are computed by nnheat (`nnheat run` on the model cut
after that layer) and by the reference's own forward pass, and the values
whose bin round(x / b) differs are counted: a value that moves to the
neighbouring bin changes its neuron's entropy or divergence by about
ln(n)/n nats, however exact both programs are otherwise.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
COSTS = ("landauer", "mismatch")
# layers of more values than this (neurons x samples) are not explained
MAX_VALUES = 60_000_000


def load_reference():
    spec = importlib.util.spec_from_file_location("reference",
                                                  os.path.join(HERE, "reference.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rel(a, b):
    m = max(abs(a), abs(b))
    return abs(a - b) / m if m > 0 else 0.0


def compare(ref, nh, rtol):
    """Per-layer rows and the layers that differ by more than rtol."""
    rows, bad, errors = [], set(), []
    if len(ref["layers"]) != len(nh["layers"]):
        errors.append(f"{len(ref['layers'])} layers in the reference, "
                      f"{len(nh['layers'])} in nnheat")
    for x, y in zip(ref["layers"], nh["layers"]):
        for k in ("kind", "neurons", "shape", "initial_set"):
            if x[k] != y[k]:
                errors.append(f"layer {x['index']} {k}: reference {x[k]}, nnheat {y[k]}")
        for c in COSTS:
            r = rel(x[c], y[c])
            rows.append({"index": x["index"], "name": y["name"], "kind": y["kind"],
                         "cost": c, "reference": x[c], "nnheat": y[c], "rel": r,
                         "clipped_reference": x["clipped_" + c],
                         "clipped_nnheat": y["clipped_" + c],
                         "ties": x.get("tied_" + c, 0)})
            if r > rtol:
                bad.add(x["index"])
    for c in COSTS + ("sum",):
        r = rel(ref["total"][c], nh["total"][c])
        rows.append({"index": "total", "name": "", "kind": "", "cost": c,
                     "reference": ref["total"][c], "nnheat": nh["total"][c], "rel": r})
    return rows, bad, errors


def cut_model(model_path, tensor, out_path):
    """The model with `tensor` as its only output and the nodes it does not
    need removed."""
    import onnx
    from onnx import helper, TensorProto
    m = onnx.load(model_path)
    g = m.graph
    need, keep = {tensor}, []
    for node in reversed(list(g.node)):
        if any(o in need for o in node.output):
            keep.append(node)
            need.update(i for i in node.input if i)
    keep.reverse()
    del g.node[:]
    g.node.extend(keep)
    del g.output[:]
    g.output.append(helper.make_tensor_value_info(tensor, TensorProto.FLOAT, None))
    onnx.save(m, out_path)


def explain(nnheat, model_path, files, layer_ids, neurons, bin_size, tmp):
    """For each layer index: values in a different bin in nnheat and the
    reference, per sample file, and the largest activation difference."""
    ref = load_reference()
    model = ref.Model(model_path)
    out = {}
    by_index = {l.index: l for l in model.layers}
    for li in sorted(layer_ids):
        layer = by_index[li]
        if layer.kind in ("input", "reshape"):
            continue
        cut = os.path.join(tmp, f"cut{li}.onnx")
        cut_model(model_path, layer.output, cut)
        res = {"name": layer.name, "tensor": layer.output}
        for role, f in zip(("input", "optimal"), files):
            x = np.load(f, mmap_mode="r")
            if neurons[li] * x.shape[0] > MAX_VALUES:
                res[role] = None
                continue
            npy = os.path.join(tmp, f"cut{li}_{role}.npy")
            subprocess.run([nnheat, "run", cut, "-i", f, "-o", npy, "-q"], check=True)
            a = np.load(npy).reshape(x.shape[0], -1)
            moved = 0
            maxdiff = 0.0
            for s in range(0, x.shape[0], 500):
                xb = np.asarray(x[s:s + 500], dtype=np.float32)
                r = np.asarray(model.forward(xb)[layer.output],
                               dtype=np.float32).reshape(xb.shape[0], -1)
                nb = a[s:s + 500]
                maxdiff = max(maxdiff, float(np.abs(r.astype(np.float64) - nb).max()))
                moved += int((np.rint(r.astype(np.float64) / bin_size)
                              != np.rint(nb.astype(np.float64) / bin_size)).sum())
            os.remove(npy)
            res[role] = {"values": int(a.size), "moved": moved, "max_abs_diff": maxdiff}
        out[li] = res
    return out


def consumers(nh):
    """Layer index -> the indices of the layers that it (directly) feeds,
    from the JSON's order: every layer reads the one before it in these
    models (no branches). The first costed layer after a reshape reads
    through it."""
    idx = [l["index"] for l in nh["layers"]]
    return {i: [j] for i, j in zip(idx, idx[1:])}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ref")
    ap.add_argument("nh")
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--explain", nargs=4, metavar=("NNHEAT", "MODEL", "INPUT", "OPTIMAL"))
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    ref, nh = json.load(open(args.ref)), json.load(open(args.nh))
    rows, bad, errors = compare(ref, nh, args.rtol)
    worst = max((r for r in rows if r["index"] != "total"), key=lambda r: r["rel"])
    result = {"rows": rows, "worst": worst, "errors": errors,
              "ok": not bad and not errors, "explained": {}}
    for r in rows:
        flag = "  > rtol" if r["rel"] > args.rtol else ""
        print(f"  {str(r['index']):>5} {r['name'][:18]:18s} {r['cost']:9s} "
              f"ref {r['reference']:<18.12g} nnheat {r['nnheat']:<18.12g} "
              f"rel {r['rel']:.2g}{flag}")
    for e in errors:
        print("  ERROR:", e)
    if bad and args.explain:
        # a layer's cost reads its own neurons and its initial neurons
        todo = set(bad)
        cons = consumers(nh)
        prev = {j[0]: i for i, j in cons.items()}
        for i in bad:
            p = prev.get(i)
            while p is not None and nh["layers"][p]["kind"] == "reshape":
                p = prev.get(p)
            if p is not None:
                todo.add(p)
        nnheat, model, xin, xopt = args.explain
        with tempfile.TemporaryDirectory() as tmp:
            ex = explain(nnheat, model, (xin, xopt), todo,
                         {l["index"]: l["neurons"] for l in nh["layers"]},
                         nh["bin_size"], tmp)
        result["explained"] = ex
        for li, res in ex.items():
            parts = []
            for role in ("input", "optimal"):
                v = res.get(role)
                if v is None:
                    parts.append(f"{role}: too large to check")
                else:
                    parts.append(f"{role}: {v['moved']} of {v['values']} values in "
                                 f"another bin, max |dx| {v['max_abs_diff']:.2g}")
            print(f"  layer {li} {res['name']}: " + "; ".join(parts))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
