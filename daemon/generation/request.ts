import { randomInt } from 'node:crypto';
import { LongshotError } from '../../shared/errors';
import type { GenerateRequest } from '../../shared/protocol';

/**
 * Frames a clip of `seconds` at `fps` must have: the nearest whole frame, at least one. Timelines send durations
 * that are whole frames already (a 3.5 s gap at 29.97 fps is 105 frames = 3.5035 s), so rounding recovers them.
 */
export function frameCountFor(seconds: number, fps: number): number {
  return Math.max(1, Math.round(seconds * fps - 1e-9));
}

/** The request with a seed fixed, so the stored request alone re-makes the same frames. */
export function withSeed(request: GenerateRequest): GenerateRequest & { seed: number } {
  return { ...request, seed: request.seed ?? randomInt(2 ** 32) };
}

/** What one job may cost, checked when it is submitted (from `--max-job-cost`, `--max-output-bytes`, `--max-output-side`). */
export interface JobLimits {
  /** Sampler work in frame-steps: frames × steps. */
  maxJobCost: number;
  maxOutputBytes: number;
  maxOutputSide: number;
}

/** Steps assumed for a request that names none (the model's default is not known before it loads; ours are ≤ 50). */
export const ASSUMED_DEFAULT_STEPS = 50;
/** Frame size assumed for a request that names none: the default output is a few hundred pixels a side. */
const ASSUMED_DEFAULT_PIXELS = 512 * 512;
// Bytes per output pixel per frame, on the safe side: H.264 at CRF 16, ProRes 422, PNG of noisy frames (≈ raw RGB).
const BYTES_PER_PIXEL: Record<GenerateRequest['format'], number> = { mp4: 0.25, mov: 1.2, png: 3 };

/** The cost of a request as estimated before it runs. */
export interface JobCost {
  frames: number;
  steps: number;
  /** frames × steps. */
  frameSteps: number;
  outputBytes: number;
}

/** Estimates a request's sampler work and output size. */
export function estimateJobCost(request: GenerateRequest): JobCost {
  const frames = frameCountFor(request.seconds, request.fps);
  const steps = request.steps ?? ASSUMED_DEFAULT_STEPS;
  const pixels = request.width && request.height ? request.width * request.height : ASSUMED_DEFAULT_PIXELS;
  return { frames, steps, frameSteps: frames * steps, outputBytes: Math.ceil(frames * pixels * BYTES_PER_PIXEL[request.format]) };
}

/** Throws `bad_request` naming the field and what to reduce when a request costs more than the limits allow. */
export function assertAffordable(request: GenerateRequest, limits: JobLimits): JobCost {
  const side = Math.max(request.width ?? 0, request.height ?? 0);
  if (side > limits.maxOutputSide) {
    const field = (request.width ?? 0) >= (request.height ?? 0) ? 'width' : 'height';
    throw new LongshotError('bad_request', `request.${field}: ${side} px is over the longest output side this daemon allows (${limits.maxOutputSide}, --max-output-side); ask for a smaller size and scale up in the editor`, { field: `request.${field}` });
  }
  const cost = estimateJobCost(request);
  const n = (x: number) => x.toLocaleString('en-US');
  if (cost.frameSteps > limits.maxJobCost) {
    throw new LongshotError(
      'bad_request',
      `request: ${n(cost.frames)} frames × ${n(cost.steps)} steps = ${n(cost.frameSteps)} frame-steps is over this daemon's limit of ${n(limits.maxJobCost)} (--max-job-cost); reduce seconds, fps or steps`,
      { field: 'request' },
    );
  }
  if (cost.outputBytes > limits.maxOutputBytes) {
    throw new LongshotError(
      'bad_request',
      `request: the ${request.format} output would be about ${n(Math.round(cost.outputBytes / 1e6))} MB, over this daemon's limit of ${n(Math.round(limits.maxOutputBytes / 1e6))} MB (--max-output-bytes); reduce width × height, seconds or fps, or choose mp4`,
      { field: 'request' },
    );
  }
  return cost;
}
