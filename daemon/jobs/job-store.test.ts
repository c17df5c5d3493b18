import path from 'node:path';
import { tempDir } from '../../test/support/daemon-harness';
import { JobStore } from './job-store';

const REQUEST = { mode: 'broll' as const, prompt: 'a red circle', seconds: 1, fps: 24, format: 'mp4' as const, references: [] };

describe('JobStore (real SQLite file, injected clock)', () => {
  let now: Date;
  let store: JobStore;
  beforeEach(() => {
    now = new Date('2030-01-01T00:00:00Z');
    store = new JobStore(path.join(tempDir(), 'jobs.sqlite'), () => now);
  });
  afterEach(() => store.close());

  test('lists one page at a time, newest first, with the cursor of the next page', () => {
    const ids = Array.from({ length: 5 }, () => store.create(REQUEST).id);
    const first = store.list({ limit: 2 })!;
    expect(first.jobs.map((j) => j.id)).toEqual([ids[4], ids[3]]);
    const second = store.list({ limit: 2, before: first.next! })!;
    expect(second.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const last = store.list({ limit: 2, before: second.next! })!;
    expect(last).toEqual({ jobs: [expect.objectContaining({ id: ids[0] })], next: null });
    expect(store.list({ limit: 2, before: 'no-such-id' })).toBeNull();
  });

  test('expired: ended jobs past the newest N or older than the cutoff; queued and running ones never', () => {
    const a = store.create(REQUEST);
    store.markEnded(a.id, 'failed', { code: 'internal', message: 'x' });
    now = new Date('2030-01-10T00:00:00Z');
    const b = store.create(REQUEST);
    store.markDone(b.id, { output: '/x.mp4', sha256: 'h', bytes: 1 });
    const c = store.create(REQUEST);
    store.markEnded(c.id, 'cancelled', { code: 'cancelled', message: 'x' });
    const queued = store.create(REQUEST);
    expect(store.expired(10, new Date('2030-01-05T00:00:00Z')).map((j) => j.id)).toEqual([a.id]);
    expect(store.expired(1, new Date('2029-01-01T00:00:00Z')).map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    expect(store.expired(0, new Date('2031-01-01T00:00:00Z')).map((j) => j.id)).not.toContain(queued.id);
    store.delete(a.id);
    expect(store.get(a.id)).toBeNull();
  });
});
