#!/bin/sh
# Reference outputs computed by TensorFlow.js (tfjs_run.js), committed so
# that tests/cli/keras.sh needs neither Node nor the network:
#   ref/cnn1_tfjs.npy    cnn1_tfjs.json on cnn_in.npy
#   ref/act_tfjs.npy     act_tfjs.json on act_in.npy
#   ref/andres_tfjs.npy  the fixture andres_model.json + andres.bin on the
#                        first 500 Fashion-MNIST test images scaled by 1/255
# Run from anywhere, with @tensorflow/tfjs installed in a scratch directory:
#   mkdir /tmp/tfjs && (cd /tmp/tfjs && npm install @tensorflow/tfjs)
#   NODE_PATH=/tmp/tfjs/node_modules sh tests/data/keras/make_tfjs_refs.sh
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
FIX=${NH_FIXTURES_DIR:-$HERE/../../../../shared/fixtures}/keras
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$HERE"
node tfjs_run.js cnn1_tfjs.json cnn_in.npy ref/cnn1_tfjs.npy
node tfjs_run.js act_tfjs.json act_in.npy ref/act_tfjs.npy
/usr/bin/python3 -c "
import gzip, sys, numpy as np
raw = gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)[:500]
np.save(sys.argv[1], (x.astype(np.float64) * (1.0 / 255)).astype(np.float32))
" "$TMP/fm500.npy"
# The fixture's shard was renamed from the manifest's group1-shard1of1.bin.
node tfjs_run.js "$FIX/andres_model.json" "$TMP/fm500.npy" ref/andres_tfjs.npy \
    group1-shard1of1.bin="$FIX/andres.bin"
