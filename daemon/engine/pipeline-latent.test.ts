import jpeg from 'jpeg-js';
import path from 'node:path';
import pino from 'pino';
import { benchPipeline } from './bench';
import { createVideoPipeline, type EngineVideoPipeline } from './pipeline';
import { pipelineInput } from './testdata/pipeline-fixture';
import type { PipelineInput, PipelineProgress } from './types';

// The models developer's tiny latent package: an 8-float code a frame (48x32 RGB), 8 frames a window, 2 context
// frames. Its autoencoder had 20 training steps: its decoder gives (nearly) the same frame for any code, so what
// the sampler made is checked on the codes the decoder is given, and the RGB frames only for shape and seeding.
const TINY_LATENT = path.join(__dirname, '../../models/testdata/tiny-latent');
const WIDTH = 48;
const HEIGHT = 32;
const logger = pino({ level: 'silent' });

let pipeline: EngineVideoPipeline;
beforeAll(async () => {
  pipeline = await createVideoPipeline(TINY_LATENT, { device: 'cpu', threads: 1, logger });
});
afterAll(async () => {
  await pipeline.close();
});

const base = pipelineInput;
const bytes = (frames: ArrayLike<number>[]) => Buffer.concat(frames.map((f) => Buffer.from(new Uint8Array(new Float32Array(f).buffer)))).toString('base64');
const rgb = (value: number) => new Uint8Array(WIDTH * HEIGHT * 3).fill(value);

/** Runs the pipeline with the real codec's calls recorded: frames given to encode, codes given to decode. Every
 * step is previewed (no interval), so the one-code decode calls are the steps'. */
async function recorded(input: PipelineInput, onProgress?: (p: PipelineProgress) => void) {
  const { codec } = pipeline;
  const encode = codec.encode.bind(codec);
  const decode = codec.decode.bind(codec);
  const encoded: Float32Array[] = [];
  const decodeCalls: Float32Array[][] = [];
  codec.encode = (frames) => (encoded.push(...frames), encode(frames));
  codec.decode = (codes) => (decodeCalls.push(codes.map((c) => c.slice())), decode(codes));
  try {
    const frames = await pipeline.run(input, { onProgress, previewIntervalMs: 0 });
    return { frames, encoded, decodeCalls };
  } finally {
    codec.encode = encode;
    codec.decode = decode;
  }
}

test('describes the package: native frames of 48x32, sampled as 8-float codes', () => {
  expect(pipeline.modelName).toBe('tiny-latent');
  expect([pipeline.nativeWidth, pipeline.nativeHeight, pipeline.contextFrames, pipeline.framesPerWindow]).toEqual([WIDTH, HEIGHT, 2, 8]);
  expect([pipeline.referenceWidth, pipeline.referenceHeight]).toEqual([WIDTH, HEIGHT]); // its encoder reads native frames
  expect(pipeline.codec.frameSize).toBe(8);
});

test('codec round trip: frames → one code each → frames, in chunks (40 frames) as one at a time', async () => {
  const frames = Array.from({ length: 40 }, (_, i) => new Float32Array(3 * WIDTH * HEIGHT).map((_, p) => Math.sin(i + p / 97)));
  const codes = await pipeline.codec.encode(frames);
  expect(codes).toHaveLength(40);
  for (const code of codes) expect(code).toHaveLength(8);
  const decoded = await pipeline.codec.decode(codes);
  expect(decoded).toHaveLength(40);
  for (const frame of decoded) {
    expect(frame).toHaveLength(3 * WIDTH * HEIGHT);
    expect(frame.every(Number.isFinite)).toBe(true);
  }
  const [alone] = await pipeline.codec.decode([codes[17]!]);
  for (let i = 0; i < alone!.length; i++) expect(Math.abs(alone![i]! - decoded[17]![i]!)).toBeLessThan(1e-5);
  expect(await pipeline.codec.encode([])).toEqual([]);
});

test('B-roll: exact RGB frames; the same seed gives the same codes and frames, another seed or prompt other codes', async () => {
  const first = await recorded(base({ frameCount: 11 }));
  expect(first.frames).toHaveLength(11);
  for (const f of first.frames) expect(f).toHaveLength(WIDTH * HEIGHT * 3);
  // No references: the encoder is not used; each of the 2 windows is decoded once (8 + 3 frames).
  expect(first.encoded).toHaveLength(0);
  expect(first.decodeCalls.map((c) => c.length)).toEqual([8, 3]);
  const again = await recorded(base({ frameCount: 11 }));
  expect(bytes(again.frames)).toBe(bytes(first.frames));
  expect(bytes(again.decodeCalls.flat())).toBe(bytes(first.decodeCalls.flat()));
  for (const other of [base({ frameCount: 11, seed: 8 }), base({ frameCount: 11, prompt: 'a blue square falls' })]) {
    expect(bytes((await recorded(other)).decodeCalls.flat())).not.toBe(bytes(first.decodeCalls.flat()));
  }
});

test('latent x0 estimates are not clipped to value_range (pixel packages clip x0 there)', async () => {
  // The preview decodes the x0 estimate itself: one code a step. A strong guidance pushes the estimate well past
  // ±1 whatever the model, so a clip to value_range would show.
  const { decodeCalls } = await recorded(base({ frameCount: 16, steps: 4, guidance: 30 }), () => undefined);
  const previewCodes = decodeCalls.filter((c) => c.length === 1).flat();
  expect(previewCodes).toHaveLength(12); // 3 windows (8 + 6 + 2 frames) of 4 steps
  expect(Math.max(...previewCodes.flatMap((c) => Array.from(c, Math.abs)))).toBeGreaterThan(1);
});

