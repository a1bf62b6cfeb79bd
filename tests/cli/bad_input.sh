# Bad input gives exit status 2 and a message naming the problem.
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
MODEL=$NH_SOURCE_DIR/examples/fashion_mnist/model.onnx
DENSE=$NH_SOURCE_DIR/tests/data/costs/dense_linear.onnx

# A truncated and a corrupt ONNX file.
head -c 2000 "$MODEL" >"$TMP/truncated.onnx"
expect_fail 2 "truncated.onnx" -- "$NNHEAT" info "$TMP/truncated.onnx"
head -c 3000 /dev/urandom >"$TMP/corrupt.onnx"
expect_fail 2 "corrupt.onnx" -- "$NNHEAT" costs "$TMP/corrupt.onnx" -i normal:0,1 -n 10
: >"$TMP/empty.onnx"
expect_fail 2 "empty.onnx" -- "$NNHEAT" info "$TMP/empty.onnx"

# An unsupported operator names the operator and the node.
expect_fail 2 "Erf.*mystery|mystery.*Erf" -- \
    "$NNHEAT" info "$NH_SOURCE_DIR/tests/data/costs/unsupported_op.onnx"

# A missing file.
expect_fail 2 "no_such_model.onnx" -- "$NNHEAT" info "$TMP/no_such_model.onnx"
expect_fail 2 "no_such_data.npy" -- "$NNHEAT" costs "$DENSE" -i "$TMP/no_such_data.npy"

# .npy: empty, truncated, wrong shape, NaN.
: >"$TMP/empty.npy"
expect_fail 2 "empty.npy" -- "$NNHEAT" costs "$DENSE" -i "$TMP/empty.npy"
$PY -c "
import numpy as np
np.save('$TMP/good.npy', np.random.default_rng(1).normal(size=(50, 4)).astype('f4'))
np.save('$TMP/shape.npy', np.zeros((50, 5), 'f4'))
a = np.ones((50, 4), 'f4'); a[17, 2] = np.nan
np.save('$TMP/nan.npy', a)
"
head -c 500 "$TMP/good.npy" >"$TMP/truncated.npy"
expect_fail 2 "truncated.npy" -- "$NNHEAT" costs "$DENSE" -i "$TMP/truncated.npy"
expect_fail 2 "shape.npy.*5.*4|shape.npy.*4.*5" -- "$NNHEAT" costs "$DENSE" -i "$TMP/shape.npy"
expect_fail 2 "nan.npy.*17|17.*nan.npy" -- "$NNHEAT" costs "$DENSE" -i "$TMP/nan.npy"

# Bin size of 0 or below, a bad estimator or unit: bad values name the option.
expect_fail 2 "bin size" -- "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 -b 0
expect_fail 2 "bin size" -- "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 -b -0.5
expect_fail 2 "estimator" -- "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 -e guess
expect_fail 2 "unit" -- "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 -u furlong
# A generator without a count, a malformed generator.
expect_fail 2 "-n|count" -- "$NNHEAT" costs "$DENSE" -i normal:0,1
expect_fail 2 "normal:0" -- "$NNHEAT" costs "$DENSE" -i normal:0 -n 10

# A malformed command line is a usage error (exit 1).
expect_fail 1 "MODEL" -- "$NNHEAT" costs -i normal:0,1 -n 10
expect_fail 1 "unrecognized|invalid" -- "$NNHEAT" costs "$DENSE" -i normal:0,1 --frobnicate
expect_fail 1 "unknown command" -- "$NNHEAT" frobnicate

# A run that fails half-way leaves no output file behind.
expect_fail 2 "nan.npy" -- "$NNHEAT" run "$DENSE" -i "$TMP/nan.npy" -o "$TMP/out.npy"
if [ -e "$TMP/out.npy" ]; then bad "a failed run left out.npy"; else ok; fi

# Writing over the run's own input is refused, and the input stays whole.
cp "$TMP/good.npy" "$TMP/same.npy"
expect_fail 2 "overwrite" -- "$NNHEAT" run "$DENSE" -i "$TMP/same.npy" -o "$TMP/same.npy"
if cmp -s "$TMP/good.npy" "$TMP/same.npy"; then ok; else bad "run damaged its input"; fi
expect_fail 2 "overwrite" -- "$NNHEAT" costs "$DENSE" -i "$TMP/same.npy" --json "$TMP/same.npy"

expect_fail 2 "overwrite" -- \
    "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 --json "$TMP/r.json" --csv "$TMP/r.json"
mkdir -p "$TMP/pn" && cp "$TMP/good.npy" "$TMP/pn/layer00_landauer.npy"
expect_fail 2 "overwrite" -- \
    "$NNHEAT" costs "$DENSE" -i "$TMP/pn/layer00_landauer.npy" --per-neuron "$TMP/pn"

# Output paths are checked before the run, not after it.
expect_fail 2 "--json.*no_such_dir" -- \
    "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 --json "$TMP/no_such_dir/x.json"
expect_fail 2 "--csv.*no_such_dir" -- \
    "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 --csv "$TMP/no_such_dir/x.csv"
expect_fail 1 "stdout" -- "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 --json - --csv -
expect_fail 1 "contradict" -- \
    "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 10 --mismatch joint --no-mismatch

# An interrupted run removes its partial output.
timeout -s INT 2 "$NNHEAT" run "$DENSE" -i normal:0,1 -n 2000000000 -o "$TMP/big.npy" \
    2>"$TMP/err"
if [ -e "$TMP/big.npy" ]; then bad "an interrupted run left big.npy"; else ok; fi
grep -q "interrupted" "$TMP/err" && ok || bad "no message on interruption"

# CSV: a first line mixing numbers and text is an error, not a header that
# silently drops a sample; a UTF-8 byte order mark is skipped.
printf '1,2,3,4e\n5,6,7,8\n' >"$TMP/typo.csv"
expect_fail 2 "typo.csv: line 1, column 4" -- "$NNHEAT" run "$DENSE" -i "$TMP/typo.csv" \
    -o "$TMP/typo.npy"
printf '\357\273\2771,2,3,4\n5,6,7,8\n' >"$TMP/bom.csv"
if "$NNHEAT" run "$DENSE" -i "$TMP/bom.csv" -o "$TMP/bom.npy" -q \
    && $PY -c "import numpy; assert numpy.load('$TMP/bom.npy').shape == (2, 2)"
then ok; else bad "a CSV with a byte order mark"; fi

# Numbers that mean little come with a warning: too few samples for the bin
# size, or a bin larger than the values' spread.
"$NNHEAT" costs "$DENSE" -i normal:0,1 -n 5 >/dev/null 2>"$TMP/err"
grep -q "too few samples" "$TMP/err" && ok || bad "no warning for 5 samples"
"$NNHEAT" costs "$DENSE" -i normal:0,1 -n 500 -b 1e300 >/dev/null 2>"$TMP/err"
grep -q "larger than their spread" "$TMP/err" && ok || bad "no warning for a huge bin"

# The good file works.
if "$NNHEAT" costs "$DENSE" -i "$TMP/good.npy" -q; then ok; else bad "good.npy failed"; fi
finish
