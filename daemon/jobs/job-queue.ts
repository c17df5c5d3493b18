import type { Logger } from 'pino';
import { LongshotError, toErrorBody, type ErrorBody } from '../../shared/errors';
import { DEFAULT_LIST_LIMIT, FINAL_STATES, type GenerateRequest, type Job, type JobWarning } from '../../shared/protocol';
import type { PipelineProgress } from '../engine/types';
import { assertAffordable, withSeed, type JobLimits } from '../generation/request';
import { INTERRUPTED_ERROR, type JobOutput, type JobStore } from './job-store';

/**
 * Runs one job, on its `model` when the queue was given `chooseModel`, to a finished clip at `outputPath`; must stop
 * with a `cancelled` LongshotError once `signal` aborts. What the job warns about goes to `onWarning`.
 */
export type JobRunner = (
  job: Job,
  context: { signal: AbortSignal; onProgress: (progress: PipelineProgress) => void; onWarning: (warning: JobWarning) => void },
) => Promise<JobOutput>;

/** What the queue tells its listeners; every job ends with exactly one of `done`, `failed`, `cancelled`. */
export type JobEvent =
  | { type: 'queued'; job: Job }
  | { type: 'started'; job: Job }
  | { type: 'progress'; job: Job; progress: PipelineProgress }
  | { type: 'warning'; job: Job; warning: JobWarning }
  | { type: 'done'; job: Job }
  | { type: 'failed'; job: Job; error: ErrorBody }
  | { type: 'cancelled'; job: Job };

/** The files a job owns: its reference images are written once when it is accepted, and deleted with it. */
export interface JobFileStore {
  /** The request to store: images written to files and named, not held. Throws `bad_request` naming the field. */
  accept(request: GenerateRequest): GenerateRequest;
  /** Deletes a job's files (reference images, clip, poster). */
  remove(job: Job): void;
  /** Deletes the files of a request that was accepted but could not be stored. */
  removeFor?(request: GenerateRequest): void;
}

/** How long ended jobs are kept: the newest `keepJobs` of them, none older than `keepDays`. */
export interface Retention {
  keepJobs: number;
  keepDays: number;
}

/** What the queue needs besides the store and the runner. */
export interface JobQueueOptions {
  queueCap: number;
  logger: Logger;
  /** Cost limits checked at submit; none when absent. */
  limits?: JobLimits;
  files?: JobFileStore;
  retention?: Retention;
  /** The clock retention reads (default: the system's). */
  now?: () => Date;
  /** How long `close()` waits for the running job to stop after it is cancelled. */
  closeTimeoutMs?: number;
  /** The model package a job runs on, chosen when it starts (recorded as `job.model` before `started`). */
  chooseModel?: (request: GenerateRequest) => Promise<string>;
}

/** Seconds a client told `unavailable` (shutting down) should wait before trying again. */
export const SHUTDOWN_RETRY_SECONDS = 5;
/** How often the queue tries again to record how jobs ended, and to start the next one, after the store failed (a full disk). */
export const RECORD_RETRY_MS = 2000;

/**
 * The job queue: jobs wait in submission order and one runs at a time (one engine). It knows nothing of HTTP,
 * WebSocket or onnxruntime: the runner is given to it, so tests can run it with any runner.
 */
export class JobQueue {
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private running: { id: string; controller: AbortController } | null = null;
  private pumping = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  /** Jobs that ended while the store could not record it (a full disk): as they ended, and the write to try again. */
  private readonly unrecorded = new Map<string, { job: Job; write: () => Job }>();
  private retryTimer: NodeJS.Timeout | null = null;

  private readonly now: () => Date;

