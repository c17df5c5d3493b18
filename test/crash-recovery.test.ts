import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Pairing } from '../daemon/server/pairing';
import { api, tempDir, waitForJob } from './support/daemon-harness';
import { exited, spawnDaemon } from './support/daemon-process';

test('kill -9 mid-job, then restart: nothing stuck running, the job can be re-run, finished clips intact, temp files swept', async () => {
  const dataDir = tempDir();
  const token = new Pairing(dataDir).token();
  const first = await spawnDaemon(dataDir);
  const d1 = { port: first.port, token };

  // A finished clip before the crash.
  const done = (await api(d1, 'POST', '/v1/jobs', { prompt: 'a green circle bounces', seconds: 0.5, fps: 24, steps: 2 })).json();
  const finished = await waitForJob(d1, done.id, (j) => j.state === 'done');

  // A long job, killed while it runs.
  const long = (await api(d1, 'POST', '/v1/jobs', { prompt: 'a red square moves left', seconds: 60, fps: 60, steps: 20 })).json();
  const queuedBehind = (await api(d1, 'POST', '/v1/jobs', { prompt: 'a white triangle grows', seconds: 0.5, fps: 24, steps: 2 })).json();
  await waitForJob(d1, long.id, (j) => j.state === 'running' && j.progress?.step > 0);
  // What an encode cut short by the crash leaves behind.
  const leftover = path.join(dataDir, 'clips', `.longshot-${long.id}.mp4.longshot-tmp-crash`);
  fs.writeFileSync(leftover, 'half a clip');
  first.child.kill('SIGKILL');
  await exited(first.child);

  const second = await spawnDaemon(dataDir);
  const d2 = { port: second.port, token };
  try {
    const jobs = (await api(d2, 'GET', '/v1/jobs')).json() as any[];
    expect(jobs.filter((j) => j.state === 'running' && j.id === long.id)).toEqual([]);
    const interrupted = jobs.find((j) => j.id === long.id);
    expect(interrupted.state).toBe('interrupted');
    expect(interrupted.error.message).toMatch(/retry/);
    expect(fs.existsSync(leftover)).toBe(false);

    // The job queued behind the crash still runs after the restart.
    await waitForJob(d2, queuedBehind.id, (j) => j.state === 'done');

    // Every finished clip is complete and matches its recorded sha256.
    const after = (await api(d2, 'GET', `/v1/jobs/${finished.id}`)).json();
    expect(createHash('sha256').update(fs.readFileSync(after.output)).digest('hex')).toBe(finished.sha256);

    // One call re-runs the interrupted job.
    const retry = await api(d2, 'POST', `/v1/jobs/${long.id}/retry`);
    expect(retry.status).toBe(200);
    await waitForJob(d2, long.id, (j) => j.state === 'running');
    expect((await api(d2, 'DELETE', `/v1/jobs/${long.id}`)).status).toBe(200);
    await waitForJob(d2, long.id, (j) => j.state === 'cancelled');
  } finally {
    second.child.kill('SIGTERM');
    await exited(second.child);
  }
});
