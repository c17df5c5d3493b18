import type { PipelineInput } from '../types';

/** A pipeline input with the engine tests' defaults (one 8-frame B-roll window, 3 steps, seed 7), overridden by `over`. */
export function pipelineInput(over: Partial<PipelineInput> = {}): PipelineInput {
  return {
    prompt: 'a red circle moves left on a white background',
    frameCount: 8,
    fps: 24,
    seed: 7,
    steps: 3,
    guidance: 3,
    sampler: 'dpmpp-2m',
    before: [],
    after: [],
    ...over,
  };
}

