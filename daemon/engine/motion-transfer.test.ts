import { areaResize, transferMotion } from './motion-transfer';

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
    frames.forEach((frame, k) => {
      expect(frame.length).toBe(W * H * 3);
      const truth = picture(W, H, 5 * (k + 1));
      // Compared inside the frame: the border has nothing to carry in from outside the footage.
      const inner = (rgb: Uint8Array) => rgb.filter((_, i) => { const x = Math.floor(i / 3) % W; return x >= 24 && x < W - 8; });
      // Held still, the frame would be as far from the truth as the anchor is; carried along, a few levels.
      expect(meanAbs(inner(frame), inner(truth))).toBeLessThan(6);
      expect(meanAbs(inner(frame), inner(truth))).toBeLessThan(meanAbs(inner(anchor), inner(truth)) / 3);
      expect(detail(frame, W, H)).toBeGreaterThan(0.8 * detail(truth, W, H));
    });
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
