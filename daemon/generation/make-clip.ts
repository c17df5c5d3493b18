import type { Logger } from 'pino';
import { LongshotError } from '../../shared/errors';
import type { GenerateRequest, JobWarning, Reference } from '../../shared/protocol';
import type { ReadBack } from '../engine/read-back';
import type { PipelineProgress, RgbFrame, VideoPipeline } from '../engine/types';
import { decodeImages, readFramesAt } from '../media/decode';
import { encodeClip, defaultOutputSize } from '../media/encode';
import { encodePoster } from '../media/poster';
import { probeMedia } from '../media/probe';
import type { Ffmpeg } from '../media/run-ffmpeg';
import type { SigningIdentity } from '../media/signing-identity';
import { LONGSHOT_VERSION } from '../config';
import { readBackWarning } from './job-warnings';
import { frameCountFor } from './request';

/** A finished clip on disk. */
export interface MadeClip {
  output: string;
  sha256: string;
  bytes: number;
  frames: number;
  /** The poster JPEG beside the clip, when one was asked for and written. */
  poster: string | null;
}

/** What making a clip needs besides the request. */
export interface MakeClipContext {
  pipeline: VideoPipeline;
  ffmpeg: Ffmpeg;
  outputPath: string;
  logger: Logger;
  signal?: AbortSignal;
  onProgress?: (progress: PipelineProgress) => void;
  /** Reads a reference image the daemon stored when it accepted the job (`{ kind: 'stored' }` references). */
  storedImage?: (name: string) => Buffer;
  /** Where to write the poster: the middle frame as a JPEG at the clip's size (none when absent). */
  posterPath?: string;
  /** The install's C2PA signer: MP4 and MOV clips carry a manifest signed with it (Content Credentials). */
  signingIdentity?: SigningIdentity;
  /** Told what the clip warns about while it is made: reference frames the model cannot read back (job-warnings.ts). */
  onWarning?: (warning: JobWarning) => void;
}

/**
 * Makes one clip from a request, in five steps: read the reference frames (media), generate the frames (engine),
 * encode and sign them (media), write the poster (media), report. Used by the daemon's jobs and by `longshot generate` alike.
 */
export async function makeClip(request: GenerateRequest & { seed: number }, ctx: MakeClipContext): Promise<MadeClip> {
  const { pipeline } = ctx;
  // 1. Reference frames at the size the model reads them; a footage model reads them at the footage's own size.
  const footage = await footageSizeOf(request.references, ctx);
  const footageSize = pipeline.footageSized ? footage ?? defaultOutputSize(pipeline.outputWidth, pipeline.outputHeight) : undefined;
  const readSize = footageSize ?? { width: pipeline.referenceWidth, height: pipeline.referenceHeight };
  // Exactly the frames the timeline needs, at the timeline's rate, at the size the pipeline draws them.
  const frameCount = frameCountFor(request.seconds, request.fps);
  const drawn = footageSize ?? { width: pipeline.outputWidth, height: pipeline.outputHeight };
  assertFramesFit(frameCount, drawn);
  const before = await readReference(request.references, 'before', ctx, readSize);
  const after = await readReference(request.references, 'after', ctx, readSize);

  // 2. Generate them.
  const steps = request.steps ?? pipeline.defaults.steps;
  const guidance = request.guidance ?? pipeline.defaults.guidance;
  const sampler = request.sampler ?? pipeline.defaults.sampler;
  ctx.logger.info({ frameCount, fps: request.fps, steps, sampler, model: pipeline.modelName, provider: pipeline.provider }, 'generation started');
  const frames = await pipeline.run(
    { prompt: request.prompt, frameCount, fps: request.fps, seed: request.seed, steps, guidance, sampler, before, after, footageSize },
    { signal: ctx.signal, onProgress: ctx.onProgress, onReadBack: (readBack) => onReadBack(ctx, readBack) },
  );

  // 3. Encode at the requested size; by default an extend's or a fill's is the footage's (an editor's clip is the
  // size of the clip it continues) and a B-roll clip's ≥ 256 px tall (H.264's 4:2:0 keeps small objects' colour
  // there; frames a decoder drew that large already are not scaled). Another aspect is cropped, never stretched.
  // With the provenance as XMP and, signed with the install's key, as a C2PA manifest.
  const size = request.width && request.height ? { width: request.width, height: request.height } : footage ?? defaultOutputSize(drawn.width, drawn.height);
  const encoded = await encodeClip(ctx.ffmpeg, frames, {
    width: drawn.width,
    height: drawn.height,
    fps: request.fps,
    outWidth: size.width,
    outHeight: size.height,
    format: request.format,
    codec: request.codec,
    outputPath: ctx.outputPath,
    signal: ctx.signal,
    metadata: {
      title: request.prompt,
      comment: JSON.stringify({ generator: 'longshot', model: `${pipeline.modelName}@${pipeline.modelVersion}`, mode: request.mode, seed: request.seed, steps, guidance, sampler, provider: pipeline.provider }),
    },
    provenance: {
      prompt: request.prompt,
      seed: request.seed,
      model: pipeline.modelName,
      modelVersion: pipeline.modelVersion,
      steps,
      guidance,
      sampler,
      mode: request.mode,
      sources: request.references.flatMap((r) => (r.source.kind === 'media' ? [r.source.path] : [])),
      creatorTool: `longshot ${LONGSHOT_VERSION}`,
    },
    credentials: ctx.signingIdentity && { identity: ctx.signingIdentity, generator: { name: 'longshot', version: LONGSHOT_VERSION } },
  });
  if (encoded.unsignedBecause) ctx.logger.warn({ output: encoded.path, because: encoded.unsignedBecause }, 'clip written without Content Credentials (its XMP is there)');

  // 4. The poster: the middle frame at the clip's size. A clip without one is still a clip, so a failure is logged.
  let poster: string | null = null;
  if (ctx.posterPath) {
    const middle = frames[Math.floor(frames.length / 2)]!;
    const posterOptions = { width: drawn.width, height: drawn.height, outWidth: size.width, outHeight: size.height, outputPath: ctx.posterPath, signal: ctx.signal };
    try {
      poster = await encodePoster(ctx.ffmpeg, middle, posterOptions);
    } catch (err) {
      ctx.logger.warn({ err, poster: ctx.posterPath }, 'poster not written; the clip is kept without one');
    }
  }
  return { output: encoded.path, sha256: encoded.sha256, bytes: encoded.bytes, frames: frameCount, poster };
}

