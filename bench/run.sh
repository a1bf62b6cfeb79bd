#!/bin/sh
# nnheat's benchmark: builds nnheat (Release, in build-bench/), makes the
# models and sample files, installs ONNX Runtime for Node.js into bench/ if
# it is missing, then times everything side by side and prints a table of
# medians and the ratios against the targets of issue 5.
#
#   bench/run.sh              # from the repository's root; about 15 minutes
#   QUICK=1 bench/run.sh      # one repetition, fewer samples: a minute or two
#
# Environment: REPS (repetitions, default 3; QUICK 1), THREADS (default: all
# cores), BUILD (build directory, default build-bench). Results also go to
# $BUILD/bench-out/table.md and results.json. Needs cmake, a C compiler,
# Debian's python3-numpy and python3-onnx, node and npm.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
PY=/usr/bin/python3
THREADS=${THREADS:-$(nproc)}
if [ "${QUICK:-0}" = 1 ]; then
    REPS=${REPS:-1}
    SAMPLES=1000
    VGG_REF=200
    SIZES=300,1000,10000
else
    REPS=${REPS:-3}
    SAMPLES=10000
    VGG_REF=1000
    SIZES=1000,10000,100000
fi

say() { printf '%s\n' "run.sh: $*" >&2; }

for tool in cmake node npm; do
    command -v "$tool" >/dev/null || { say "needs $tool"; exit 1; }
done
if ! $PY -c "import numpy, onnx" 2>/dev/null; then
    say "needs Debian's python3-numpy and python3-onnx (scripts/install-deps.sh)"
    exit 1
fi

say "building nnheat (Release) in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target nnheat_cli >/dev/null

if [ ! -f "$ROOT/bench/node_modules/onnxruntime-node/package.json" ]; then
    say "installing onnxruntime-node into bench/node_modules"
    (cd "$ROOT/bench" && npm install --ignore-scripts --no-save --no-package-lock \
        --no-audit --no-fund onnxruntime-node >/dev/null)
fi

DATA=$BUILD/bench-data
say "models and samples in $DATA"
$PY "$ROOT/bench/make_models.py" "$DATA" --samples "$SAMPLES" --vgg-reference "$VGG_REF" \
    --scaling mlp --sizes "$SIZES"

OUT=$BUILD/bench-out
rm -rf "$OUT"
mkdir -p "$OUT"
say "timing: $REPS repetitions, $THREADS threads"
exec $PY "$ROOT/bench/bench.py" --nnheat "$BUILD/nnheat" --data "$DATA" --out "$OUT" \
    --reps "$REPS" --threads "$THREADS" --samples "$SAMPLES" \
    --vgg-reference "$VGG_REF" --sizes "$SIZES" --scaling mlp
