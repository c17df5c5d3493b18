import { createSampler, type Sampler } from './sampler';
import { alphaAt, sigmaAt, type CosineSchedule } from './schedule';
import type { SamplerName } from '../../shared/protocol';

const schedule: CosineSchedule = { type: 'cosine', s: 0.008, t_min: 0, t_max: 0.999 };
const xT = [-1.5, -0.3, 0.0, 0.7, 2.1];

/** Exact x0 predictor when the data is N(mu, s²) per element (s = 0: a single point). */
function gaussianDenoiser(mu: number, s: number) {
  return (x: Float32Array, t: number): Float32Array => {
    const a = alphaAt(schedule, t);
    const sg = sigmaAt(schedule, t);
    const gain = (a * s * s) / (a * a * s * s + sg * sg);
    return x.map((v) => mu + gain * (v - a * mu));
  };
}

/** The probability-flow ODE keeps z = (x_t − alpha·mu)/sqrt(alpha²s² + sigma²) constant: its value at time t. */
function exactOdeAt(t: number, mu: number, s: number): number[] {
  const a = alphaAt(schedule, schedule.t_max);
  const sg = sigmaAt(schedule, schedule.t_max);
  const aEnd = alphaAt(schedule, t);
  const sgEnd = sigmaAt(schedule, t);
  return xT.map((x) => aEnd * mu + Math.sqrt(aEnd * aEnd * s * s + sgEnd * sgEnd) * ((x - a * mu) / Math.sqrt(a * a * s * s + sg * sg)));
}

function sample(sampler: Sampler, steps: number, denoise: (x: Float32Array, t: number) => Float32Array): Float32Array {
  sampler.setTimesteps(steps);
  let x: Float32Array = Float32Array.from(xT);
  for (const t of sampler.timesteps) x = sampler.step(denoise(x, t), t, x);
  return x;
}

function maxError(x: Float32Array, expected: number[]): number {
  return Math.max(...expected.map((e, i) => Math.abs(x[i]! - e)));
}

describe.each<SamplerName>(['ddim', 'dpmpp-2m'])('sampler %s (shared suite)', (name) => {
  test('step before setTimesteps throws, naming the fix', () => {
    const sampler = createSampler(name, { schedule });
    expect(() => sampler.step(new Float32Array(2), 0.5, new Float32Array(2))).toThrow(/call setTimesteps\(steps\) first/);
  });

  test('timesteps: one per step, descending from t_max, strictly inside (t_min, t_max]', () => {
    const sampler = createSampler(name, { schedule });
    sampler.setTimesteps(7);
    const ts = sampler.timesteps;
    expect(ts).toHaveLength(7);
    expect(ts[0]).toBeCloseTo(schedule.t_max, 9);
    for (let i = 1; i < ts.length; i++) expect(ts[i]!).toBeLessThan(ts[i - 1]!);
    expect(ts[ts.length - 1]!).toBeGreaterThan(schedule.t_min);
  });

  test('a t that is not one of its timesteps is refused', () => {
    const sampler = createSampler(name, { schedule });
    sampler.setTimesteps(4);
    expect(() => sampler.step(new Float32Array(2), 0.123, new Float32Array(2))).toThrow(/pass the values of sampler.timesteps/);
  });

  test('steps must be a whole number ≥ 1', () => {
    expect(() => createSampler(name, { schedule }).setTimesteps(0)).toThrow(/steps/);
  });

  test('single-point data: lands exactly on the point, from any start, in any number of steps', () => {
    const sampler = createSampler(name, { schedule });
    for (const steps of [1, 2, 5, 12]) expect(maxError(sample(sampler, steps, gaussianDenoiser(0.25, 0)), xT.map(() => 0.25))).toBeLessThan(1e-6);
  });

  test('single-point data: every step stays on the exact ODE path alpha·mu + sigma·z', () => {
    const sampler = createSampler(name, { schedule });
    sampler.setTimesteps(6);
    const ts = sampler.timesteps;
    let x: Float32Array = Float32Array.from(xT);
    for (let i = 0; i < ts.length - 1; i++) {
      x = sampler.step(gaussianDenoiser(0.25, 0)(x, ts[i]!), ts[i]!, x);
      expect(maxError(x, exactOdeAt(ts[i + 1]!, 0.25, 0))).toBeLessThan(1e-5);
    }
  });

  test('config is plain JSON: a sampler rebuilt from its JSON config gives identical results', () => {
    const first = createSampler(name, { schedule, spacing: 'time-uniform' });
    const rebuilt = createSampler(name, JSON.parse(JSON.stringify(first.config)));
    const denoise = gaussianDenoiser(0.1, 0.3);
    expect(Array.from(sample(rebuilt, 6, denoise))).toEqual(Array.from(sample(first, 6, denoise)));
  });

  test('setTimesteps resets its history: a second run is identical to the first', () => {
    const sampler = createSampler(name, { schedule });
    const denoise = gaussianDenoiser(0.25, 0.5);
    const a = Array.from(sample(sampler, 8, denoise));
    expect(Array.from(sample(sampler, 8, denoise))).toEqual(a);
  });

  test('a step writes over the sample it is given and copies nothing: the same sample and timesteps arrays throughout', () => {
    const sampler = createSampler(name, { schedule });
    sampler.setTimesteps(6);
    const timesteps = sampler.timesteps;
    const x = Float32Array.from(xT);
    const denoise = gaussianDenoiser(0.25, 0.5);
    for (const t of timesteps) {
      expect(sampler.step(denoise(x, t), t, x)).toBe(x);
      expect(sampler.timesteps).toBe(timesteps);
    }
  });
});

