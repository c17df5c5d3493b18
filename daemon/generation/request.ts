import { randomInt } from 'node:crypto';
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
