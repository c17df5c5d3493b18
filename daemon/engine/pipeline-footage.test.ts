import path from 'node:path';
import pino from 'pino';
import { createVideoPipeline } from './pipeline';
import type { PipelineInput } from './types';

// A motion-latent package untrained (models/footage/train.py footage-motion-tiny, 0 steps, exported with residual
// gain 0): its decoder is zero, so it draws exactly its known_skip — each generated frame the nearest known frame,
// flow channels included. Through the pipeline that is the velocity prior end to end: the known frames' flows
// measured as training measures them, handed on by the network, and the footage carried along them.
const SKIP_ONLY = path.join(__dirname, '../../models/testdata/footage-motion/tiny-footage-motion');
const W = 160;
const H = 120;
const STEP = 5; // px of W a frame: 1 px a frame where the flows are measured (32x32), half a pixel at the native 16x16

/** Packed RGB of a smooth picture moved right by `shift` px. */
function picture(shift: number): Uint8Array {
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = x + 0.5 - shift;
      const v = y + 0.5;
      const value = 128 + 60 * Math.sin(u / 11) * Math.cos(v / 13) + 40 * Math.sin((u + v) / 17);
      out.fill(value, (y * W + x) * 3, (y * W + x) * 3 + 3);
    }
  }
  return out;
}

/** Mean |a − b| over the columns away from the left and right borders (nothing is carried in from outside the footage). */
function innerError(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  let n = 0;
  for (let y = 0; y < H; y++) for (let x = 30; x < W - 30; x++) for (let c = 0; c < 3; c++, n++) s += Math.abs(a[(y * W + x) * 3 + c]! - b[(y * W + x) * 3 + c]!);
  return s / n;
}

const base: Omit<PipelineInput, 'before' | 'after'> = { prompt: '', frameCount: 4, fps: 25, seed: 1, steps: 2, guidance: 1, sampler: 'ddim', footageSize: { width: W, height: H } };

describe('a motion-latent footage package through the pipeline', () => {
  test('an extend, an extend before the footage and a fill carry a pan on at its measured velocity', async () => {
    const pipeline = await createVideoPipeline(SKIP_ONLY, { device: 'cpu', threads: 1, logger: pino({ level: 'silent' }) });
    try {
      // Extend: 4 known frames ending at shift 0; generated frame k is at (k + 1)·STEP.
      const extend = await pipeline.run({ ...base, before: [-3, -2, -1, 0].map((i) => picture(i * STEP)), after: [] });
      // Extend before: known frames from shift 5·STEP on; generated frame k at (k + 1)·STEP.
      const head = await pipeline.run({ ...base, before: [], after: [5, 6, 7, 8].map((i) => picture(i * STEP)) });
      // Fill: known up to 0 and from 5·STEP on.
      const fill = await pipeline.run({ ...base, before: [-3, -2, -1, 0].map((i) => picture(i * STEP)), after: [5, 6, 7, 8].map((i) => picture(i * STEP)) });
      for (const [name, frames] of [['extend', extend], ['head', head], ['fill', fill]] as const) {
        expect(frames).toHaveLength(4);
        frames.forEach((frame, k) => {
          const truth = picture((k + 1) * STEP);
          // Held still at the nearer anchor, a frame would be STEP·(distance) px off; carried, about a level.
          const held = name === 'head' ? picture(5 * STEP) : name === 'extend' || k < 2 ? picture(0) : picture(5 * STEP);
          // Measured: at most 1.4 levels (held still: 11 to 38).
          expect([name, k, innerError(frame, truth) < Math.min(2.5, innerError(held, truth) / 4)]).toEqual([name, k, true]);
        });
      }
    } finally {
      await pipeline.close();
    }
  });

  test('without its flow planes a motion package refuses a reference, naming the field', async () => {
    const pipeline = await createVideoPipeline(SKIP_ONLY, { device: 'cpu', threads: 1, logger: pino({ level: 'silent' }) });
    try {
      // The native pipeline directly (the footage pipeline always measures them): RGB references alone.
      const native = (pipeline as unknown as { native: { run: (input: PipelineInput) => Promise<unknown> } }).native;
      const small = new Uint8Array(16 * 16 * 3);
      await expect(native.run({ ...base, footageSize: undefined, before: [small], after: [] })).rejects.toMatchObject({ code: 'bad_request', field: 'extraPlanes.before[0]' });
    } finally {
      await pipeline.close();
    }
  });
});
