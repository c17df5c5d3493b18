import { areaResize, invertFlow, transferMotion, transferMotionAlongFlows } from './motion-transfer';
import { zeroFlow, type FlowField } from './optical-flow';

const W = 160;
const H = 120;
const w = 64;
const h = 48;

/** Packed RGB of a detailed picture (stripes and sinusoids) moved right by `shift` pixels of a W-wide frame. */
function picture(width: number, height: number, shift: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const k = W / width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = (x + 0.5) * k - shift;
      const v = (y + 0.5) * k;
      const value = 128 + 50 * Math.sin(u / 4) * Math.cos(v / 6) + 40 * Math.sin((u + v) / 9);
      const o = (y * width + x) * 3;
      out[o] = value;
      out[o + 1] = 255 - value;
      out[o + 2] = 100;
    }
  }
  return out;
}

const meanAbs = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
/** Mean |horizontal difference| of the first channel: the detail a frame keeps. */
function detail(rgb: Uint8Array, width: number, height: number): number {
  let s = 0;
  for (let y = 0; y < height; y++) for (let x = 1; x < width; x++) s += Math.abs(rgb[(y * width + x) * 3]! - rgb[(y * width + x - 1) * 3]!);
  return s / (height * (width - 1));
}

/** Compared inside the frame: the border has nothing to carry in from outside the footage. */
const inner = (rgb: Uint8Array) => rgb.filter((_, i) => { const x = Math.floor(i / 3) % W; return x >= 24 && x < W - 8; });

/** Frame k is the anchor's picture moved (k + 1)·shift px: held still, it would be as far from the truth as the anchor
 * is; carried along, a few levels, with the footage's detail. */
function expectCarried(frames: Uint8Array[], anchor: Uint8Array, shift: number): void {
  frames.forEach((frame, k) => {
    const truth = picture(W, H, shift * (k + 1));
    expect(meanAbs(inner(frame), inner(truth))).toBeLessThan(6);
    expect(meanAbs(inner(frame), inner(truth))).toBeLessThan(meanAbs(inner(anchor), inner(truth)) / 3);
    expect(detail(frame, W, H)).toBeGreaterThan(0.8 * detail(truth, W, H));
  });
}

describe('motion transfer', () => {
  test('area resize averages what each output pixel covers', () => {
    const rgb = new Uint8Array([0, 0, 0, 100, 100, 100, 200, 200, 200, 50, 50, 50]); // 2x2
    expect([...areaResize(rgb, 2, 2, 1, 1)]).toEqual([88, 88, 88]);
  });

  test('an extend whose small frames move carries the full-size footage along, keeping its detail', () => {
    const anchor = picture(W, H, 0);
    const generated = [5, 10, 15].map((shift) => areaResize(picture(W, H, shift), W, H, w, h));
    const frames = transferMotion({ width: W, height: H, smallWidth: w, smallHeight: h, generated, before: { full: anchor, small: areaResize(anchor, W, H, w, h) }, after: null });
    expect(frames).toHaveLength(3);
    frames.forEach((frame) => expect(frame.length).toBe(W * H * 3));
    expectCarried(frames, anchor, 5);
  });

  test('a fill joins both sides: near the start it is the frame before, near the end the frame after', () => {
    const A = picture(W, H, 0);
    const B = picture(W, H, 8);
    const generated = [1, 2, 3, 4, 5, 6, 7].map((shift) => areaResize(picture(W, H, shift), W, H, w, h));
    const frames = transferMotion({
      width: W, height: H, smallWidth: w, smallHeight: h, generated,
      before: { full: A, small: areaResize(A, W, H, w, h) }, after: { full: B, small: areaResize(B, W, H, w, h) },
    });
    expect(meanAbs(frames[0]!, A)).toBeLessThan(meanAbs(frames[0]!, B));
    expect(meanAbs(frames[6]!, B)).toBeLessThan(meanAbs(frames[6]!, A));
  });

  test("in a fill, a pixel shows the side the model's frame agrees with, not a ghost of both", () => {
    const A = picture(W, H, 0);
    const B = picture(W, H, 0);
    // Something that is there after the gap (a white block) and, in the model's frames, already at the start of it.
    for (let y = 40; y < 80; y++) for (let x = 60; x < 100; x++) B.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const generated = [0, 1, 2, 3].map(() => areaResize(B, W, H, w, h));
    const [first] = transferMotion({
      width: W, height: H, smallWidth: w, smallHeight: h, generated,
      before: { full: A, small: areaResize(A, W, H, w, h) }, after: { full: B, small: areaResize(B, W, H, w, h) }, residual: { gain: 0, smoothing: 0 },
    });
    // At k = 0 time alone would give B a fifth of the block; the model's frame shows it whole.
    const centre = ((60 * W) + 80) * 3;
    expect(first![centre]).toBeGreaterThan(240);
    // Where both sides agree, the frame is that picture.
    expect(Math.abs(first![((10 * W) + 10) * 3]! - A[((10 * W) + 10) * 3]!)).toBeLessThan(3);
  });

  test('without a known frame on either side it refuses', () => {
    expect(() => transferMotion({ width: W, height: H, smallWidth: w, smallHeight: h, generated: [], before: null, after: null })).toThrow(/known frame/);
  });
});

