import { measureReadBack } from './read-back';

const native = { width: 4, height: 2 };

/** A packed RGB frame of `size` whose pixel (x, y) has value f(x, y) in every channel. */
function packed(size: { width: number; height: number }, f: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(size.width * size.height * 3);
  for (let y = 0; y < size.height; y++) for (let x = 0; x < size.width; x++) out.fill(f(x, y), (y * size.width + x) * 3, (y * size.width + x + 1) * 3);
  return out;
}

/** The same picture as planar model values [3, H, W] in [-1, 1]. */
function planar(size: { width: number; height: number }, f: (x: number, y: number) => number): Float32Array {
  const plane = size.width * size.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) for (let y = 0; y < size.height; y++) for (let x = 0; x < size.width; x++) out[c * plane + y * size.width + x] = f(x, y) / 127.5 - 1;
  return out;
}

describe('measureReadBack', () => {
  const stripes = (x: number) => (x % 2 ? 200 : 40);
  const blocks = (x: number) => (Math.floor(x / 2) % 2 ? 200 : 40); // stripes of the native frame, drawn at 2x

  test('a drawing equal to the frame read is a perfect reading, whatever whole multiples of the native size each side has', () => {
    const read = { width: 8, height: 4 };
    const drawn = { width: 16, height: 8 };
    const r = measureReadBack([packed(read, blocks)], read, [planar(drawn, (x) => stripes(Math.floor(x / 4)))], drawn, native);
    expect(r.frames).toBe(1);
    expect(r.meanAbsError).toBeCloseTo(0, 3);
    expect(r.unexplained).toBeCloseTo(0, 5);
  });

  test('a flat drawing of the frame mean misses all its variation; one that adds shapes misses more', () => {
    const flat = measureReadBack([packed(native, stripes)], native, [planar(native, () => 120)], native, native);
    expect(flat.meanAbsError).toBeCloseTo(80, 3);
    expect(flat.unexplained).toBeCloseTo(1, 5);
    const inverted = measureReadBack([packed(native, stripes)], native, [planar(native, (x) => 240 - stripes(x))], native, native);
    expect(inverted.unexplained).toBeCloseTo(4, 5);
  });

  test('sums over frames: one perfect and one flat frame miss half the variation', () => {
    const r = measureReadBack([packed(native, stripes), packed(native, stripes)], native, [planar(native, stripes), planar(native, () => 120)], native, native);
    expect(r.frames).toBe(2);
    expect(r.unexplained).toBeCloseTo(0.5, 5);
    expect(r.meanAbsError).toBeCloseTo(40, 3);
  });

  test('drawn values outside [-1, 1] count as the levels an output frame would have (0–255)', () => {
    const r = measureReadBack([packed(native, () => 255)], native, [planar(native, () => 400)], native, native);
    expect(r.meanAbsError).toBe(0);
    expect(r.unexplained).toBe(0);
  });
});
