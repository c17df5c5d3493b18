import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import { LongshotError } from '../../shared/errors';
import { GRAPH_FILE, type ModelManifest, type ModelPackage } from './model-package';
import { createRandom, fillGaussian } from './noise';
import type { OptimizedGraphCache } from './ort-session-cache';

/** Execution providers in the order `device: 'auto'` tries them on this platform; cpu always works and comes last. */
export function providerOrder(platform: NodeJS.Platform = process.platform): string[] {
  return ['webgpu', 'cuda', ...(platform === 'win32' ? ['dml'] : []), ...(platform === 'darwin' ? ['coreml'] : []), 'cpu'];
}

/** How to run a package: `device` is `auto` or a provider name; `threads` 0 lets ORT use every core; `graphCache` keeps optimised graphs. */
export interface ModelRunnerOptions {
  device: string;
  threads: number;
  logger: Logger;
  graphCache?: OptimizedGraphCache;
}

/** The input buffers of one batch of 2 (conditional, unconditional); written in place before each run. */
export interface ModelBatch {
  /** [2, F, ...one frame]: [2, F, C, H, W] in pixel space, [2, F, ...latent.shape] in latent space */
  x: Float32Array;
  /** [2, F] */
  known: Float32Array;
  /** [2] */
  t: Float32Array;
  /** [2] */
  fps: Float32Array;
  /** [2, L] token ids, or [2, L, D] a text encoder's embeddings (model.json inputs.text); row 1 the unconditional prompt */
  text: BigInt64Array | Float32Array;
}

/** Largest difference allowed between a provider's probe output and the CPU's, relative to the CPU output's peak. */
const PROBE_TOLERANCE = 0.02;

/**
 * Owns the ONNX Runtime session of one package: picks the provider (probing it), keeps one batch of 2 of input
 * tensors and one output tensor for the life of the session, so a sampler step allocates nothing on this side.
 */
export class ModelRunner {
  readonly batch: ModelBatch;
  /** [2, F, ...one frame]: the network's prediction of the last {@link run}, rewritten in place by each run. */
  readonly prediction: Float32Array;
  private readonly feeds: Record<string, ort.Tensor>;
  private readonly fetches: Record<string, ort.Tensor>;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: string,
    private readonly manifest: ModelManifest,
  ) {
    const { frames, text, length } = geometry(manifest);
    const inputs = manifest.inputs;
    this.batch = {
      x: new Float32Array(2 * length),
      known: new Float32Array(2 * frames),
      t: new Float32Array(2),
      fps: new Float32Array(2),
      text: textArray(manifest, 2 * text),
    };
    const frameDims = [2, ...manifest.inputs.x.shape.slice(1)] as number[];
    this.feeds = {
      [inputs.x.name]: new ort.Tensor('float32', this.batch.x, frameDims),
      [inputs.known.name]: new ort.Tensor('float32', this.batch.known, [2, frames]),
      [inputs.t.name]: new ort.Tensor('float32', this.batch.t, [2]),
      [inputs.fps.name]: new ort.Tensor('float32', this.batch.fps, [2]),
      [inputs.text.name]: textTensor(manifest, this.batch.text, 2),
    };
    this.prediction = new Float32Array(2 * length);
    this.fetches = { [manifest.outputs.prediction.name]: new ort.Tensor('float32', this.prediction, frameDims) };
  }

  /** Creates the session on the chosen (or first working) provider, checks its inputs against model.json, warms it up. */
  static async create(pkg: ModelPackage, options: ModelRunnerOptions): Promise<ModelRunner> {
    const { manifest } = pkg;
    const known = providerOrder();
    const device = options.device.toLowerCase();
    if (device !== 'auto' && !known.includes(device)) {
      throw new LongshotError('bad_request', `device: unknown device "${options.device}" on ${process.platform}; use auto or one of ${known.join(', ')}`, { field: 'device' });
    }
    const candidates = device === 'auto' ? known : [device];
    const failures: string[] = [];
    for (const provider of candidates) {
      let session: ort.InferenceSession | null = null;
      const started = performance.now();
      try {
        session = await createSession(pkg, GRAPH_FILE, provider, options.threads, options.graphCache);
        checkGraphTensors(session, pkg, GRAPH_FILE, prefixed('inputs', manifest.inputs), prefixed('outputs', manifest.outputs));
        await probe(session, provider, pkg, options.threads);
        const runner = new ModelRunner(session, provider, manifest);
        await runner.run(); // warm-up at batch 2, the shape every step uses
        options.logger.info({ model: manifest.name, provider, graph: GRAPH_FILE, ms: Math.round(performance.now() - started) }, 'model session ready');
        return runner;
      } catch (err) {
        await session?.release().catch(() => undefined);
        if (err instanceof LongshotError && err.code === 'model_invalid') throw err;
        const reason = (err as Error).message.split('\n')[0]!;
        failures.push(`${provider}: ${reason}`);
        options.logger.info({ provider, reason }, 'execution provider unavailable');
      }
    }
    throw new LongshotError(
      'engine_failed',
      `device: no execution provider could run ${manifest.name} (${failures.join('; ')}); ${device === 'auto' ? 'check the install' : 'use --device auto or cpu'}`,
      { field: 'device' },
    );
  }

  /** Runs the network on {@link batch}; the result is in {@link prediction}. */
  async run(): Promise<Float32Array> {
    await this.session.run(this.feeds, this.fetches);
    return this.prediction;
  }

  /** A plain `session.run` on the same input tensors, output allocated by ORT: the baseline of `longshot bench`. */
  async runBare(): Promise<void> {
    await this.session.run(this.feeds);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}

