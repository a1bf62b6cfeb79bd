# Keras models: .keras, legacy .h5 (full and weights-only) and TF.js files.
#
# a. One network, several files: the CNN of tests/data/keras written as a
#    .keras zip, Keras 2 and Keras 3 legacy .h5 files, a TF.js model, a
#    weights-only .h5 with --config, and channels-first ONNX give the same
#    costs in every layer that computes (1e-9 relative; same clipped counts).
# b. Outputs against independent implementations: TensorFlow.js (reference
#    outputs in tests/data/keras/ref, made by make_tfjs_refs.sh) and a NumPy
#    forward pass (tests/data/keras/keras_numpy.py). Outputs are
#    probabilities; measured differences are below 1e-6, the test allows
#    1e-5 absolute.
# c. Bad files exit 2 naming the file and the layer.
# d. The real files of ../shared/fixtures/keras (or $NH_FIXTURES_DIR/keras):
#    info, costs on Fashion-MNIST images, outputs. Skipped, saying so, when
#    that folder is absent.
#
# Needs python3-numpy, python3-h5py (scripts/install-deps.sh).
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
D=$NH_SOURCE_DIR/tests/data/keras
IMAGES=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
TOL=1e-5

if ! $PY -c "import numpy, h5py" 2>"$TMP/err"; then
    bad "needs python3-numpy and python3-h5py (run scripts/install-deps.sh as root):" \
        "$(tail -n 1 "$TMP/err")"
    finish
    exit 1
fi

# close A.npy B.npy WHAT: every value within TOL.
close() {
    if $PY - "$1" "$2" "$TOL" >"$TMP/close" 2>&1 <<'EOF'
import sys
import numpy as np
a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
assert a.shape == b.shape, (a.shape, b.shape)
d = np.abs(a - b).max()
print("max |difference| %.3g" % d)
assert d <= float(sys.argv[3])
EOF
    then ok; else bad "$3: outputs differ: $(tail -n 1 "$TMP/close")"; fi
}

# ------------------------------------------------- a. one network, five files

