import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { api, request, startTestDaemon, StreamClient, waitForJob } from '../../test/support/daemon-harness';

// Long enough (many windows of the tiny model) that it is still running when the test acts on it.
const LONG_JOB = { prompt: 'a red circle moves right', seconds: 60, fps: 60, steps: 20 };
const SHORT_JOB = { prompt: 'a blue square falls', seconds: 0.5, fps: 24, steps: 2 };

describe('job queue through the real daemon (tiny model, real engine, real SQLite)', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  let client: StreamClient;
  beforeAll(async () => {
    daemon = await startTestDaemon({ queueCap: 2 });
    client = await StreamClient.open(daemon.port, daemon.token);
    await client.hello();
  });
  afterAll(async () => {
    client.close();
    await daemon.close();
  });

  test('a job streams started, progress with previews, its clip in chunks, then done', async () => {
    client.send({ type: 'submit', requestId: 'r1', request: SHORT_JOB });
    const { job } = await client.waitFor('queued', (m) => m.requestId === 'r1');
    expect(job.request.seed).toEqual(expect.any(Number));
    await client.waitFor('started', (m) => m.jobId === job.id);
    const done = await client.waitFor('done', (m) => m.jobId === job.id);
    const progress = client.messages.filter((m) => m.type === 'progress' && m.jobId === job.id) as Extract<(typeof client.messages)[number], { type: 'progress' }>[];
    expect(progress.length).toBe(progress[0]!.total);
    expect(progress.map((p) => p.step)).toEqual(progress.map((_, i) => i + 1));
    expect(Buffer.from(progress[0]!.preview!, 'base64').subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const chunks = client.messages.filter((m) => m.type === 'clip' && m.jobId === job.id) as Extract<(typeof client.messages)[number], { type: 'clip' }>[];
    const bytes = Buffer.concat(chunks.map((c) => Buffer.from(c.data, 'base64')));
    expect(chunks.length).toBe(chunks[0]!.count);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(done.job.sha256);
    expect(createHash('sha256').update(fs.readFileSync(done.job.output!)).digest('hex')).toBe(done.job.sha256);
    // The last message about the job is `done`, after every chunk.
    const last = client.messages.filter((m) => 'jobId' in m && m.jobId === job.id).pop();
    expect(last?.type).toBe('done');
  });

  test('the clip route serves byte ranges', async () => {
    const job = (await api(daemon, 'GET', '/v1/jobs')).json().find((j: { state: string }) => j.state === 'done');
    const full = fs.readFileSync(job.output);
    const res = await request(daemon.port, { path: `/v1/jobs/${job.id}/clip`, headers: { authorization: `Bearer ${daemon.token}`, range: 'bytes=0-99' } });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes 0-99/${full.length}`);
    expect(res.headers['content-length']).toBe('100');
  });

  test('cancel mid-job takes effect within one sampler step; the queue cap answers 429 with Retry-After', async () => {
    const running = (await api(daemon, 'POST', '/v1/jobs', LONG_JOB)).json();
    client.send({ type: 'subscribe', requestId: 's1', jobId: running.id });
    await client.waitFor('progress', (m) => m.jobId === running.id);
    const queued = [(await api(daemon, 'POST', '/v1/jobs', LONG_JOB)).json(), (await api(daemon, 'POST', '/v1/jobs', LONG_JOB)).json()];
    const refused = await api(daemon, 'POST', '/v1/jobs', LONG_JOB);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('10');
    expect(refused.json().error.code).toBe('queue_full');

    for (const q of queued) expect((await api(daemon, 'DELETE', `/v1/jobs/${q.id}`)).json().state).toBe('cancelled');
    // Counted once the daemon has answered the cancel: the engine runs on its own thread, so steps it took while the
    // DELETE was on its way are reported; after the daemon has the cancel, at most the step under way is.
    await api(daemon, 'DELETE', `/v1/jobs/${running.id}`);
    const stepsAtCancel = client.messages.filter((m) => m.type === 'progress' && m.jobId === running.id).length;
    const cancelled = await client.waitFor('cancelled', (m) => m.jobId === running.id);
    expect(cancelled.job.state).toBe('cancelled');
    const stepsAfter = client.messages.filter((m) => m.type === 'progress' && m.jobId === running.id).length - stepsAtCancel;
    expect(stepsAfter).toBeLessThanOrEqual(1);
    expect(cancelled.job.progress!.step).toBeLessThan(cancelled.job.progress!.total);

    // Retry re-queues the same request, and the daemon keeps serving others meanwhile.
    const retried = (await api(daemon, 'POST', `/v1/jobs/${running.id}/retry`)).json();
    expect(retried).toMatchObject({ id: running.id, state: expect.stringMatching(/queued|running/), request: running.request });
    await api(daemon, 'DELETE', `/v1/jobs/${running.id}`);
    expect((await waitForJob(daemon, running.id)).state).toBe('cancelled');
  });

  test('protocol: hello of another major version is refused naming the side to update; nothing works before hello', async () => {
    const other = await StreamClient.open(daemon.port, daemon.token);
    other.send({ type: 'list', requestId: 'early' });
    expect((await other.waitFor('error', (m) => m.requestId === 'early')).error.message).toMatch(/hello/);
    other.send({ type: 'hello', requestId: 'h2', protocol: '2.0' });
    const err = await other.waitFor('error', (m) => m.requestId === 'h2');
    expect(err.error).toMatchObject({ code: 'protocol_version', field: 'protocol' });
    expect(err.error.message).toMatch(/update the daemon/);
    other.close();
  });

  test('an unknown job id is a 404 naming the fix', async () => {
    const res = await api(daemon, 'GET', '/v1/jobs/nope');
    expect(res.status).toBe(404);
    expect(res.json().error.message).toMatch(/GET \/v1\/jobs/);
  });
});
