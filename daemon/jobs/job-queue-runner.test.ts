import fs from 'node:fs';
import path from 'node:path';
import { parseGenerateRequest } from '../../shared/protocol';
import { silentLogger } from '../log';
import { tempDir } from '../../test/support/daemon-harness';
import { JobFiles } from './job-files';
import { JobQueue, type JobRunner } from './job-queue';
import { JobStore } from './job-store';

const request = (extra: object = {}) => parseGenerateRequest({ prompt: 'a red circle', seconds: 1, fps: 24, steps: 2, ...extra });
const LIMITS = { maxJobCost: 1000, maxOutputBytes: 10_000_000, maxOutputSide: 1024 };

/** A queue on a real SQLite file with the given runner and a clock the test moves. */
function queueWith(runner: JobRunner, options: Partial<ConstructorParameters<typeof JobQueue>[2]> = {}) {
  const dir = tempDir();
  const clock = { now: new Date('2030-01-01T00:00:00Z') };
  const store = new JobStore(path.join(dir, 'jobs.sqlite'), () => clock.now);
  const files = new JobFiles(path.join(dir, 'references'), path.join(dir, 'clips'));
  const queue = new JobQueue(store, runner, { queueCap: 4, logger: silentLogger(), files, limits: LIMITS, now: () => clock.now, ...options });
  return { queue, store, files, clock };
}

/** A runner that writes a clip where the daemon would and reports it. */
const writingRunner = (files: () => JobFiles): JobRunner => async (job) => {
  const output = files().outputPath(job);
  fs.writeFileSync(output, 'clip');
  return { output, sha256: 'h', bytes: 4 };
};

const ended = (queue: JobQueue, id: string) =>
  new Promise<void>((resolve) => {
    const off = queue.subscribe((e) => e.job.id === id && ['done', 'failed', 'cancelled'].includes(e.type) && (off(), resolve()));
  });

describe('JobQueue with an injected runner and clock', () => {
  test('close() returns within its timeout even when the runner ignores the abort; the job is left interrupted', async () => {
    const { queue, store } = queueWith(() => new Promise(() => undefined), { closeTimeoutMs: 300 });
    queue.start();
    const job = queue.submit(request());
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await queue.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(store.get(job.id)!.state).toBe('interrupted');
    expect(() => queue.submit(request())).toThrow(expect.objectContaining({ code: 'unavailable' }));
  });

  test('retention deletes ended jobs past the count or the age, with their clip and reference images', async () => {
    let files: JobFiles;
    const made = queueWith(writingRunner(() => files), { retention: { keepJobs: 2, keepDays: 7 } });
    files = made.files;
    const { queue, store, clock } = made;
    queue.start();
    const image = Buffer.from('an image of sixteen bytes or more').toString('base64');
    const first = queue.submit(request({ mode: 'extend', references: [{ role: 'before', source: { kind: 'images', images: [image] } }] }));
    await ended(queue, first.id);
    const stored = store.get(first.id)!.request.references[0]!.source;
    expect(stored).toMatchObject({ kind: 'stored', files: [expect.any(String)] });
    const refFile = path.join(files.dir, (stored as { files: string[] }).files[0]!);
    expect(fs.existsSync(refFile)).toBe(true);
    const clip = store.get(first.id)!.output!;

    clock.now = new Date('2030-01-09T00:00:00Z'); // 8 days later: the first job is past keepDays
    const second = queue.submit(request());
    await ended(queue, second.id);
    expect(store.get(first.id)).toBeNull();
    expect(fs.existsSync(clip)).toBe(false);
    expect(fs.existsSync(refFile)).toBe(false);
    for (let i = 0; i < 2; i++) {
      const j = queue.submit(request());
      await ended(queue, j.id);
    }
    expect(store.list({ limit: 10 })!.jobs.length).toBe(2); // keepJobs
    await queue.close();
  });

  test('costs are checked at submit: over the cap is refused naming what to reduce, and nothing is stored', () => {
    const { queue, store } = queueWith(async () => ({ output: '/x', sha256: 'h', bytes: 1 }));
    expect(() => queue.submit(request({ seconds: 10, fps: 24, steps: 50 }))).toThrow(/240 frames × 50 steps = 12,000 frame-steps .*--max-job-cost.*reduce seconds, fps or steps/);
    expect(() => queue.submit(request({ width: 2048, height: 1024 }))).toThrow(/^request\.width: 2048 px .*--max-output-side/);
    expect(store.list({ limit: 10 })!.jobs).toEqual([]);
  });
});
