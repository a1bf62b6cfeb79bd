// Runs samples through a TensorFlow.js layers model with TensorFlow.js
// itself, as the independent implementation that nnheat's Keras loader is
// checked against.
//
//   node tfjs_run.js MODEL.json IN.npy OUT.npy [SHARD=FILE ...]
//
// IN.npy holds float32 samples (first axis), reshaped to the model's input;
// OUT.npy gets the model's float32 outputs. SHARD=FILE reads the manifest's
// shard SHARD from FILE (for shards renamed after conversion). Needs
// @tensorflow/tfjs (pure JavaScript): `npm install @tensorflow/tfjs` in a
// scratch directory, then run with NODE_PATH=that/node_modules.
'use strict';
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not .npy');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + hlen);
  if (!/'descr': '<f4'/.test(header) || /'fortran_order': True/.test(header))
    throw new Error(file + ': want little-endian float32 in C order');
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',')
      .map((s) => s.trim()).filter((s) => s).map(Number);
  const off = start + hlen;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = buf.readFloatLE(off + 4 * i);
  return {shape, data};
}

function writeNpy(file, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${
    shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(4 * data.length);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const [modelFile, inFile, outFile, ...maps] = process.argv.slice(2);
  const rename = Object.fromEntries(maps.map((m) => m.split('=')));
  const json = JSON.parse(fs.readFileSync(modelFile));
  const dir = path.dirname(modelFile);
  const specs = [];
  const parts = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) parts.push(fs.readFileSync(rename[p] || path.join(dir, p)));
    specs.push(...group.weights);
  }
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await tf.loadLayersModel({
    load: async () => ({modelTopology: json.modelTopology, weightSpecs: specs, weightData}),
  });
  const x = readNpy(inFile);
  const inShape = model.inputs[0].shape.slice(1);
  const n = x.shape[0];
  const input = tf.tensor(x.data, [n, ...inShape], 'float32');
  const y = model.predict(input);
  writeNpy(outFile, y.shape, await y.data());
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
