import type { Logger } from 'pino';
import { LongshotError } from '../../shared/errors';
import type { SamplerName } from '../../shared/protocol';
import { isKnownSlot, planWindows, type WindowPlan, type WindowSlot } from './conditioning';
import { createFrameCodec, type FrameCodec } from './frame-codec';
import { loadPackage, type FileHashCache, type ModelManifest } from './model-package';
import { ModelRunner } from './model-runner';
import type { OptimizedGraphCache } from './ort-session-cache';
import { createRandom, fillGaussian } from './noise';
import { PreviewJpegEncoder } from './preview-jpeg';
import { measureReadBack, type ReadBack } from './read-back';
import { createSampler } from './sampler';
import { alphaAt, sigmaAt } from './schedule';
import { createTextConditioning, type TextConditioning } from './text-conditioning';
import { FootageVideoPipeline } from './pipeline-footage';
import { modelToRgb, rgbToModel } from './pixels';
import { PREVIEW_INTERVAL_MS, type PipelineInput, type PipelineRunOptions, type RgbFrame, type VideoPipeline } from './types';

/** What {@link createVideoPipeline} needs besides the package: `device` is `auto` or a provider name, `threads` 0 = all cores. */
export interface VideoPipelineOptions {
  device: string;
  threads: number;
  logger: Logger;
  /** Remembered file hashes (see FileHashCache); without it every file is hashed again. */
  hashes?: FileHashCache;
  /** Where optimised graphs are kept between runs (ort-session-cache.ts); without it each load optimises again. */
  graphCache?: OptimizedGraphCache;
}

/** The engine's {@link VideoPipeline}, with its model runner and codec exposed for `longshot bench`. */
export interface EngineVideoPipeline extends VideoPipeline {
  readonly runner: ModelRunner;
  /** What the U-ViT samples: frames (pixel packages) or the autoencoder's latents; its timing is bench's codec share. */
  readonly codec: FrameCodec;
  /** Frames the network sees at once (the package's `frames_per_window`). */
  readonly framesPerWindow: number;
}

/** Quality of the per-step preview JPEG: small and quick, it is a glimpse of the estimate, not an output. */
const PREVIEW_QUALITY = 70;

/** Loads and validates a package, creates its ORT sessions once (the U-ViT probed and warmed up; a frame encoder when a job first reads references) and returns the pipeline. */
export async function createVideoPipeline(packageDir: string, options: VideoPipelineOptions): Promise<EngineVideoPipeline> {
  const pkg = await loadPackage(packageDir, options.hashes);
  const runner = await ModelRunner.create(pkg, options);
  const codec = await createFrameCodec(pkg, { provider: runner.provider, threads: options.threads, logger: options.logger, cache: options.graphCache }).catch(async (err: unknown) => {
    await runner.close();
    throw err;
  });
  const text = await createTextConditioning(pkg, runner, options.threads, options.logger).catch(async (err: unknown) => {
    await Promise.all([runner.close(), codec.close()]);
    throw err;
  });
  const native = new UViTVideoPipeline(pkg.manifest, runner, codec, text, options.logger);
  if (pkg.manifest.footage_render !== 'motion-transfer') return native;
  const residual = pkg.manifest.motion_transfer;
  const motion = pkg.manifest.motion_latent;
  const residualOptions = residual && {
    extend: { gain: residual.residual_gain, smoothing: residual.residual_smoothing },
    fill: { gain: residual.fill_residual_gain ?? residual.residual_gain, smoothing: residual.residual_smoothing },
  };
  return new FootageVideoPipeline(native, residualOptions, motion && { flowScale: motion.flow_scale });
}