$PY -c "
import numpy as np, sys
for k in ('in', 'opt'):
    x = np.load('$D/cnn_%s.npy' % k)
    np.save('$TMP/cnn_%s_cf.npy' % k, np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
"
"$NNHEAT" costs "$D/cnn.onnx" -i "$TMP/cnn_in_cf.npy" -p "$TMP/cnn_opt_cf.npy" -q \
    --json "$TMP/onnx.json" || bad "costs on cnn.onnx failed"
same_costs() { # JSON NAME
    if $PY - "$TMP/onnx.json" "$1" >"$TMP/same" 2>&1 <<'EOF'
import json, sys
def computing(path):
    return [l for l in json.load(open(path))["layers"] if l["kind"] != "reshape"]
ref, got = computing(sys.argv[1]), computing(sys.argv[2])
assert len(ref) == len(got), "%d and %d layers" % (len(ref), len(got))
worst = 0.0
for r, g in zip(ref, got):
    assert (r["kind"], r["neurons"]) == (g["kind"], g["neurons"]), (r["name"], g["name"])
    assert r["clipped_landauer"] == g["clipped_landauer"], g["name"]
    assert r["clipped_mismatch"] == g["clipped_mismatch"], g["name"]
    for k in ("landauer", "mismatch"):
        rel = abs(r[k] - g[k]) / max(abs(r[k]), 1e-300)
        assert rel <= 1e-9, "%s %s: %r vs %r" % (g["name"], k, g[k], r[k])
        worst = max(worst, rel)
print("worst relative difference %.3g" % worst)
EOF
    then ok; else bad "$2: costs differ from the ONNX twin's: $(tail -n 1 "$TMP/same")"; fi
}
for m in cnn.keras cnn_k2.h5 cnn_k3.h5 cnn_tfjs.json; do
    "$NNHEAT" costs "$D/$m" -i "$D/cnn_in.npy" -p "$D/cnn_opt.npy" -q --json "$TMP/$m.json" \
        && same_costs "$TMP/$m.json" "$m" || bad "costs on $m failed"
done
"$NNHEAT" costs "$D/cnn_weights.h5" --config "$D/cnn_tfjs.json" -i "$D/cnn_in.npy" \
    -p "$D/cnn_opt.npy" -q --json "$TMP/weights.json" \
    && same_costs "$TMP/weights.json" "cnn_weights.h5 --config" || bad "cnn_weights.h5 failed"

# Joint Mismatch too: channels-last initial sets hold the same neurons.
"$NNHEAT" costs "$D/cnn.onnx" -i "$TMP/cnn_in_cf.npy" -p "$TMP/cnn_opt_cf.npy" -q \
    --mismatch joint --json "$TMP/onnx.json" || bad "joint costs on cnn.onnx failed"
"$NNHEAT" costs "$D/cnn.keras" -i "$D/cnn_in.npy" -p "$D/cnn_opt.npy" -q --mismatch joint \
    --json "$TMP/joint.json" && same_costs "$TMP/joint.json" "cnn.keras, joint Mismatch" \
    || bad "joint costs on cnn.keras failed"

# Keras's layout: (H, W, C) shapes and initial sets over all input channels.
"$NNHEAT" info "$D/cnn.keras" >"$TMP/info" || bad "info cnn.keras failed"
if grep -Eq "^ +2 +conv +Conv2D\+BatchNormalization\+relu +10x10x6 +600 +18 " "$TMP/info" \
    && grep -Eq "^ +8 +pool +GlobalAveragePooling2D +6 +6 +25 " "$TMP/info"; then
    ok
else
    bad "info cnn.keras: unexpected layers"; cat "$TMP/info" >&2
fi

# Every output of a functional model is costed (run writes the first).
"$NNHEAT" info "$D/extra.keras" >"$TMP/info" && grep -Eq "^ +8 +dense +Dense\+tanh .* head2," \
    "$TMP/info" && ok || bad "info extra.keras: no second output head2"

# ------------------------------------------------------ b. outputs: TF.js
"$NNHEAT" run "$D/cnn1_tfjs.json" -i "$D/cnn_in.npy" -o "$TMP/cnn1.npy" -q \
    && close "$TMP/cnn1.npy" "$D/ref/cnn1_tfjs.npy" "cnn1_tfjs.json vs TensorFlow.js"
"$NNHEAT" run "$D/act_tfjs.json" -i "$D/act_in.npy" -o "$TMP/act.npy" -q \
    && close "$TMP/act.npy" "$D/ref/act_tfjs.npy" "act_tfjs.json vs TensorFlow.js"

# ------------------------------------------------------ b. outputs: NumPy
numpy_check() { # MODEL INPUT.npy [nnheat and keras_numpy options...]
    model=$1; input=$2; shift 2
    if ! $PY "$D/keras_numpy.py" "$model" "$input" "$TMP/np.npy" "$@" 2>"$TMP/err"; then
        bad "keras_numpy.py $(basename "$model"): $(tail -n 1 "$TMP/err")"
        return
    fi
    "$NNHEAT" run "$model" -i "$input" -o "$TMP/nh.npy" -q "$@" \
        && close "$TMP/nh.npy" "$TMP/np.npy" "$(basename "$model") vs NumPy" \
        || bad "run $(basename "$model") failed"
}
for m in cnn.keras cnn_k2.h5 cnn_k3.h5 cnn_tfjs.json; do numpy_check "$D/$m" "$D/cnn_in.npy"; done
for m in act.keras act_k2.h5 act_tfjs.json; do numpy_check "$D/$m" "$D/act_in.npy"; done
for m in extra.keras extra_k2.h5; do numpy_check "$D/$m" "$D/extra_in.npy"; done
numpy_check "$D/cnn_weights.h5" "$D/cnn_in.npy" --config "$D/cnn_tfjs.json"

# --------------------------------------------------------------- c. bad files
expect_fail 2 "no_config.keras.*config.json" -- "$NNHEAT" info "$D/bad/no_config.keras"
expect_fail 2 "cnn_weights.h5.*weights only.*--config" -- "$NNHEAT" info "$D/cnn_weights.h5"
expect_fail 2 "cnn_weights.h5.*weights only.*--config" -- \
    "$NNHEAT" costs "$D/cnn_weights.h5" -i "$D/cnn_in.npy"
expect_fail 2 "wrong_shape.h5.*dense_c.*kernel.*\[12,4\].*\[13,4\]" -- \
    "$NNHEAT" info "$D/bad/wrong_shape.h5"
expect_fail 2 "unsupported.h5.*'drop'.*UnitNormalization" -- \
    "$NNHEAT" run "$D/bad/unsupported.h5" -i "$D/cnn_in.npy" -o "$TMP/never.npy"
head -c 3000 "$D/cnn_k2.h5" >"$TMP/truncated.h5"
expect_fail 2 "truncated.h5" -- "$NNHEAT" info "$TMP/truncated.h5"
expect_fail 2 "missing_config.json" -- \
    "$NNHEAT" info "$D/cnn_weights.h5" --config "$TMP/missing_config.json"
cp "$D/cnn_tfjs.json" "$TMP/cnn_tfjs.json"
expect_fail 2 "cnn_tfjs.json.*cnn_tfjs.bin" -- "$NNHEAT" info "$TMP/cnn_tfjs.json"

# ---------------------------------------------------------- d. real files
FIX=${NH_FIXTURES_DIR:-$NH_SOURCE_DIR/../shared/fixtures}/keras
if [ ! -d "$FIX" ]; then
    echo "skipped: the real Keras files of $FIX are absent"
    finish
    exit $?
fi

for m in remo.h5 tanishk_model.h5 ASLaskin.keras; do
    "$NNHEAT" info "$FIX/$m" >"$TMP/info" && grep -q "^layers" "$TMP/info" && ok \
        || bad "info $m failed"
done
"$NNHEAT" info "$FIX/andres.h5" --config "$FIX/andres_model.json" >"$TMP/info" && ok \
    || bad "info andres.h5 --config failed"
expect_fail 2 "andres.h5.*weights only.*--config" -- "$NNHEAT" info "$FIX/andres.h5"

# The TF.js model under the shard name its manifest gives.
mkdir "$TMP/andres"
ln -s "$FIX/andres_model.json" "$TMP/andres/model.json"
ln -s "$FIX/andres.bin" "$TMP/andres/group1-shard1of1.bin"
expect_fail 2 "andres_model.json.*group1-shard1of1.bin" -- \
    "$NNHEAT" info "$FIX/andres_model.json"

# Costs on Fashion-MNIST images (28x28 samples reshaped to 28x28x1, which
# nnheat says); the Dense 12 -> 1 model takes 12 values, so normal samples.
for m in remo.h5 ASLaskin.keras "andres.h5 --config $FIX/andres_model.json" \
         "$TMP/andres/model.json"; do
    set -- $m
    case $1 in /*) path=$1 ;; *) path=$FIX/$1 ;; esac
    shift
    if "$NNHEAT" costs "$path" "$@" -i "$IMAGES" --scale 1/255 -n 1000 >"$TMP/out" 2>"$TMP/err" \
        && grep -q "^total" "$TMP/out" && grep -q "reshaped.*28x28x1" "$TMP/err"; then
        ok
    else
        bad "costs $m failed"; cat "$TMP/err" >&2
    fi
done
"$NNHEAT" costs "$FIX/tanishk_model.h5" -i normal:0,1 -n 1000 -q && ok \
    || bad "costs tanishk_model.h5 failed"

# Outputs: TensorFlow.js on the TF.js model, NumPy on every file.
$PY -c "
import gzip, numpy as np
raw = gzip.open('$IMAGES').read()
np.save('$TMP/fm500.npy', np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:500])
np.save('$TMP/t12.npy', np.random.default_rng(3).normal(size=(300, 12)).astype(np.float32))
"
"$NNHEAT" run "$TMP/andres/model.json" -i "$TMP/fm500.npy" --scale 1/255 -o "$TMP/a.npy" -q \
    && close "$TMP/a.npy" "$D/ref/andres_tfjs.npy" "andres_model.json vs TensorFlow.js"
S=0.00392156862745098
numpy_check "$FIX/remo.h5" "$TMP/fm500.npy" --scale $S
numpy_check "$FIX/ASLaskin.keras" "$TMP/fm500.npy" --scale $S
numpy_check "$FIX/andres.h5" "$TMP/fm500.npy" --scale $S --config "$FIX/andres_model.json"
numpy_check "$FIX/tanishk_model.h5" "$TMP/t12.npy"
finish
