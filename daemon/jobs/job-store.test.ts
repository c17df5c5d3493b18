import Database from 'better-sqlite3';
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

describe('JobStore: model and warnings of a job', () => {
  test('a job keeps the model that runs it and its warnings in order; a retry chooses again and starts them afresh', () => {
    const store = new JobStore(path.join(tempDir(), 'jobs.sqlite'));
    const named = store.create({ ...REQUEST, model: 'tiny-uvit' });
    expect([named.model, named.warnings]).toEqual(['tiny-uvit', []]);
    const automatic = store.create(REQUEST);
    expect(automatic.model).toBeNull();
    store.setModel(automatic.id, 'footage-uvit');
    const first = { code: 'prompt_empty' as const, message: 'the prompt is empty', field: 'prompt' };
    const second = { code: 'footage_unreadable' as const, message: 'cannot read "this" footage', field: 'references' };
    store.addWarning(automatic.id, first);
    expect(store.addWarning(automatic.id, second)).toMatchObject({ model: 'footage-uvit', warnings: [first, second] });
    store.markEnded(automatic.id, 'failed', { code: 'internal', message: 'x' });
    expect(store.requeue(automatic.id)).toMatchObject({ model: null, warnings: [] });
    store.setModel(named.id, 'other');
    store.markEnded(named.id, 'cancelled', { code: 'cancelled', message: 'x' });
    expect(store.requeue(named.id).model).toBe('tiny-uvit');
    store.close();
  });

  test('a database made before models and warnings were kept gains their columns, its jobs keeping their records', () => {
    const file = path.join(tempDir(), 'jobs.sqlite');
    const old = new Database(file);
    old.exec(`CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, request TEXT NOT NULL,
      created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT, progress_step INTEGER, progress_total INTEGER, error TEXT, output TEXT, sha256 TEXT, bytes INTEGER)`);
    old.prepare(`INSERT INTO jobs (id, state, request, created_at) VALUES ('old', 'queued', ?, '2030-01-01T00:00:00Z')`).run(JSON.stringify(REQUEST));
    old.close();
    const store = new JobStore(file);
    expect(store.get('old')).toMatchObject({ id: 'old', request: REQUEST, model: null, warnings: [] });
    expect(store.addWarning('old', { code: 'prompt_empty', message: 'm' }).warnings).toEqual([{ code: 'prompt_empty', message: 'm' }]);
    store.close();
  });
});
