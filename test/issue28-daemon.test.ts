/**
 * Issue 28 (items 1–6): a paired client, an unpaired process, a package or a fault of the disk must not take the
 * daemon down. Each case runs against a real daemon (real WebSocket, HTTP, SQLite, ffmpeg) and checks that it keeps
 * serving other clients after.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { PROJECT_ROOT } from '../daemon/config';
import { createLogger } from '../daemon/log';
import WebSocket from 'ws';
import { parseGenerateRequest } from '../shared/protocol';
import { JobStore } from '../daemon/jobs/job-store';
import { withSeed } from '../daemon/generation/request';
import { WS_SUBPROTOCOL, WS_TOKEN_PREFIX } from '../shared/protocol';
import { api, request, startTestDaemon, StreamClient, tempDir, TEST_MODEL, TEST_MODELS_DIR, waitForJob } from './support/daemon-harness';

const SHORT_JOB = { prompt: 'a blue square falls', seconds: 0.25, fps: 24, steps: 2 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A data folder holding `count` ended jobs with the longest prompts the protocol takes (as a heavy user's history). */
function dataDirWithJobs(count: number): string {
  const dataDir = tempDir('longshot-history-');
  const store = new JobStore(path.join(dataDir, 'jobs.sqlite'));
  const prompt = 'a red circle bounces '.repeat(95);
  for (let i = 0; i < count; i++) {
    const job = store.create(withSeed(parseGenerateRequest({ ...SHORT_JOB, prompt })));
    store.markEnded(job.id, 'failed', { code: 'engine_failed', message: 'made up for the test' });
  }
  store.close();
  return dataDir;
}

/** Sends `count` messages one every 10 ms, as a client that waits a little between requests. */
async function paced(client: StreamClient, count: number, message: (i: number) => object): Promise<void> {
  for (let i = 0; i < count; i++) {
    client.send(message(i));
    await sleep(10);
  }
}

/** Resolves with the close code, or -1 when the connection stays open for `ms`. */
function closeCode(client: StreamClient, ms: number): Promise<number> {
  return Promise.race([new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code))), sleep(ms).then(() => -1)]);
}

describe('issue 28.1: a WebSocket client that asks without reading', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = dataDirWithJobs(210);
  });

  test('is closed with 1008 once more replies wait than the cap; those are never built; a reading client asking as often is served', async () => {
    const daemon = await startTestDaemon({ dataDir }, { preload: false, streamLimits: { maxPendingMessages: 8 } });
    try {
      const stalled = await StreamClient.open(daemon.port, daemon.token);
      const reader = await StreamClient.open(daemon.port, daemon.token);
      await Promise.all([stalled.hello(), reader.hello()]);
      stalled.ws.pause(); // reads nothing from here on: the daemon's replies fill the socket buffers, then its queue
      const stalledClosed = closeCode(stalled, 30_000);
      // Each page is about 400 KB: 80 MB if all 200 were built and held.
      const list = (i: number) => ({ type: 'list', requestId: `l${i}`, limit: 200 });
      await Promise.all([paced(stalled, 200, list), paced(reader, 40, list)]);
      await reader.waitFor('jobs', (m) => m.requestId === 'l39', 10_000);
      expect(reader.messages.filter((m) => m.type === 'jobs').length).toBe(40);
      expect(reader.ws.readyState).toBe(WebSocket.OPEN);
      expect((await request(daemon.port, { path: '/health' })).status).toBe(200);

      stalled.ws.resume();
      expect(await stalledClosed).toBe(1008);
      const answered = stalled.messages.filter((m) => m.type === 'jobs').length;
      expect(answered).toBeGreaterThan(0);
      expect(answered).toBeLessThan(100);
      reader.send({ type: 'list', requestId: 'after', limit: 1 });
      expect((await reader.waitFor('jobs', (m) => m.requestId === 'after')).jobs.length).toBe(1);
      reader.close();
    } finally {
      await daemon.close();
    }
  }, 60_000);

  test('is closed with 1008 once the replies it left unread hold more bytes than the cap', async () => {
    const daemon = await startTestDaemon({ dataDir }, { preload: false, streamLimits: { maxPendingMessages: 10_000, maxPendingBytes: 8 * 1024 } });
    try {
      const stalled = await StreamClient.open(daemon.port, daemon.token);
      await stalled.hello();
      stalled.ws.pause();
      const closed = closeCode(stalled, 30_000);
      // Pages fill the socket buffers; then each unknown job's error reply (about 150 bytes) waits in the daemon.
      await paced(stalled, 30, (i) => ({ type: 'list', requestId: `l${i}`, limit: 200 }));
      await paced(stalled, 150, (i) => ({ type: 'cancel', requestId: `c${i}`, jobId: `no-such-job-${i}` }));
      stalled.ws.resume();
      expect(await closed).toBe(1008);
      expect(stalled.messages.filter((m) => m.type === 'error').length).toBeLessThan(150);
      const other = await StreamClient.open(daemon.port, daemon.token);
      await other.hello();
      other.close();
    } finally {
      await daemon.close();
    }
  }, 60_000);
});

