import type { SamplerName } from '../../shared/protocol';
import { checkSteps, stepIndexOf, type Sampler, type SamplerConfig } from './sampler';
import { alphaAt, samplingGrid, sigmaAt } from './schedule';

/**
 * DDIM with eta = 0 (Song et al. 2021): the deterministic first-order step x_next = alpha_next·x0 + sigma_next·eps,
 * eps recovered from the sample and the x0 prediction. Time-uniform spacing by default, as in the paper, down to
 * t_min, so the last step returns the x0 prediction.
 */
export class DdimSampler implements Sampler {
  readonly name: SamplerName = 'ddim';
  private grid: number[] = [];
  /** The grid without its last time (where the final step lands): planned once by setTimesteps, not copied each step. */
  private planned: number[] = [];

  constructor(readonly config: SamplerConfig) {}

  get timesteps(): readonly number[] {
    return this.planned;
  }

  setTimesteps(steps: number): void {
    checkSteps(this.name, steps);
    this.grid = samplingGrid(this.config.schedule, steps, this.config.spacing ?? 'time-uniform');
    this.planned = this.grid.slice(0, -1);
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    const i = stepIndexOf(this.name, this.timesteps, t);
    const schedule = this.config.schedule;
    const tNext = this.grid[i + 1]!;
    const alpha = alphaAt(schedule, t);
    const sigma = sigmaAt(schedule, t);
    const alphaNext = alphaAt(schedule, tNext);
    const sigmaNext = sigmaAt(schedule, tNext);
    // x_next = alpha_next·x0 + sigma_next·(x − alpha·x0)/sigma, folded into two coefficients.
    const onSample = sigmaNext / sigma;
    const onX0 = alphaNext - onSample * alpha;
    for (let k = 0; k < sample.length; k++) sample[k] = onSample * sample[k]! + onX0 * modelOutput[k]!;
    return sample;
  }
}
