# nnheat's numbers against bench/reference.py, an independent NumPy
# implementation of the method written from its specification.
#
# a. Exactly: small ONNX models whose float32 arithmetic is exact in any
#    summation order, so that both programs see the very same activations
#    and every bin, histogram, entropy and divergence must agree; costs to
#    1e-9 relative, clipped counts exactly. Every estimator and entropy mode.
# b. The bundled Fashion-MNIST CNN on real images, where BLAS and NumPy
#    round differently in the last bits: costs to a tolerance measured below.
#
# Needs Debian's python3-numpy and python3-onnx (scripts/install-deps.sh).
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
REF=$NH_SOURCE_DIR/bench/reference.py

if ! $PY -c "import numpy, onnx" 2>"$TMP/err"; then
    bad "the reference needs python3-numpy and python3-onnx" \
        "(run scripts/install-deps.sh as root): $(tail -n 1 "$TMP/err")"
    finish
    exit 1
fi

# ---------------------------------------------------------------- models
#
# Every weight is a multiple of 1/4 (or 1/2) and every input a multiple of
# 1/8 in [-1/2, 1/2]; each stage adds a few bits of resolution and grows the
# largest possible partial sum (all |w| |x| added, whatever the order) by at
# most its fan-in times max |w|. Worst cases, as (bound, resolution):
#   exact.onnx  x (0.5, 2^-3); conv1 18 terms, |w| <= 1 (10, 2^-5); max pool;
#               conv2 18 terms, |w| <= 1/2 (90, 2^-7); batch norm, eps 0,
#               var 4 (24, 2^-9); residual add (34, 2^-9); 2x2 average:
#               sums (136, 2^-9) then / 4 (34, 2^-11); Gemm 6 -> 8, |w| <= 1/2,
#               alpha 1/2 (102, 2^-13) -> (52, 2^-14); MatMul 8 -> 5, |w| <= 1/2,
#               step 1/2 (209, 2^-15).
#   gap.onnx    conv 27 terms (15, 2^-5); global average of 16 (232, 2^-5)
#               -> (15, 2^-9); Gemm 4 -> 3 (59, 2^-11); then Sigmoid, which
#               is not exact.
# The largest bound / resolution is 209 * 2^15 < 2^23: every partial sum is
# a float32 exactly.
$PY - "$TMP" <<'EOF' || bad "could not make the test models"
import os, sys
import numpy as np
import onnx
from onnx import TensorProto as T, helper as h, numpy_helper as nh

os.chdir(sys.argv[1])
rng = np.random.default_rng(2024)


def q(shape, step, lim):
    """Multiples of step in [-lim, lim], uniformly."""
    k = int(round(lim / step))
    return (rng.integers(-k, k + 1, size=shape) * step).astype(np.float32)


def save(nodes, inits, name, in_shape, out_shape):
    g = h.make_graph(nodes, name,
                     [h.make_tensor_value_info("x", T.FLOAT, ["N"] + in_shape)],
                     [h.make_tensor_value_info("y", T.FLOAT, ["N"] + out_shape)],
                     [nh.from_array(v, k) for k, v in inits.items()])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, name + ".onnx")


save([
    h.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", group=2,
                kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    h.make_node("MaxPool", ["r1"], ["p1"], name="maxpool", kernel_shape=[2, 2],
                strides=[2, 2]),
    h.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2", group=3,
                kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    h.make_node("BatchNormalization", ["c2", "bn_s", "bn_b", "bn_m", "bn_v"],
                ["n2"], name="bn2", epsilon=0.0),
    h.make_node("Relu", ["n2"], ["r2"], name="relu2"),
    h.make_node("Add", ["r2", "p1"], ["s"], name="residual"),
    h.make_node("Relu", ["s"], ["rs"], name="relu3"),
    h.make_node("AveragePool", ["rs"], ["ap"], name="avgpool", kernel_shape=[2, 2]),
    h.make_node("Flatten", ["ap"], ["f"], name="flatten"),
    h.make_node("Gemm", ["f", "w3", "b3"], ["g"], name="gemm", transB=1,
                alpha=0.5, beta=2.0),
    h.make_node("Relu", ["g"], ["rg"], name="relu4"),
    h.make_node("MatMul", ["rg", "w4"], ["mm"], name="matmul"),
    h.make_node("Add", ["mm", "b4"], ["y"], name="bias"),
], {"w1": q((6, 2, 3, 3), 0.25, 1), "b1": q(6, 0.25, 1),
    "w2": q((6, 2, 3, 3), 0.25, 0.5),
    "bn_s": np.full(6, 0.5, np.float32), "bn_b": q(6, 0.25, 1),
    "bn_m": q(6, 0.25, 1), "bn_v": np.full(6, 4.0, np.float32),
    "w3": q((8, 6), 0.25, 0.5), "b3": q(8, 0.25, 0.5),
    "w4": q((8, 5), 0.5, 0.5), "b4": q(5, 0.25, 0.5)}, "exact", [4, 4, 4], [5])

