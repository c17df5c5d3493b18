import jpeg from 'jpeg-js';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { LongshotError } from '../../shared/errors';
import { benchPipeline } from './bench';
import { createVideoPipeline, modelToRgb, rgbToModel, type EngineVideoPipeline } from './pipeline';
import { copyPackageTo } from './testdata/package-copy';
import { pipelineInput } from './testdata/pipeline-fixture';
import type { PipelineProgress } from './types';

// The models developer's tiny random-weight package: 8 frames a window, 2 context frames, 32x16, 4 steps.
const TINY = path.join(__dirname, '../../models/testdata/tiny-uvit');
const logger = pino({ level: 'silent' });

let pipeline: EngineVideoPipeline;
beforeAll(async () => {
  pipeline = await createVideoPipeline(TINY, { device: 'cpu', threads: 1, logger });
});
afterAll(async () => {
  await pipeline.close();
});

const base = pipelineInput;
const bytes = (frames: Uint8Array[]) => Buffer.concat(frames).toString('base64');
const solid = (value: number) => new Uint8Array(32 * 16 * 3).fill(value);

test('describes the package: name, provider, native size, context frames, defaults', () => {
  expect(pipeline.modelName).toBe('tiny-uvit');
  expect(pipeline.provider).toBe('cpu');
  expect([pipeline.nativeWidth, pipeline.nativeHeight, pipeline.contextFrames]).toEqual([32, 16, 2]);
  expect(pipeline.defaults).toEqual({ steps: 4, guidance: 3, sampler: 'dpmpp-2m' });
});

test('unknown prompt words are reported, not an error', async () => {
  expect(await pipeline.unknownWords('A sparkly red circle zooms')).toEqual(['sparkly', 'zooms']);
  await expect(pipeline.run(base({ prompt: 'sparkly zooms', frameCount: 2, steps: 1 }))).resolves.toHaveLength(2);
});

test('the same seed gives the same frames; another seed, prompt or sampler gives others', async () => {
  const first = await pipeline.run(base({ frameCount: 11 }));
  expect(first).toHaveLength(11);
  for (const f of first) expect(f).toHaveLength(32 * 16 * 3);
  expect(bytes(await pipeline.run(base({ frameCount: 11 })))).toBe(bytes(first));
  expect(bytes(await pipeline.run(base({ frameCount: 11, seed: 8 })))).not.toBe(bytes(first));
  expect(bytes(await pipeline.run(base({ frameCount: 11, prompt: 'a blue square falls' })))).not.toBe(bytes(first));
  expect(bytes(await pipeline.run(base({ frameCount: 11, sampler: 'ddim' })))).not.toBe(bytes(first));
});

test.each([
  [23.976, 2.5],
  [25, 1],
  [29.97, 3.5],
  [60, 1.25],
])('exact frame count at %s fps for %s s', async (fps, seconds) => {
  const frameCount = Math.round(seconds * fps);
  const frames = await pipeline.run(base({ fps, frameCount, steps: 1 }));
  expect(frames).toHaveLength(frameCount);
});

test('a 60 s clip at 60 fps: 3600 frames, window by window, each conditioned on the previous window', async () => {
  const seen: PipelineProgress[] = [];
  const frames = await pipeline.run(base({ fps: 60, frameCount: 3600, steps: 1 }), { onProgress: (p) => seen.push(p) });
  expect(frames).toHaveLength(3600);
  // F = 8, K = 2: 8 frames, then 6 new frames a window.
  expect(seen[seen.length - 1]).toMatchObject({ step: 600, total: 600 });
  expect(frames.every((f) => f.length === 32 * 16 * 3)).toBe(true);
});

test('exact frame counts for 1 frame and for every mode', async () => {
  for (const [before, after] of [[[], []], [[solid(10), solid(20)], []], [[], [solid(30)]], [[solid(10)], [solid(200), solid(210), solid(220)]]] as const) {
    for (const frameCount of [1, 7, 8, 13]) {
      expect(await pipeline.run(base({ frameCount, steps: 1, before: [...before], after: [...after] }))).toHaveLength(frameCount);
    }
  }
});

