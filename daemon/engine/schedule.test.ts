import { alphaAt, lambdaAt, LOGSNR_T_END, samplingGrid, sigmaAt, tFromLambda, type CosineSchedule } from './schedule';

const schedule: CosineSchedule = { type: 'cosine', s: 0.008, t_min: 0, t_max: 0.999 };

test('alpha and sigma follow the cosine schedule of PACKAGE.md', () => {
  expect(alphaAt(schedule, 0)).toBe(1);
  expect(sigmaAt(schedule, 0)).toBe(0);
  // f(0.5)/f(0) with f(t) = cos(π/2 · (t + s)/(1 + s)), computed by hand: cos(0.789344)/cos(0.012467).
  expect(alphaAt(schedule, 0.5)).toBeCloseTo(Math.cos((Math.PI / 2) * (0.508 / 1.008)) / Math.cos((Math.PI / 2) * (0.008 / 1.008)), 12);
  expect(alphaAt(schedule, 0.999)).toBeGreaterThan(0);
  expect(alphaAt(schedule, 0.999)).toBeLessThan(0.002);
  for (const t of [0.1, 0.4, 0.9]) expect(alphaAt(schedule, t) ** 2 + sigmaAt(schedule, t) ** 2).toBeCloseTo(1, 12);
});

test('tFromLambda inverts lambdaAt across the range', () => {
  for (const t of [1e-4, 1e-3, 0.01, 0.2, 0.5, 0.8, 0.99, 0.999]) expect(tFromLambda(schedule, lambdaAt(schedule, t))).toBeCloseTo(t, 8);
});

test('time-uniform grid: steps + 1 points from t_max to t_min', () => {
  const grid = samplingGrid(schedule, 4, 'time-uniform');
  [0.999, 0.74925, 0.4995, 0.24975, 0].forEach((t, i) => expect(grid[i]).toBeCloseTo(t, 12));
  expect(grid).toHaveLength(5);
});

test('log-SNR grid: lambda evenly spaced from t_max to t_min + 1e-3', () => {
  const grid = samplingGrid(schedule, 5, 'logsnr-uniform');
  expect(grid).toHaveLength(6);
  expect(grid[0]).toBe(0.999);
  expect(grid[5]).toBeCloseTo(LOGSNR_T_END, 9);
  const lambdas = grid.map((t) => lambdaAt(schedule, t));
  for (let i = 1; i < lambdas.length; i++) expect(lambdas[i]! - lambdas[i - 1]!).toBeCloseTo((lambdas[5]! - lambdas[0]!) / 5, 8);
});
