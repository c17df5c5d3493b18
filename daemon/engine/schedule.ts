/** The cosine noise schedule of models/PACKAGE.md, as plain JSON config. */
export interface CosineSchedule {
  type: 'cosine';
  s: number;
  t_min: number;
  t_max: number;
}

/** alpha(t) = f(t)/f(0), f(t) = cos(π/2 · (t + s)/(1 + s)). */
export function alphaAt(schedule: CosineSchedule, t: number): number {
  const f = (u: number) => Math.cos((Math.PI / 2) * ((u + schedule.s) / (1 + schedule.s)));
  return Math.min(1, Math.max(0, f(t) / f(0)));
}

/** sigma(t) = sqrt(1 − alpha²). */
export function sigmaAt(schedule: CosineSchedule, t: number): number {
  const a = alphaAt(schedule, t);
  return Math.sqrt(Math.max(0, 1 - a * a));
}

/** Half log-SNR: lambda(t) = log(alpha / sigma). */
export function lambdaAt(schedule: CosineSchedule, t: number): number {
  return Math.log(alphaAt(schedule, t)) - Math.log(sigmaAt(schedule, t));
}

/** The t whose lambda is `lambda` (inverse of lambdaAt). */
export function tFromLambda(schedule: CosineSchedule, lambda: number): number {
  // alpha / sigma = e^λ  ⇒  alpha = 1 / sqrt(1 + e^{-2λ}); then invert f.
  const alpha = 1 / Math.sqrt(1 + Math.exp(-2 * lambda));
  const f0 = Math.cos((Math.PI / 2) * (schedule.s / (1 + schedule.s)));
  return (2 / Math.PI) * Math.acos(alpha * f0) * (1 + schedule.s) - schedule.s;
}

/** How a sampler spreads its model evaluations over t: uniform in t, or uniform in lambda (log-SNR). */
export type TimestepSpacing = 'time-uniform' | 'logsnr-uniform';

/** Where a log-SNR grid ends: lambda is infinite at t = 0, so it stops at DPM-Solver's eps (sigma ≈ 0.006, under 1 LSB of 8-bit video). */
export const LOGSNR_T_END = 1e-3;

/**
 * The sampling grid: `steps + 1` times from t_max down. The first `steps` are where the model is evaluated; the
 * last is where the final step lands: t_min (clean) for time-uniform, t_min + {@link LOGSNR_T_END} for log-SNR.
 */
export function samplingGrid(schedule: CosineSchedule, steps: number, spacing: TimestepSpacing): number[] {
  const { t_max: tMax, t_min: tMin } = schedule;
  if (spacing === 'time-uniform') return Array.from({ length: steps + 1 }, (_, i) => tMax - (i * (tMax - tMin)) / steps);
  const lambdaStart = lambdaAt(schedule, tMax);
  const lambdaEnd = lambdaAt(schedule, tMin + LOGSNR_T_END);
  return Array.from({ length: steps + 1 }, (_, i) => (i === 0 ? tMax : tFromLambda(schedule, lambdaStart + ((lambdaEnd - lambdaStart) * i) / steps)));
}
