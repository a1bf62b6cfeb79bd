# Per-neuron results: .npy arrays shaped like each layer whose sums are the
# layer totals of the JSON, and a CSV with one row per neuron.
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
MODEL=$NH_SOURCE_DIR/tests/data/costs/conv_pool.onnx

for mode in independent joint; do
    if "$NNHEAT" costs "$MODEL" -i normal:0,1 -n 3000 -p normal:0.3,1.2 --mismatch $mode \
        -u zJ -q --json "$TMP/$mode.json" --per-neuron "$TMP/$mode" --csv "$TMP/$mode.csv"
    then ok; else bad "$mode run failed"; fi
    if $PY -c "
import csv, json, math, numpy as np
d = json.load(open('$TMP/$mode.json'))
rows = list(csv.DictReader(open('$TMP/$mode.csv')))
assert len(rows) == sum(l['neurons'] for l in d['layers']), len(rows)
for l in d['layers']:
    i = l['index']
    for q in ('landauer', 'mismatch'):
        a = np.load('$TMP/$mode/layer%02d_%s.npy' % (i, q))
        assert list(a.shape) == l['shape'], (a.shape, l['shape'])
        assert math.isclose(a.sum(), l[q], rel_tol=1e-9, abs_tol=1e-12), (i, q, a.sum(), l[q])
        col = sum(float(r[q]) for r in rows if int(r['layer']) == i)
        assert math.isclose(col, l[q], rel_tol=1e-9, abs_tol=1e-12), (i, q, col, l[q])
    diff = np.load('$TMP/$mode/layer%02d_landauer_diff.npy' % i)
    assert int((diff < 0).sum()) == l['clipped_landauer']
    if '$mode' == 'independent':
        assert np.array_equal(np.load('$TMP/$mode/layer%02d_landauer.npy' % i),
                              np.maximum(diff, 0))
"; then ok; else bad "$mode per-neuron files disagree with the JSON"; fi
done
finish
