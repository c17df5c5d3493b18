/**
 * Issue 28.6: loading a model, sampling and motion transfer are the engine's work, done on a worker thread, so the
 * daemon's own thread keeps answering HTTP and WebSocket clients while a job runs. Against a real daemon process
 * (`longshot serve`) with the bundled models, a real footage clip and real ffmpeg.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PROJECT_ROOT } from '../daemon/config';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { Pairing } from '../daemon/server/pairing';
import { CANCEL_GRACE_MS } from '../daemon/engine/engine-thread';
import { request, startTestDaemon, StreamClient, tempDir, TEST_MODEL, TEST_MODELS_DIR } from './support/daemon-harness';
import { exited, spawnDaemon } from './support/daemon-process';

/** How long `/health` may take to answer while a job loads its model and runs. */
const HEALTH_BUDGET_MS = 200;

/** GET /health once; resolves with the parsed body and how long the answer took. */
function health(port: number): Promise<{ ms: number; body: { model: string | null } }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ ms: performance.now() - started, body: JSON.parse(text) }));
      })
      .on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Asks `/health` one request at a time, 20 ms apart, until stopped; `times` holds every answer's time so far. */
function pollHealth(port: number): { times: number[]; stop: () => void } {
  const times: number[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      times.push((await health(port)).ms);
      await sleep(20);
    }
  })().catch(() => undefined); // the daemon stopped while a request was on its way
  return { times, stop: () => (stopped = true) };
}

