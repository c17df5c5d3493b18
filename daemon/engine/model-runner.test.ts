import path from 'node:path';
import pino from 'pino';
import { loadPackage, type ModelPackage } from './model-package';
import { ModelRunner, providerOrder } from './model-runner';

const TINY = path.join(__dirname, '../../models/testdata/tiny-uvit');
const TINY_TEXT = path.join(__dirname, '../../models/testdata/text-encoder/tiny-text');
const logger = pino({ level: 'silent' });
let pkg: ModelPackage;
beforeAll(async () => {
  pkg = await loadPackage(TINY);
});

test('auto tries GPU providers first, the platform ones where they exist, cpu last', () => {
  expect(providerOrder('linux')).toEqual(['webgpu', 'cuda', 'cpu']);
  expect(providerOrder('win32')).toEqual(['webgpu', 'cuda', 'dml', 'cpu']);
  expect(providerOrder('darwin')).toEqual(['webgpu', 'cuda', 'coreml', 'cpu']);
});

test('device auto picks the first provider that passes the probe and says which', async () => {
  const seen: string[] = [];
  const recording = pino({ level: 'info' }, { write: (line: string) => seen.push(JSON.parse(line).provider) });
  const runner = await ModelRunner.create(pkg, { device: 'auto', threads: 1, logger: recording });
  try {
    // This machine has no GPU: every provider before cpu was tried and reported, then cpu ran.
    expect(runner.provider).toBe('cpu');
    expect(seen).toEqual(providerOrder());
  } finally {
    await runner.close();
  }
});

test('a named provider that cannot run is an engine_failed error on the device field, naming it and the fix', async () => {
  await expect(ModelRunner.create(pkg, { device: 'cuda', threads: 1, logger })).rejects.toMatchObject({
    code: 'engine_failed',
    field: 'device',
    message: expect.stringMatching(/cuda: .*use --device auto or cpu/),
  });
  await expect(ModelRunner.create(pkg, { device: 'tpu', threads: 1, logger })).rejects.toMatchObject({ code: 'bad_request', field: 'device', message: expect.stringMatching(/unknown device "tpu"/) });
});

test('run writes the batch-of-2 prediction into one buffer, reused: rows follow their own inputs', async () => {
  const runner = await ModelRunner.create(pkg, { device: 'cpu', threads: 1, logger });
  try {
    const { batch } = runner;
    const tokens = batch.text as BigInt64Array;
    const half = batch.x.length / 2;
    batch.x.fill(0.1);
    batch.t.fill(0.5);
    batch.fps.fill(24);
    tokens.fill(0n);
    tokens[0] = 8n; // row 0 "red", row 1 the unconditional prompt
    const prediction = await runner.run();
    expect(prediction).toBe(runner.prediction);
    expect(prediction.every(Number.isFinite)).toBe(true);
    const conditional = prediction.slice(0, half);
    const unconditional = prediction.slice(half);
    expect(conditional).not.toEqual(unconditional);
    tokens[0] = 0n;
    const again = await runner.run();
    expect(again.slice(0, half)).toEqual(unconditional);
  } finally {
    await runner.close();
  }
});

test('a package with a text encoder takes its embeddings: the text input is float32 [2, L, D], and rows follow it', async () => {
  const runner = await ModelRunner.create(await loadPackage(TINY_TEXT), { device: 'cpu', threads: 1, logger });
  try {
    const { batch } = runner;
    expect(batch.text).toBeInstanceOf(Float32Array);
    expect(batch.text).toHaveLength(2 * 8 * 24);
    batch.x.fill(0.1);
    batch.t.fill(0.5);
    batch.fps.fill(24);
    (batch.text as Float32Array).fill(0.3, 0, 8 * 24);
    const prediction = await runner.run();
    const half = prediction.length / 2;
    expect(prediction.slice(0, half)).not.toEqual(prediction.slice(half));
  } finally {
    await runner.close();
  }
});
