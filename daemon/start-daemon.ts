import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { machineIdSync } from 'node-machine-id';
import type { Logger } from 'pino';
import { LongshotError } from '../shared/errors';
import { PROTOCOL_VERSION, type DaemonInfo, type GenerateRequest, type Job } from '../shared/protocol';
import { LONGSHOT_VERSION, type Config } from './config';
import { EngineThread } from './engine/engine-thread';
import { OptimizedGraphCache } from './engine/ort-session-cache';
import { makeClip } from './generation/make-clip';
import { ModelRegistry } from './generation/model-registry';
import { ReferenceCheck } from './generation/reference-check';
import { JobQueue, type JobRunner } from './jobs/job-queue';
import { JobStore } from './jobs/job-store';
import { resolveFfmpeg } from './media/ffmpeg-path';
import { sweepTempFiles } from './media/encode';
import { FfmpegChildren, sweepOrphanFfmpeg, type Ffmpeg } from './media/run-ffmpeg';
import { loadSigningIdentity } from './media/signing-identity';
import { securePrivateTree } from './data-dir';
import { JobFiles, storedFiles } from './jobs/job-files';
import { createHttpApp, HTTP_LIMITS, type HttpLimits } from './server/http-app';
import { Pairing } from './server/pairing';
import { attachStream, STREAM_LIMITS, type StreamLimits } from './server/stream';

/**
 * HTTP timeouts: slow-loris clients are cut off; long clip downloads are not (the idle timer resets on data). At most
 * `maxConnections` sockets at once (the panel needs two or three).
 */
export const SERVER_LIMITS = { maxHeaderSize: 16 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 120_000, idleTimeoutMs: 120_000, keepAliveTimeoutMs: 5_000, maxConnections: 128 };

/** A running daemon. */
export interface RunningDaemon {
  port: number;
  url: string;
  pairing: Pairing;
  queue: JobQueue;
  models: ModelRegistry;
  /** The thread that loads models and runs their jobs' generation. */
  engine: EngineThread;
  /** The ffmpeg every job runs. */
  ffmpeg: Ffmpeg;
  close(): Promise<void>;
}

/** Options beyond the config, for embedding (tests serve the panel from a page of their own origin). */
export interface StartOptions {
  logger: Logger;
  allowedOrigins?: string[];
  /** Load the default model at start so the first job and `/health` need not wait (default true). */
  preload?: boolean;
  /** Tighter body and stream limits than the defaults (tests reach them with a few messages). */
  httpLimits?: Partial<HttpLimits>;
  streamLimits?: Partial<StreamLimits>;
}

/** Why the daemon cannot listen on its port, said with the flag that changes it. */
function listenError(err: NodeJS.ErrnoException, port: number): Error {
  if (err.code === 'EADDRINUSE') {
    return new LongshotError('conflict', `--port: 127.0.0.1:${port} is already in use (another Longshot daemon? \`curl http://127.0.0.1:${port}/health\` tells); stop it, or start this one with another --port`, { field: 'port', cause: err });
  }
  if (err.code === 'EACCES') return new LongshotError('forbidden', `--port: this user may not listen on port ${port}; pick one above 1023 with --port`, { field: 'port', cause: err });
  return err;
}

/** `work`'s result, or a `cancelled` error as soon as `signal` aborts (the work itself goes on). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new LongshotError('cancelled', 'cancelled before its model was loaded'));
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new LongshotError('cancelled', 'cancelled while its model was loading'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** A stable id for this machine (hashed by node-machine-id); a random one kept in the data folder where the OS has none. */
export function machineId(dataDir: string): string {
  try {
    return machineIdSync();
  } catch {
    const file = path.join(dataDir, 'machine-id');
    if (!fs.existsSync(file)) fs.writeFileSync(file, randomBytes(16).toString('hex'), { mode: 0o600 });
    return fs.readFileSync(file, 'utf8').trim();
  }
}

/**
 * Starts the daemon: data folder, job store and queue, model registry, then HTTP + WebSocket on 127.0.0.1 only.
 */
