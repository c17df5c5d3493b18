import { medoidIndex } from './candidates';

const window = (...frames: number[][]) => Float32Array.from(frames.flat());

test('the medoid is the candidate nearest the others, over generated slots only', () => {
  // Frames of 2 values; slot 0 known (the same in all but deliberately far apart here: ignored), slot 1 generated.
  const a = window([100, 100], [0, 0]);
  const b = window([-50, 0], [1, 0]);
  const c = window([0, 900], [5, 0]);
  // Distances on slot 1: a–b 1, a–c 5, b–c 4 → totals a 6, b 5, c 9.
  expect(medoidIndex([a, b, c], [false, true], 2)).toBe(1);
  // Counting slot 0 too, a lies between the far-apart others.
  expect(medoidIndex([a, b, c], [true, true], 2)).not.toBe(1);
});

test('one candidate is chosen; ties go to the first; none is an error', () => {
  expect(medoidIndex([window([3])], [true], 1)).toBe(0);
  expect(medoidIndex([window([1]), window([1]), window([1])], [true], 1)).toBe(0);
  expect(() => medoidIndex([], [true], 1)).toThrow(/no candidates/);
});