save([
    h.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv", kernel_shape=[3, 3],
                pads=[2, 2, 2, 2], dilations=[2, 2]),
    h.make_node("Relu", ["c1"], ["r1"], name="relu"),
    h.make_node("GlobalAveragePool", ["r1"], ["p"], name="gap"),
    h.make_node("Flatten", ["p"], ["f"], name="flatten"),
    h.make_node("Gemm", ["f", "w2", "b2"], ["g"], name="dense", transB=1),
    h.make_node("Sigmoid", ["g"], ["y"], name="sigmoid"),
], {"w1": q((4, 3, 3, 3), 0.25, 1), "b1": q(4, 0.25, 1),
    "w2": q((3, 4), 0.25, 1), "b2": q(3, 0.25, 1)}, "gap", [3, 4, 4], [3])

# Inputs uniform over {-4..4}/8, optimal samples (Binomial(8, 1/2) - 4)/8.
n = 4000
for name, shape in (("exact", (4, 4, 4)), ("gap", (3, 4, 4))):
    np.save(f"x_{name}.npy",
            (rng.integers(-4, 5, size=(n, *shape)) / 8).astype(np.float32))
    np.save(f"p_{name}.npy",
            ((rng.binomial(8, 0.5, size=(n, *shape)) - 4) / 8).astype(np.float32))
np.save("opt_fashion.npy", rng.normal(0, 1, (2000, 1, 28, 28)).astype(np.float32))
EOF

# ---------------------------------------------------------------- compare
#
# compare.py REF NH LABEL RTOL ATOL SLACK [LAYER:RTOL:ATOL ...]
# Per layer: kind, neurons, shape and initial-set size equal; landauer and
# mismatch within RTOL * |value| + ATOL (eV); clipped counts equal, up to
# SLACK and up to the neurons whose cost the reference finds to be 0 within
# rounding (a tie: which side of 0 it lands on is rounding noise).
cat >"$TMP/compare.py" <<'EOF'
import json
import sys

ref, nh, label = sys.argv[1:4]
rtol, atol, slack = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
loose = {}
for s in sys.argv[7:]:
    i, r, a = s.split(":")
    loose[int(i)] = (float(r), float(a))
a, b = json.load(open(ref)), json.load(open(nh))
errs, notes = [], []
worst = (0.0, "")
if len(a["layers"]) != len(b["layers"]):
    errs.append(f"{len(a['layers'])} layers in the reference, {len(b['layers'])} in nnheat")
for x, y in zip(a["layers"], b["layers"]):
    i = x["index"]
    for k in ("kind", "neurons", "shape", "initial_set"):
        if x[k] != y[k]:
            errs.append(f"layer {i} {k}: reference {x[k]}, nnheat {y[k]}")
    r, t = loose.get(i, (rtol, atol))
    for k in ("landauer", "mismatch"):
        d = abs(x[k] - y[k])
        m = max(abs(x[k]), abs(y[k]))
        if m > 0 and d / m > worst[0]:
            worst = (d / m, f"layer {i} {y['name']} {k}")
        if d > r * m + t:
            errs.append(f"layer {i} {y['name']} {k}: reference {x[k]!r}, "
                        f"nnheat {y[k]!r} (relative {d / m:.3g})")
        c = "clipped_" + k
        ties = x.get("tied_" + k, 0)
        if abs(x[c] - y[c]) > ties + slack:
            errs.append(f"layer {i} {y['name']} {c}: reference {x[c]}, nnheat {y[c]}"
                        f" ({ties} ties)")
        elif x[c] != y[c]:
            notes.append(f"layer {i} {y['name']} {c}: reference {x[c]}, "
                         f"nnheat {y[c]} ({ties} ties)")
for k in ("landauer", "mismatch", "sum"):
    d = abs(a["total"][k] - b["total"][k])
    if d > rtol * abs(b["total"][k]) + atol * len(a["layers"]):
        errs.append(f"total {k}: reference {a['total'][k]!r}, nnheat {b['total'][k]!r}")
print(f"{label}: {len(b['layers'])} layers, largest relative difference "
      f"{worst[0]:.2g} ({worst[1] or '-'})")
for s in notes:
    print("  note:", s)
for s in errs:
    print("  FAIL:", s)
sys.exit(1 if errs else 0)
EOF

