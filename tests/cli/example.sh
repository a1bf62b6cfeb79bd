# The bundled example: `nnheat run` reproduces the logits PyTorch computed
# for the first 100 test images (1e-4), and `nnheat costs` prints a table
# and writes the JSON of the contract for all 10,000.
. "$NH_SOURCE_DIR/tests/cli/common.shlib"
EX=$NH_SOURCE_DIR/examples/fashion_mnist
IMAGES=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

if "$NNHEAT" run "$EX/model.onnx" -i "$IMAGES" --scale 1/255 -n 100 -o "$TMP/logits.npy"; then
    ok
else
    bad "nnheat run failed"
fi
if $PY -c "
import numpy as np, sys
got = np.load('$TMP/logits.npy'); want = np.load('$EX/logits_first100.npy')
assert got.shape == want.shape, (got.shape, want.shape)
err = np.abs(got - want).max()
print('max |difference| of logits:', err)
sys.exit(0 if np.allclose(got, want, rtol=1e-4, atol=1e-4) else 1)
"; then ok; else bad "logits differ from PyTorch's"; fi

if "$NNHEAT" costs "$EX/model.onnx" -i "$IMAGES" --scale 1/255 --json "$TMP/costs.json" \
    >"$TMP/table.txt"; then ok; else bad "nnheat costs failed"; fi
grep -q "total" "$TMP/table.txt" && ok || bad "no total in the table"
if $PY -c "
import json, sys
d = json.load(open('$TMP/costs.json'))
keys = ['nnheat', 'model', 'input', 'optimal', 'samples', 'optimal_samples', 'bin_size',
        'temperature', 'unit', 'estimator', 'mismatch_mode', 'layers', 'total']
missing = [k for k in keys if k not in d]
assert not missing, missing
assert d['samples'] == 10000 and d['optimal_samples'] == 10000, d['samples']
assert d['optimal'] == 'normal:0,1' and d['unit'] == 'eV' and d['estimator'] == 'chao-shen'
kinds = [l['kind'] for l in d['layers']]
assert kinds[0] == 'input' and 'conv' in kinds and 'pool' in kinds and 'dense' in kinds, kinds
lk = ['index', 'name', 'kind', 'ops', 'shape', 'neurons', 'initial_set', 'landauer',
      'mismatch', 'clipped_landauer', 'clipped_mismatch']
for l in d['layers']:
    assert all(k in l for k in lk), l
    if l['kind'] in ('input', 'reshape'):
        assert l['landauer'] == 0 and l['mismatch'] == 0, l
assert d['layers'][0]['shape'] == [1, 28, 28] and d['layers'][0]['neurons'] == 784
t = d['total']
assert abs(t['landauer'] - sum(l['landauer'] for l in d['layers'])) <= 1e-9 * abs(t['landauer'])
assert abs(t['sum'] - t['landauer'] - t['mismatch']) <= 1e-9 * abs(t['sum'])
print('layers:', kinds)
"; then ok; else bad "JSON does not match the contract"; fi
# Joint Mismatch reports its joint histograms for every costed layer.
if "$NNHEAT" costs "$EX/model.onnx" -i "$IMAGES" --scale 1/255 -n 300 --mismatch joint -q \
    --json "$TMP/joint.json"; then ok; else bad "joint Mismatch run failed"; fi
if $PY -c "
import json
d = json.load(open('$TMP/joint.json'))
assert d['mismatch_mode'] == 'joint', d['mismatch_mode']
for l in d['layers']:
    if l['kind'] in ('input', 'reshape'):
        assert l['mismatch'] == 0 and 'joint_histograms' in l and l['joint_histograms'] == 0
    else:
        assert l['joint_histograms'] >= 1 and 1 <= l['joint_tuples'] and l['joint_bytes'] > 0, l
        assert 0 <= l['joint_singleton_share'] <= 1
assert [l['joint_histograms'] for l in d['layers']][1:5] == [784, 1568, 196, 784]
"; then ok; else bad "joint JSON"; fi
finish