test('references condition the result: other reference frames, other output', async () => {
  const dark = await pipeline.run(base({ frameCount: 6, before: [solid(0), solid(0)] }));
  const light = await pipeline.run(base({ frameCount: 6, before: [solid(255), solid(255)] }));
  expect(bytes(dark)).not.toBe(bytes(light));
  const head = await pipeline.run(base({ frameCount: 6, after: [solid(0)] }));
  expect(bytes(head)).not.toBe(bytes(dark));
});

test('progress: every step once, monotonic over all windows, each with a JPEG preview (no interval) and an ETA reaching 0', async () => {
  const seen: PipelineProgress[] = [];
  await pipeline.run(base({ frameCount: 20, steps: 3 }), { onProgress: (p) => seen.push(p), previewIntervalMs: 0 });
  // 20 frames, F = 8, K = 2: windows of 8 + 6 + 6 generated frames.
  expect(seen.map((p) => p.step)).toEqual(Array.from({ length: 9 }, (_, i) => i + 1));
  expect(new Set(seen.map((p) => p.total))).toEqual(new Set([9]));
  for (const p of seen) {
    expect(p.previewJpeg).not.toBeNull();
    const decoded = jpeg.decode(p.previewJpeg!, { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([32, 16]);
    expect(p.etaSeconds).toBeGreaterThanOrEqual(0);
  }
  expect(seen[seen.length - 1]!.etaSeconds).toBe(0);
});

test('previews: the first step has one, later ones at most one per preview interval; every step is reported', async () => {
  const seen: { step: number; preview: boolean; at: number }[] = [];
  const started = performance.now();
  // An interval far above a step's few milliseconds, so that holds on a loaded machine too (at 50 ms it did not).
  const interval = 400;
  await pipeline.run(base({ frameCount: 60, steps: 8 }), { onProgress: (p) => seen.push({ step: p.step, preview: p.previewJpeg !== null, at: performance.now() }), previewIntervalMs: interval });
  expect(seen.map((p) => p.step)).toEqual(Array.from({ length: seen.at(-1)!.step }, (_, i) => i + 1));
  expect(seen[0]!.preview).toBe(true);
  const previews = seen.filter((p) => p.preview).length;
  expect(previews).toBeLessThanOrEqual(1 + Math.ceil((seen.at(-1)!.at - started) / interval));
  // The tiny package's steps take a few milliseconds: most reports carry no preview.
  expect(previews).toBeLessThan(seen.length / 2);
});

test('cancel: aborting stops before the next step with a cancelled error', async () => {
  const controller = new AbortController();
  const steps: number[] = [];
  const run = pipeline.run(base({ frameCount: 30, steps: 4 }), {
    signal: controller.signal,
    onProgress: (p) => {
      steps.push(p.step);
      if (p.step === 2) controller.abort();
    },
  });
  await expect(run).rejects.toMatchObject({ code: 'cancelled' });
  expect(steps).toEqual([1, 2]);
  // Within one step: after the abort, only the model run already in flight finishes.
  const counting = new AbortController();
  const runner = pipeline.runner;
  const realRun = runner.run.bind(runner);
  let runsAfterAbort = 0;
  runner.run = () => {
    if (counting.signal.aborted) runsAfterAbort++;
    return realRun();
  };
  try {
    const cancelled = pipeline.run(base({ frameCount: 30, steps: 4 }), { signal: counting.signal, onProgress: (p) => p.step === 3 && counting.abort() });
    await expect(cancelled).rejects.toMatchObject({ code: 'cancelled', message: expect.stringMatching(/cancelled at step 5 of 20/) });
    expect(runsAfterAbort).toBe(0);
  } finally {
    runner.run = realRun;
  }
  const aborted = new AbortController();
  aborted.abort();
  await expect(pipeline.run(base(), { signal: aborted.signal })).rejects.toBeInstanceOf(LongshotError);
});

test('bad inputs are refused naming the field', async () => {
  await expect(pipeline.run(base({ before: [new Uint8Array(10)] }))).rejects.toMatchObject({
    code: 'bad_request',
    field: 'before[0]',
    message: expect.stringContaining(`a reference frame must be ${pipeline.referenceWidth}x${pipeline.referenceHeight} RGB`),
  });
  await expect(pipeline.run(base({ frameCount: 0 }))).rejects.toMatchObject({ field: 'frameCount' });
  await expect(pipeline.run(base({ fps: 120 }))).rejects.toMatchObject({ field: 'fps' });
  await expect(pipeline.run(base({ steps: 0 }))).rejects.toMatchObject({ field: 'steps' });
});

test('runs queue one after another (they share the runner buffers) and give the same frames as alone', async () => {
  const alone = bytes(await pipeline.run(base({ frameCount: 9 })));
  const [a, b] = await Promise.all([pipeline.run(base({ frameCount: 9 })), pipeline.run(base({ frameCount: 9 }))]);
  expect(bytes(a)).toBe(alone);
  expect(bytes(b)).toBe(alone);
});

test("guidance applies inside the package's guidance interval only (t ≥ t_min)", async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'longshot-interval-'));
  const withInterval = async (tMin: number) => {
    const dir = await copyPackageTo(path.join(root, String(tMin)), TINY, (m) => (m.guidance_interval = { t_min: tMin }));
    return createVideoPipeline(dir, { device: 'cpu', threads: 1, logger });
  };
  const [everywhere, nowhere, lastSteps] = await Promise.all([withInterval(0), withInterval(1), withInterval(0.5)]);
  try {
    const input = base({ frameCount: 8, steps: 3 });
    const guided = bytes(await pipeline.run(input));
    expect(bytes(await everywhere.run(input))).toBe(guided);
    // Above every step's t: each step takes the prompt's prediction alone, as guidance 1 does.
    expect(bytes(await nowhere.run(input))).toBe(bytes(await pipeline.run({ ...input, guidance: 1 })));
    // The 3-step grid evaluates t = 0.999, 0.954 and 0.178: guided twice, then the prompt alone.
    const split = bytes(await lastSteps.run(input));
    expect(split).not.toBe(guided);
    expect(split).not.toBe(bytes(await pipeline.run({ ...input, guidance: 1 })));
  } finally {
    await Promise.all([everywhere.close(), nowhere.close(), lastSteps.close()]);
    await fs.rm(root, { recursive: true, force: true });
  }
});

