import { rgbToModel, type EngineVideoPipeline } from './pipeline';
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
  /** Time the frame encoder takes to read an extend's reference frames (context_frames of them), and that time as a
   * percentage of the 2 s clip's; 0 for pixel packages. */
  encoder_ms: number;
  encoder_percent: number;
  /** Time in the frame decoder during the 2 s clip (its frames and one preview frame a step, which overlaps the
   * U-ViT's run), and its share of the clip; 0 for pixel packages. */
  decoder_ms: number;
  decoder_percent: number;
  /** From the call to the first progress callback that carries a preview. */
  first_preview_ms: number;
  /** Sampler steps of the 2 s clip, over all its windows. */
  total_steps: number;
}

/** What to bench with; the defaults are the figures of the issue. */
export interface BenchOptions {
  prompt?: string;
  /** Rounds of (one window through the engine, as many bare runs): more rounds, steadier figures. */
  rounds?: number;
}

/**
 * Measures a pipeline. 1. A 2 s B-roll clip at 24 fps with the model's defaults, end to end, and the time to its
 * first preview and in the frame decoder; then reading context_frames grey reference frames, as an extend does
 * before its first step (a latent package's encoder may refine its reading: seconds, not milliseconds). 2. Step
 * overhead: rounds that alternate one window through the engine (each step timed between
 * progress callbacks) with as many bare `session.run` calls on the same input tensors, so both see the same
 * machine load; medians, so a stray hiccup does not decide the figure.
 */
export async function benchPipeline(pipeline: EngineVideoPipeline, options: BenchOptions = {}): Promise<BenchFigures> {
  const { steps, guidance, sampler } = pipeline.defaults;
  const pixels = pipeline.referenceWidth * pipeline.referenceHeight; // of one reference frame
  const grey = new Uint8Array(pixels * 3).fill(128);
  const input: PipelineInput = {
    prompt: options.prompt ?? 'a red circle moves left on a white background',
    frameCount: 48,
    fps: 24,
    seed: 1,
    steps,
    guidance,
    sampler,
    before: [],
    after: [],
  };

  // 1. The 2 s clip.
  let firstPreviewMs = Number.NaN;
  let totalSteps = 0;
  const codecBefore = { ...pipeline.codec.timing };
  const started = performance.now();
  await pipeline.run(input, {
    onProgress: (progress) => {
      totalSteps = progress.total;
      if (Number.isNaN(firstPreviewMs) && progress.previewJpeg) firstPreviewMs = performance.now() - started;
    },
  });
  const clipSeconds = (performance.now() - started) / 1000;
  const decoderMs = pipeline.codec.timing.decodeMs - codecBefore.decodeMs;
  const encodeBefore = pipeline.codec.timing.encodeMs;
  // One frame at a time, as the pipeline reads them.
  for (let i = 0; i < pipeline.contextFrames; i++) await pipeline.codec.encode([rgbToModel(grey, pixels)]);
  const encoderMs = pipeline.codec.timing.encodeMs - encodeBefore;

  // 2. Engine steps and bare runs, alternating.
  const engineSteps: number[] = [];
  const bareRuns: number[] = [];
  for (let round = 0; round < (options.rounds ?? 3); round++) {
    const stamps: number[] = [];
    await pipeline.run({ ...input, frameCount: pipeline.framesPerWindow, seed: round }, { onProgress: () => stamps.push(performance.now()) });
    // Callbacks are one step apart; the first interval starts at the call, so it is left out.
    engineSteps.push(...stamps.slice(1).map((s, i) => s - stamps[i]!));
    // The runner's input tensors still hold the last step's batch: the shapes and values a step runs on.
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await pipeline.runner.runBare();
      bareRuns.push(performance.now() - t0);
    }
  }
  const stepMs = median(engineSteps);
  const bareMs = median(bareRuns);
  return {
    provider: pipeline.provider,
    step_ms: stepMs,
    bare_step_ms: bareMs,
    overhead_ratio: stepMs / bareMs - 1,
    clip_2s_seconds: clipSeconds,
    encoder_ms: encoderMs,
    encoder_percent: (encoderMs / (clipSeconds * 1000)) * 100,
    decoder_ms: decoderMs,
    decoder_percent: (decoderMs / (clipSeconds * 1000)) * 100,
    first_preview_ms: firstPreviewMs,
    total_steps: totalSteps,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : Number.NaN;
}