/** U-ViT video generation, window by window: the model runner, the frame codec, a sampler and the window plan put together. */
class UViTVideoPipeline implements EngineVideoPipeline {
  readonly footageSized = false;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly provider: string;
  readonly nativeWidth: number;
  readonly nativeHeight: number;
  readonly outputWidth: number;
  readonly outputHeight: number;
  readonly referenceWidth: number;
  readonly referenceHeight: number;
  readonly contextFrames: number;
  readonly framesPerWindow: number;
  readonly defaults: { steps: number; guidance: number; sampler: SamplerName };
  /** Runs one at a time: they share the runner's input buffers. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly previews = new PreviewJpegEncoder(PREVIEW_QUALITY);

  constructor(
    private readonly manifest: ModelManifest,
    readonly runner: ModelRunner,
    readonly codec: FrameCodec,
    private readonly text: TextConditioning,
    private readonly logger: Logger,
  ) {
    this.modelName = manifest.name;
    this.modelVersion = manifest.version;
    this.provider = runner.provider;
    this.nativeWidth = manifest.native.width;
    this.nativeHeight = manifest.native.height;
    ({ width: this.outputWidth, height: this.outputHeight } = codec.decodedSize);
    ({ width: this.referenceWidth, height: this.referenceHeight } = codec.referenceSize);
    this.contextFrames = manifest.context_frames;
    this.framesPerWindow = manifest.frames_per_window;
    this.defaults = manifest.defaults;
  }

  async unknownWords(prompt: string): Promise<string[]> {
    return this.text.unknownWords(prompt);
  }

  run(input: PipelineInput, options: PipelineRunOptions = {}): Promise<RgbFrame[]> {
    const result = this.queue.then(() => this.generate(input, options));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async generate(input: PipelineInput, options: PipelineRunOptions): Promise<RgbFrame[]> {
    const started = performance.now();
    const m = this.manifest;
    const F = m.frames_per_window;
    const pixels = this.referenceWidth * this.referenceHeight; // of one reference frame
    const frameSize = this.codec.frameSize; // one sampled frame: [C, H, W] (pixel) or latent.shape (latent)
    const windowSize = F * frameSize; // one window [F, ...frame]
    // Latents are unbounded: only pixel estimates are clipped to the value range, and of them only the RGB planes
    // (a motion latent's flow is in pixels, not levels).
    const clip = m.space === 'pixel' ? { range: m.value_range, frameSize, clipped: 3 * this.outputWidth * this.outputHeight } : null;
    const { batch } = this.runner;

    // 1. Check inputs.
    this.checkInput(input, pixels);
    const throwIfCancelled = (when: string) => {
      if (options.signal?.aborted) throw new LongshotError('cancelled', `generation cancelled ${when}`);
    };
    throwIfCancelled('before it started');

    // 2. Text: row 0 the prompt, row 1 the unconditional prompt of classifier-free guidance.
    const unknownWords = await this.text.write(input.prompt);
    if (unknownWords.length) this.logger.warn({ unknownWords }, 'prompt words the model does not know were ignored');
    batch.fps.fill(input.fps);

    // 3. Windows, and the clean frames they can see: the references the plan uses, in model values [C, H, W],
    // encoded once into the sampled space.
    const plan = planWindows({ frameCount: input.frameCount, framesPerWindow: F, contextFrames: this.contextFrames, beforeCount: input.before.length, afterCount: input.after.length });
    // Read one frame at a time, each reported: a refining encoder takes about half a second a frame.
    const usedOf = (side: 'before' | 'after') => [...new Set(plan.flatMap((window) => window.slots.flatMap((slot) => (slot.kind === side ? [slot.index] : []))))];
    const toRead = [...usedOf('before').map((index) => ({ side: 'before' as const, index })), ...usedOf('after').map((index) => ({ side: 'after' as const, index }))];
    const read = { before: new Map<number, Float32Array>(), after: new Map<number, Float32Array>() };
    for (const [i, { side, index }] of toRead.entries()) {
      throwIfCancelled(`while reading reference frame ${i + 1} of ${toRead.length}`);
      const [sampled] = await this.codec.encode([this.modelFrame(input, side, index, pixels)]);
      read[side].set(index, sampled!);
      const elapsedSeconds = (performance.now() - started) / 1000;
      options.onProgress?.({ stage: 'reading', step: i + 1, total: toRead.length, etaSeconds: (elapsedSeconds / (i + 1)) * (toRead.length - i - 1), previewJpeg: null });
    }
    const { before, after } = read;
    if (options.onReadBack && toRead.length) options.onReadBack(await this.readBack(toRead.map(({ side, index }) => ({ frame: input[side][index]!, sampled: read[side].get(index)! }))));
    // Generated frames leave as RGB after their window (decoded once); sampled values are kept only while a later
    // window still needs them (a 60 s clip at 60 fps would otherwise hold 3600 float frames).
    const output: RgbFrame[] = new Array<RgbFrame>(input.frameCount);
    const carried = new Map<number, Float32Array>();
    const lastUse = new Map<number, number>();
    plan.forEach((window, w) => window.slots.forEach((slot) => slot.kind === 'known' && lastUse.set(slot.frame, w)));
    const cleanFrameOf = (slot: WindowSlot): Float32Array | null =>
      slot.kind === 'before' ? before.get(slot.index)! : slot.kind === 'after' ? after.get(slot.index)! : slot.kind === 'known' ? carried.get(slot.frame)! : null;

    // 4. Seeded noise: one stream, drawn window by window in plan order, so a seed always gives the same frames.
    const random = createRandom(input.seed);
    const sampler = createSampler(input.sampler, { schedule: m.schedule });
    // Guided where the prompt shapes the clip; the last, least noisy steps only place objects to a fraction of a
    // pixel, and guidance there made still objects drift four times as far (the card, 0.9.0).
    const guidanceFrom = m.guidance_interval?.t_min ?? 0;
    const total = plan.length * input.steps;
    let done = 0;
    const x0 = new Float32Array(windowSize); // [F, ...frame]
    let reportPending: (() => Promise<void>) | null = null;
    let noise: Float32Array | null = null;
    const previewInterval = options.previewIntervalMs ?? PREVIEW_INTERVAL_MS;
    let lastPreviewAt = Number.NEGATIVE_INFINITY;

    // 5. Denoising loop, window by window (its ETA counts from here, not from the reading).
    const samplingStarted = performance.now();
    for (const [w, window] of plan.entries()) {
      const knownSlots = window.slots.map((slot, i) => ({ i, clean: cleanFrameOf(slot) })).filter((s): s is { i: number; clean: Float32Array } => s.clean !== null);
      const reimposeKnown = (target: Float32Array) => knownSlots.forEach(({ i, clean }) => target.set(clean, i * frameSize));
      const mask = window.slots.map((s) => (isKnownSlot(s) ? 1 : 0));
      batch.known.set(mask, 0);
      batch.known.set(mask, F);
      // Known frames enter clean, as in training (x_t = x0 where known = 1).
      let sample = noise ?? fillGaussian(new Float32Array(windowSize), random);
      noise = null;
      reimposeKnown(sample);
      sampler.setTimesteps(input.steps);
      const previewSlot = previewSlotOf(window);

      for (const t of sampler.timesteps) {
        // 5a. Cancellation, checked before every step.
        throwIfCancelled(`at step ${done + 1} of ${total}`);
        // 5b. The batch of 2: the same sample for the prompt and the unconditional rows.
        batch.x.set(sample, 0);
        batch.x.set(sample, windowSize);
        batch.t.fill(t);
        const running = this.runner.run(); // [2, F, ...frame]
        // The previous step's progress and preview are made while the network runs, off the step's critical path;
        // x0 is not rewritten until both are done.
        const reporting = reportPending?.();
        reportPending = null;
        // The next window's noise, drawn in window order (so seeds still give the same frames) while this one runs.
        if (noise === null && w + 1 < plan.length) noise = fillGaussian(new Float32Array(windowSize), random);
        // Both awaited together, so a failing run never leaves the report's rejection unhandled (or the reverse).
        const [prediction] = await Promise.all([running, reporting]);
        // 5c. Network output → x0, with guidance inside the package's interval (guidance 1 is the prompt's
        // prediction alone); known frames are the clean references.
        guidedX0(prediction, sample, this.predictionCoefficients(t), t >= guidanceFrom ? input.guidance : 1, clip, x0);
        reimposeKnown(x0);
        // 5d. Sampler step, then the known frames back in place.
        sample = sampler.step(x0, t, sample);
        reimposeKnown(sample);
        // 5e. Progress across the whole job, every step; a preview of the current estimate at the first step (at
        // once) and then at most every previewInterval (made while the next step runs).
        done++;
        if (options.onProgress) {
          const onProgress = options.onProgress;
          const step = done;
          const withPreview = step === 1 || performance.now() - lastPreviewAt >= previewInterval;
          reportPending = async () => {
            // One frame through the decoder (latent packages) a preview: the preview slot of the current estimate.
            let previewJpeg: Uint8Array | null = null;
            if (withPreview) {
              lastPreviewAt = performance.now();
              const [previewFrame] = await this.codec.decode([x0.subarray(previewSlot * frameSize, (previewSlot + 1) * frameSize)]);
              const shown = options.previewFrame?.(previewFrame!) ?? { planar: previewFrame!, width: this.outputWidth, height: this.outputHeight };
              previewJpeg = this.previews.encode(shown.planar, shown.width, shown.height);
            }
            const elapsedSeconds = (performance.now() - samplingStarted) / 1000;
            onProgress({ stage: 'sampling', step, total, etaSeconds: (elapsedSeconds / step) * (total - step), previewJpeg });
          };
          if (step === 1) {
            await reportPending();
            reportPending = null;
          }
        }
      }
      // 5f. This window's frames: carry the ones later windows see (still sampled values), decode all at once
      // into RGB at the output size.
      const generated = window.slots.flatMap((slot, i) => (slot.kind === 'generate' ? [{ frame: slot.frame, sampled: sample.subarray(i * frameSize, (i + 1) * frameSize) }] : []));
      for (const { frame, sampled } of generated) if ((lastUse.get(frame) ?? -1) > w) carried.set(frame, sampled.slice());
      const decoded = await this.codec.decode(generated.map((g) => g.sampled));
      const outputPixels = this.outputWidth * this.outputHeight;
      generated.forEach(({ frame }, i) => {
        output[frame] = modelToRgb(decoded[i]!, outputPixels);
        if (m.channels > 3) options.onExtraPlanes?.(frame, decoded[i]!.slice(3 * outputPixels));
      });
      for (const frame of carried.keys()) if (lastUse.get(frame)! <= w) carried.delete(frame);
    }

    // 6. The last progress report.
    await reportPending?.();
    return output;
  }

  /** A reference frame in model values [C, H, W]: its RGB, then its planes of the channels beyond RGB (checkInput
   * has checked they are there). */
  private modelFrame(input: PipelineInput, side: 'before' | 'after', index: number, pixels: number): Float32Array {
    const rgb = rgbToModel(input[side][index]!, pixels);
    if (this.manifest.channels === 3) return rgb;
    const frame = new Float32Array(this.manifest.channels * pixels);
    frame.set(rgb);
    frame.set(input.extraPlanes![side][index]!, 3 * pixels);
    return frame;
  }