test('RGB ↔ model values round-trip exactly', () => {
  const rgb = Uint8Array.from({ length: 32 * 16 * 3 }, (_, i) => (i * 37) % 256);
  expect(Array.from(modelToRgb(rgbToModel(rgb, 32 * 16), 32 * 16))).toEqual(Array.from(rgb));
});

test('bench: figures for the CLI, with engine and bare step times', async () => {
  const figures = await benchPipeline(pipeline);
  expect(figures.provider).toBe('cpu');
  // 48 frames, F = 8, K = 2: 1 + ceil(40 / 6) = 8 windows of 4 steps.
  expect(figures.total_steps).toBe(32);
  for (const key of ['step_ms', 'bare_step_ms', 'clip_2s_seconds', 'first_preview_ms'] as const) {
    expect(Number.isFinite(figures[key])).toBe(true);
    expect(figures[key]).toBeGreaterThan(0);
  }
  expect(figures.overhead_ratio).toBeCloseTo(figures.step_ms / figures.bare_step_ms - 1, 9);
  // A pixel package has no frame codec graphs.
  expect([figures.encoder_ms, figures.encoder_percent, figures.decoder_ms, figures.decoder_percent]).toEqual([0, 0, 0, 0]);
});

// The bundled model, once the models developer has exported it into the repository.
const BUNDLED = path.join(__dirname, '../../models/shapesworld-uvit');
(existsSync(path.join(BUNDLED, 'model.json')) ? describe : describe.skip)('bundled model package', () => {
  test('loads, and one window of two steps gives exact, seeded frames at its output size', async () => {
    const bundled = await createVideoPipeline(BUNDLED, { device: 'cpu', threads: 0, logger });
    try {
      const input = base({ frameCount: bundled.framesPerWindow, steps: 2, before: [], after: [] });
      const frames = await bundled.run(input);
      expect(frames).toHaveLength(bundled.framesPerWindow);
      expect(frames[0]).toHaveLength(bundled.outputWidth * bundled.outputHeight * 3);
      expect(bundled.outputHeight % bundled.nativeHeight).toBe(0);
      expect(bytes(await bundled.run(input))).toBe(bytes(frames));
      // An extend conditions on references at the size its encoder reads.
      const grey = new Uint8Array(bundled.referenceWidth * bundled.referenceHeight * 3).fill(128);
      expect(await bundled.run({ ...input, steps: 1, before: [grey] })).toHaveLength(bundled.framesPerWindow);
    } finally {
      await bundled.close();
    }
  });
});
