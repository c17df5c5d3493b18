import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pino, { type Logger } from 'pino';
import { ERROR_CODES, LongshotError, type ErrorCode } from '../../shared/errors';
import { PROJECT_ROOT } from '../config';
import type { ReadBack } from './read-back';
import type { PipelineInput, PipelineProgress, PipelineRunOptions, RgbFrame, VideoPipeline, VideoPipelineInfo } from './types';

/** The bundle of engine-worker.ts (npm run build). */
export const ENGINE_WORKER_PATH = path.join(PROJECT_ROOT, 'dist', 'engine-worker.cjs');

/**
 * How long a cancelled run may take to stop on its own (it stops before its next sampler step, tens of ms) before the
 * engine's thread is stopped under it: session creation and a clip's motion transfer are single calls that cannot
 * look at the cancel, and the next job then loads its model again.
 */
export const CANCEL_GRACE_MS = 1500;

/** What the engine's thread is started with. */
export interface EngineWorkerData {
  device: string;
  threads: number;
  logLevel: string;
  /** Where optimised graphs are kept (ort-session-cache.ts); none: each load optimises again. */
  graphCacheDir: string | null;
}

/** What the daemon's thread asks of the engine's; `id` pairs each request with its reply. */
export type EngineRequest =
  | { type: 'load'; id: number; packageDir: string }
  | { type: 'unknownWords'; id: number; pipeline: number; prompt: string }
  | { type: 'run'; id: number; pipeline: number; input: PipelineInput; previewIntervalMs?: number; wantsReadBack: boolean }
  | { type: 'cancel'; id: number }
  | { type: 'close'; id: number; pipeline: number };

/** An error as it crosses between the threads: a LongshotError keeps its code and field; anything else its message. */
export interface WireError {
  code: ErrorCode | null;
  message: string;
  field?: string;
}

/** What the engine's thread answers: one `result` or `error` per request, progress and read-back of a run before it, log lines any time. */
export type EngineReply =
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'progress'; id: number; progress: PipelineProgress }
  | { type: 'readBack'; id: number; readBack: ReadBack }
  | { type: 'log'; line: string };

export function errorToWire(err: unknown): WireError {
  if (err instanceof LongshotError) return { code: err.code, message: err.message, field: err.field };
  return { code: null, message: err instanceof Error ? err.message : String(err) };
}

function errorFromWire(wire: WireError): Error {
  if (wire.code && (ERROR_CODES as readonly string[]).includes(wire.code)) return new LongshotError(wire.code, wire.message, { field: wire.field });
  return new Error(wire.message);
}

/** The descriptive part of a pipeline, as plain data. */
export function describePipeline(p: VideoPipelineInfo): VideoPipelineInfo {
  const { modelName, modelVersion, provider, footageSized, nativeWidth, nativeHeight, outputWidth, outputHeight, referenceWidth, referenceHeight, contextFrames, defaults } = p;
  return { modelName, modelVersion, provider, footageSized, nativeWidth, nativeHeight, outputWidth, outputHeight, referenceWidth, referenceHeight, contextFrames, defaults };
}

/**
 * The arrays, each on an ArrayBuffer of its own (copied where it is a view of a larger one or shares one), with those
 * buffers: what postMessage moves instead of copying (a clip's frames at the footage's size are gigabytes at most).
 */
export function movable(arrays: Uint8Array[]): { arrays: Uint8Array[]; transfer: ArrayBuffer[] } {
  const seen = new Set<ArrayBufferLike>();
  const owned = arrays.map((a) => {
    const own = a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer && !seen.has(a.buffer);
    const out = own ? a : a.slice();
    seen.add(out.buffer);
    return out;
  });
  return { arrays: owned, transfer: owned.map((a) => a.buffer as ArrayBuffer) };
}

/** A request waiting for its reply. */
interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  onProgress?: (progress: PipelineProgress) => void;
  onReadBack?: (readBack: ReadBack) => void;
}

/** What {@link EngineThread} needs: the engine's settings and the daemon's logger (its level and where lines go). */
export interface EngineThreadOptions {
  device: string;
  threads: number;
  logger: Logger;
  graphCacheDir?: string;
}