  /** The reference frames drawn back by the decoder from their codes, compared with the frames read (read-back.ts). */
  private async readBack(frames: { frame: RgbFrame; sampled: Float32Array }[]): Promise<ReadBack> {
    const drawn = await this.codec.decode(frames.map((f) => f.sampled));
    const size = (width: number, height: number) => ({ width, height });
    return measureReadBack(frames.map((f) => f.frame), size(this.referenceWidth, this.referenceHeight), drawn, size(this.outputWidth, this.outputHeight), size(this.nativeWidth, this.nativeHeight));
  }

  private checkInput(input: PipelineInput, pixels: number): void {
    const bad = (field: string, message: string) => new LongshotError('bad_request', `${field}: ${message}`, { field });
    const [fpsLow, fpsHigh] = this.manifest.fps_range;
    if (!Number.isInteger(input.frameCount) || input.frameCount < 1) throw bad('frameCount', `must be a whole number ≥ 1, got ${input.frameCount}`);
    if (!(input.fps >= fpsLow && input.fps <= fpsHigh)) throw bad('fps', `${this.modelName} generates at ${fpsLow}–${fpsHigh} fps, got ${input.fps}`);
    if (!Number.isInteger(input.steps) || input.steps < 1) throw bad('steps', `must be a whole number ≥ 1, got ${input.steps}`);
    if (!(input.guidance >= 0 && Number.isFinite(input.guidance))) throw bad('guidance', `must be a finite number ≥ 0, got ${input.guidance}`);
    if (!Number.isInteger(input.seed) || input.seed < 0 || input.seed >= 2 ** 32) throw bad('seed', `must be a whole number in [0, 2^32), got ${input.seed}`);
    const extra = (this.manifest.channels - 3) * pixels;
    for (const side of ['before', 'after'] as const) {
      input[side].forEach((frame, i) => {
        if (frame.length !== pixels * 3) throw bad(`${side}[${i}]`, `a reference frame must be ${this.referenceWidth}x${this.referenceHeight} RGB (${pixels * 3} bytes), got ${frame.length} bytes`);
        if (extra && input.extraPlanes?.[side][i]?.length !== extra) {
          throw bad(`extraPlanes.${side}[${i}]`, `${this.modelName} has ${this.manifest.channels} channels: each reference frame needs its ${this.manifest.channels - 3} planes beyond RGB (${extra} values; the footage pipeline measures them)`);
        }
      });
    }
  }