describe('known answers for Gaussian data N(0.25, 0.5²) from x_T = [-1.5, -0.3, 0, 0.7, 2.1]', () => {
  // Produced by `/usr/bin/python3 daemon/engine/testdata/sampler-reference.py` (independent numpy, float64).
  const expected: Record<string, number[]> = {
    'ddim 4': [-0.24753848728473826, 0.15038894419805113, 0.2498708020687485, 0.4819951371003757, 0.94624380716363],
    'dpmpp-2m 4': [-0.144434772454955, 0.17103110586748632, 0.2498975754480966, 0.43391933780285397, 0.8019628625123688],
    'ddim 8': [-0.3652454367727179, 0.12682310192982432, 0.24984023660545984, 0.5368802175152763, 1.1109601793349086],
    'dpmpp-2m 8': [-0.4887804554561832, 0.1020904351029239, 0.2498081577427007, 0.5944828439021798, 1.2838322162211382],
  };
  test.each(Object.keys(expected))('%s steps', (key) => {
    const [name, steps] = key.split(' ') as [SamplerName, string];
    const x = sample(createSampler(name, { schedule }), Number(steps), gaussianDenoiser(0.25, 0.5));
    expect(maxError(x, expected[key]!)).toBeLessThan(2e-5);
  });
});

describe('convergence in steps against the exact ODE endpoint', () => {
  const errorOf = (name: SamplerName, steps: number, s: number) =>
    maxError(sample(createSampler(name, { schedule }), steps, gaussianDenoiser(0.25, s)), exactOdeAt(schedule.t_min, 0.25, s));

  test.each([0.05, 0.2, 0.5])('data spread %s: dpmpp-2m beats ddim at 8 and 12 steps, and its error falls with steps', (s) => {
    for (const steps of [8, 12]) expect(errorOf('dpmpp-2m', steps, s)).toBeLessThan(errorOf('ddim', steps, s));
    expect(errorOf('dpmpp-2m', 12, s)).toBeLessThan(errorOf('dpmpp-2m', 4, s));
    expect(errorOf('ddim', 20, s)).toBeLessThan(errorOf('ddim', 4, s));
  });

  test('fine detail (spread 0.05): dpmpp-2m in 8 steps is closer than ddim in 20, and in 20 steps (2M to the end) 10x closer', () => {
    expect(errorOf('dpmpp-2m', 8, 0.05)).toBeLessThan(errorOf('ddim', 20, 0.05) / 2);
    expect(errorOf('dpmpp-2m', 20, 0.05)).toBeLessThan(errorOf('ddim', 20, 0.05) / 10);
  });
});
