/**
 * The panel's actions: pairing, the three jobs, cancel, retry, place, reveal and copy seed. It plans with the host adapter,
 * talks to the daemon through the DaemonClient, and keeps PanelState up to date; views only call these methods.
 */
import { toErrorBody } from '../../shared/errors';
import type { Job } from '../../shared/protocol';
import { MAX_VARIATIONS, variationSeeds } from '../../shared/protocol-constants';
import type { JobPlan } from '../host/job-plans';
import type { TimelineHost } from '../host/timeline-host';
import type { DaemonClient, DaemonEvent } from '../net/daemon-client';
import type { PanelPlatform } from '../platform/platform';
import { planRequest } from './job-request';
import { HISTORY_KEY, SETTLED_PHASES, parseHistory, serializeHistory, type JobView, type PanelState } from './panel-state';
import { Store } from './store';

/** The pairing token's key in secure storage. */
export const TOKEN_KEY = 'longshot.token';

/** Which job the user asked for. */
export type JobKind = 'broll' | 'extend' | 'extend-head' | 'fill';

/** The form's values. */
export interface JobInput {
  prompt: string;
  /** Ignored for `fill`: the gap sets the length. */
  seconds: number;
  seed?: number;
  steps?: number;
  /** How many jobs to make, with seeds seed, seed+1, … (1 … MAX_VARIATIONS; default 1); each is placed as it finishes. */
  variations?: number;
  /** A model package by name; absent: Automatic (the daemon picks the one that fits the job). */
  model?: string;
}

const message = (err: unknown) => toErrorBody(err).message;

export class PanelController {
  readonly store: Store<PanelState>;

  constructor(
    private readonly deps: { client: DaemonClient; host: TimelineHost; platform: PanelPlatform; now: () => Date },
  ) {
    this.store = new Store<PanelState>({ connection: deps.client.connection, models: [], jobs: parseHistory(deps.platform.store.getItem(HISTORY_KEY)), notice: null });
  }

  /** Connects with the stored token (if paired) and follows the daemon from then on. */
  async start(): Promise<void> {
    const { client } = this.deps;
    client.onConnection((connection) => {
      this.store.update((s) => ({ ...s, connection }));
      if (connection.status === 'connected') void this.resync();
    });
    client.onEvent((event) => void this.onEvent(event));
    client.connect(await this.deps.platform.secrets.get(TOKEN_KEY));
  }

  /** Exchanges the code `npx longshot pair` shows for the token, keeps it in secure storage, and connects. */
  async pair(code: string): Promise<void> {
    if (!code.trim()) return this.notify('error', 'type the code that `npx longshot pair` shows');
    try {
      const reply = await this.deps.client.pair(code);
      await this.deps.platform.secrets.set(TOKEN_KEY, reply.token);
      this.deps.client.connect(reply.token);
      this.notify('info', `paired with ${reply.hostname}`);
    } catch (err) {
      this.notify('error', `pairing failed: ${message(err)}`);
    }
  }