  constructor(
    private readonly store: JobStore,
    private readonly runner: JobRunner,
    private readonly options: JobQueueOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** Recovers jobs a dead process left running, prunes old ones, then starts working through the queue. */
  start(): void {
    const interrupted = this.store.recoverInterrupted();
    for (const id of interrupted) this.options.logger.warn({ jobId: id }, 'job interrupted by a daemon restart');
    this.prune();
    this.pump();
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Throws what {@link submit} would refuse the request for now (shutting down, a full queue, over the limits). */
  assertAcceptable(request: GenerateRequest): void {
    this.assertOpen();
    this.assertRoom();
    if (this.options.limits) assertAffordable(request, this.options.limits);
  }

  /** Queues a validated request; throws `queue_full` when the queue is at its cap. */
  submit(request: GenerateRequest): Job {
    this.assertAcceptable(request);
    const stored = this.options.files ? this.options.files.accept(request) : request;
    let job: Job;
    try {
      job = this.store.create(withSeed(stored));
    } catch (err) {
      this.options.files?.removeFor?.(stored);
      throw err;
    }
    this.options.logger.info({ jobId: job.id, mode: request.mode, seconds: request.seconds, fps: request.fps }, 'job queued');
    this.emit({ type: 'queued', job });
    this.pump();
    return job;
  }

  get(id: string): Job {
    const job = this.unrecorded.get(id)?.job ?? this.store.get(id);
    if (!job) throw new LongshotError('not_found', `no job with id "${id}": list jobs with GET /v1/jobs`, { field: 'jobId' });
    return job;
  }

  /** One page of jobs, newest first (see {@link JobStore.list}). */
  list(page: { limit?: number; before?: string } = {}): { jobs: Job[]; next: string | null } {
    const found = this.store.list({ limit: page.limit ?? DEFAULT_LIST_LIMIT, before: page.before });
    if (!found) throw new LongshotError('not_found', `before: no job with id "${page.before}"; pass the \`next\` of the previous page`, { field: 'before' });
    return { ...found, jobs: found.jobs.map((job) => this.unrecorded.get(job.id)?.job ?? job) };
  }

  /** Deletes an ended job with its files (clip, poster, reference images); a queued or running one is cancelled instead. */
  remove(id: string): Job {
    const job = this.get(id);
    if (!isFinal(job)) return this.cancel(id);
    this.options.files?.remove(job);
    this.store.delete(id);
    this.unrecorded.delete(id);
    this.options.logger.info({ jobId: id }, 'job deleted');
    return job;
  }

  /** Deletes ended jobs beyond the retention setting, with their files; returns how many. */
  prune(): number {
    const { retention } = this.options;
    if (!retention) return 0;
    const cutoff = new Date(this.now().getTime() - retention.keepDays * 86_400_000);
    const expired = this.store.expired(retention.keepJobs, cutoff);
    for (const job of expired) {
      try {
        this.remove(job.id);
      } catch (err) {
        this.options.logger.error({ err, jobId: job.id }, 'pruning a job failed');
      }
    }
    if (expired.length) this.options.logger.info({ jobs: expired.length }, 'old jobs pruned');
    return expired.length;
  }

  /** Cancels a job in any state: a queued one at once, a running one before its next sampler step. Ended jobs stay as they are. */
  cancel(id: string): Job {
    const job = this.get(id);
    if (job.state === 'queued') {
      const ended = this.store.markEnded(id, 'cancelled', { code: 'cancelled', message: 'cancelled before it started' });
      this.emit({ type: 'cancelled', job: ended });
      return ended;
    }
    if (job.state === 'running' && this.running?.id === id) this.running.controller.abort();
    return job;
  }

  /** Re-runs an ended job (failed, cancelled, interrupted) with its stored request. */
  retry(id: string): Job {
    this.assertOpen();
    const job = this.get(id);
    if (job.state === 'queued' || job.state === 'running' || job.state === 'done') {
      throw new LongshotError('conflict', `job ${id} is ${job.state}; only failed, cancelled or interrupted jobs can be retried`, { field: 'jobId' });
    }
    this.assertRoom();
    const requeued = this.store.requeue(id);
    this.unrecorded.delete(id);
    this.options.logger.info({ jobId: id, was: job.state }, 'job retried');
    this.emit({ type: 'queued', job: requeued });
    this.pump();
    return requeued;
  }

  /** Stops taking jobs, cancels the running one and waits for it to end. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.running?.controller.abort();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.options.closeTimeoutMs ?? 3000)));
    const ended = await Promise.race([this.idle.then(() => 'idle' as const), deadline]);
    clearTimeout(timer);
    if (ended === 'timeout' && this.running) {
      // The runner did not stop in time: record the job as interrupted now, as a crash would leave it.
      this.store.markEnded(this.running.id, 'interrupted', INTERRUPTED_ERROR);
      this.options.logger.warn({ jobId: this.running.id }, 'running job did not stop in time; left interrupted');
    }
  }

  /** Whether the queue has stopped taking jobs. */
  get isClosed(): boolean {
    return this.closed;
  }

  private assertOpen(): void {
    if (this.closed) throw new LongshotError('unavailable', `the daemon is shutting down; submit again in ${SHUTDOWN_RETRY_SECONDS} s, once it has restarted`);
  }

  private assertRoom(): void {
    if (this.store.countInState('queued') >= this.options.queueCap) {
      throw new LongshotError('queue_full', `the queue already holds ${this.options.queueCap} jobs; wait for some to finish or cancel some`);
    }
  }

  private emit(event: JobEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.options.logger.error({ err, event: event.type }, 'job event listener failed');
      }
    }
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    // Start on a later tick: whoever submitted subscribes to the job's events before it starts.
    this.idle = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain())
      // A job that ends after close() gave up on it finds the store closed: log it, never reject unhandled. A store
      // that cannot write (a full disk) stops the queue only until a later try succeeds.
      .catch((err) => {
        this.options.logger.error({ err }, 'job queue stopped on an error; trying again shortly');
        this.retryLater();
      })
      .finally(() => {
        this.pumping = false;
      });
  }

  /** Tries again, shortly, to record how held jobs ended and to go on with the queue. */
  private retryLater(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.pump();
    }, RECORD_RETRY_MS);
    this.retryTimer.unref();
  }

  /** Records the end of jobs the store could not record before; those it still cannot stay held. */
  private recordHeld(): void {
    for (const [id, held] of this.unrecorded) {
      try {
        held.write();
        this.unrecorded.delete(id);
        this.options.logger.info({ jobId: id, state: held.job.state }, 'job end recorded after all');
      } catch {
        this.retryLater();
      }
    }
  }

  /**
   * Records how a job ended. When the store cannot (a full disk), the job still ends: it is held here as `ended`, its
   * final event goes out, and the write is tried again later (until then `get` and `list` show the held job).
   */
  private record(job: Job, ended: Pick<Job, 'state' | 'error'> & Partial<Job>, write: () => Job): Job {
    try {
      return write();
    } catch (err) {
      const held: Job = { ...job, ...ended, finishedAt: this.now().toISOString() };
      this.unrecorded.set(job.id, { job: held, write });
      this.options.logger.error({ jobId: job.id, err, state: held.state }, 'cannot record how the job ended; holding it until the store can');
      this.retryLater();
      return held;
    }
  }

  private endAs(job: Job, state: 'failed' | 'cancelled' | 'interrupted', error: ErrorBody): Job {
    return this.record(job, { state, error }, () => this.store.markEnded(job.id, state, error));
  }

  private async drain(): Promise<void> {
    this.recordHeld();
    for (let job = this.store.nextQueued(); job && !this.closed; job = this.store.nextQueued()) {
      await this.runOne(job);
    }
  }

  private async runOne(queued: Job): Promise<void> {
    const { logger } = this.options;
    const controller = new AbortController();
    let job = this.store.markRunning(queued.id);
    this.running = { id: queued.id, controller };
    const startedMs = Date.now();
    try {
      if (this.options.chooseModel) job = this.store.setModel(job.id, await this.options.chooseModel(job.request));
      logger.info({ jobId: job.id, model: job.model }, 'job started');
      this.emit({ type: 'started', job });
      const output = await this.runner(job, {
        signal: controller.signal,
        onProgress: (progress) => {
          // The job's stored progress counts sampler steps; reading is only told to the job's followers.
          if (progress.stage === 'sampling') this.noteProgress(job.id, progress.step, progress.total);
          this.emit({ type: 'progress', job, progress });
        },
        onWarning: (warning) => {
          logger.warn({ jobId: job.id, model: job.model, ...warning }, 'job warning');
          this.emit({ type: 'warning', job: this.store.addWarning(job.id, warning), warning });
        },
      });
      const done = this.record(job, { state: 'done', error: null, output: output.output, sha256: output.sha256, bytes: output.bytes }, () => this.store.markDone(job.id, output));
      logger.info({ jobId: job.id, ms: Date.now() - startedMs, output: output.output, bytes: output.bytes }, 'job done');
      this.emit({ type: 'done', job: done });
    } catch (err) {
      const error = toErrorBody(err);
      if (this.closed) {
        // A shutdown is not the user's cancel: the job can be re-run after the restart, like after a crash.
        const ended = this.endAs(job, 'interrupted', INTERRUPTED_ERROR);
        logger.warn({ jobId: job.id }, 'job interrupted by shutdown');
        this.emit({ type: 'failed', job: ended, error: INTERRUPTED_ERROR });
      } else if (controller.signal.aborted && (error.code === 'cancelled' || !(err instanceof LongshotError))) {
        const ended = this.endAs(job, 'cancelled', { code: 'cancelled', message: 'cancelled while running' });
        logger.info({ jobId: job.id, ms: Date.now() - startedMs }, 'job cancelled');
        this.emit({ type: 'cancelled', job: ended });
      } else {
        const ended = this.endAs(job, 'failed', error);
        logger.error({ jobId: job.id, err, code: error.code }, 'job failed');
        this.emit({ type: 'failed', job: ended, error });
      }
    } finally {
      this.running = null;
    }
    if (!this.closed) this.prune();
  }

  /** Stored progress is advisory: a store that cannot write it (a full disk) must not stop the job. */
  private noteProgress(id: string, step: number, total: number): void {
    try {
      this.store.setProgress(id, step, total);
    } catch (err) {
      this.options.logger.debug({ jobId: id, err }, 'progress not recorded');
    }
  }
}

/** Whether a job will change no more. */
export function isFinal(job: Job): boolean {
  return FINAL_STATES.includes(job.state);
}
