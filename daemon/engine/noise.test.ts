import { createRandom, fillGaussian } from './noise';

test('mulberry32 known values: the first draws of seed 0 and seed 42', () => {
  // Reference value from the widely copied one-line JS mulberry32 (bryc's "PRNGs" collection), run once with
  // `node -e`: a = (a + 0x6D2B79F5) | 0; t = imul(a ^ a >>> 15, 1 | a); t = t + imul(t ^ t >>> 7, 61 | t) ^ t;
  // ((t ^ t >>> 14) >>> 0) / 2^32 → 0.26642920868471265, then 0.0003297457005828619.
  const zero = createRandom(0);
  const first = [zero(), zero(), zero()];
  expect(first[0]).toBe(0.26642920868471265);
  expect(first[1]).toBe(0.0003297457005828619);
  expect(new Set(first).size).toBe(3);
  expect(createRandom(42)()).not.toBeCloseTo(first[0]!, 6);
});

test('same seed, same stream; different seeds differ', () => {
  const a = fillGaussian(new Float32Array(1001), createRandom(7));
  const b = fillGaussian(new Float32Array(1001), createRandom(7));
  const c = fillGaussian(new Float32Array(1001), createRandom(8));
  expect(Array.from(a)).toEqual(Array.from(b));
  expect(Array.from(a)).not.toEqual(Array.from(c));
});

test('Box–Muller gives standard normals: mean 0, variance 1, about 68 % within one sigma', () => {
  const n = 200_000;
  const x = fillGaussian(new Float32Array(n), createRandom(123));
  let sum = 0;
  let squares = 0;
  let within = 0;
  for (const v of x) {
    sum += v;
    squares += v * v;
    if (Math.abs(v) < 1) within++;
  }
  expect(Math.abs(sum / n)).toBeLessThan(0.01);
  expect(Math.abs(squares / n - 1)).toBeLessThan(0.01);
  expect(Math.abs(within / n - 0.6827)).toBeLessThan(0.005);
  expect(x.every(Number.isFinite)).toBe(true);
});