  /** Plans a job on the timeline as it is now and submits it. Problems become the notice, never exceptions. */
  async generate(kind: JobKind, input: JobInput): Promise<void> {
    const { host, client } = this.deps;
    let plan: JobPlan;
    try {
      plan =
        kind === 'broll' ? await host.planBroll(input.seconds)
        : kind === 'fill' ? await host.planFill()
        : await host.planExtend(kind === 'extend' ? 'tail' : 'head', input.seconds);
    } catch (err) {
      return this.notify('error', message(err));
    }
    if (this.store.get().connection.status !== 'connected') return this.notify('error', this.store.get().connection.message);
    const count = input.variations ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > MAX_VARIATIONS) return this.notify('error', `×N: from 1 to ${MAX_VARIATIONS} variations`);
    // Variations are jobs with seeds s, s+1, …; with no seed given the daemon picks s for the first.
    let seeds = input.seed === undefined ? null : variationSeeds(input.seed, count);
    for (let i = 0; i < count; i++) {
      let job: Job;
      try {
        job = await client.submit({ ...planRequest(plan), prompt: input.prompt, seed: seeds?.[i], steps: input.steps, model: input.model, format: 'mp4' });
      } catch (err) {
        return this.notify('error', count > 1 ? `variation ${i + 1} of ${count}: ${message(err)}` : message(err));
      }
      if (seeds === null && job.request.seed !== undefined) seeds = variationSeeds(job.request.seed, count);
      this.addJob(job, input.prompt, plan);
    }
  }

  private addJob(job: Job, prompt: string, plan: JobPlan): void {
    const view: JobView = {
      id: job.id,
      prompt,
      plan,
      phase: 'queued',
      progress: null,
      preview: null,
      poster: null,
      seed: job.request.seed ?? null,
      model: job.model,
      warnings: job.warnings,
      placeOnArrival: true,
      filePath: null,
      placement: null,
      message: null,
      createdAt: this.deps.now().toISOString(),
    };
    this.store.update((s) => ({ ...s, notice: null, jobs: [view, ...s.jobs.filter((j) => j.id !== job.id)] }));
    this.persist();
  }

  cancel(jobId: string): void {
    this.tryNet(() => this.deps.client.cancel(jobId));
  }

  async retry(jobId: string): Promise<void> {
    try {
      const job = await this.deps.client.retry(jobId);
      this.patch(jobId, { phase: 'queued', progress: null, preview: null, message: null, placeOnArrival: true, placement: null, model: job.model, warnings: job.warnings });
    } catch (err) {
      this.notify('error', message(err));
    }
  }

  /** Places a finished clip that is not on the timeline yet: from disk if saved, else fetched from the daemon. */
  async place(jobId: string): Promise<void> {
    const job = this.job(jobId);
    if (!job) return;
    if (job.filePath) return this.placeFile(job, job.filePath);
    this.patch(jobId, { placeOnArrival: true, phase: 'placing', message: 'fetching the clip…' });
    this.tryNet(() => this.deps.client.subscribe(jobId, true));
  }

  /** Puts a job's seed on the clipboard. */
  async copySeed(jobId: string): Promise<void> {
    const seed = this.job(jobId)?.seed;
    if (seed === null || seed === undefined) return this.notify('error', 'this job has no seed recorded');
    try {
      await this.deps.platform.clipboard.writeText(String(seed));
      this.notify('info', `seed ${seed} copied`);
    } catch (err) {
      this.notify('error', `could not copy the seed: ${message(err)}`);
    }
  }

  async reveal(jobId: string): Promise<void> {
    const path = this.job(jobId)?.filePath;
    if (!path) return this.notify('error', 'this clip has not been received yet');
    try {
      await this.deps.platform.clips.reveal(path);
    } catch (err) {
      this.notify('error', message(err));
    }
  }

  /** After every (re)connection: the model list, then follow jobs still running, offer clips that finished while the panel was away. */
  private async resync(): Promise<void> {
    void this.fetchModels();
    let jobs: Job[];
    try {
      jobs = await this.deps.client.list();
    } catch (err) {
      return this.notify('error', message(err));
    }
    const byId = new Map(jobs.map((j) => [j.id, j]));
    for (const view of this.store.get().jobs) {
      const known = byId.get(view.id);
      if (known) this.patch(view.id, { model: known.model, warnings: known.warnings });
      if (known?.state === 'done' && view.poster === null) void this.fetchPoster(view.id);
      if (view.phase === 'placed' || view.phase === 'cancelled' || (view.phase === 'failed' && !byId.has(view.id))) continue;
      const job = byId.get(view.id);
      if (!job) {
        this.patch(view.id, { phase: 'failed', message: 'the daemon no longer has this job (its data folder changed?)' });
      } else if (job.state === 'queued' || job.state === 'running') {
        this.patch(view.id, { phase: job.state });
        this.tryNet(() => this.deps.client.subscribe(job.id, true));
      } else if (job.state === 'done' && view.phase !== 'ready') {
        this.patch(view.id, { phase: 'ready', placeOnArrival: false, progress: null, message: 'finished while the panel was closed: place it when ready' });
      } else if (job.state !== 'done') {
        this.patch(view.id, { phase: job.state === 'cancelled' ? 'cancelled' : 'failed', message: job.error?.message ?? `the job was ${job.state}` });
      }
    }
  }

  private async onEvent(event: DaemonEvent): Promise<void> {
    if (event.type === 'notice') return this.notify('error', event.error.message);
    const job = this.job(event.jobId);
    if (!job) return;
    switch (event.type) {
      case 'started':
        return this.patch(job.id, { phase: 'running', model: event.job.model });
      case 'warning':
        return this.patch(job.id, { warnings: [...job.warnings, event.warning] });
      case 'progress':
        return this.patch(job.id, { phase: 'running', progress: { stage: event.stage, step: event.step, total: event.total, etaSeconds: event.etaSeconds }, preview: event.preview ?? job.preview });
      case 'clip-file': {
        // Marked before the first await: the job's `done` follows this event at once and must see it.
        if (job.placeOnArrival) this.patch(job.id, { phase: 'placing', message: null });
        let path: string;
        try {
          path = await this.deps.platform.clips.save(event.file.fileName, event.file.bytes);
        } catch (err) {
          return this.patch(job.id, { phase: 'ready', message: `could not save the clip: ${message(err)}` });
        }
        this.patch(job.id, { filePath: path });
        if (job.placeOnArrival) return this.placeFile(this.job(job.id)!, path);
        return this.patch(job.id, { phase: 'ready' });
      }
      case 'clip-damaged':
        return this.patch(job.id, { phase: 'ready', message: event.error.message });
      case 'done':
        this.patch(job.id, { model: event.job.model, warnings: event.job.warnings });
        if (!SETTLED_PHASES.includes(job.phase) && job.phase !== 'placing') this.patch(job.id, { phase: 'ready', progress: null });
        if (job.poster === null) void this.fetchPoster(job.id);
        return;
      case 'failed':
        return this.patch(job.id, { phase: 'failed', message: event.error.message, model: event.job.model, warnings: event.job.warnings });
      case 'cancelled':
        return this.patch(job.id, { phase: 'cancelled', message: null });
    }
  }

  /** The daemon's models, for the picker; without them the panel offers Automatic only. */
  private async fetchModels(): Promise<void> {
    try {
      const models = await this.deps.client.models();
      this.store.update((s) => ({ ...s, models }));
    } catch (err) {
      this.notify('error', `could not list the daemon's models: ${message(err)}`);
    }
  }

  /** Keeps a done job's poster in its history entry; a job without one keeps showing its prompt only. */
  private async fetchPoster(jobId: string): Promise<void> {
    let poster: string | null;
    try {
      poster = await this.deps.client.poster(jobId);
    } catch (err) {
      return this.notify('error', message(err));
    }
    if (poster !== null) this.patch(jobId, { poster });
  }

  private async placeFile(job: JobView, path: string): Promise<void> {
    this.patch(job.id, { phase: 'placing', message: null });
    try {
      const placement = await this.deps.host.place(job.plan, path);
      this.patch(job.id, { phase: 'placed', placement, progress: null, message: null });
    } catch (err) {
      this.patch(job.id, { phase: 'ready', message: `not placed: ${message(err)}` });
    }
  }

  private job(id: string): JobView | undefined {
    return this.store.get().jobs.find((j) => j.id === id);
  }

  private patch(id: string, change: Partial<JobView>): void {
    this.store.update((s) => ({ ...s, jobs: s.jobs.map((j) => (j.id === id ? { ...j, ...change } : j)) }));
    this.persist();
  }

  private notify(kind: 'error' | 'info', text: string): void {
    this.store.update((s) => ({ ...s, notice: { kind, text } }));
  }

  private tryNet(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.notify('error', message(err));
    }
  }

  private persist(): void {
    this.deps.platform.store.setItem(HISTORY_KEY, serializeHistory(this.store.get().jobs));
  }
}
