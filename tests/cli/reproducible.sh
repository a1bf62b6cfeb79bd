# The same run gives the very same JSON twice in a row, and whatever the
# thread count and batch size (counts are integers; every sample's
# activations come from the same float operations however the work is split).
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
MODEL=$NH_SOURCE_DIR/examples/fashion_mnist/model.onnx
IMAGES=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

run() {
    name=$1; shift
    "$NNHEAT" costs "$MODEL" -i "$IMAGES" --scale 1/255 -n 1500 -q --json "$TMP/$name.json" \
        "$@" 2>"$TMP/err" || { bad "run $name $*"; cat "$TMP/err" >&2; }
}
run a -t 1
run b -t 1
run c -t 2 --batch 7
run d -t 3 --batch 1000
for x in b c d; do
    if cmp -s "$TMP/a.json" "$TMP/$x.json"; then ok; else bad "run $x differs from run a"; fi
done
finish
