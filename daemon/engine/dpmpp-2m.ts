import type { SamplerName } from '../../shared/protocol';
import { checkSteps, stepIndexOf, type Sampler, type SamplerConfig } from './sampler';
import { alphaAt, lambdaAt, samplingGrid, sigmaAt } from './schedule';

/** Below this many steps the last one is first order (see {@link DpmSolverPlusPlus2MSampler}). */
export const LOWER_ORDER_FINAL_BELOW = 15;

/**
 * DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2), data prediction, as U-ViT samples. Multistep:
 * step i reuses the x0 prediction of step i−1 for a second-order correction, one model call a step. The first step
 * has no history and is first order. Spacing defaults to log-SNR-uniform down to t = 1e-3 (DPM-Solver's own
 * choice), picked by measurement on Gaussian data with the exact denoiser (testdata/sampler-reference.py): at
 * 8–20 steps it beats time-uniform by 3–60× at data spread 0.05 (fine detail). Below {@link LOWER_ORDER_FINAL_BELOW}
 * steps the last step is first order (diffusers' `lower_order_final`, on by default there for the same few steps)
 * and returns the clean part of the sample it lands on, the model's x0: the 2M blend there extrapolates the last two
 * x0 estimates, and with the bundled model's 12 steps its still objects then drifted past the judge's 0.02 H/s in
 * 5 of 200 held-out B-roll clips (judge pass 94.5 %; 97 % first order). With more steps the last step is 2M and
 * returns the blend D. Either way the sample's remaining noise is left out (sigma 0.006 at t = 1e-3: under 1 LSB in
 * pixels, but 0.003 H of position in a scene-state latent). On a grid that ends at sigma = 0 the last step is first
 * order anyway (h → ∞; diffusers' `final_sigmas_type="zero"`).
 */
export class DpmSolverPlusPlus2MSampler implements Sampler {
  readonly name: SamplerName = 'dpmpp-2m';
  private grid: number[] = [];
  /** The grid without its last time (where the final step lands): planned once by setTimesteps, not copied each step. */
  private planned: number[] = [];
  /** The previous step's x0 prediction (a reused buffer), valid when `hasPrevious`. */
  private previousX0 = new Float32Array(0);
  private hasPrevious = false;
  private previousH = 0;

  constructor(readonly config: SamplerConfig) {}

  get timesteps(): readonly number[] {
    return this.planned;
  }

  setTimesteps(steps: number): void {
    checkSteps(this.name, steps);
    this.grid = samplingGrid(this.config.schedule, steps, this.config.spacing ?? 'logsnr-uniform');
    this.planned = this.grid.slice(0, -1);
    this.hasPrevious = false;
    this.previousH = 0;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): Float32Array {
    const i = stepIndexOf(this.name, this.timesteps, t);
    const schedule = this.config.schedule;
    const tNext = this.grid[i + 1]!;
    const sigma = sigmaAt(schedule, t);
    const alphaNext = alphaAt(schedule, tNext);
    const sigmaNext = sigmaAt(schedule, tNext);
    const next = sample; // written in place (see Sampler)
    const last = i + 1 === this.timesteps.length;
    if (sigmaNext === 0 || (last && this.timesteps.length < LOWER_ORDER_FINAL_BELOW)) {
      // First order: x_next = alpha_next·x0 + sigma_next·eps(x0), whose clean part is x0.
      next.set(modelOutput.subarray(0, next.length));
      this.hasPrevious = false;
      return next;
    }
    const h = lambdaAt(schedule, tNext) - lambdaAt(schedule, t);
    const onSample = sigmaNext / sigma;
    const onD = -alphaNext * Math.expm1(-h);
    const previous = i > 0 && this.hasPrevious ? this.previousX0 : null;
    // D = x0 (first order) or the 2M blend (1 + 1/(2r))·x0 − 1/(2r)·x0_prev, r = h_prev/h.
    const half = previous === null || this.previousH === 0 ? 0 : h / (2 * this.previousH);
    const onX0 = 1 + half;
    const onPrevious = -half;
    if (last) {
      // x_next = alpha_next·D + sigma_next·eps(D): its clean part is D.
      for (let k = 0; k < next.length; k++) next[k] = onX0 * modelOutput[k]! + onPrevious * (previous ?? modelOutput)[k]!;
      return next;
    }
    // x_next = (sigma_next/sigma)·x − alpha_next·(e^{−h} − 1)·D.
    if (previous === null) {
      for (let k = 0; k < next.length; k++) next[k] = onSample * sample[k]! + onD * modelOutput[k]!;
    } else {
      for (let k = 0; k < next.length; k++) next[k] = onSample * sample[k]! + onD * (onX0 * modelOutput[k]! + onPrevious * previous[k]!);
    }
    // Kept for the next step's correction: a copy, since the caller may reuse its buffer.
    if (this.previousX0.length !== sample.length) this.previousX0 = new Float32Array(sample.length);
    this.previousX0.set(modelOutput.subarray(0, sample.length));
    this.hasPrevious = true;
    this.previousH = h;
    return next;
  }
}
