#!/usr/bin/env node
// ONNX Runtime's forward pass over .npy sample files, for the benchmark.
//
//   node ort_run.js MODEL THREADS BATCH FILE.npy [FILE.npy ...] [--out OUT.npy]
//
// One session (CPU, intra-op THREADS threads, one inter-op thread,
// sequential execution, every graph optimisation), then each file in turn:
// BATCH samples are read from disk and run at a time, as `nnheat run` does,
// and the outputs are dropped (or, with --out, the first file's outputs are
// written as a float32 .npy, to check that both runtimes agree). Prints one
// JSON line: seconds to load the session, seconds in reading and running,
// samples run.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function npyOpen(file) {
    const fd = fs.openSync(file, 'r');
    const pre = Buffer.alloc(10);
    fs.readSync(fd, pre, 0, 10, 0);
    if (pre.toString('latin1', 0, 6) !== '\x93NUMPY')
        throw new Error(`${file}: not a .npy file`);
    const major = pre[6];
    let hlen, start;
    if (major === 1) {
        hlen = pre.readUInt16LE(8);
        start = 10;
    } else {
        const b = Buffer.alloc(12);
        fs.readSync(fd, b, 0, 12, 0);
        hlen = b.readUInt32LE(8);
        start = 12;
    }
    const hb = Buffer.alloc(hlen);
    fs.readSync(fd, hb, 0, hlen, start);
    const header = hb.toString('latin1');
    if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
        throw new Error(`${file}: wants a C-order little-endian float32 array`);
    const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1]
        .split(',').map((s) => s.trim()).filter((s) => s).map(Number);
    return { fd, offset: start + hlen, shape };
}

async function main() {
    const args = process.argv.slice(2);
    let out = null;
    const oi = args.indexOf('--out');
    if (oi >= 0) {
        out = args[oi + 1];
        args.splice(oi, 2);
    }
    const [model, threads, batch, ...files] = args;
    const nb = Number(batch);
    const t0 = process.hrtime.bigint();
    const session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        intraOpNumThreads: Number(threads),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
    });
    const t1 = process.hrtime.bigint();
    const inName = session.inputNames[0];
    const outName = session.outputNames[0];
    let samples = 0;
    let outChunks = [];
    let outShape = null;
    for (const [fi, file] of files.entries()) {
        const f = npyOpen(file);
        const n = f.shape[0];
        const per = f.shape.slice(1).reduce((a, b) => a * b, 1);
        const buf = Buffer.alloc(nb * per * 4);
        for (let s = 0; s < n; s += nb) {
            const m = Math.min(nb, n - s);
            const want = m * per * 4;
            let got = 0;
            while (got < want)
                got += fs.readSync(f.fd, buf, got, want - got, f.offset + s * per * 4 + got);
            const data = new Float32Array(buf.buffer, buf.byteOffset, m * per);
            const x = new ort.Tensor('float32', data, [m, ...f.shape.slice(1)]);
            const r = await session.run({ [inName]: x });
            if (out && fi === 0) {
                const y = r[outName];
                outShape = y.dims.slice(1);
                outChunks.push(Buffer.from(new Float32Array(y.data).buffer));
            }
            samples += m;
        }
        fs.closeSync(f.fd);
    }
    const t2 = process.hrtime.bigint();
    if (out) {
        const rows = outChunks.reduce((a, b) => a + b.length, 0) / 4
            / outShape.reduce((a, b) => a * b, 1);
        let hdr = `{'descr': '<f4', 'fortran_order': False, 'shape': (${[rows, ...outShape].join(', ')}${outShape.length ? '' : ','}), }`;
        while ((10 + hdr.length + 1) % 64) hdr += ' ';
        hdr += '\n';
        const pre = Buffer.alloc(10);
        pre.write('\x93NUMPY', 0, 'latin1');
        pre[6] = 1;
        pre[7] = 0;
        pre.writeUInt16LE(hdr.length, 8);
        fs.writeFileSync(out, Buffer.concat([pre, Buffer.from(hdr, 'latin1'), ...outChunks]));
    }
    console.log(JSON.stringify({
        load_s: Number(t1 - t0) / 1e9,
        run_s: Number(t2 - t1) / 1e9,
        samples,
        ort: require(path.join(__dirname, 'node_modules', 'onnxruntime-node', 'package.json')).version,
    }));
}

main().catch((e) => {
    console.error(`ort_run.js: ${e.message}`);
    process.exit(2);
});