/** How well the model drew back the reference frames it read: logged, and a warning when it could not. */
function onReadBack(ctx: MakeClipContext, readBack: ReadBack): void {
  ctx.logger.info({ model: ctx.pipeline.modelName, ...readBack }, 'reference frames read back');
  const warning = readBackWarning(ctx.pipeline.modelName, readBack);
  if (warning) ctx.onWarning?.(warning);
}

/** Generated frames are held as RGB until they are encoded; at the footage's size a long clip would hold gigabytes. */
export const MAX_FRAME_MEMORY_BYTES = 2 * 1024 ** 3;

/** Refuses, before any work, a clip whose frames would not fit {@link MAX_FRAME_MEMORY_BYTES}, saying what to shorten. */
export function assertFramesFit(frames: number, size: { width: number; height: number }): void {
  const bytes = frames * size.width * size.height * 3;
  if (bytes <= MAX_FRAME_MEMORY_BYTES) return;
  const gb = (b: number) => (b / 1024 ** 3).toFixed(1);
  throw new LongshotError(
    'bad_request',
    `request: ${frames} frames at ${size.width}x${size.height} are ${gb(bytes)} GB of frames to hold, over ${gb(MAX_FRAME_MEMORY_BYTES)} GB; make the clip shorter (seconds or fps) or smaller (width and height), or make it in parts`,
    { field: 'request' },
  );
}

/**
 * The size of the footage an extend or a fill continues: its first clip's (the one before the gap, when both are
 * clips), rounded down to even sides for 4:2:0 video. Null for B-roll and for image references.
 */
async function footageSizeOf(references: Reference[], ctx: MakeClipContext): Promise<{ width: number; height: number } | null> {
  const clips = references.flatMap((r, index) => (r.source.kind === 'media' ? [{ index, role: r.role, path: r.source.path }] : []));
  const clip = clips.find((c) => c.role === 'before') ?? clips[0];
  if (!clip) return null;
  const info = await probeMedia(ctx.ffmpeg, clip.path, `request.references[${clip.index}].source.path`, { signal: ctx.signal });
  const even = (n: number) => Math.max(2, 2 * Math.floor(n / 2));
  return { width: even(info.width), height: even(info.height) };
}

async function readReference(references: Reference[], role: 'before' | 'after', ctx: MakeClipContext, size: { width: number; height: number }): Promise<RgbFrame[]> {
  const index = references.findIndex((r) => r.role === role);
  if (index < 0) return [];
  const ref = references[index]!;
  const { pipeline } = ctx;
  const field = `request.references[${index}].source`;
  const read = { signal: ctx.signal };
  if (ref.source.kind === 'images' || ref.source.kind === 'stored') {
    const { source } = ref;
    const images = source.kind === 'images' ? source.images : source.files.map((name) => storedImage(ctx, name, `${field}.files`));
    const frames = await decodeImages(ctx.ffmpeg, images, size.width, size.height, `${field}.${source.kind === 'images' ? 'images' : 'files'}`, read);
    return role === 'before' ? frames.slice(-pipeline.contextFrames) : frames.slice(0, pipeline.contextFrames);
  }
  const frames = await readFramesAt(ctx.ffmpeg, ref.source.path, {
    ...read,
    timeSeconds: ref.source.timeSeconds,
    count: pipeline.contextFrames,
    side: role,
    width: size.width,
    height: size.height,
    field: `${field}.path`,
  });
  if (frames.length === 0) {
    throw new LongshotError('media_unreadable', `${field}.timeSeconds: no frame at ${ref.source.timeSeconds} s in ${ref.source.path}; pick a time inside the media`, { field: `${field}.timeSeconds` });
  }
  return frames;
}

function storedImage(ctx: MakeClipContext, name: string, field: string): Buffer {
  if (!ctx.storedImage) throw new LongshotError('bad_request', `${field}: stored references are read only by the daemon that stored them`, { field });
  try {
    return ctx.storedImage(name);
  } catch (err) {
    throw new LongshotError('media_unreadable', `${field}: the reference image ${name} this job stored is gone; submit the images again`, { field, cause: err });
  }
}