test('extend: the before frames go through the encoder once and condition the codes', async () => {
  const dark = await recorded(base({ frameCount: 6, before: [rgb(0), rgb(0)] }));
  expect(dark.frames).toHaveLength(6);
  expect(dark.encoded).toHaveLength(2);
  expect(dark.encoded[0]).toHaveLength(3 * WIDTH * HEIGHT);
  const light = await recorded(base({ frameCount: 6, before: [rgb(255), rgb(255)] }));
  expect(bytes(light.decodeCalls.flat())).not.toBe(bytes(dark.decodeCalls.flat()));
});

test('fill, extend-head and every mode make exactly the frames asked, references encoded once each', async () => {
  for (const [before, after] of [[[], []], [[rgb(10), rgb(20)], []], [[], [rgb(30)]], [[rgb(10)], [rgb(200), rgb(210), rgb(220)]]] as const) {
    for (const frameCount of [1, 7, 8, 13]) {
      const run = await recorded(base({ frameCount, steps: 1, before: [...before], after: [...after] }));
      expect(run.frames).toHaveLength(frameCount);
      // Up to context_frames (2) of each side are used, and each is encoded once, whatever the windows.
      expect(run.encoded).toHaveLength(Math.min(2, before.length) + Math.min(2, after.length));
      expect(run.decodeCalls.flat()).toHaveLength(frameCount);
    }
  }
});

test('an extend or a fill reads its references first, each reported, and a cancel while reading stops there', async () => {
  const seen: PipelineProgress[] = [];
  const run = await recorded(base({ frameCount: 7, steps: 2, before: [rgb(10), rgb(20)], after: [rgb(200)] }), (p) => seen.push(p));
  expect(run.encoded).toHaveLength(3);
  // One report a frame read, with no preview, all before the first sampler step; the sampling stage counts from 1.
  expect(seen.slice(0, 3).map((p) => [p.stage, p.step, p.total, p.previewJpeg])).toEqual([1, 2, 3].map((step) => ['reading', step, 3, null]));
  const sampling = seen.slice(3);
  expect(sampling.map((p) => [p.stage, p.step])).toEqual(sampling.map((_, i) => ['sampling', i + 1]));
  expect(sampling.at(-1)!.step).toBe(sampling.at(-1)!.total);
  const controller = new AbortController();
  const cancelled = pipeline.run(base({ frameCount: 7, before: [rgb(10), rgb(20)] }), { signal: controller.signal, onProgress: (p) => p.stage === 'reading' && controller.abort() });
  await expect(cancelled).rejects.toMatchObject({ code: 'cancelled', message: expect.stringMatching(/while reading reference frame 2 of 2/) });
});

test('a long clip of many windows: context carried as codes, each window decoded once, RGB out', async () => {
  const seen: PipelineProgress[] = [];
  const run = await recorded(base({ fps: 60, frameCount: 600, steps: 1 }), (p) => seen.push(p));
  expect(run.frames).toHaveLength(600);
  // F = 8, K = 2: 8 frames, then 6 new frames a window: 1 + ceil(592 / 6) = 100 windows; one preview decode a step.
  expect(seen.at(-1)).toMatchObject({ step: 100, total: 100 });
  // Every window generates more than one frame here (8, 6, …, 4), so one-code calls are the previews.
  const windowDecodes = run.decodeCalls.filter((c) => c.length > 1);
  expect(run.decodeCalls.length - windowDecodes.length).toBe(100);
  expect(windowDecodes.map((c) => c.length)).toEqual([8, ...Array(98).fill(6), 4]);
  expect(run.frames.every((f) => f.length === WIDTH * HEIGHT * 3)).toBe(true);
});

test('previews: every step, decoded from the current estimate into a 48x32 JPEG', async () => {
  const seen: PipelineProgress[] = [];
  const run = await recorded(base({ frameCount: 20, steps: 3 }), (p) => seen.push(p));
  expect(seen.map((p) => p.step)).toEqual(Array.from({ length: 9 }, (_, i) => i + 1));
  for (const p of seen) {
    const decoded = jpeg.decode(p.previewJpeg!, { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([WIDTH, HEIGHT]);
  }
  // One code a step for the preview, besides the 3 windows' frames (8 + 6 + 6).
  expect(run.decodeCalls.map((c) => c.length).sort((a, b) => a - b)).toEqual([...Array(9).fill(1), 6, 6, 8]);
  expect(seen.at(-1)!.etaSeconds).toBe(0);
});

test('cancel: an abort from a progress report (made while the next step runs) stops before the step after', async () => {
  const controller = new AbortController();
  const steps: number[] = [];
  const run = pipeline.run(base({ frameCount: 30, steps: 4 }), { signal: controller.signal, onProgress: (p) => steps.push(p.step) === 3 && controller.abort() });
  await expect(run).rejects.toMatchObject({ code: 'cancelled', message: expect.stringMatching(/cancelled at step 5 of 20/) });
  expect(steps).toEqual([1, 2, 3]);
});

test('bench: the decoder share of the 2 s clip, the time to read an extend\'s references, and the first preview within a step + 100 ms', async () => {
  const figures = await benchPipeline(pipeline, { rounds: 1 });
  // 48 frames of B-roll, F = 8, K = 2: 8 windows of the package's 12 steps.
  expect(figures.total_steps).toBe(96);
  for (const [ms, percent] of [[figures.encoder_ms, figures.encoder_percent], [figures.decoder_ms, figures.decoder_percent]] as const) {
    expect(ms).toBeGreaterThan(0);
    expect(percent).toBeCloseTo((ms / (figures.clip_2s_seconds * 1000)) * 100, 9);
  }
  expect(figures.decoder_percent).toBeLessThan(100);
  expect(figures.first_preview_ms).toBeLessThan(figures.step_ms + 100);
});
