# nnheat heuristic, and costs --heuristic: tables, JSON, bad values.
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
DATA=$NH_SOURCE_DIR/tests/data/heuristic
DENSE=$DATA/dense32.onnx
POOL=$DATA/maxpool2.onnx

# check_json FILE PYTHON: runs the Python expression-statements with d = the
# parsed document; an AssertionError is a failure.
check_json() {
    if $PY - "$1" "$2" <<'EOF'
import json, math, sys
d = json.load(open(sys.argv[1]))
close = lambda a, b, rel=1e-9: abs(a - b) <= rel * abs(b)
exec(sys.argv[2])
EOF
    then ok; else bad "JSON check failed on $1: $2"; fi
}

# The SPEC value: dense 32 -> 32 on N(0, 1) costs 35.5581 eV (its Landauer
# cost; the Mismatch is 0 with the default optimal N(0, 1)).
if "$NNHEAT" heuristic "$DENSE" --mean 0 --std 1 >"$TMP/out" 2>"$TMP/err" \
    && grep -q "Landauer 35.5581 eV   Mismatch 0 eV   sum 35.5581 eV" "$TMP/out" \
    && grep -Eq "^ +1 +dense +dense +32 +32 +35.5581 +0$" "$TMP/out"; then
    ok
else
    bad "heuristic table"; cat "$TMP/out" "$TMP/err" >&2
fi

# JSON: the costs schema with mismatch_mode heuristic and no samples.
"$NNHEAT" heuristic "$DENSE" --mean 0 --std 1 --optimal-mean 0.5 --optimal-std 1.25 \
    --json "$TMP/h.json" -q >"$TMP/out" 2>&1
if [ -s "$TMP/out" ]; then bad "-q printed something"; cat "$TMP/out" >&2; else ok; fi
check_json "$TMP/h.json" '
assert d["mismatch_mode"] == "heuristic" and d["samples"] == 0 and d["optimal_samples"] == 0
assert d["input"] == "normal:0,1" and d["optimal"] == "normal:0.5,1.25", d
assert d["unit"] == "eV" and d["temperature"] == 293.15 and d["bin_size"] is None
L, M = d["layers"][1]["landauer"], d["layers"][1]["mismatch"]
assert close(L, 35.5581, 1e-5) and close(M, 3.085930448479, 1e-9), (L, M)
assert d["layers"][1]["factor"] == 31 and d["layers"][0]["landauer"] == 0
assert close(d["total"]["sum"], L + M)
'
# Every key of the costs document is in the heuristic one, layers included.
"$NNHEAT" costs "$DENSE" -i normal:0,1 -n 200 --json "$TMP/c.json" -q
check_json "$TMP/h.json" '
c = json.load(open(sys.argv[1].replace("h.json", "c.json")))
assert set(c) <= set(d), set(c) - set(d)
missing = set(c["layers"][1]) - set(d["layers"][1]) - {"outside_mass_mean", "outside_mass_max",
                                                   "coverage_mean", "single_bin_share"}
assert not missing, missing
assert set(c["total"]) <= set(d["total"])
'

# Units and temperature: kT gives the nats, 992 S_1; 300 K scales eV.
"$NNHEAT" heuristic "$DENSE" --mean 5 --std 1 -u kT --json "$TMP/kt.json" -q
check_json "$TMP/kt.json" '
assert close(d["total"]["landauer"], 992 * 0.5 * math.log(2 * math.pi * math.e))
'
"$NNHEAT" heuristic "$DENSE" --mean 0 --std 1 -T 300 --json "$TMP/t.json" -q
check_json "$TMP/t.json" 'assert close(d["total"]["landauer"], 35.55805868359144 * 300 / 293.15)'

# Every layer kind, values by hand (sigma 2, optimal N(-0.2, 1.5^2)), in kT.
"$NNHEAT" heuristic "$DATA/mixed.onnx" --mean 0.3 --std 2 --optimal-mean -0.2 \
    --optimal-std 1.5 -u kT --json - >"$TMP/mixed.json"
check_json "$TMP/mixed.json" '
s, dn = 2.112085713764618, 0.15676237199266352
want = [0, 0, 96 * 18, 48 * (2 - 2 ** -0.5), 6 * (8 - 8 ** -0.5), 0, 25, 25, 0]
mwant = [w / 3 if l["kind"] == "pool" else w for w, l in zip(want, d["layers"])]
for l, w, m in zip(d["layers"], want, mwant):
    assert close(l["landauer"], w * s) and close(l["mismatch"], m * dn), (l["name"], w)