/** A flow of the small size moving every pixel by (dx, dy). */
function uniformFlow(dx: number, dy: number): FlowField {
  const flow = zeroFlow(w, h);
  flow.data.fill(dx, 0, w * h);
  flow.data.fill(dy, w * h);
  return flow;
}

describe('motion transfer along generated flows (motion-latent packages)', () => {
  test('inverting a flow: a shift is negated; a zoom composed with its inverse is the identity', () => {
    expect(invertFlow(uniformFlow(0.7, -0.3)).data.subarray(0, 3)).toEqual(new Float32Array([-0.7, -0.7, -0.7]));
    const zoom = zeroFlow(w, h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) { zoom.data[y * w + x] = 0.04 * (x - w / 2); zoom.data[w * h + y * w + x] = 0.04 * (y - h / 2); }
    const inverse = invertFlow(zoom);
    let worst = 0;
    for (let y = 8; y < h - 8; y++) {
      for (let x = 8; x < w - 8; x++) {
        const p = y * w + x;
        const qx = x + inverse.data[p]!;
        const qy = y + inverse.data[w * h + p]!;
        worst = Math.max(worst, Math.hypot(qx + 0.04 * (qx - w / 2) - x, qy + 0.04 * (qy - h / 2) - y));
      }
    }
    expect(worst).toBeLessThan(1e-3);
  });

  test('an extend follows the flows, not the small frames: still frames with moving flows give moving footage', () => {
    const anchor = picture(W, H, 0);
    const small = areaResize(anchor, W, H, w, h);
    // The footage moves 5 px of W a frame to the right: each frame's backward flow is −5·w/W px of the small size.
    const frames = transferMotionAlongFlows(
      { width: W, height: H, smallWidth: w, smallHeight: h, generated: [small, small, small], before: { full: anchor, small }, after: null, residual: { gain: 0, smoothing: 0 } },
      { flows: [0, 1, 2].map(() => uniformFlow((-5 * w) / W, 0)), afterFlow: null },
    );
    expectCarried(frames, anchor, 5);
  });

  test('a fill chains the flows back to the anchor before and, inverted, on to the anchor after', () => {
    const A = picture(W, H, 0);
    const B = picture(W, H, 8);
    const generated = [2, 4, 6].map((shift) => areaResize(picture(W, H, shift), W, H, w, h));
    const step = uniformFlow((-2 * w) / W, 0);
    const frames = transferMotionAlongFlows(
      { width: W, height: H, smallWidth: w, smallHeight: h, generated, before: { full: A, small: areaResize(A, W, H, w, h) }, after: { full: B, small: areaResize(B, W, H, w, h) } },
      { flows: [step, step, step], afterFlow: step },
    );
    // The anchor after alone (an extend before the footage): each frame is B carried back along the inverted flows.
    const fromAfter = transferMotionAlongFlows(
      { width: W, height: H, smallWidth: w, smallHeight: h, generated, before: null, after: { full: B, small: areaResize(B, W, H, w, h) }, residual: { gain: 0, smoothing: 0 } },
      { flows: [step, step, step], afterFlow: step },
    );
    [frames, fromAfter].forEach((side) => side.forEach((frame, k) => {
      const truth = picture(W, H, 2 * (k + 1));
      expect(meanAbs(inner(frame), inner(truth))).toBeLessThan(6);
    }));
    expect(meanAbs(inner(fromAfter[0]!), inner(picture(W, H, 2)))).toBeLessThan(meanAbs(inner(B), inner(picture(W, H, 2))) / 3);
    expect(() => transferMotionAlongFlows(
      { width: W, height: H, smallWidth: w, smallHeight: h, generated, before: null, after: { full: B, small: areaResize(B, W, H, w, h) } },
      { flows: [step, step, step], afterFlow: null },
    )).toThrow(/afterFlow/);
    expect(() => transferMotionAlongFlows(
      { width: W, height: H, smallWidth: w, smallHeight: h, generated, before: { full: A, small: areaResize(A, W, H, w, h) }, after: null },
      { flows: [step], afterFlow: null },
    )).toThrow('1 flows for 3 generated frames');
  });
});