export async function startDaemon(config: Config, options: StartOptions): Promise<RunningDaemon> {
  const { logger } = options;
  // 1. Data folder: the database, clips, references, the pairing token and the Content Credentials key, readable by
  // this user only (0700/0600, checked again at every start); ffmpeg processes a crashed daemon left running are killed.
  const fixed = securePrivateTree(config.dataDir);
  if (fixed.length) logger.warn({ paths: fixed.length }, 'data folder was readable by others; made it private (0700/0600)');
  const pidDir = path.join(config.dataDir, 'run');
  const orphans = sweepOrphanFfmpeg(pidDir);
  if (orphans.length) logger.warn({ pids: orphans }, 'killed ffmpeg processes left by a crashed daemon');
  const children = new FfmpegChildren(pidDir);
  const killChildren = () => children.killAll();
  process.on('exit', killChildren);
  const files = new JobFiles(path.join(config.dataDir, 'references'), path.join(config.dataDir, 'clips'));
  const clipsDir = files.clipsDir;
  const swept = await sweepTempFiles(clipsDir);
  if (swept.length) logger.info({ files: swept.length }, 'removed unfinished clips left by a crash');
  const pairing = new Pairing(config.dataDir);
  pairing.token();
  const tokenNotice = pairing.tokenNotice();
  if (tokenNotice) logger.warn(tokenNotice);
  const machine = machineId(config.dataDir);
  const signingIdentity = loadSigningIdentity(config.dataDir);

  // 2. Media and models.
  const ffmpeg = await resolveFfmpeg(config.ffmpegPath, children);
  // Models load, sample and carry motion on the engine's thread (engine-thread.ts): seconds of CPU that would
  // otherwise keep this thread from answering anyone.
  const engine = new EngineThread({ device: config.device, threads: config.threads, logger, graphCacheDir: OptimizedGraphCache.inDataDir(config.dataDir).dir });
  const models = new ModelRegistry(config.modelsDir, config.defaultModel, (dir) => engine.load(dir), logger);

  // 3. Jobs: each runs through the same makeClip as `longshot generate`.
  const jobsFile = path.join(config.dataDir, 'jobs.sqlite');
  const store = new JobStore(jobsFile);
  if (store.damaged) {
    logger.error({ file: jobsFile, movedTo: store.damaged.movedTo, reason: store.damaged.reason }, `${jobsFile} was damaged (${store.damaged.reason}); moved it to ${store.damaged.movedTo} and started a new, empty job history`);
  }
  const clipCount = fs.readdirSync(clipsDir).length;
  if (clipCount > 0 && store.list({ limit: 1 })!.jobs.length === 0) {
    logger.warn({ file: jobsFile, clipsDir, clips: clipCount }, `${jobsFile} holds no jobs, but ${clipsDir} holds ${clipCount} files: the job history was lost (the database replaced or emptied); the clips stay there`);
  }
  const stray = files.sweepUnreferenced(new Set(store.requests().flatMap(storedFiles)));
  if (stray.length) logger.info({ files: stray.length }, 'removed reference images no job names (left by a crash or a full disk)');
  const runner: JobRunner = async (job, { signal, onProgress, onWarning }) => {
    // A model still loading does not hold a cancel up: the load goes on for the next job, this one ends now.
    const { pipeline, warnings } = await untilAborted(models.prepare(job.request, job.model ?? undefined), signal);
    warnings.forEach(onWarning);
    const clip = await makeClip(
      { ...job.request, seed: job.request.seed ?? 0 },
      { pipeline, ffmpeg, outputPath: files.outputPath(job), posterPath: files.posterPath(job), logger: logger.child({ jobId: job.id }), signal, onProgress, onWarning, storedImage: (name) => files.read(name), signingIdentity },
    );
    return { output: clip.output, sha256: clip.sha256, bytes: clip.bytes };
  };
  const queue = new JobQueue(store, runner, {
    queueCap: config.queueCap,
    logger,
    files,
    limits: { maxJobCost: config.maxJobCost, maxOutputBytes: config.maxOutputBytes, maxOutputSide: config.maxOutputSide },
    retention: { keepJobs: config.keepJobs, keepDays: config.keepDays },
    chooseModel: async (request) => (await models.choose(request)).name,
  });

  // A job whose media references cannot be read is refused at submit, before it is stored.
  const references = new ReferenceCheck(ffmpeg);
  const submit = async (request: GenerateRequest): Promise<Job> => {
    queue.assertAcceptable(request);
    await references.assertUsable(request);
    return queue.submit(request);
  };

  const info = (): DaemonInfo => ({
    name: 'longshot',
    version: LONGSHOT_VERSION,
    protocol: PROTOCOL_VERSION,
    machine,
    hostname: os.hostname(),
    model: models.ready?.modelName ?? null,
    provider: models.ready?.provider ?? null,
  });

  // 4. The edge: one port, loopback only.
  const services = { queue, submit, pairing, info, models: () => models.list(), poster: (job: Job) => files.posterOf(job), logger, allowedOrigins: options.allowedOrigins ?? [] };
  const server = http.createServer(
    { maxHeaderSize: SERVER_LIMITS.maxHeaderSize, headersTimeout: SERVER_LIMITS.headersTimeoutMs, requestTimeout: SERVER_LIMITS.requestTimeoutMs, keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs },
    createHttpApp(services, { ...HTTP_LIMITS, ...options.httpLimits }),
  );
  server.setTimeout(SERVER_LIMITS.idleTimeoutMs);
  server.maxConnections = SERVER_LIMITS.maxConnections;
  const closeStream = attachStream(server, services, { ...STREAM_LIMITS, ...options.streamLimits });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      store.close();
      reject(listenError(err, config.port));
    });
    server.listen(config.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  logger.info({ url: `http://127.0.0.1:${port}`, dataDir: config.dataDir, ffmpeg: ffmpeg.path, ffmpegVersion: ffmpeg.version }, 'daemon listening');

  queue.start();
  if (options.preload !== false) {
    models.get().catch((err) => logger.error({ err: (err as Error).message }, 'default model failed to load; jobs will report it'));
  }

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pairing,
    queue,
    models,
    engine,
    ffmpeg,
    async close() {
      // New jobs get 503 while the running one is cancelled (its ffmpeg killed); a job that does not stop within
      // a few seconds is left interrupted, and the port is released either way.
      const stopping = queue.close();
      closeStream();
      await stopping;
      children.killAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await Promise.race([models.close(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      await engine.close();
      store.close();
      process.off('exit', killChildren);
    },
  };
}