/**
 * The engine's worker thread, seen from the daemon's: it starts the worker when first asked, relays its log lines,
 * and when the worker dies (an uncaught error, out of memory, stopped under a cancelled run) fails what was asked of
 * it and starts a fresh one on the next request. Pipelines it loaded are then gone; {@link WorkerVideoPipeline}
 * loads its package again.
 */
export class EngineThread {
  private worker: Worker | null = null;
  /** Counts workers started: a pipeline loaded by an earlier one is gone. */
  private generation = 0;
  private nextId = 1;
  private readonly pending = new Map<number, PendingCall>();
  private closed = false;

  constructor(private readonly options: EngineThreadOptions) {}

  /** Loads a package on the engine's thread (creating its ORT sessions there); what the daemon calls a pipeline. */
  async load(packageDir: string): Promise<WorkerVideoPipeline> {
    const loaded = await this.loadHandle(packageDir);
    return new WorkerVideoPipeline(this, packageDir, loaded.info, loaded.handle);
  }

  /** Loads a package, answering its pipeline's id on the worker of the current generation. */
  async loadHandle(packageDir: string): Promise<{ info: VideoPipelineInfo; handle: PipelineHandle }> {
    const id = this.requestId();
    const generation = this.start();
    const info = (await this.call({ type: 'load', id, packageDir })) as VideoPipelineInfo;
    return { info, handle: { id, generation } };
  }

  /** Whether a pipeline loaded as `handle` still lives on the engine's thread. */
  holds(handle: PipelineHandle): boolean {
    return this.worker !== null && handle.generation === this.generation;
  }

  /** Sends a request and resolves with its result (after relaying its progress). */
  call(request: Exclude<EngineRequest, { type: 'cancel' }>, handlers: Pick<PendingCall, 'onProgress' | 'onReadBack'> = {}, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new LongshotError('engine_failed', "the engine's thread is not running; submit the job again"));
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject, ...handlers });
      worker.postMessage(request, transfer);
    });
  }

  /** Tells a run to stop before its next step. */
  cancel(id: number): void {
    this.worker?.postMessage({ type: 'cancel', id } satisfies EngineRequest);
  }

  /** A new request id. */
  requestId(): number {
    return this.nextId++;
  }

  /** Stops the worker now (what it was asked fails, naming `why`); the next request starts a fresh one. */
  stop(why: string): void {
    const worker = this.worker;
    if (!worker) return;
    this.options.logger.warn({ why }, "stopping the engine's thread");
    this.lost(worker, why);
    void worker.terminate();
  }

  /** Stops the worker for good (the daemon is closing). */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    this.lost(worker, 'the daemon is shutting down');
    await worker.terminate();
  }

  /** The current worker's generation, starting one when there is none. */
  private start(): number {
    if (this.worker) return this.generation;
    if (this.closed) throw new LongshotError('unavailable', 'the daemon is shutting down');
    if (!fs.existsSync(ENGINE_WORKER_PATH)) throw new LongshotError('engine_failed', `${ENGINE_WORKER_PATH} is missing: build the daemon with \`npm run build\``);
    const { device, threads, logger, graphCacheDir } = this.options;
    const workerData: EngineWorkerData = { device, threads, logLevel: logger.level, graphCacheDir: graphCacheDir ?? null };
    const worker = new Worker(ENGINE_WORKER_PATH, { workerData });
    this.worker = worker;
    this.generation++;
    worker.on('message', (reply: EngineReply) => this.receive(reply));
    worker.on('error', (err) => {
      logger.error({ err }, "the engine's thread failed");
      this.lost(worker, `it failed: ${err.message}`);
    });
    worker.on('exit', (code) => this.lost(worker, `it exited with code ${code}`));
    return this.generation;
  }

  /** The worker is gone: every request it held fails, and the next one starts a fresh worker. */
  private lost(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    const error = new LongshotError('engine_failed', `the engine's thread stopped (${why}); the job failed, and the next one loads its model again`);
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }

  private receive(reply: EngineReply): void {
    if (reply.type === 'log') return relayLog(this.options.logger, reply.line);
    const call = this.pending.get(reply.id);
    if (!call) return;
    if (reply.type === 'progress') return call.onProgress?.(reply.progress);
    if (reply.type === 'readBack') return call.onReadBack?.(reply.readBack);
    this.pending.delete(reply.id);
    if (reply.type === 'result') call.resolve(reply.value);
    else call.reject(errorFromWire(reply.error));
  }
}