/** One window's sizes: x is [B, F, ...one frame] (a pixel frame [C, H, W] or a latent), `length` its floats a row; `text` the values of one text row. */
function geometry(manifest: ModelManifest): { frames: number; text: number; length: number } {
  const [, frames, ...frame] = manifest.inputs.x.shape as number[];
  const text = (manifest.inputs.text.shape.slice(1) as number[]).reduce((n, d) => n * d, 1);
  return { frames: frames!, text, length: frame.reduce((n, d) => n * d, frames!) };
}

/** Rows of the U-ViT's text input: token ids (int64) or a text encoder's embeddings (float32), as model.json says. */
function textArray(manifest: ModelManifest, length: number): BigInt64Array | Float32Array {
  return manifest.inputs.text.dtype === 'int64' ? new BigInt64Array(length) : new Float32Array(length);
}

function textTensor(manifest: ModelManifest, data: BigInt64Array | Float32Array, rows: number): ort.Tensor {
  const dims = [rows, ...(manifest.inputs.text.shape.slice(1) as number[])];
  return data instanceof BigInt64Array ? new ort.Tensor('int64', data, dims) : new ort.Tensor('float32', data, dims);
}

/**
 * An ORT session for one graph of a package on one provider, with the engine's thread settings (from the cache's
 * optimised copy where one is given and holds it). The CPU provider runs every valid graph, so failing there means
 * the file, not the machine: a model_invalid error naming it.
 */
export async function createSession(pkg: ModelPackage, file: string, provider: string, threads: number, cache?: OptimizedGraphCache): Promise<ort.InferenceSession> {
  const graph = path.join(pkg.dir, file);
  const sha256 = pkg.manifest.files[file]?.sha256;
  const options = sessionOptions(provider, threads);
  const created = cache && sha256 ? cache.createSession(graph, sha256, provider, options) : ort.InferenceSession.create(graph, options);
  return created.catch((err: Error) => {
    if (provider !== 'cpu') throw err;
    throw new LongshotError('model_invalid', `model package ${pkg.dir}: file ${file} cannot be loaded by onnxruntime (${err.message.split('\n')[0]})`, { cause: err });
  });
}

/**
 * A session for a graph that runs beside the U-ViT (a codec, the text encoder), on the provider the U-ViT runs on:
 * a provider that cannot run it is an engine_failed error on the device field.
 */
export async function createCompanionSession(pkg: ModelPackage, file: string, provider: string, threads: number, cache?: OptimizedGraphCache): Promise<ort.InferenceSession> {
  return createSession(pkg, file, provider, threads, cache).catch((err: Error) => {
    if (err instanceof LongshotError) throw err;
    throw new LongshotError('engine_failed', `device: ${provider} cannot run ${file} of ${pkg.manifest.name} (${err.message.split('\n')[0]}); use --device cpu`, { field: 'device', cause: err });
  });
}

