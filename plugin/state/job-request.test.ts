import type { JobPlan } from '../host/job-plans';
import { planRequest } from './job-request';

const anchor = { sequenceName: 'Main', startTicks: 0, frames: 25, ticksPerFrame: 10_160_640_000, preferredTrack: 0 };
const left = { path: '/footage/a.mp4', timeSeconds: 2.5 };
const right = { path: '/footage/b.mov', timeSeconds: 0.04 };
const plan = (before: JobPlan['before'], after: JobPlan['after']): JobPlan => ({ seconds: 1, fps: 25, before, after, anchor, undoLabel: 'Longshot' });

describe('a plan as the daemon is asked for it', () => {
  test.each([
    ['broll', null, null, []],
    ['extend', left, null, [{ role: 'before', source: { kind: 'media', ...left } }]],
    ['extend-head', null, right, [{ role: 'after', source: { kind: 'media', ...right } }]],
    ['fill', left, right, [{ role: 'before', source: { kind: 'media', ...left } }, { role: 'after', source: { kind: 'media', ...right } }]],
  ] as const)('%s: its mode and the footage frames as references, before first', (mode, before, after, references) => {
    expect(planRequest(plan(before, after))).toEqual({ mode, seconds: 1, fps: 25, references });
  });
});
