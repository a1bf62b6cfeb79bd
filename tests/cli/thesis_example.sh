# The example program built on the public header runs the thesis's example
# and prints finite costs for its three layers, the final neurons and the
# heuristic.
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
EXAMPLE=$NH_BUILD_DIR/examples/example_thesis_example

if "$EXAMPLE" "$NH_SOURCE_DIR/examples/thesis/model.onnx" >"$TMP/out" 2>"$TMP/err"; then
    ok
else
    bad "example failed"; cat "$TMP/err" >&2
fi
for pattern in "layer 2 flatten +reshape" "layer 3 dense +dense" "^total Landauer [0-9.]+ eV" \
    "^Mismatch per final neuron: [-0-9.]+ [-0-9.]+ eV" "^heuristic Landauer [0-9.]+ eV"; do
    if grep -Eq -e "$pattern" "$TMP/out"; then ok; else bad "no /$pattern/"; cat "$TMP/out" >&2; fi
done
# Its numbers are those of the command line on the same samples.
"$NNHEAT" costs "$NH_SOURCE_DIR/examples/thesis/model.onnx" -i normal:0,1 -n 10000 --seed 1 \
    -p normal:0.5,1.5 -q --json "$TMP/cli.json" || bad "nnheat costs failed"
want=$($PY -c "import json; print('%.6f' % json.load(open('$TMP/cli.json'))['total']['landauer'])")
if grep -q "^total Landauer $want eV" "$TMP/out"; then ok; else bad "Landauer differs: $want"; fi
finish
