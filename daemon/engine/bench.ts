import type { EngineVideoPipeline } from './pipeline';
import type { PipelineInput } from './types';

/** What `longshot bench --json` prints. Milliseconds unless the name says otherwise. */
export interface BenchFigures {
  provider: string;
  /** Engine time per sampler step: all the pipeline's work per step (batch, run, guidance, sampler, preview). */
  step_ms: number;
  /** A bare session.run on the identical input tensors, for the overhead figure. */
  bare_step_ms: number;
  /** step_ms / bare_step_ms − 1. */
  overhead_ratio: number;
  /** A 2-second clip at 24 fps at native size with the model's defaults, end to end in the engine. */
  clip_2s_seconds: number;
  /** From the call to the first progress callback that carries a preview. */
  first_preview_ms: number;
  /** Sampler steps of the 2 s clip, over all its windows. */
  total_steps: number;
}

/** What to bench with; the defaults are the 2 s clip of the issue. */
export interface BenchOptions {
  prompt?: string;
  seconds?: number;
  fps?: number;
}

/**
 * Measures a pipeline: a 2 s B-roll clip at 24 fps with the model's defaults through the whole engine (timing
 * each step between progress callbacks), then as many bare `session.run` calls on the same input tensors.
 * Medians, so a stray scheduling hiccup on a shared machine does not decide the figure.
 */
export async function benchPipeline(pipeline: EngineVideoPipeline, options: BenchOptions = {}): Promise<BenchFigures> {
  const fps = options.fps ?? 24;
  const { steps, guidance, sampler } = pipeline.defaults;
  const input: PipelineInput = {
    prompt: options.prompt ?? 'a red circle moves left on a white background',
    frameCount: Math.round((options.seconds ?? 2) * fps),
    fps,
    seed: 1,
    steps,
    guidance,
    sampler,
    before: [],
    after: [],
  };

  const stamps: number[] = [];
  let firstPreviewMs = Number.NaN;
  const started = performance.now();
  await pipeline.run(input, {
    onProgress: (progress) => {
      const now = performance.now();
      stamps.push(now);
      if (Number.isNaN(firstPreviewMs) && progress.previewJpeg) firstPreviewMs = now - started;
    },
  });
  const clipSeconds = (performance.now() - started) / 1000;
  // Each interval between callbacks is one step of engine work (the first starts at the call, so it is left out).
  const stepIntervals = stamps.slice(1).map((s, i) => s - stamps[i]!);

  // The runner's input tensors still hold the clip's last batch: the same shapes and values a step runs on.
  const bare: number[] = [];
  for (let i = 0; i < Math.max(5, stepIntervals.length); i++) {
    const t0 = performance.now();
    await pipeline.runner.runBare();
    bare.push(performance.now() - t0);
  }
  const stepMs = median(stepIntervals);
  const bareMs = median(bare);
  return {
    provider: pipeline.provider,
    step_ms: stepMs,
    bare_step_ms: bareMs,
    overhead_ratio: stepMs / bareMs - 1,
    clip_2s_seconds: clipSeconds,
    first_preview_ms: firstPreviewMs,
    total_steps: stamps.length,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : Number.NaN;
}
