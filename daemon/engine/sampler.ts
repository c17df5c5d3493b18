import { LongshotError } from '../../shared/errors';
import type { SamplerName } from '../../shared/protocol';
import { DdimSampler } from './ddim';
import { DpmSolverPlusPlus2MSampler } from './dpmpp-2m';
import type { CosineSchedule, TimestepSpacing } from './schedule';

/** Plain JSON that builds any sampler, so the denoising loop can swap algorithms without knowing which it has. */
export interface SamplerConfig {
  schedule: CosineSchedule;
  /** Where the model evaluations fall; each sampler has its own measured default. */
  spacing?: TimestepSpacing;
}

/**
 * A diffusers-style scheduler over continuous t: `setTimesteps` first, then for each t of `timesteps` in order,
 * `step(x0 prediction, t, sample)` returns the sample at the next t (after the last one: the clean sample). The
 * step is elementwise, so it writes the result over `sample` and returns that array: a step allocates nothing
 * (a window is 1.4 MB, and a fresh array every step cost more than the step's arithmetic). `timesteps` is planned
 * once by `setTimesteps`, and a sampler's own history (DPM-Solver++'s previous x0) is a buffer made once per size.
 */
export interface Sampler {
  readonly name: SamplerName;
  readonly config: SamplerConfig;
  setTimesteps(steps: number): void;
  readonly timesteps: readonly number[];
  step(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array;
}

/** Builds a sampler by name from plain JSON config. */
export function createSampler(name: SamplerName, config: SamplerConfig): Sampler {
  switch (name) {
    case 'ddim':
      return new DdimSampler(config);
    case 'dpmpp-2m':
      return new DpmSolverPlusPlus2MSampler(config);
    default:
      throw new LongshotError('bad_request', `sampler: unknown sampler "${String(name)}"; use "dpmpp-2m" or "ddim"`, { field: 'request.sampler' });
  }
}

/** The index of `t` in a sampler's timesteps; throws with the fix when the sampler is misused. */
export function stepIndexOf(samplerName: string, timesteps: readonly number[], t: number): number {
  if (timesteps.length === 0) throw new Error(`${samplerName}: step() called before setTimesteps(); call setTimesteps(steps) first`);
  const index = timesteps.indexOf(t);
  if (index < 0) throw new Error(`${samplerName}: t=${t} is not one of this sampler's timesteps; pass the values of sampler.timesteps in order`);
  return index;
}

/** Checks a step count before a sampler plans its timesteps. */
export function checkSteps(samplerName: string, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) throw new LongshotError('bad_request', `steps: ${samplerName} needs a whole number of steps ≥ 1, got ${steps}`, { field: 'request.steps' });
}