  /** x0 = onSample·x_t + onPrediction·prediction: v gives x0 = alpha·x − sigma·v; eps gives x0 = (x − sigma·eps)/alpha. */
  private predictionCoefficients(t: number): { onSample: number; onPrediction: number } {
    const alpha = alphaAt(this.manifest.schedule, t);
    const sigma = sigmaAt(this.manifest.schedule, t);
    return this.manifest.prediction === 'v' ? { onSample: alpha, onPrediction: -sigma } : { onSample: 1 / alpha, onPrediction: -sigma / alpha };
  }

  async close(): Promise<void> {
    await this.queue;
    await Promise.all([this.runner.close(), this.codec.close(), this.text.close()]);
  }
}

/**
 * x0 of the guided prediction into `out`, with the first `clip.clipped` values of each frame of `clip.frameSize`
 * clipped to `clip.range` when given (pixel space, as DDPM's clip_sample: the RGB planes). Rows
 * 0 and 1 of `prediction` are the prompt and the unconditional prompt; pred = uncond + guidance·(cond − uncond).
 * Both conversions are linear in the prediction, so guiding the prediction is guiding x0. The clip is written
 * without branches, (|v − low| − |v − high| + low + high) / 2: a compare per value mispredicts wherever the
 * estimate sits near the range's ends (measured: 1.7 ms a window step against 0.6 ms).
 */
