/** The panel's state: the connection, the jobs (with their plans, so they survive reloads) and one notice. */
import type { FootageFrame, JobPlan } from '../host/job-plans';
import type { Placement } from '../host/timeline-host';
import type { ConnectionState } from '../net/daemon-client';
import type { JobProgress, JobWarning, ModelSummary, Reference } from '../../shared/protocol';

/** Where one job stands, from the panel's side. */
export type JobPhase =
  | 'queued'
  | 'running'
  /** The clip arrived and is being written and placed. */
  | 'placing'
  | 'placed'
  /** The clip is finished but not on the timeline: finished while the panel was closed, or placing failed. */
  | 'ready'
  | 'failed'
  | 'cancelled';

/** Phases a job leaves only by a user action. */
export const SETTLED_PHASES: readonly JobPhase[] = ['placed', 'ready', 'failed', 'cancelled'];

/** One job as the panel shows and remembers it. */
export interface JobView {
  /** The daemon's job id. */
  id: string;
  prompt: string;
  plan: JobPlan;
  phase: JobPhase;
  /** The daemon's last progress: reading the reference frames (extend, fill), then sampler steps. */
  progress: Omit<JobProgress, 'preview'> | null;
  /** Base64 JPEG of the latest estimate; not kept across reloads. */
  preview: string | null;
  /** Base64 JPEG of the finished clip's middle frame (the daemon's poster); kept across reloads. */
  poster: string | null;
  /** The seed the daemon ran (it fixes one when none was asked for), so the shot can be made again. */
  seed: number | null;
  /** The model that runs it: the one asked for, or the daemon's choice once the job starts; null while that is not known. */
  model: string | null;
  /** What the daemon warned about this job (a model that does not fit the job or the footage, ignored words). */
  warnings: JobWarning[];
  /** Whether the clip goes onto the timeline as soon as it arrives (false for a job offered after a reload). */
  placeOnArrival: boolean;
  filePath: string | null;
  placement: Placement | null;
  /** What went wrong, or what the user may do next. */
  message: string | null;
  createdAt: string;
}

export interface PanelState {
  connection: ConnectionState;
  /** The daemon's model packages, for the model picker; empty until connected. */
  models: ModelSummary[];
  jobs: JobView[];
  notice: { kind: 'error' | 'info'; text: string } | null;
}

/** Jobs remembered across reloads. */
export const HISTORY_LIMIT = 50;
export const HISTORY_KEY = 'longshot.history.v1';

/** The history as stored: newest first, previews dropped (they are large and stale); posters, seeds, models and warnings kept. */
export function serializeHistory(jobs: readonly JobView[]): string {
  return JSON.stringify(jobs.slice(0, HISTORY_LIMIT).map((job) => ({ ...job, preview: null })));
}

/** Reads stored history; unreadable history (another version, a damaged store) starts empty. */
export function parseHistory(text: string | null): JobView[] {
  if (!text) return [];
  try {
    const jobs = JSON.parse(text) as unknown;
    if (!Array.isArray(jobs)) return [];
    // History written before posters, seeds, models and warnings were kept has none of them.
    return (jobs as JobView[])
      .filter((j) => typeof j?.id === 'string' && typeof j?.plan?.anchor === 'object')
      .map((j) => ({ ...j, plan: footagePlan(j.plan), poster: j.poster ?? null, seed: j.seed ?? null, model: j.model ?? null, warnings: Array.isArray(j.warnings) ? j.warnings : [] }));
  } catch {
    return [];
  }
}

/** A stored plan; one kept before plans named their footage frames held the daemon's references instead. */
function footagePlan(plan: JobPlan & { references?: Reference[] }): JobPlan {
  if (!Array.isArray(plan.references)) return plan;
  const side = (role: Reference['role']): FootageFrame | null => {
    const source = plan.references!.find((r) => r.role === role)?.source;
    return source?.kind === 'media' ? { path: source.path, timeSeconds: source.timeSeconds } : null;
  };
  return { seconds: plan.seconds, fps: plan.fps, before: side('before'), after: side('after'), anchor: plan.anchor, undoLabel: plan.undoLabel };
}
