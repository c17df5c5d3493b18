import type { JobProgress, SamplerName } from '../../shared/protocol';
import type { ReadBack } from './read-back';

/** One RGB frame, 8 bits a channel, packed row-major as [H, W, 3]. */
export type RgbFrame = Uint8Array;

/** What the video pipeline needs to make one clip's frames. */
export interface PipelineInput {
  prompt: string;
  /** Exact number of frames to generate (seconds × fps, rounded as the timeline does). */
  frameCount: number;
  fps: number;
  seed: number;
  steps: number;
  guidance: number;
  sampler: SamplerName;
  /** Known frames just before the generated span, oldest first, at native size; empty when none. */
  before: RgbFrame[];
  /** Known frames just after the generated span, in time order, at native size; empty when none. */
  after: RgbFrame[];
  /** The footage's size, for a pipeline that draws at it ({@link VideoPipeline.footageSized}): `before` and
   * `after` are frames of this size, and so are the frames it returns. */
  footageSize?: { width: number; height: number };
  /** A package with channels beyond RGB (a motion latent's flow, model.json motion_latent): each reference frame's
   * planes of those channels, [C − 3, H, W] at the reference size, in model values. */
  extraPlanes?: { before: Float32Array[]; after: Float32Array[] };
}

/**
 * A job's progress (the protocol's {@link JobProgress}) as a pipeline reports it, its preview as JPEG bytes of one
 * frame of the current x0 estimate (null when none was made this step; PipelineRunOptions.previewIntervalMs): the
 * daemon encodes it as base64 only for the wire. A latent package's encoder may refine its `reading` for a second a frame.
 */
export type PipelineProgress = Omit<JobProgress, 'preview'> & { previewJpeg: Uint8Array | null };

/** Options of one pipeline run. */
export interface PipelineRunOptions {
  /** Aborting it stops the run before the next sampler step with a `cancelled` LongshotError. */
  signal?: AbortSignal;
  onProgress?: (progress: PipelineProgress) => void;
  /** Least time between two previews (the first step always has one; other reports carry none). Default
   * {@link PREVIEW_INTERVAL_MS}; 0 previews every step. */
  previewIntervalMs?: number;
  /** Draws a preview's frame (planar model values at the output size) as it will be seen: a footage pipeline
   * carries its small frames onto the footage. Default: the frame as it is. */
  previewFrame?: (planar: Float32Array) => { planar: Float32Array; width: number; height: number };
  /** Called once the reference frames are read (extends and fills): how well the package draws back what it read. */
  onReadBack?: (readBack: ReadBack) => void;
  /** A package with channels beyond RGB: each generated frame's planes of those channels ([C − 3, H, W], model
   * values), as its window finishes. */
  onExtraPlanes?: (frame: number, planes: Float32Array) => void;
}

/** A preview is a decoded frame and a JPEG (about 20 ms at 448×256 on one core, five times a U-ViT step): ten a
 * second are a live picture, one a step was most of a clip's time. */
export const PREVIEW_INTERVAL_MS = 100;

/** What a loaded model is and draws: what callers read before they run it (and what crosses to the engine's thread). */
export interface VideoPipelineInfo {
  readonly modelName: string;
  readonly modelVersion: string;
  /** The execution provider that runs the model (`cpu`, `webgpu`, `cuda`, …). */
  readonly provider: string;
  /** Whether references come in, and frames go out, at the footage's own size (`PipelineInput.footageSize`), as a
   * footage package draws them; otherwise at the reference and output sizes below. */
  readonly footageSized: boolean;
  readonly nativeWidth: number;
  readonly nativeHeight: number;
  /** The size of the frames it generates: native, or a whole multiple of it where a latent package's decoder draws larger. */
  readonly outputWidth: number;
  readonly outputHeight: number;
  /** The size reference frames go in at: native, or a whole multiple of it where a latent package's encoder reads larger. */
  readonly referenceWidth: number;
  readonly referenceHeight: number;
  /** Frames each reference side contributes (the package's `context_frames`). */
  readonly contextFrames: number;
  readonly defaults: { steps: number; guidance: number; sampler: SamplerName };
}

/** A loaded model ready to generate: the model runner, sampler and conditioning put together. */
export interface VideoPipeline extends VideoPipelineInfo {
  /** Words of a prompt the model does not know (they are ignored), so callers can warn before generating; async, as
   * the daemon's pipelines live on the engine's thread (engine-thread.ts). */
  unknownWords(prompt: string): Promise<string[]>;
  /** Generates exactly `input.frameCount` frames at the output size (references go in at the reference size). */
  run(input: PipelineInput, options?: PipelineRunOptions): Promise<RgbFrame[]>;
  /** Frees the ORT session. */
  close(): Promise<void>;
}