assert [l["kind"] for l in d["layers"]] == ["input", "elementwise", "conv", "pool", "pool",
    "reshape", "dense", "dense", "add"]
'

# Bad values exit 2 and name the option; malformed command lines exit 1.
expect_fail 2 "--std" -- "$NNHEAT" heuristic "$DENSE" --mean 0 --std 0
expect_fail 2 "--std" -- "$NNHEAT" heuristic "$DENSE" --mean 0 --std -1
expect_fail 2 "--std" -- "$NNHEAT" heuristic "$DENSE" --mean 0 --std inf
expect_fail 2 "--mean" -- "$NNHEAT" heuristic "$DENSE" --mean nan --std 1
expect_fail 2 "--mean" -- "$NNHEAT" heuristic "$DENSE" --mean zero --std 1
expect_fail 2 "--optimal-std" -- "$NNHEAT" heuristic "$DENSE" --mean 0 --std 1 --optimal-std 0
expect_fail 2 "--optimal-mean" -- \
    "$NNHEAT" heuristic "$DENSE" --mean 0 --std 1 --optimal-mean 1e999
expect_fail 2 "--temperature" -- "$NNHEAT" heuristic "$DENSE" --mean 0 --std 1 -T 0
expect_fail 2 "unit" -- "$NNHEAT" heuristic "$DENSE" --mean 0 --std 1 -u furlong
expect_fail 2 "no_such.onnx" -- "$NNHEAT" heuristic "$TMP/no_such.onnx" --mean 0 --std 1
expect_fail 1 "--std" -- "$NNHEAT" heuristic "$DENSE" --mean 0
expect_fail 1 "MODEL" -- "$NNHEAT" heuristic --mean 0 --std 1
expect_fail 1 "MODEL" -- "$NNHEAT" heuristic "$DENSE" "$DENSE" --mean 0 --std 1
expect_fail 1 "unrecognized|invalid" -- "$NNHEAT" heuristic "$DENSE" --mean 0 --std 1 --frob
if "$NNHEAT" heuristic --help | grep -q -- "--optimal-std SIGMA_O.*\[1\]"; then ok; else
    bad "heuristic --help shows no default"; fi

# costs --heuristic: the comparison beside the table, ratios per layer.
if "$NNHEAT" costs "$POOL" -i normal:0,1 -n 20000 -p normal:0.5,1.25 --heuristic \
    --json "$TMP/ch.json" >"$TMP/out" 2>"$TMP/err" \
    && grep -q "sampled/heur L" "$TMP/out" \
    && grep -Eq "^ +1 +pool +2.00731 +0.0580686 +0\.9[0-9]+ +0\.[0-9]+$" "$TMP/out"; then
    ok
else
    bad "costs --heuristic table"; cat "$TMP/out" "$TMP/err" >&2
fi
check_json "$TMP/ch.json" '
assert d["mismatch_mode"] == "independent" and d["samples"] == 20000
l = d["layers"][1]
assert close(l["heuristic_landauer"], 2.0073097643962914)
assert close(l["heuristic_mismatch"], 0.05806858370793948)
assert 0.85 < l["landauer"] / l["heuristic_landauer"] < 1.0
assert {"landauer", "mismatch", "clipped_landauer", "outside_mass_mean"} <= set(l)
assert close(d["total"]["heuristic_landauer"], 2.0073097643962914)
'
# --scale and --shift apply: normal:1,2 * 0.5 - 0.5 is N(0, 1).
"$NNHEAT" costs "$DENSE" -i normal:1,2 -n 100 --scale 0.5 --shift -0.5 --heuristic \
    --no-mismatch --json "$TMP/s.json" -q
check_json "$TMP/s.json" 'assert close(d["layers"][1]["heuristic_landauer"], 35.55805868359144)'

# Without a normal input (or optimal) there is no heuristic: exit 2.
expect_fail 2 "--heuristic.*normal" -- \
    "$NNHEAT" costs "$DENSE" -i uniform:-1,1 -n 100 --heuristic
$PY -c "
import numpy as np
np.save('$TMP/x.npy', np.zeros((10, 32), 'f4'))
"
expect_fail 2 "--heuristic.*normal" -- "$NNHEAT" costs "$DENSE" -i "$TMP/x.npy" --heuristic
expect_fail 2 "--heuristic.*optimal" -- \
    "$NNHEAT" costs "$DENSE" -i normal:0,1 -n 100 -p uniform:0,1 --heuristic
finish
