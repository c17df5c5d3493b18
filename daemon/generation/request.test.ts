import { frameCountFor, withSeed } from './request';

describe('frameCountFor', () => {
  test.each([
    [2, 24, 48],
    [3.5, 30000 / 1001, 105],
    [105 / (30000 / 1001), 30000 / 1001, 105],
    [1, 24000 / 1001, 24],
    [10, 25, 250],
    [60, 60, 3600],
    [0.001, 24, 1],
  ])('%p s at %p fps → %p frames', (seconds, fps, frames) => {
    expect(frameCountFor(seconds, fps)).toBe(frames);
  });
});

describe('withSeed', () => {
  const req = { mode: 'broll' as const, prompt: '', seconds: 1, fps: 24, format: 'mp4' as const, references: [] };
  test('keeps a given seed and fixes a missing one', () => {
    expect(withSeed({ ...req, seed: 7 }).seed).toBe(7);
    const a = withSeed(req).seed;
    expect(Number.isInteger(a) && a >= 0 && a < 2 ** 32).toBe(true);
  });
});
