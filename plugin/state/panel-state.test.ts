import { parseHistory, serializeHistory, type JobView } from './panel-state';

const plan = { mode: 'broll', seconds: 1, fps: 25, references: [], anchor: { sequenceName: 'Main', startTicks: 0, frames: 25, ticksPerFrame: 10_160_640_000, preferredTrack: null }, undoLabel: 'Longshot: B-roll' } as JobView['plan'];

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
});
