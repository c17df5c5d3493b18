/**
 * What the daemon is asked for a planned job. host/ plans in the timeline's terms (the footage frames on either side
 * of the new clip); the request's mode and references are the daemon's terms, and are built only here.
 */
import type { GenerateRequestInput, Mode, Reference } from '../../shared/protocol';
import type { FootageFrame, JobPlan } from '../host/job-plans';

/** The job a plan makes: footage on both sides is a fill, before it an extend, after it a head extend, none B-roll. */
export function modeOf(plan: Pick<JobPlan, 'before' | 'after'>): Mode {
  if (plan.before && plan.after) return 'fill';
  return plan.before ? 'extend' : plan.after ? 'extend-head' : 'broll';
}

const reference = (role: Reference['role'], frame: FootageFrame): Reference => ({ role, source: { kind: 'media', path: frame.path, timeSeconds: frame.timeSeconds } });

/** The request fields a plan fixes: the mode, the frame-exact length and rate, and the footage read on each side. */
export function planRequest(plan: JobPlan): Pick<GenerateRequestInput, 'mode' | 'seconds' | 'fps' | 'references'> {
  return {
    mode: modeOf(plan),
    seconds: plan.seconds,
    fps: plan.fps,
    references: [...(plan.before ? [reference('before', plan.before)] : []), ...(plan.after ? [reference('after', plan.after)] : [])],
  };
}
