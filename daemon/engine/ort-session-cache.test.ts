import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadPackage, type ModelPackage } from './model-package';
import { createSession } from './model-runner';
import { OptimizedGraphCache } from './ort-session-cache';

// The tiny latent package's decoder: latent [N, 8] → frames [N, 3, 32, 48], small enough to load many times.
const TINY_LATENT = path.join(__dirname, '../../models/testdata/tiny-latent');
const GRAPH = 'decoder.onnx';

let pkg: ModelPackage;
let dir: string;
let expected: Float32Array;
const latent = new ort.Tensor('float32', Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)), [2, 8]);
const decode = async (session: ort.InferenceSession) => {
  try {
    return (await session.run({ latent })).frames!.data as Float32Array;
  } finally {
    await session.release();
  }
};

beforeAll(async () => {
  pkg = await loadPackage(TINY_LATENT);
  expected = await decode(await createSession(pkg, GRAPH, 'cpu', 1));
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-graph-cache-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The cache's files: the optimised copy of the decoder and the record beside it. */
function cached(cacheDir: string) {
  const copy = fs.readdirSync(cacheDir).find((name) => name.startsWith(pkg.manifest.files[GRAPH]!.sha256) && name.endsWith('.onnx'));
  expect(copy).toBeDefined();
  return { copy: path.join(cacheDir, copy!), record: path.join(cacheDir, `${copy}.json`) };
}

test('an optimised graph is written private, then reused, and gives the same output as the graph', async () => {
  const cacheDir = path.join(dir, 'graph-cache');
  const cache = new OptimizedGraphCache(cacheDir);
  expect(await decode(await createSession(pkg, GRAPH, 'cpu', 1, cache))).toEqual(expected);
  const { copy, record } = cached(cacheDir);
  expect(fs.statSync(cacheDir).mode & 0o777).toBe(0o700);
  expect(fs.statSync(copy).mode & 0o777).toBe(0o600);
  expect(fs.statSync(record).mode & 0o777).toBe(0o600);
  expect(fs.readdirSync(cacheDir).sort()).toEqual([copy, record].map((f) => path.basename(f)).sort()); // no temporary left
  const written = fs.statSync(copy);

  // A second load (a new cache object, as a new process has) reads the copy: the same file, not written again.
  expect(await decode(await createSession(pkg, GRAPH, 'cpu', 1, new OptimizedGraphCache(cacheDir)))).toEqual(expected);
  const reused = fs.statSync(copy);
  expect([reused.ino, reused.mtimeMs]).toEqual([written.ino, written.mtimeMs]);
});

test('a copy the cache did not write, or one changed since, is ignored and written again', async () => {
  const cacheDir = path.join(dir, 'graph-cache');
  await decode(await createSession(pkg, GRAPH, 'cpu', 1, new OptimizedGraphCache(cacheDir)));
  const { copy, record } = cached(cacheDir);
  const original = fs.readFileSync(copy);
  // Another graph's bytes in its place: a valid model, which a cache trusting its file name would run.
  const other = fs.readFileSync(path.join(TINY_LATENT, 'encoder.onnx'));
  const tamperings: [string, () => void][] = [
    ['replaced', () => fs.writeFileSync(copy, other)],
    ['replaced, same size', () => fs.writeFileSync(copy, Buffer.concat([other, Buffer.alloc(original.length)]).subarray(0, original.length))],
    ['without its record', () => fs.rmSync(record)],
    ['readable by others', () => fs.chmodSync(copy, 0o644)],
    ['a link to another graph', () => (fs.rmSync(copy), fs.symlinkSync(path.join(TINY_LATENT, 'encoder.onnx'), copy))],
  ];
  for (const [how, tamper] of tamperings) {
    tamper();
    const outputs = await decode(await createSession(pkg, GRAPH, 'cpu', 1, new OptimizedGraphCache(cacheDir)));
    expect([how, outputs]).toEqual([how, expected]);
    // Written again by the cache: a private regular file with its record.
    expect([how, fs.lstatSync(copy).isFile(), fs.statSync(copy).mode & 0o777, fs.existsSync(record)]).toEqual([how, true, 0o600, true]);
  }
});

test('copies of another ORT version and temporary copies a dead process left are swept when a copy is written', async () => {
  const cacheDir = path.join(dir, 'graph-cache');
  fs.mkdirSync(cacheDir, { mode: 0o700 });
  const oldVersion = path.join(cacheDir, `${'0'.repeat(64)}-cpu-ort0.1.0-000000000000.onnx`);
  const abandoned = path.join(cacheDir, '.abandoned.onnx.123-abcd');
  const inProgress = path.join(cacheDir, '.in-progress.onnx.456-ef01');
  for (const file of [oldVersion, abandoned, inProgress]) fs.writeFileSync(file, 'x', { mode: 0o600 });
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  fs.utimesSync(abandoned, twoHoursAgo, twoHoursAgo);
  await decode(await createSession(pkg, GRAPH, 'cpu', 1, new OptimizedGraphCache(cacheDir)));
  expect([oldVersion, abandoned, inProgress].map((file) => fs.existsSync(file))).toEqual([false, false, true]);
});