/** A pipeline on the engine's thread: its id there and the worker generation that loaded it. */
export interface PipelineHandle {
  id: number;
  generation: number;
}

/** Writes a line the engine's logger made through the daemon's logger, at its level. */
function relayLog(logger: Logger, line: string): void {
  const { level, msg, time: _time, ...fields } = JSON.parse(line) as { level: number; msg?: string; time?: number };
  const label = pino.levels.labels[level] as pino.Level | undefined;
  if (label) logger[label](fields, msg);
}

/**
 * A model loaded on the engine's thread, used as any {@link VideoPipeline}: runs, progress, previews and read-backs
 * cross between the threads, and a cancel stops the run before its next step, or stops the thread after
 * {@link CANCEL_GRACE_MS}. After the thread died, the next call loads the package again.
 */
// Its descriptive fields are the engine thread's answer as it came (Object.assign in the constructor).
export interface WorkerVideoPipeline extends VideoPipelineInfo {}
export class WorkerVideoPipeline implements VideoPipeline {
  constructor(
    private readonly engine: EngineThread,
    private readonly packageDir: string,
    info: VideoPipelineInfo,
    private handle: PipelineHandle,
  ) {
    Object.assign(this, info);
  }

  async unknownWords(prompt: string): Promise<string[]> {
    const pipeline = await this.live();
    return (await this.engine.call({ type: 'unknownWords', id: this.engine.requestId(), pipeline, prompt })) as string[];
  }

  async run(input: PipelineInput, options: PipelineRunOptions = {}): Promise<RgbFrame[]> {
    const { signal } = options;
    const cancelled = () => new LongshotError('cancelled', 'generation cancelled before it started');
    if (signal?.aborted) throw cancelled();
    const pipeline = await this.live();
    if (signal?.aborted) throw cancelled();
    const id = this.engine.requestId();
    // Copies of the reference frames move across (the caller keeps its own; a frame may be a view of a larger
    // decoded buffer, which a plain postMessage would copy whole for each frame); the clip's frames move back.
    const before = input.before.map((f) => f.slice());
    const after = input.after.map((f) => f.slice());
    const running = this.engine.call(
      { type: 'run', id, pipeline, input: { ...input, before, after }, previewIntervalMs: options.previewIntervalMs, wantsReadBack: options.onReadBack !== undefined },
      // Once cancelled, a run reports nothing more: steps the engine's thread had done, or does before it reads the
      // cancel, may still be on their way.
      { onProgress: options.onProgress && ((progress) => signal?.aborted || options.onProgress!(progress)), onReadBack: options.onReadBack },
      [...before, ...after].map((f) => f.buffer as ArrayBuffer),
    ) as Promise<RgbFrame[]>;
    if (!signal) return running;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: () => void = () => undefined;
    const stopped = new Promise<never>((_resolve, reject) => {
      onAbort = () => {
        this.engine.cancel(id);
        timer = setTimeout(() => {
          // Rejected first, so the run ends cancelled rather than with the stopped thread's engine_failed.
          reject(new LongshotError('cancelled', `generation cancelled; the engine was stopped under it (it did not stop within ${CANCEL_GRACE_MS} ms)`));
          this.engine.stop(`a cancelled run did not stop within ${CANCEL_GRACE_MS} ms`);
        }, CANCEL_GRACE_MS);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([running, stopped]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      running.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    if (!this.engine.holds(this.handle)) return;
    await this.engine.call({ type: 'close', id: this.engine.requestId(), pipeline: this.handle.id });
  }

  /** The pipeline's id on the engine's thread, loading the package again when the thread that held it died. */
  private async live(): Promise<number> {
    if (!this.engine.holds(this.handle)) this.handle = (await this.engine.loadHandle(this.packageDir)).handle;
    return this.handle.id;
  }
}