describe('the engine runs off the daemon thread', () => {
  const dataDir = tempDir();
  const token = new Pairing(dataDir).token();
  let clip: string;
  beforeAll(async () => {
    const ffmpeg = await resolveFfmpeg(null);
    clip = path.join(dataDir, 'footage.mp4');
    await ffmpeg.run(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', clip]);
  });

  test(`while models load and a 640x360 extend runs, /health answers within ${HEALTH_BUDGET_MS} ms every time; the job ends done with previews`, async () => {
    // The tiny model is the default (loaded at start); the extend then loads the bundled footage model and carries its
    // motion at the footage's size. A fresh data folder: no optimised graph is cached, the slowest load there is.
    const modelsDir = tempDir('longshot-models-');
    fs.cpSync(path.join(TEST_MODELS_DIR, TEST_MODEL), path.join(modelsDir, TEST_MODEL), { recursive: true });
    fs.cpSync(path.join(PROJECT_ROOT, 'models', 'footage-uvit'), path.join(modelsDir, 'footage-uvit'), { recursive: true });
    const daemon = await spawnDaemon(dataDir, ['--models-dir', modelsDir, '--threads', '1']);
    const poll = pollHealth(daemon.port);
    let loading: number[] = [];
    let jobMs = 0;
    try {
      for (let ready = false; !ready; await sleep(50)) ready = (await health(daemon.port)).body.model === TEST_MODEL;
      loading = [...poll.times];
      const client = await StreamClient.open(daemon.port, token);
      await client.hello();
      const request = { prompt: '', mode: 'extend', seconds: 1, fps: 30, references: [{ role: 'before', source: { kind: 'media', path: clip, timeSeconds: 1.9 } }] };
      client.send({ type: 'submit', requestId: 'extend', request, stream: true });
      const { job } = await client.waitFor('queued', (m) => m.requestId === 'extend');
      const ended = await client.waitFor('done', (m) => m.jobId === job.id, 180_000);
      expect(ended.job.model).toBe('footage-uvit');
      jobMs = Date.parse(ended.job.finishedAt!) - Date.parse(ended.job.startedAt!);
      const previews = client.messages.filter((m) => m.type === 'progress' && m.jobId === job.id && m.preview !== null);
      expect(previews.length).toBeGreaterThan(0);
      client.close();
    } finally {
      poll.stop();
      daemon.child.kill('SIGTERM');
      await exited(daemon.child);
    }
    const running = poll.times.slice(loading.length);
    // The figures the issue asks for: the longest the daemon kept a client waiting, while the default model loaded at
    // start and while the extend loaded its model, sampled and carried the motion.
    process.stderr.write(`/health, slowest answer: ${Math.max(...loading).toFixed(0)} ms of ${loading.length} while the default model loaded, ${Math.max(...running).toFixed(0)} ms of ${running.length} while the extend ran (${jobMs} ms)\n`);
    expect(Math.max(...poll.times)).toBeLessThan(HEALTH_BUDGET_MS);
  }, 240_000);
});

describe('a job on the engine thread', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  const footageModels = path.join(PROJECT_ROOT, 'models', 'testdata', 'footage');
  let clip: string;
  beforeAll(async () => {
    daemon = await startTestDaemon({ modelsDir: footageModels, defaultModel: 'tiny-footage' }, { preload: false });
    clip = path.join(daemon.dataDir, 'footage.mp4');
    await daemon.ffmpeg.run(['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', clip]);
  });
  afterAll(async () => daemon.close());

  const extend = (seconds: number) => ({ prompt: '', mode: 'extend', seconds, fps: 30, steps: 2, references: [{ role: 'before', source: { kind: 'media', path: clip, timeSeconds: 0.9 } }] });
  const submit = async (client: StreamClient, requestId: string, request: object) => {
    client.send({ type: 'submit', requestId, request, stream: true });
    for (;;) {
      const answer = client.messages.find((m) => (m.type === 'queued' || m.type === 'error') && m.requestId === requestId);
      if (answer?.type === 'queued') return answer.job.id;
      if (answer?.type === 'error') throw new Error(answer.error.message);
      await sleep(20);
    }
  };

  test('cancelled while sampling, it ends cancelled at once; cancelled in its motion transfer (one call), within the grace; the next job is done', async () => {
    const client = await StreamClient.open(daemon.port, daemon.token);
    await client.hello();
    // Thousands of steps of 16x16 windows: cancelled while the sampler runs, it stops before its next step.
    const sampling = await submit(client, 'sampling', { ...extend(10), steps: 200 });
    await client.waitFor('progress', (m) => m.jobId === sampling && m.stage === 'sampling' && m.step > 0, 60_000);
    let asked = performance.now();
    client.send({ type: 'cancel', requestId: 'c1', jobId: sampling });
    await client.waitFor('cancelled', (m) => m.jobId === sampling, 10_000);
    expect(performance.now() - asked).toBeLessThan(500);

    // 3 s at 1280x720: the sampler's last step is reported, then seconds of motion transfer in one call.
    const transfer = await submit(client, 'transfer', extend(3));
    await client.waitFor('progress', (m) => m.jobId === transfer && m.stage === 'sampling' && m.step === m.total, 60_000);
    asked = performance.now();
    client.send({ type: 'cancel', requestId: 'c2', jobId: transfer });
    const cancelled = await client.waitFor('cancelled', (m) => m.jobId === transfer, 10_000);
    expect(performance.now() - asked).toBeLessThan(CANCEL_GRACE_MS + 1000);
    expect(cancelled.job.state).toBe('cancelled');

    const next = await submit(client, 'next', extend(0.2));
    expect((await client.waitFor('done', (m) => m.jobId === next, 60_000)).job.output).toBeTruthy();
    client.close();
  }, 120_000);

  test("when the engine's thread dies mid-job, that job fails with its final event, the daemon answers, and the next job is done on a fresh thread", async () => {
    const client = await StreamClient.open(daemon.port, daemon.token);
    await client.hello();
    const doomed = await submit(client, 'doomed', { ...extend(10), steps: 200 });
    await client.waitFor('progress', (m) => m.jobId === doomed && m.step > 0, 60_000);
    daemon.engine.stop('stopped by the test, as a crash would');
    const failed = await client.waitFor('failed', (m) => m.jobId === doomed, 10_000);
    expect(failed.error).toMatchObject({ code: 'engine_failed', message: expect.stringMatching(/engine's thread stopped \(stopped by the test.*\); the job failed/) });
    expect((await request(daemon.port, { path: '/health' })).status).toBe(200);
    const next = await submit(client, 'next', extend(0.2));
    expect((await client.waitFor('done', (m) => m.jobId === next, 60_000)).job.state).toBe('done');
    client.close();
  }, 120_000);
});
