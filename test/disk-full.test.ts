import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { api, request, startTestDaemon, StreamClient, tempDir, waitForJob } from './support/daemon-harness';
import { cannotMountTmpfs, mountTmpfs, type Tmpfs } from './support/tmpfs';

/** A tmpfs of `size` for one test, which the test must unmount. */
function disk(size: string, dir = tempDir('longshot-tmpfs-')): Tmpfs {
  return mountTmpfs(dir, size) as Tmpfs;
}

const cannotMount = cannotMountTmpfs();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const describeDisk = cannotMount ? describe.skip : describe;
if (cannotMount) process.stderr.write(`disk-full tests skipped: ${cannotMount}\n`);

describeDisk('disk full (a real 4 MiB tmpfs as the data folder)', () => {
  test('a clip that does not fit fails with disk_full, leaves no partial file, and the daemon keeps serving', async () => {
    const { dir, unmount } = disk('4m');
    const daemon = await startTestDaemon({ dataDir: dir });
    try {
      // ProRes at 1920x1080 for 2 s is tens of MB: it cannot fit in 4 MiB.
      const big = (await api(daemon, 'POST', '/v1/jobs', { prompt: 'a red circle moves right', seconds: 2, fps: 24, steps: 1, width: 1920, height: 1080, format: 'mov' })).json();
      const job = await waitForJob(daemon, big.id);
      expect(job.state).toBe('failed');
      expect(job.error.code).toBe('disk_full');
      expect(job.error.message).toMatch(/space/i);
      expect(fs.readdirSync(path.join(dir, 'clips'))).toEqual([]);

      expect((await request(daemon.port, { path: '/health' })).status).toBe(200);
      const small = (await api(daemon, 'POST', '/v1/jobs', { prompt: 'a blue square stays still', seconds: 0.25, fps: 24, steps: 1 })).json();
      expect((await waitForJob(daemon, small.id)).state).toBe('done');
    } finally {
      await daemon.close();
      unmount();
    }
  });
});

/** ffmpeg processes this test process started that are still alive (a zombie counts: nobody reaped it). */
function ffmpegChildren(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat)!;
        return comm === 'ffmpeg' && Number(rest!.split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describeDisk('issue 28.4: a disk that fills up while the daemon works (real tmpfs mounts)', () => {
  const SHORT_JOB = { prompt: 'a blue square falls', seconds: 0.25, fps: 24, steps: 2 };

  test('filled mid-job: the job ends failed with disk_full and its final event; the store takes nothing; freed, everything goes on', async () => {
    const full = disk('16m');
    const daemon = await startTestDaemon({ dataDir: full.dir }, { preload: false });
    let filler: string | null = null;
    try {
      // Fill the disk the moment the job samples its first step: its progress, its clip and its end cannot be written.
      daemon.queue.subscribe((event) => {
        if (event.type === 'progress' && event.progress.stage === 'sampling' && !filler) filler = full.fill();
      });
      const client = await StreamClient.open(daemon.port, daemon.token);
      await client.hello();
      client.send({ type: 'submit', requestId: 's', stream: true, request: SHORT_JOB });
      const id = (await client.waitFor('queued')).job.id;
      const failed = await client.waitFor('failed', (m) => m.jobId === id, 30_000);
      expect(failed.error.code).toBe('disk_full');
      expect(failed.error.message).toMatch(/no space left on the disk of .*; free space there/);
      const held = (await api(daemon, 'GET', `/v1/jobs/${id}`)).json();
      expect([held.state, held.error.code]).toEqual(['failed', 'disk_full']);

      // On the full disk: a new job and reference images are refused with 507, and no partial image is left.
      const refused = await api(daemon, 'POST', '/v1/jobs', SHORT_JOB);
      expect([refused.status, refused.json().error.code]).toEqual([507, 'disk_full']);
      const image = fs.readFileSync(path.join(__dirname, '..', 'docs', 'screenshots', 'extend.png')).toString('base64');
      const withImages = await api(daemon, 'POST', '/v1/jobs', { ...SHORT_JOB, mode: 'extend', references: [{ role: 'before', source: { kind: 'images', images: [image] } }] });
      expect(withImages.status).toBe(507);
      expect(withImages.json().error.message).toMatch(/to store the reference images; free space there/);
      expect(fs.readdirSync(path.join(full.dir, 'references'))).toEqual([]);
      expect((await request(daemon.port, { path: '/health' })).status).toBe(200);

      // The store could not write the end (SQLite: disk full); the daemon holds it meanwhile.
      const recorded = () => {
        const db = new Database(path.join(full.dir, 'jobs.sqlite'), { readonly: true });
        try {
          return (db.prepare('SELECT state FROM jobs WHERE id = ?').get(id) as { state: string }).state;
        } finally {
          db.close();
        }
      };
      expect(recorded()).toBe('running');

      // Space again: the held end is recorded, the job can be retried, new jobs run.
      fs.rmSync(filler!);
      const until = Date.now() + 10_000;
      while (recorded() !== 'failed' && Date.now() < until) await sleep(200);
      expect(recorded()).toBe('failed');
      expect((await api(daemon, 'POST', `/v1/jobs/${id}/retry`)).status).toBe(200);
      expect((await waitForJob(daemon, id)).state).toBe('done');
      const next = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
      expect((await waitForJob(daemon, next.id)).state).toBe('done');
      client.close();
    } finally {
      await daemon.close();
      full.unmount();
    }
  });

  test('an ffmpeg whose pid file cannot be written is killed at once; the job fails with disk_full naming the folder', async () => {
    const dataDir = tempDir('longshot-pidfull-');
    const run = disk('4k', path.join(dataDir, 'run'));
    const daemon = await startTestDaemon({ dataDir }, { preload: false });
    try {
      const filler = run.fill(); // after the start: the daemon sweeps run/ of stale pid files when it starts
      const job = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
      const ended = await waitForJob(daemon, job.id, undefined, 30_000);
      expect([ended.state, ended.error.code]).toEqual(['failed', 'disk_full']);
      expect(ended.error.message).toContain(`no space left on the disk of ${run.dir} to record the ffmpeg a job runs`);
      await sleep(300);
      expect(ffmpegChildren()).toEqual([]);
      fs.rmSync(filler);
      const next = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
      expect((await waitForJob(daemon, next.id)).state).toBe('done');
    } finally {
      await daemon.close();
      run.unmount();
    }
  });
});

describe('issue 28.4: reference images no job names are swept at start', () => {
  test('a stray file in references/ is removed; a job\'s own images stay', async () => {
    const dataDir = tempDir('longshot-stray-');
    const image = fs.readFileSync(path.join(__dirname, '..', 'docs', 'screenshots', 'extend.png')).toString('base64');
    let daemon = await startTestDaemon({ dataDir }, { preload: false });
    const job = (await api(daemon, 'POST', '/v1/jobs', { prompt: 'a red circle', seconds: 0.25, fps: 24, steps: 2, mode: 'extend', references: [{ role: 'before', source: { kind: 'images', images: [image] } }] })).json();
    await waitForJob(daemon, job.id);
    await daemon.close();
    const references = path.join(dataDir, 'references');
    const own = fs.readdirSync(references);
    expect(own.length).toBe(1);
    fs.writeFileSync(path.join(references, '00000000-0000-4000-8000-000000000000.img'), 'half-written by a full disk');
    daemon = await startTestDaemon({ dataDir }, { preload: false });
    try {
      expect(fs.readdirSync(references)).toEqual(own);
      expect((await waitForJob(daemon, job.id)).state).toBe('done');
    } finally {
      await daemon.close();
    }
  });
});
