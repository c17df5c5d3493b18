import type { JobView } from '../state/panel-state';
import { MAX_SEED } from '../../shared/protocol-constants';
import { PORT_HELP, jobModelText, jobPicture, jobSeedText, jobStatus, modelChoices, readSeed, readVariations } from './panel-view';

const job = (change: Partial<JobView>): JobView => ({
  id: 'j1',
  prompt: 'p',
  plan: { seconds: 4, fps: 25, before: null, after: null, anchor: { sequenceName: 'Main', startTicks: 0, frames: 100, ticksPerFrame: 10_160_640_000, preferredTrack: null }, undoLabel: 'Longshot: B-roll' },
  phase: 'queued',
  progress: null,
  preview: null,
  poster: null,
  seed: null,
  model: null,
  warnings: [],
  placeOnArrival: true,
  filePath: null,
  placement: null,
  message: null,
  createdAt: '2026-11-24T22:00:00.000Z',
  ...change,
});

describe('jobStatus', () => {
  it('says where each job stands', () => {
    expect(jobStatus(job({}))).toBe('Queued');
    expect(jobStatus(job({ phase: 'running' }))).toBe('Starting…');
    expect(jobStatus(job({ phase: 'running', progress: { stage: 'reading', step: 1, total: 4, etaSeconds: 1.5 } }))).toBe('Reading reference frame 1/4 · about 2 s left');
    expect(jobStatus(job({ phase: 'running', progress: { stage: 'sampling', step: 3, total: 12, etaSeconds: 4.2 } }))).toBe('Step 3/12 · about 5 s left');
    expect(jobStatus(job({ phase: 'running', progress: { stage: 'sampling', step: 3, total: 12, etaSeconds: null } }))).toBe('Step 3/12');
    expect(jobStatus(job({ phase: 'placed', placement: { sequenceName: 'Main', trackIndex: 2, startTicks: 0, endTicks: 1, startSeconds: 12.5, itemName: 'x.mp4' } }))).toBe('On V3 at 12.50 s in "Main"');
    expect(jobStatus(job({ phase: 'ready', message: 'finished while the panel was closed: place it when ready' }))).toMatch(/place it when ready/);
    expect(jobStatus(job({ phase: 'ready' }))).toBe('Ready to place');
    expect(jobStatus(job({ phase: 'failed', message: 'engine failed' }))).toBe('engine failed');
    expect(jobStatus(job({ phase: 'cancelled' }))).toBe('Cancelled');
  });
});

describe('jobPicture', () => {
  it('shows the live preview while sampling and the poster frame once there is one', () => {
    expect(jobPicture(job({}))).toBeNull();
    expect(jobPicture(job({ phase: 'running', preview: 'UFJF' }))).toBe('data:image/jpeg;base64,UFJF');
    expect(jobPicture(job({ phase: 'placed', preview: 'UFJF', poster: 'UE9T' }))).toBe('data:image/jpeg;base64,UE9T');
    expect(jobPicture(job({ phase: 'placed', poster: 'UE9T' }))).toBe('data:image/jpeg;base64,UE9T');
  });
});

describe('readSeed', () => {
  it('accepts every seed the daemon prints, 0 … MAX_SEED, and empty for random', () => {
    expect(readSeed('')).toEqual({ ok: true, value: undefined });
    expect(readSeed('0')).toEqual({ ok: true, value: 0 });
    expect(readSeed('214749')).toEqual({ ok: true, value: 214_749 });
    expect(readSeed(String(MAX_SEED))).toEqual({ ok: true, value: 4_294_967_295 });
    expect(readSeed('007')).toEqual({ ok: true, value: 7 });
  });

  it('refuses anything else with an inline error naming the range', () => {
    for (const bad of [String(MAX_SEED + 1), '99999999999999999999', '-1', '1.5', '1e3', '12a', '0x10', ' 1 2']) {
      expect([bad, readSeed(bad)]).toEqual([bad, { ok: false, error: 'Seed: a whole number from 0 to 4294967295 (digits only), or empty for a random one' }]);
    }
  });
});

describe('jobSeedText', () => {
  it('names the seed, or nothing when the seed is unknown', () => {
    expect(jobSeedText(job({ seed: 4_294_967_295, model: 'tiny-uvit' }))).toBe('Seed 4294967295');
    expect(jobSeedText(job({ seed: 0 }))).toBe('Seed 0');
    expect(jobSeedText(job({}))).toBe('');
  });
});

describe('jobModelText and modelChoices', () => {
  it('names the model of a job, or Automatic until the daemon has chosen it', () => {
    expect(jobModelText(job({ model: 'footage-uvit' }))).toBe('Model: footage-uvit');
    expect(jobModelText(job({}))).toBe('Model: Automatic (chosen when it starts)');
  });

  it('offers Automatic first, then each package with what it knows and serves', () => {
    const summary = { version: '1', default: false, nativeWidth: 8, nativeHeight: 8, framesPerWindow: 8, fpsRange: [6, 60] as [number, number], path: '/m' };
    expect(modelChoices([])).toEqual([{ value: '', label: 'Automatic' }]);
    expect(modelChoices([{ ...summary, name: 'shapesworld-uvit', domain: 'shapesworld', jobs: ['broll', 'extend', 'fill'] }, { ...summary, name: 'footage-uvit', domain: 'footage', jobs: ['extend', 'fill'] }])).toEqual([
      { value: '', label: 'Automatic' },
      { value: 'shapesworld-uvit', label: 'shapesworld-uvit (shapesworld: broll, extend, fill)' },
      { value: 'footage-uvit', label: 'footage-uvit (footage: extend, fill)' },
    ]);
  });
});

describe('readVariations', () => {
  it('takes 1 … MAX_VARIATIONS (empty is 1) and refuses the rest inline', () => {
    expect(readVariations('')).toEqual({ ok: true, value: 1 });
    expect(readVariations('2')).toEqual({ ok: true, value: 2 });
    expect(readVariations('16')).toEqual({ ok: true, value: 16 });
    for (const bad of ['0', '17', '-2', '2.5', 'x']) expect([bad, readVariations(bad)]).toEqual([bad, { ok: false, error: '×N: a whole number of variations from 1 to 16' }]);
  });
});

describe('PORT_HELP', () => {
  it('says plainly that the daemon port is fixed at 43117', () => {
    expect(PORT_HELP).toMatch(/127\.0\.0\.1:43117; this port is fixed/);
    expect(PORT_HELP).toMatch(/npx longshot serve/);
  });
});
