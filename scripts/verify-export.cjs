// Runs an exported package's uvit.onnx in onnxruntime-node on inputs PyTorch saved (raw little-endian .bin
// files) and prints the largest absolute difference from PyTorch's output. Used by scripts/export-model.py.
const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');

async function main() {
  const [packageDir, dataDir] = process.argv.slice(2);
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'model.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(packageDir, 'uvit.onnx'), { executionProviders: ['cpu'] });
  const batch = 2;
  const feeds = {};
  for (const spec of Object.values(manifest.inputs)) {
    const bytes = fs.readFileSync(path.join(dataDir, `${spec.name}.bin`));
    const dims = spec.shape.map((d) => (d === 'B' ? batch : d));
    const data = spec.dtype === 'int64'
      ? new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8)
      : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    feeds[spec.name] = new ort.Tensor(spec.dtype, data, dims);
  }
  const started = performance.now();
  const out = (await session.run(feeds))[manifest.outputs.prediction.name];
  const ms = performance.now() - started;
  const expectedBytes = fs.readFileSync(path.join(dataDir, 'expected.bin'));
  const expected = new Float32Array(expectedBytes.buffer.slice(expectedBytes.byteOffset, expectedBytes.byteOffset + expectedBytes.length));
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i] - out.data[i]));
  console.log(JSON.stringify({ event: 'verified', max_abs_error: maxAbs, ort_ms: Math.round(ms), ok: maxAbs < 1e-3 }));
  if (!(maxAbs < 1e-3)) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