/**
 * Sends a request's head and only `sent` bytes of a body that says it has `declared`; resolves with what the daemon
 * answered (status line and body) and when, or with status 0 when it answered nothing within `ms`.
 */
function halfSentBody(port: number, options: { path: string; headers?: Record<string, string>; declared: number; sent: number; ms: number }): Promise<{ status: number; body: string; ms: number; closed: boolean }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    const headers = { Host: `127.0.0.1:${port}`, 'Content-Type': 'application/json', 'Content-Length': String(options.declared), ...options.headers };
    const head = `POST ${options.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
    socket.write(head + '['.repeat(options.sent));
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4), ms: Date.now() - started, closed });
    };
    const timer = setTimeout(finish, options.ms);
    socket.on('data', (c: Buffer) => {
      data += c.toString('utf8');
      const end = data.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(data)?.[1] ?? NaN);
      if (end >= 0 && Buffer.byteLength(data.slice(end + 4)) >= length) setTimeout(finish, 50);
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.on('error', () => undefined);
  });
}

describe('issue 28.2: bodies are read only after the token, and only as much and as long as the route takes', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  const MB15 = 15 * 1024 * 1024;
  beforeAll(async () => {
    daemon = await startTestDaemon({}, { preload: false, httpLimits: { bodyTimeoutMs: 1000, maxJobBodies: 2 } });
  });
  afterAll(async () => daemon.close());

  test('a 15 MB body without the token is answered 401 before it is sent, and its connection closed', async () => {
    const answers = await Promise.all(
      ['/v1/jobs', '/v1/jobs/x/retry'].map((p) => halfSentBody(daemon.port, { path: p, declared: MB15, sent: 64 * 1024, ms: 3000 })),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).error.code).toBe('unauthorized');
      expect(answer.ms).toBeLessThan(2000);
      expect(answer.closed).toBe(true);
    }
  });

  test('/v1/pair takes about 1 KB: a larger body is refused at once with 413', async () => {
    const answer = await halfSentBody(daemon.port, { path: '/v1/pair', declared: MB15, sent: 1024, ms: 3000 });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.message).toMatch(/larger than 1024 bytes/);
    expect(answer.ms).toBeLessThan(2000);
  });

  test('an authenticated job body that stops half-way is answered and cut off when the body time is up; the 3rd at once gets 429', async () => {
    const auth = { Authorization: `Bearer ${daemon.token}` };
    const slow = [1, 2].map(() => halfSentBody(daemon.port, { path: '/v1/jobs', headers: auth, declared: MB15, sent: 1024 * 1024, ms: 5000 }));
    await sleep(200);
    const third = await halfSentBody(daemon.port, { path: '/v1/jobs', headers: auth, declared: MB15, sent: 1024, ms: 3000 });
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body).error.message).toMatch(/already receiving 2 job bodies/);
    for (const answer of await Promise.all(slow)) {
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error.message).toMatch(/body: not received within 1 s/);
      expect(answer.ms).toBeGreaterThanOrEqual(900);
      expect(answer.ms).toBeLessThan(3000);
      expect(answer.closed).toBe(true);
    }
    // The daemon goes on: a whole job body is taken as before.
    const job = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
    expect((await waitForJob(daemon, job.id)).state).toBe('done');
  });
});

/** Copies the tiny test package as `name` into `modelsDir`, then lets `edit` change its files and manifest. */
function hostilePackage(modelsDir: string, name: string, edit: (dir: string, manifest: any) => void): void {
  const dir = path.join(modelsDir, name);
  fs.cpSync(path.join(TEST_MODELS_DIR, TEST_MODEL), dir, { recursive: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  manifest.name = name;
  edit(dir, manifest);
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
}

/** Makes `file` of a package a link to `target`, with the hash and size model.json must then list to match it. */
function linkTo(dir: string, manifest: any, file: string, target: string): void {
  fs.rmSync(path.join(dir, file));
  fs.symlinkSync(target, path.join(dir, file));
  const bytes = fs.statSync(target).size;
  const sha256 = bytes > 0 ? createHash('sha256').update(fs.readFileSync(target)).digest('hex') : '0'.repeat(64);
  manifest.files[file] = { sha256, bytes };
}

describe('issue 28.3: a package may only be its own regular files, of bounded sizes', () => {
  const modelsDir = tempDir('longshot-hostile-models-');
  const elsewhere = tempDir('longshot-elsewhere-');
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  const refusals: Record<string, RegExp> = {
    'passwd-vocab': /file vocab\.json (\(model\.json tokenizer\.file\) )?is a link to a file outside the package/,
    'dev-zero': /file vocab\.json (\(model\.json tokenizer\.file\) )?is a link to a file outside the package/,
    'fifo-file': /file extra\.bin is not a regular file/,
    'outside-graph': /file uvit\.onnx is a link to a file outside the package/,
    'huge-input': /model\.json inputs\.x declares 1\.50 GiB a batch row .*at most 512 MiB/,
  };
  beforeAll(async () => {
    fs.cpSync(path.join(TEST_MODELS_DIR, TEST_MODEL), path.join(modelsDir, TEST_MODEL), { recursive: true });
    hostilePackage(modelsDir, 'passwd-vocab', (dir, m) => linkTo(dir, m, 'vocab.json', '/etc/passwd'));
    hostilePackage(modelsDir, 'dev-zero', (dir, m) => linkTo(dir, m, 'vocab.json', '/dev/zero'));
    hostilePackage(modelsDir, 'fifo-file', (dir, m) => {
      execFileSync('mkfifo', [path.join(dir, 'extra.bin')]);
      m.files['extra.bin'] = { sha256: '0'.repeat(64), bytes: 0 };
    });
    hostilePackage(modelsDir, 'outside-graph', (dir, m) => {
      fs.copyFileSync(path.join(dir, 'uvit.onnx'), path.join(elsewhere, 'uvit.onnx'));
      linkTo(dir, m, 'uvit.onnx', path.join(elsewhere, 'uvit.onnx'));
    });
    // A window of 8 frames of 4096x4096: 1.5 GiB a batch row, for a graph that would declare as much.
    hostilePackage(modelsDir, 'huge-input', (_dir, m) => {
      m.native = { width: 4096, height: 4096 };
      m.inputs.x.shape = ['B', 8, 3, 4096, 4096];
      m.outputs.prediction.shape = ['B', 8, 3, 4096, 4096];
    });
    daemon = await startTestDaemon({ modelsDir }, { preload: false });
  });
  afterAll(async () => daemon.close());

  test('the listing answers at once with the good package only; a job naming a refused one fails saying why, quoting none of its files', async () => {
    const listed = await Promise.race([api(daemon, 'GET', '/v1/models'), sleep(10_000).then(() => null)]);
    expect(listed?.status).toBe(200);
    expect(listed!.json().map((m: { name: string }) => m.name)).toEqual([TEST_MODEL]);
    for (const [name, why] of Object.entries(refusals)) {
      const job = (await api(daemon, 'POST', '/v1/jobs', { ...SHORT_JOB, model: name })).json();
      const ended = await waitForJob(daemon, job.id, undefined, 15_000);
      expect([name, ended.state, ended.error.code, ended.error.field]).toEqual([name, 'failed', 'model_invalid', 'request.model']);
      expect(ended.error.message).toMatch(why);
      expect(ended.error.message).not.toMatch(/root:|\u0000/);
    }
    const ok = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
    expect((await waitForJob(daemon, ok.id)).state).toBe('done');
  });

  test('`longshot models` lists each refused package with its reason', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'longshot.cjs'), 'models', '--models-dir', modelsDir, '--default-model', TEST_MODEL], { timeout: 30_000 });
    for (const [name, why] of Object.entries(refusals)) expect(stdout).toMatch(new RegExp(`^! ${path.join(modelsDir, name)}: .*${why.source}`, 'm'));
    expect(stdout).not.toMatch(/root:/);
  });
});

/** A logger whose JSON lines the test can read. */
function capturedLog(): { logger: ReturnType<typeof createLogger>; lines: () => { level: number; msg: string; [k: string]: unknown }[] } {
  let text = '';
  const sink = new Writable({ write: (chunk, _enc, done) => ((text += chunk.toString()), done()) });
  return { logger: createLogger('info', sink), lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('issue 28.5: a damaged job database, a lost history, a lost token', () => {
  test('a damaged jobs.sqlite is named, moved aside as jobs.sqlite.corrupt-<time> and said so; the daemon starts and serves', async () => {
    const dataDir = dataDirWithJobs(40);
    const file = path.join(dataDir, 'jobs.sqlite');
    const bytes = fs.readFileSync(file);
    bytes.fill(0xa5, 3 * 4096, 5 * 4096); // two b-tree pages of job rows overwritten
    fs.writeFileSync(file, bytes);
    const log = capturedLog();
    const daemon = await startTestDaemon({ dataDir }, { preload: false, logger: log.logger });
    try {
      const moved = fs.readdirSync(dataDir).filter((n) => /^jobs\.sqlite\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/.test(n));
      expect(moved.length).toBe(1);
      expect(fs.readFileSync(path.join(dataDir, moved[0]!))).toEqual(bytes);
      const said = log.lines().find((l) => l.movedTo === path.join(dataDir, moved[0]!));
      expect(said?.msg).toContain(`${file} was damaged`);
      expect(said?.level).toBe(50);
      const job = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
      expect((await waitForJob(daemon, job.id)).state).toBe('done');
    } finally {
      await daemon.close();
    }
  });

  test('a history emptied while clips remain is warned about, naming both', async () => {
    const dataDir = tempDir('longshot-emptied-');
    let daemon = await startTestDaemon({ dataDir }, { preload: false });
    const job = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
    await waitForJob(daemon, job.id);
    await daemon.close();
    for (const name of fs.readdirSync(dataDir).filter((n) => n.startsWith('jobs.sqlite'))) fs.truncateSync(path.join(dataDir, name), 0);
    const log = capturedLog();
    daemon = await startTestDaemon({ dataDir }, { preload: false, logger: log.logger });
    try {
      const warning = log.lines().find((l) => l.level === 40 && /holds no jobs/.test(l.msg));
      expect(warning?.msg).toMatch(new RegExp(`jobs\\.sqlite holds no jobs, but .*clips holds 2 files: the job history was lost`));
    } finally {
      await daemon.close();
    }
  });

  test('a deleted token file: the new token is said in the log at every start and in `doctor` until a client pairs again', async () => {
    const dataDir = tempDir('longshot-token-');
    let daemon = await startTestDaemon({ dataDir }, { preload: false });
    const oldToken = daemon.token;
    await daemon.close();
    fs.rmSync(path.join(dataDir, 'token'));
    const log = capturedLog();
    daemon = await startTestDaemon({ dataDir }, { preload: false, logger: log.logger });
    try {
      expect(daemon.token).not.toBe(oldToken);
      const warning = log.lines().find((l) => l.level === 40 && /pairing token was made anew/.test(l.msg));
      expect(warning?.msg).toMatch(/because its file .*token had gone: every client paired before .* must pair again/);
      const doctor = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'longshot.cjs'), 'doctor', '--data-dir', dataDir, '--models-dir', TEST_MODELS_DIR, '--default-model', TEST_MODEL, '--json'], { timeout: 60_000 }).catch((err) => err as { stdout: string });
      const check = JSON.parse(doctor.stdout).checks.find((c: { check: string }) => c.check === 'pairing token');
      expect(check).toMatchObject({ ok: false, required: false, detail: expect.stringMatching(/made anew .* must pair again/) });
      // A client pairs again: the notice is gone.
      const { code } = daemon.pairing.createCode();
      expect((await request(daemon.port, { method: 'POST', path: '/v1/pair', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) })).status).toBe(200);
      expect(daemon.pairing.tokenNotice()).toBeNull();
    } finally {
      await daemon.close();
    }
  });
});

/** A PNG of width × height black pixels, one bit each: a few KB of file for an enormous picture. */
function hugePng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([1, 0, 0, 0, 0], 8); // bit depth 1, greyscale
  const rows = Buffer.alloc(height * (1 + Math.ceil(width / 8))); // filter byte 0 and zero bits on every row
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** POST /v1/pair from a given loopback address (every 127.x.y.z is this machine). */
function pairFrom(port: number, localAddress: string, code: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ code });
    const req = http.request({ host: '127.0.0.1', port, localAddress, method: 'POST', path: '/v1/pair', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('issue 28.6: what a paired or a local client can still learn or cost', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  const dir = tempDir('longshot-small-');
  beforeAll(async () => {
    daemon = await startTestDaemon({}, { preload: false });
    const warm = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json(); // the model is loaded before timing
    await waitForJob(daemon, warm.id);
  });
  afterAll(async () => daemon.close());

  const extendFrom = (p: string) => ({ ...SHORT_JOB, mode: 'extend', references: [{ role: 'before', source: { kind: 'media', path: p, timeSeconds: 0 } }] });

  test('(and 28.10) a missing reference and an unreadable one are refused at submit alike, over HTTP and WebSocket: the same words naming the field and the fix, neither before 0.5 s, no job stored; a good one is taken', async () => {
    const junk = path.join(dir, 'junk.mp4');
    fs.writeFileSync(junk, 'not video at all '.repeat(100));
    const jobsBefore = (await api(daemon, 'GET', '/v1/jobs?limit=200')).json().length;
    const client = await StreamClient.open(daemon.port, daemon.token);
    await client.hello();
    const viaWebSocket = async (p: string) => {
      client.send({ type: 'submit', requestId: p, request: extendFrom(p) });
      return (await client.waitFor('error', (m) => m.requestId === p, 10_000)).error;
    };
    const viaHttp = async (p: string) => {
      const res = await api(daemon, 'POST', '/v1/jobs', extendFrom(p));
      expect(res.status).toBe(400);
      return res.json().error;
    };
    const answers = [];
    for (const submit of [viaHttp, viaWebSocket]) {
      for (const p of [path.join(dir, 'missing.mp4'), junk]) {
        const started = Date.now();
        const error = await submit(p);
        answers.push({ ...error, message: error.message.replace(JSON.stringify(p), '<path>'), ms: Date.now() - started });
      }
    }
    for (const answer of answers) {
      expect(answer).toMatchObject({ code: 'media_unreadable', field: 'request.references[0].source.path' });
      expect(answer.message).toMatch(/^request\.references\[0\]\.source\.path: no readable video or image at <path>; give the absolute path of .* this user can read$/);
      expect(answer.ms).toBeGreaterThanOrEqual(490);
    }
    expect(new Set(answers.map((a) => a.message)).size).toBe(1);
    expect((await api(daemon, 'GET', '/v1/jobs?limit=200')).json().length).toBe(jobsBefore);
    // A real clip is taken, over both, and its job is done.
    const clip = path.join(dir, 'real.mp4');
    await daemon.ffmpeg.run(['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=24:duration=0.5', '-pix_fmt', 'yuv420p', '-y', clip]);
    const taken = await api(daemon, 'POST', '/v1/jobs', extendFrom(clip));
    expect(taken.status).toBe(201);
    client.send({ type: 'submit', requestId: 'good', request: extendFrom(clip) });
    const queued = await client.waitFor('queued', (m) => m.requestId === 'good', 10_000);
    for (const id of [taken.json().id, queued.job.id]) expect((await waitForJob(daemon, id)).state).toBe('done');
    client.close();
  });

  test('wrong pairing codes from many loopback addresses share one pace: 6 at once take 3 s to answer', async () => {
    daemon.pairing.createCode();
    const started = Date.now();
    const answered = await Promise.all([2, 3, 4, 5, 6, 7].map((n) => pairFrom(daemon.port, `127.0.0.${n}`, '0000-0000').then((status) => ({ status, ms: Date.now() - started }))));
    expect(answered.map((a) => a.status)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(Math.max(...answered.map((a) => a.ms))).toBeGreaterThanOrEqual(2900);
    const { code } = daemon.pairing.createCode();
    expect(await pairFrom(daemon.port, '127.0.0.9', code)).toBe(200);
  });

  test('a 16000x16000 picture is refused from its header, as an image or a media file, saying the limit', async () => {
    const png = hugePng(16000, 16000);
    expect(png.length).toBeLessThan(100_000);
    const file = path.join(dir, 'huge.png');
    fs.writeFileSync(file, png);
    const asImage = (await api(daemon, 'POST', '/v1/jobs', { ...SHORT_JOB, mode: 'extend', references: [{ role: 'before', source: { kind: 'images', images: [png.toString('base64')] } }] })).json();
    // A media file is refused at submit; images sent in the request are decoded by the job.
    const asMedia = await api(daemon, 'POST', '/v1/jobs', extendFrom(file));
    expect([asMedia.status, asMedia.json().error.code]).toEqual([400, 'media_unreadable']);
    const ended = await waitForJob(daemon, asImage.id, undefined, 30_000);
    expect([ended.state, ended.error.code]).toEqual(['failed', 'media_unreadable']);
    for (const message of [asMedia.json().error.message, ended.error.message]) expect(message).toMatch(/is 16000x16000 pixels; references may have at most 37\.7 megapixels/);
    const ok = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
    expect((await waitForJob(daemon, ok.id)).state).toBe('done');
  });
});
