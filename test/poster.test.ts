/**
 * Poster frames against a real daemon (tiny model, real ffmpeg and SQLite): every done job gets a JPEG of its
 * clip's middle frame at the clip's size, stored 0600 beside the clip, served with the token, and gone with its job
 * whether it is deleted or pruned.
 */
import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { readFramesAt } from '../daemon/media/decode';
import { probeMedia } from '../daemon/media/probe';
import { api, request, startTestDaemon, waitForJob } from './support/daemon-harness';

const JOB = { prompt: 'a red circle bounces', seconds: 0.5, fps: 24, steps: 2, seed: 7 };

describe('GET /v1/jobs/:id/poster (real daemon)', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  beforeAll(async () => {
    daemon = await startTestDaemon({ keepJobs: 1 });
  });
  afterAll(async () => {
    await daemon.close();
    fs.rmSync(daemon.dataDir, { recursive: true, force: true });
  });

  const poster = (id: string, token = daemon.token) => fetch(`${daemon.url}/v1/jobs/${id}/poster`, { headers: { authorization: `Bearer ${token}` } });
  const submit = async (body: object) => (await api(daemon, 'POST', '/v1/jobs', body)).json() as { id: string };

  test('is a 0600 JPEG of the clip middle frame at the clip size, removed with its job (pruned or deleted)', async () => {
    const first = await waitForJob(daemon, (await submit(JOB)).id);
    expect(first.state).toBe('done');
    const file = path.join(path.dirname(first.output), `longshot-${first.id}.jpg`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    const res = await poster(first.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/jpeg/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const image = jpeg.decode(bytes, { formatAsRGBA: false });
    const clip = await probeMedia(daemon.ffmpeg, first.output, 'clip');
    expect([image.width, image.height]).toEqual([clip.width, clip.height]);
    // It shows the clip's middle frame (12 frames: the 7th, at 0.25 s), up to JPEG and H.264 losses.
    const [middle] = await readFramesAt(daemon.ffmpeg, first.output, { timeSeconds: 0.25, count: 1, side: 'after', width: clip.width, height: clip.height, field: 'clip' });
    let diff = 0;
    for (let i = 0; i < middle!.length; i++) diff += Math.abs(middle![i]! - image.data[i]!);
    expect(diff / middle!.length).toBeLessThan(6);

    expect((await request(daemon.port, { path: `/v1/jobs/${first.id}/poster` })).status).toBe(401);
    const unknown = await poster('no-such-job');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');

    // keepJobs 1: the next finished job prunes the first, poster and all.
    const second = await waitForJob(daemon, (await submit({ ...JOB, seed: 8 })).id);
    expect(second.state).toBe('done');
    expect(fs.existsSync(file)).toBe(false);
    expect((await poster(first.id)).status).toBe(404);

    const secondFile = path.join(path.dirname(second.output), `longshot-${second.id}.jpg`);
    expect(fs.existsSync(secondFile)).toBe(true);
    expect((await api(daemon, 'DELETE', `/v1/jobs/${second.id}`)).status).toBe(200);
    expect(fs.existsSync(secondFile)).toBe(false);
  });

  test('a job that made no clip has no poster: 404 saying why', async () => {
    const failed = await waitForJob(daemon, (await submit({ ...JOB, model: 'no-such-model' })).id);
    expect(failed.state).toBe('failed');
    const res = await poster(failed.id);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: 'not_found', message: expect.stringMatching(/has no poster: it is failed, and posters are made when the clip is written/) });
  });
});
