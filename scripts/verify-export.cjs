// Runs one graph of an exported package in onnxruntime-node on inputs PyTorch saved (raw little-endian .bin files,
// described by DATA/feeds.json: { graph, inputs: [{ name, dtype, dims }], output }) and prints the largest absolute
// difference from PyTorch's output (DATA/expected.bin). Used by models/shapesworld/export.py for every graph it writes.
const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');

async function main() {
  const [packageDir, dataDir] = process.argv.slice(2);
  const { graph, inputs, output } = JSON.parse(fs.readFileSync(path.join(dataDir, 'feeds.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(packageDir, graph), { executionProviders: ['cpu'] });
  const feeds = {};
  for (const { name, dtype, dims } of inputs) {
    const bytes = fs.readFileSync(path.join(dataDir, `${name}.bin`));
    const data = dtype === 'int64'
      ? new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
      : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    feeds[name] = new ort.Tensor(dtype, data, dims);
  }
  const started = performance.now();
  const out = (await session.run(feeds))[output];
  const ms = performance.now() - started;
  const expectedBytes = fs.readFileSync(path.join(dataDir, 'expected.bin'));
  const expected = new Float32Array(expectedBytes.buffer.slice(expectedBytes.byteOffset, expectedBytes.byteOffset + expectedBytes.length));
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i] - out.data[i]));
  const ok = out.data.length === expected.length && maxAbs < 1e-3;
  console.log(JSON.stringify({ event: 'verified', graph, max_abs_error: maxAbs, ort_ms: Math.round(ms), ok }));
  if (!ok) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