# check LABEL RTOL ATOL SLACK LOOSE -- MODEL -i INPUT ARGS...: runs both
# programs with the same arguments and compares their JSON.
check() {
    label=$1; rtol=$2; atol=$3; slack=$4; loose=$5; shift 6
    if ! "$NNHEAT" costs "$@" -q --json "$TMP/nh.json" 2>"$TMP/err"; then
        bad "$label: nnheat costs failed: $*"; cat "$TMP/err" >&2; return
    fi
    if ! $PY "$REF" "$@" --json "$TMP/ref.json" 2>"$TMP/err"; then
        bad "$label: reference.py failed: $*"; cat "$TMP/err" >&2; return
    fi
    # shellcheck disable=SC2086
    if $PY "$TMP/compare.py" "$TMP/ref.json" "$TMP/nh.json" "$label" \
        "$rtol" "$atol" "$slack" $loose; then
        ok
    else
        bad "$label: nnheat and the reference differ"
    fi
}

# ---------------------------------------------------------------- a. exact

E=$TMP/exact.onnx
X="-i $TMP/x_exact.npy -p $TMP/p_exact.npy"
check "exact, b 1/8, chao-shen"   1e-9 1e-12 0 "" -- "$E" $X -b 0.125
check "exact, b 1/8, plugin"      1e-9 1e-12 0 "" -- "$E" $X -b 0.125 -e plugin
check "exact, b 1/8, miller-madow" 1e-9 1e-12 0 "" -- "$E" $X -b 0.125 -e miller-madow
# b = 0.01: x / b of an odd multiple of 1/8 is a tie (12.5, 37.5): to even
check "exact, b 0.01, chao-shen"  1e-9 1e-12 0 "" -- "$E" $X -b 0.01
check "exact, fewer optimal samples" 1e-9 1e-12 0 "" -- "$E" $X -b 0.125 \
    -n 3000 --optimal-samples 2500
if "$NNHEAT" costs --help 2>&1 | grep -q discrete; then
    check "exact, b 1/8, discrete"    1e-9 1e-12 0 "" -- "$E" $X -b 0.125 --entropy discrete
    check "exact, b 0.01, discrete, plugin" 1e-9 1e-12 0 "" -- "$E" $X -b 0.01 \
        --entropy discrete -e plugin
fi

# Sigmoid rounds differently in libm and NumPy: one output that lands in a
# neighbouring bin moves that neuron's entropy by at most about ln(n)/n =
# 2e-3 nats = 5e-5 eV; the last layer (4) gets 1e-3 relative + 1e-4 eV, the
# others stay exact. (Measured: no value changes bin, the layer agrees to
# 5e-15.)
G=$TMP/gap.onnx
Y="-i $TMP/x_gap.npy -p $TMP/p_gap.npy"
check "gap + sigmoid, b 1/8"  1e-9 1e-12 0 "4:1e-3:1e-4" -- "$G" $Y -b 0.125
check "gap + sigmoid, b 0.01, miller-madow" 1e-9 1e-12 0 "4:1e-3:1e-4" -- "$G" $Y \
    -b 0.01 -e miller-madow

# ---------------------------------------------------------------- b. example
#
# The bundled CNN on the first 2000 test images, optimal samples N(0, 1) from
# a .npy. nnheat's im2col + OpenBLAS and NumPy sum in different orders, so
# activations differ in their last float bits (logits by up to 3e-5) and a
# few values land in the neighbouring 0.01 bin: 11 of the 40,000 actual and
# optimal logits with one of the files below. One value moving moves one
# neuron's entropy or divergence by at most about ln(n)/n = 4e-3 nats =
# 1e-4 eV. Measured, with this test's file: every layer within 3e-13
# relative; with five other N(0, 1) files: fc2's Mismatch (1.4 to 1.8 eV)
# within 4.7e-5 relative (8e-5 eV), every other layer within 1e-12, and one
# clipped Mismatch count per file off by one, always a tie (a pool window
# that is 0 in every image: its Mismatch is exactly 0, and rounding puts it
# on either side). Tolerance: 1e-3 relative + 1e-4 eV per layer (20 times
# the largest measured difference; about ten moved values in fc2), clipped
# counts within the ties + 2.
IMAGES=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
if [ -r "$IMAGES" ]; then
    check "fashion-mnist, 2000 images" 1e-3 1e-4 2 "" -- \
        "$NH_SOURCE_DIR/examples/fashion_mnist/model.onnx" -i "$IMAGES" -n 2000 \
        --scale 1/255 -p "$TMP/opt_fashion.npy"
else
    bad "$IMAGES is missing (dataset-fashion-mnist)"
fi

# The comparison is not blind: the same run with another estimator must fail.
if "$NNHEAT" costs "$E" $X -b 0.125 -q --json "$TMP/nh.json" &&
    $PY "$REF" "$E" $X -b 0.125 -e plugin --json "$TMP/ref.json" 2>/dev/null &&
    ! $PY "$TMP/compare.py" "$TMP/ref.json" "$TMP/nh.json" "negative control" \
        1e-9 1e-12 0 >/dev/null; then
    ok
else
    bad "the comparison does not see chao-shen against plugin"
fi
finish
