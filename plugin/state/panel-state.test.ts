import { modeOf } from './job-request';
import { parseHistory, serializeHistory, type JobView } from './panel-state';

const anchor = { sequenceName: 'Main', startTicks: 0, frames: 25, ticksPerFrame: 10_160_640_000, preferredTrack: null };
const plan: JobView['plan'] = { seconds: 1, fps: 25, before: null, after: null, anchor, undoLabel: 'Longshot: B-roll' };

describe('history', () => {
  it('keeps poster, seed, model and warnings across a reload, and drops the live preview', () => {
    const warnings = [{ code: 'prompt_empty' as const, message: 'the prompt is empty', field: 'prompt' }];
    const job = { id: 'j1', prompt: 'p', plan, phase: 'placed', progress: null, preview: 'UFJF', poster: 'UE9T', seed: 4_294_967_295, model: 'tiny-uvit', warnings, placeOnArrival: true, filePath: '/c.mp4', placement: null, message: null, createdAt: 'now' } as JobView;
    expect(parseHistory(serializeHistory([job]))).toEqual([{ ...job, preview: null }]);
  });

  it('reads history written before posters, seeds, models and warnings were kept', () => {
    const old = JSON.stringify([{ id: 'j0', prompt: 'p', plan, phase: 'placed', progress: null, preview: null, placeOnArrival: true, filePath: null, placement: null, message: null, createdAt: 'then' }]);
    expect(parseHistory(old)[0]).toMatchObject({ id: 'j0', poster: null, seed: null, model: null, warnings: [] });
  });

  it('reads plans written when they held the daemon\'s references, as the footage frames they name', () => {
    const fill = { mode: 'fill', seconds: 1, fps: 25, anchor, undoLabel: 'Longshot: fill gap', references: [
      { role: 'before', source: { kind: 'media', path: '/a.mp4', timeSeconds: 2 } },
      { role: 'after', source: { kind: 'media', path: '/b.mp4', timeSeconds: 0.5 } },
    ] };
    const old = JSON.stringify([{ id: 'j0', prompt: 'p', plan: fill, phase: 'placed', progress: null, preview: null, placeOnArrival: true, filePath: null, placement: null, message: null, createdAt: 'then' }]);
    const [job] = parseHistory(old);
    expect(job!.plan).toEqual({ seconds: 1, fps: 25, before: { path: '/a.mp4', timeSeconds: 2 }, after: { path: '/b.mp4', timeSeconds: 0.5 }, anchor, undoLabel: 'Longshot: fill gap' });
    expect(modeOf(job!.plan)).toBe('fill');
  });
});
