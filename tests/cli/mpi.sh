# Two MPI ranks give the very same JSON as one process: each rank reads its
# share of the samples and the integer counts are merged on rank 0.
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
MODEL=$NH_SOURCE_DIR/examples/fashion_mnist/model.onnx
IMAGES=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

if ! command -v mpirun >/dev/null; then
    bad "mpirun not found: scripts/install-deps.sh installs openmpi-bin"
    finish
    exit 1
fi
# The test runs as whoever runs the suite, root on a fresh machine.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# In a sanitizer build, the MPI runtime's plugins leave allocations at exit
# that LeakSanitizer cannot even attribute (their modules are unloaded), so
# leak checking is off for the MPI runs alone; AddressSanitizer's other
# checks stay on, and every other test checks nnheat's own leaks.
mpirun() {
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" command mpirun "$@"
}

run() {
    name=$1; shift
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || { bad "$name: $*"; cat "$TMP/$name.err" >&2; }
}
for mode in independent joint; do
    run one-$mode "$NNHEAT" costs "$MODEL" -i "$IMAGES" --scale 1/255 -n 1200 -t 1 \
        --mismatch $mode -q --json "$TMP/one-$mode.json"
    run two-$mode mpirun -np 2 "$NNHEAT" costs "$MODEL" -i "$IMAGES" --scale 1/255 -n 1200 \
        -t 1 --mismatch $mode -q --json "$TMP/two-$mode.json"
    if cmp -s "$TMP/one-$mode.json" "$TMP/two-$mode.json"; then ok
    else bad "$mode: 2 ranks differ from 1 process"; fi
done
# A generator split among ranks gives what one process gives.
run one-gen "$NNHEAT" costs "$NH_SOURCE_DIR/tests/data/costs/conv_pool.onnx" -i normal:0,1 \
    -n 999 -q --json "$TMP/one-gen.json"
run two-gen mpirun -np 2 "$NNHEAT" costs "$NH_SOURCE_DIR/tests/data/costs/conv_pool.onnx" \
    -i normal:0,1 -n 999 -q --json "$TMP/two-gen.json"
if cmp -s "$TMP/one-gen.json" "$TMP/two-gen.json"; then ok; else bad "generator split differs"; fi
# Only rank 0 prints the table.
run table mpirun -np 2 "$NNHEAT" costs "$NH_SOURCE_DIR/tests/data/costs/conv_pool.onnx" \
    -i normal:0,1 -n 100
n=$(grep -c '^total' "$TMP/table.out")
if [ "$n" -eq 1 ]; then ok; else bad "the table was printed $n times"; fi
finish
