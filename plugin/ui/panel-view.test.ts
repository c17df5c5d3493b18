import type { JobView } from '../state/panel-state';
import { jobPicture, jobStatus } from './panel-view';

const job = (change: Partial<JobView>): JobView => ({
  id: 'j1',
  prompt: 'p',
  plan: { mode: 'broll', seconds: 4, fps: 25, references: [], anchor: { sequenceName: 'Main', startTicks: 0, frames: 100, ticksPerFrame: 10_160_640_000, preferredTrack: null }, undoLabel: 'Longshot: B-roll' },
  phase: 'queued',
  progress: null,
  preview: null,
  poster: null,
  seed: null,
  model: null,
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
    expect(jobStatus(job({ phase: 'running', progress: { step: 3, total: 12, etaSeconds: 4.2 } }))).toBe('Step 3/12 · about 5 s left');
    expect(jobStatus(job({ phase: 'running', progress: { step: 3, total: 12, etaSeconds: null } }))).toBe('Step 3/12');
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