function sessionOptions(provider: string, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    // Idle ORT threads would spin between runs and take the cores the sampler's JS needs: measured on 2 cores,
    // 2 s clip 1.5–1.8 s without spinning against 2.0–2.1 s with it, and the bare forward is faster too.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

/** A graph's tensor as model.json describes it; string dimensions ('B', 'N') are dynamic. */
export interface GraphTensorSpec {
  name: string;
  dtype: string;
  shape: readonly (string | number)[];
}

/** Specs keyed by their model.json path (`inputs.x`, `latent.decoder.output`, …), as the messages name them. */
export function prefixed(prefix: string, specs: Record<string, GraphTensorSpec>): Record<string, GraphTensorSpec> {
  return Object.fromEntries(Object.entries(specs).map(([key, spec]) => [`${prefix}.${key}`, spec]));
}

/** A graph must take and give exactly what model.json says: names (no more inputs), element types, fixed dimensions. */
export function checkGraphTensors(session: ort.InferenceSession, pkg: ModelPackage, file: string, inputs: Record<string, GraphTensorSpec>, outputs: Record<string, GraphTensorSpec>): void {
  const where = `model package ${pkg.dir}: file ${file}`;
  const check = (role: 'input' | 'output', key: string, spec: GraphTensorSpec, metadata: readonly ort.InferenceSession.ValueMetadata[]) => {
    const found = metadata.find((m) => m.name === spec.name);
    if (!found) throw new LongshotError('model_invalid', `${where} has no ${role} "${spec.name}" (model.json ${key}); its ${role}s are ${metadata.map((m) => m.name).join(', ')}`);
    if (!found.isTensor || found.type !== spec.dtype) throw new LongshotError('model_invalid', `${where}: ${role} "${spec.name}" is ${found.isTensor ? found.type : 'not a tensor'}, model.json ${key} says ${spec.dtype}`);
    const shape = found.shape;
    const fits = shape.length === spec.shape.length && spec.shape.every((d, i) => (typeof d === 'number' ? shape[i] === d : typeof shape[i] !== 'number' || shape[i] === -1));
    if (!fits) throw new LongshotError('model_invalid', `${where}: ${role} "${spec.name}" has shape ${JSON.stringify(shape)}, model.json ${key} says ${JSON.stringify(spec.shape)}`);
  };
  for (const [key, spec] of Object.entries(inputs)) check('input', key, spec, session.inputMetadata);
  const fed = new Set(Object.values(inputs).map((spec) => spec.name));
  const unfed = session.inputNames.filter((name) => !fed.has(name));
  if (unfed.length) throw new LongshotError('model_invalid', `${where} needs inputs model.json does not describe: ${unfed.join(', ')}`);
  for (const [key, spec] of Object.entries(outputs)) check('output', key, spec, session.outputMetadata);
}

/** A tiny seeded random batch of 1; outputs must be finite with the right length, and (off CPU) match the CPU's. */
async function probe(session: ort.InferenceSession, provider: string, pkg: ModelPackage, threads: number): Promise<void> {
  const { manifest } = pkg;
  const { frames, text, length } = geometry(manifest);
  const random = createRandom(1);
  const feeds = {
    [manifest.inputs.x.name]: new ort.Tensor('float32', fillGaussian(new Float32Array(length), random), [1, ...manifest.inputs.x.shape.slice(1)] as number[]),
    [manifest.inputs.known.name]: new ort.Tensor('float32', new Float32Array(frames), [1, frames]),
    [manifest.inputs.t.name]: new ort.Tensor('float32', new Float32Array([0.5]), [1]),
    [manifest.inputs.fps.name]: new ort.Tensor('float32', new Float32Array([24]), [1]),
    [manifest.inputs.text.name]: textTensor(manifest, textArray(manifest, text), 1),
  };
  const outputName = manifest.outputs.prediction.name;
  const output = (await session.run(feeds))[outputName]!.data as Float32Array;
  if (output.length !== length || !output.every(Number.isFinite)) throw new Error(`probe gave ${output.length} values (want ${length}) or non-finite ones`);
  if (provider === 'cpu') return;
  const reference = await ort.InferenceSession.create(path.join(pkg.dir, GRAPH_FILE), sessionOptions('cpu', threads));
  try {
    const expected = (await reference.run(feeds))[outputName]!.data as Float32Array;
    let peak = 0;
    let worst = 0;
    for (let i = 0; i < length; i++) {
      peak = Math.max(peak, Math.abs(expected[i]!));
      worst = Math.max(worst, Math.abs(expected[i]! - output[i]!));
    }
    if (worst > PROBE_TOLERANCE * Math.max(peak, 1)) throw new Error(`probe differs from the CPU result by ${worst.toFixed(4)} (peak ${peak.toFixed(3)})`);
  } finally {
    await reference.release();
  }
}
