import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { api, request, startTestDaemon, tempDir, waitForJob } from './support/daemon-harness';

/** Mounts a 4 MiB tmpfs (root only); returns null with the reason when this machine cannot. */
function smallTmpfs(): { dir: string; unmount: () => void } | string {
  const dir = tempDir('longshot-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]})`;
  }
  return { dir, unmount: () => execFileSync('umount', ['-l', dir]) };
}

const tmpfs = smallTmpfs();
const describeDisk = typeof tmpfs === 'string' ? describe.skip : describe;
if (typeof tmpfs === 'string') process.stderr.write(`disk-full test skipped: ${tmpfs}\n`);

describeDisk('disk full (a real 4 MiB tmpfs as the data folder)', () => {
  afterAll(() => typeof tmpfs !== 'string' && tmpfs.unmount());

  test('a clip that does not fit fails with disk_full, leaves no partial file, and the daemon keeps serving', async () => {
    const { dir } = tmpfs as { dir: string };
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
    }
  });
});