function guidedX0(prediction: Float32Array, sample: Float32Array, k: { onSample: number; onPrediction: number }, guidance: number, clip: { range: [number, number]; frameSize: number; clipped: number } | null, out: Float32Array): void {
  const { onSample, onPrediction } = k;
  const n = sample.length;
  const onCond = onPrediction * guidance;
  const onUncond = onPrediction * (1 - guidance);
  const cond = prediction.subarray(0, n);
  const uncond = prediction.subarray(n, 2 * n);
  for (let i = 0; i < n; i++) out[i] = onSample * sample[i]! + onCond * cond[i]! + onUncond * uncond[i]!;
  if (!clip) return;
  const [low, high] = clip.range;
  for (let start = 0; start < n; start += clip.frameSize) {
    const end = start + clip.clipped;
    for (let i = start; i < end; i++) {
      const value = out[i]!;
      out[i] = (Math.abs(value - low) - Math.abs(value - high) + low + high) * 0.5;
    }
  }
}

/** The window position shown in previews: the middle of the frames this window generates. */
function previewSlotOf(window: WindowPlan): number {
  const generated = window.slots.flatMap((s, i) => (s.kind === 'generate' ? [i] : []));
  return generated[Math.floor(generated.length / 2)]!;
}

export { modelToRgb, rgbToModel } from './pixels';
