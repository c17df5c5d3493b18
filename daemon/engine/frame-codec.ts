import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import { LongshotError } from '../../shared/errors';
import { generatedFrameSize, referenceFrameSize, type ModelManifest, type ModelPackage } from './model-package';
import { checkGraphTensors, createCompanionSession } from './model-runner';
import type { OptimizedGraphCache } from './ort-session-cache';

/** Time spent in a codec's graphs (scale and shift included) since it was made, for `longshot bench`. */
export interface CodecTiming {
  encodeMs: number;
  decodeMs: number;
}

/**
 * The space the U-ViT samples in, seen from the pipeline: frames of model pixel values [3, H, W] go in through
 * `encode`, sampled frames come back out through `decode`. Pixel packages sample frames themselves (identity);
 * latent packages sample their frame autoencoder's normalised codes.
 */
export interface FrameCodec {
  /** Floats of one sampled frame: 3·H·W in pixel space, the product of latent.shape in latent space. */
  readonly frameSize: number;
  /** The size of the frames `decode` gives: the native size, or a whole multiple of it (models/PACKAGE.md). */
  readonly decodedSize: { width: number; height: number };
  /** The size of the frames `encode` takes: the native size, or a whole multiple of it (models/PACKAGE.md). */
  readonly referenceSize: { width: number; height: number };
  readonly timing: CodecTiming;
  /** Frames [3, H, W] at referenceSize → sampled frames, one each. */
  encode(frames: Float32Array[]): Promise<Float32Array[]>;
  /** Sampled frames → frames [3, H, W] at decodedSize, one each. */
  decode(sampled: Float32Array[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** Pixel packages: the sampled frame is the frame; the same arrays come back, nothing is copied. */
export class IdentityCodec implements FrameCodec {
  readonly timing: CodecTiming = { encodeMs: 0, decodeMs: 0 };

  readonly frameSize: number;
  readonly referenceSize: { width: number; height: number };

  constructor(readonly decodedSize: { width: number; height: number }, channels = 3) {
    this.frameSize = channels * decodedSize.width * decodedSize.height;
    this.referenceSize = decodedSize;
  }

  async encode(frames: Float32Array[]): Promise<Float32Array[]> {
    return frames;
  }

  async decode(sampled: Float32Array[]): Promise<Float32Array[]> {
    return sampled;
  }

  async close(): Promise<void> {}
}

/** Pixel floats one codec run may take in (or give out): frames go through in chunks, so a long clip stays bounded. */
const CHUNK_PIXEL_FLOATS = 8 << 20;
/** Beyond this many frames a run, batching gains nothing measurable (tiny decoder: 1.5 ms a frame alone, 0.6 ms in 64). */
const MAX_CHUNK_FRAMES = 16;

type LatentSpec = NonNullable<ModelManifest['latent']>;
type CodecGraph = LatentSpec['encoder'];

/**
 * Latent packages: encoder.onnx turns frames into codes, model latent = (code − shift) · scale per latent channel
 * (the first dim of latent.shape); decoder.onnx turns code = model latent / scale + shift back into frames.
 * The decoder's session is created with the codec (every job decodes); the encoder's when a job first reads
 * references (an extend or a fill): a B-roll job never pays for it (the bundled ShapesWorld encoder, a refining one,
 * takes seconds to load).
 */
export class OnnxFrameCodec implements FrameCodec {
  readonly timing: CodecTiming = { encodeMs: 0, decodeMs: 0 };
  readonly frameSize: number;
  readonly decodedSize: { width: number; height: number };
  readonly referenceSize: { width: number; height: number };
  /** Floats of one frame going into the encoder (referenceSize) and coming out of the decoder (decodedSize). */
  private readonly encodedFrameSize: number;
  private readonly decodedFrameSize: number;
  /** Floats of one latent channel: latent.shape without its first dim. */
  private readonly channelSize: number;
  private readonly chunkFrames: number;
  /** The encoder's session once a job has asked for it; a failed creation is forgotten, so the next job retries. */
  private encoder: Promise<ort.InferenceSession> | null = null;

  private constructor(
    private readonly decoder: ort.InferenceSession,
    private readonly latent: LatentSpec,
    private readonly pkg: ModelPackage,
    private readonly settings: CodecSessionSettings,
  ) {
    const { manifest } = pkg;
    this.frameSize = latent.shape.reduce((n, d) => n * d, 1);
    this.channelSize = this.frameSize / latent.shape[0]!;
    this.decodedSize = generatedFrameSize(manifest);
    this.referenceSize = referenceFrameSize(manifest);
    this.encodedFrameSize = manifest.channels * this.referenceSize.width * this.referenceSize.height;
    this.decodedFrameSize = manifest.channels * this.decodedSize.width * this.decodedSize.height;
    this.chunkFrames = Math.max(1, Math.min(MAX_CHUNK_FRAMES, Math.floor(CHUNK_PIXEL_FLOATS / this.decodedFrameSize)));
  }

  /** Creates the decoder's session on the provider the U-ViT runs on, checked against model.json; the encoder's waits for a job. */
  static async create(pkg: ModelPackage, settings: CodecSessionSettings): Promise<OnnxFrameCodec> {
    const latent = pkg.manifest.latent;
    if (!latent) throw new LongshotError('model_invalid', `model package ${pkg.dir}: model.json "latent" is missing`);
    const decoder = await openCodecGraph(pkg, 'decoder', latent.decoder, settings);
    return new OnnxFrameCodec(decoder, latent, pkg, settings);
  }

  /** The encoder's session, created (and checked against model.json) the first time a job reads references. */
  private encoderSession(): Promise<ort.InferenceSession> {
    this.encoder ??= openCodecGraph(this.pkg, 'encoder', this.latent.encoder, this.settings).catch((err: unknown) => {
      this.encoder = null;
      throw err;
    });
    return this.encoder;
  }

  async encode(frames: Float32Array[]): Promise<Float32Array[]> {
    const encoder = await this.encoderSession(); // its creation is not the graph's time (bench's share)
    const started = performance.now();
    try {
      return await this.runInChunks(encoder, this.latent.encoder, frames, this.encodedFrameSize, this.frameSize, null, (codes) => this.normalise(codes));
    } finally {
      this.timing.encodeMs += performance.now() - started;
    }
  }

  async decode(sampled: Float32Array[]): Promise<Float32Array[]> {
    const started = performance.now();
    try {
      return await this.runInChunks(this.decoder, this.latent.decoder, sampled, this.frameSize, this.decodedFrameSize, (codes) => this.denormalise(codes), null);
    } finally {
      this.timing.decodeMs += performance.now() - started;
    }
  }

  async close(): Promise<void> {
    const encoder = await this.encoder?.catch(() => null);
    await Promise.all([encoder?.release(), this.decoder.release()]);
  }

  /** Runs a graph over items, chunkFrames at a time: [N, ...in] → [N, ...out]; the results view each chunk's output. */
  private async runInChunks(
    session: ort.InferenceSession,
    graph: CodecGraph,
    items: Float32Array[],
    inSize: number,
    outSize: number,
    beforeRun: ((input: Float32Array) => void) | null,
    afterRun: ((output: Float32Array) => void) | null,
  ): Promise<Float32Array[]> {
    const results: Float32Array[] = [];
    for (let start = 0; start < items.length; start += this.chunkFrames) {
      const chunk = items.slice(start, start + this.chunkFrames);
      const input = new Float32Array(chunk.length * inSize); // [n, ...in]
      chunk.forEach((item, i) => input.set(item, i * inSize));
      beforeRun?.(input);
      const dims = [chunk.length, ...(graph.input.shape.slice(1) as number[])];
      const output = (await session.run({ [graph.input.name]: new ort.Tensor('float32', input, dims) }))[graph.output.name]!.data as Float32Array; // [n, ...out]
      if (output.length !== chunk.length * outSize) throw new LongshotError('engine_failed', `${graph.file} gave ${output.length} values for ${chunk.length} frames, want ${chunk.length * outSize}`);
      afterRun?.(output);
      for (let i = 0; i < chunk.length; i++) results.push(output.subarray(i * outSize, (i + 1) * outSize));
    }
    return results;
  }

  /** In place, codes [n, C, ...] → model latents: (code − shift[c]) · scale[c]. */
  private normalise(codes: Float32Array): void {
    const { shift, scale } = this.latent;
    for (let i = 0; i < codes.length; i++) {
      const c = Math.floor(i / this.channelSize) % shift.length;
      codes[i] = (codes[i]! - shift[c]!) * scale[c]!;
    }
  }

  /** In place, model latents [n, C, ...] → codes: latent / scale[c] + shift[c]. */
  private denormalise(latents: Float32Array): void {
    const { shift, scale } = this.latent;
    for (let i = 0; i < latents.length; i++) {
      const c = Math.floor(i / this.channelSize) % shift.length;
      latents[i] = latents[i]! / scale[c]! + shift[c]!;
    }
  }
}

/** Where and how a codec's sessions are created: the U-ViT's provider, the engine's threads, the optimised-graph cache. */
export interface CodecSessionSettings {
  provider: string;
  threads: number;
  logger: Logger;
  cache?: OptimizedGraphCache;
}

/** One codec graph's session, checked against its model.json entry; its creation time is logged (the first clip's cost). */
async function openCodecGraph(pkg: ModelPackage, role: 'encoder' | 'decoder', graph: CodecGraph, settings: CodecSessionSettings): Promise<ort.InferenceSession> {
  const started = performance.now();
  const session = await createCompanionSession(pkg, graph.file, settings.provider, settings.threads, settings.cache);
  try {
    checkGraphTensors(session, pkg, graph.file, { [`latent.${role}.input`]: graph.input }, { [`latent.${role}.output`]: graph.output });
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
  settings.logger.info({ model: pkg.manifest.name, provider: settings.provider, graph: graph.file, ms: Math.round(performance.now() - started) }, `frame ${role} session ready`);
  return session;
}

/** The package's codec: identity for pixel packages, encoder and decoder graphs (on the U-ViT's provider) for latent ones. */
export async function createFrameCodec(pkg: ModelPackage, settings: CodecSessionSettings): Promise<FrameCodec> {
  const { manifest } = pkg;
  if (manifest.space === 'pixel') return new IdentityCodec(manifest.native, manifest.channels);
  return OnnxFrameCodec.create(pkg, settings);
}
