/**
 * Issue 10: a paired client that turns hostile, footage that is hostile, jobs that cost too much. Each test plays
 * the attack against a real daemon (real WebSocket, SQLite file and ffmpeg) and checks it keeps serving after.
 */
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { WS_SUBPROTOCOL, WS_TOKEN_PREFIX } from '../shared/protocol';
import { api, request, startTestDaemon, StreamClient, tempDir, waitForJob } from './support/daemon-harness';
import { exited, spawnDaemon } from './support/daemon-process';

const SHORT_JOB = { prompt: 'a blue square falls', seconds: 0.25, fps: 24, steps: 2 };
let ffmpeg: string;

/** A small real PNG, base64. */
function pngBase64(dir: string, colour = '0x336699'): string {
  const file = path.join(dir, `ref-${colour}.png`);
  execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=${colour}:s=64x64`, '-frames:v', '1', '-y', file]);
  return fs.readFileSync(file).toString('base64');
}

/** A real clip on disk. */
function makeClipFile(file: string): string {
  execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=24', '-t', '0.5', '-pix_fmt', 'yuv420p', '-y', file]);
  return file;
}

/** An HTTP server on loopback that records every request it gets (the SSRF target). */
async function recordingServer(): Promise<{ port: number; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const png = Buffer.from(pngBase64(tempDir(), '0xff0000'), 'base64');
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
    res.writeHead(200, { 'content-type': 'image/png' }).end(png);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, hits, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

const extendFrom = (p: string, timeSeconds = 0) => ({ ...SHORT_JOB, mode: 'extend', references: [{ role: 'before', source: { kind: 'media', path: p, timeSeconds } }] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  ffmpeg = (await resolveFfmpeg(null)).path;
});

describe('issue 10: hostile client, hostile footage, costly jobs (real daemon)', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  let dir: string;
  beforeAll(async () => {
    daemon = await startTestDaemon({ queueCap: 8 }, { preload: false });
    dir = tempDir('longshot-hostile-');
  });
  afterAll(async () => {
    await daemon.close();
  });

  async function alive(): Promise<void> {
    expect((await request(daemon.port, { path: '/health' })).status).toBe(200);
    const job = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
    expect((await waitForJob(daemon, job.id)).state).toBe('done');
  }

  test('1: images are stored once as files; SQLite rows and listings hold names, and listings are paged', async () => {
    const client = await StreamClient.open(daemon.port, daemon.token);
    await client.hello();
    const image = pngBase64(dir);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      client.send({ type: 'submit', requestId: `img${i}`, stream: false, request: { ...SHORT_JOB, mode: 'extend', references: [{ role: 'before', source: { kind: 'images', images: [image, image] } }] } });
      ids.push((await client.waitFor('queued', (m) => m.requestId === `img${i}`)).job.id);
    }
    for (const id of ids) expect((await waitForJob(daemon, id)).state).toBe('done');
    const db = new Database(path.join(daemon.dataDir, 'jobs.sqlite'), { readonly: true });
    const rows = db.prepare(`SELECT id, request FROM jobs`).all() as { id: string; request: string }[];
    db.close();
    for (const row of rows) expect(row.request).not.toContain(image.slice(0, 200));
    const stored = JSON.parse(rows.find((r) => r.id === ids[0])!.request).references[0].source;
    expect(stored).toMatchObject({ kind: 'stored', files: [expect.any(String), expect.any(String)] });
    expect(fs.readFileSync(path.join(daemon.dataDir, 'references', stored.files[0])).toString('base64')).toBe(image);

    // Paged: newest first, `next` leads to the older page; HTTP the same with X-Longshot-Next.
    client.send({ type: 'list', requestId: 'p1', limit: 2 });
    const first = await client.waitFor('jobs', (m) => m.requestId === 'p1');
    expect(first.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    expect(JSON.stringify(first).length).toBeLessThan(20_000);
    client.send({ type: 'list', requestId: 'p2', limit: 2, before: first.next });
    expect((await client.waitFor('jobs', (m) => m.requestId === 'p2')).jobs[0]!.id).toBe(ids[0]);
    const page = await api(daemon, 'GET', '/v1/jobs?limit=1');
    expect(page.json().map((j: { id: string }) => j.id)).toEqual([ids[2]]);
    expect(page.headers['x-longshot-next']).toBe(ids[2]);
    expect((await api(daemon, 'GET', '/v1/jobs?limit=100000')).json().error.field).toBe('limit');

    // DELETE of a finished job deletes its record, its clip and its reference files.
    const done = (await api(daemon, 'GET', `/v1/jobs/${ids[0]}`)).json();
    expect(fs.existsSync(done.output)).toBe(true);
    expect((await api(daemon, 'DELETE', `/v1/jobs/${ids[0]}`)).status).toBe(200);
    expect((await api(daemon, 'GET', `/v1/jobs/${ids[0]}`)).status).toBe(404);
    expect(fs.existsSync(done.output)).toBe(false);
    expect(fs.existsSync(path.join(daemon.dataDir, 'references', stored.files[0]))).toBe(false);
    client.close();
  });

  test('1: a clip whose file vanished closes that one connection with an error; the daemon and other clients go on', async () => {
    const job = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
    const done = await waitForJob(daemon, job.id);
    fs.rmSync(done.output);
    const client = await StreamClient.open(daemon.port, daemon.token);
    await client.hello();
    const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
    client.send({ type: 'subscribe', requestId: 's', jobId: job.id, clip: true });
    const error = await client.waitFor('error', () => true, 10_000);
    expect(error.error.message).toMatch(/can no longer be read/);
    expect(await closed).toBe(1011);
    await alive();
  });

  test('2: URLs, % patterns, protocol prefixes, CR/LF and relative paths are refused at submit naming the field; ffmpeg fetches nothing', async () => {
    const target = await recordingServer();
    try {
      const base = `127.0.0.1:${target.port}`;
      for (const p of [`http://${base}/frame%d.png`, `https://${base}/a.png`, `ftp://${base}/a.png`, `/tmp/frame%d.png`, `concat:/tmp/a.mp4|/tmp/b.mp4`, `file:/tmp/a.mp4`, `/tmp/a.png\r\nX-Injected: 1`, 'relative/clip.mp4']) {
        const res = await api(daemon, 'POST', '/v1/jobs', extendFrom(p));
        expect([p, res.status]).toEqual([p, 400]);
        expect(res.json().error.field).toBe('request.references[0].source.path');
        expect(res.json().error.message).toMatch(/absolute path of a media file/);
      }
      // Playlists and concat lists on disk are files, but ffmpeg may not follow them to the network.
      const playlist = path.join(dir, 'evil.m3u8');
      fs.writeFileSync(playlist, `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://${base}/seg.png\n#EXT-X-ENDLIST\n`);
      const disguised = path.join(dir, 'evil.mp4');
      fs.copyFileSync(playlist, disguised);
      const concat = path.join(dir, 'evil.ffconcat');
      fs.writeFileSync(concat, `ffconcat version 1.0\nfile http://${base}/seg.png\n`);
      for (const p of [playlist, disguised, concat]) {
        const res = await api(daemon, 'POST', '/v1/jobs', extendFrom(p));
        expect([p, res.status, res.json().error.code]).toEqual([p, 400, 'media_unreadable']);
      }
      await sleep(500);
      expect(target.hits).toEqual([]);
    } finally {
      await target.close();
    }
    await alive();
  });

  test('3: a reference that never answers (a FIFO with no writer) is refused at submit, without waiting on it', async () => {
    const fifo = path.join(dir, 'never.mp4');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    const res = await api(daemon, 'POST', '/v1/jobs', extendFrom(fifo));
    expect([res.status, res.json().error.code]).toEqual([400, 'media_unreadable']);
    expect(Date.now() - started).toBeLessThan(5000);
    await alive();
  });

  test('4: missing, unreadable, kernel and device files all answer the same words; a real clip still works', async () => {
    const clip = makeClipFile(path.join(dir, 'real.mp4'));
    const junk = path.join(dir, 'junk.mp4');
    fs.writeFileSync(junk, 'not video at all');
    const messages: string[] = [];
    for (const p of ['/no/such/file.mp4', '/etc/shadow', '/proc/self/environ', '/dev/zero', junk, dir]) {
      const res = await api(daemon, 'POST', '/v1/jobs', extendFrom(p));
      const { error } = res.json();
      expect([p, res.status, error.code, error.field]).toEqual([p, 400, 'media_unreadable', 'request.references[0].source.path']);
      messages.push(error.message.replace(JSON.stringify(p), '<path>'));
    }
    expect(new Set(messages).size).toBe(1);
    const ok = (await api(daemon, 'POST', '/v1/jobs', extendFrom(clip, 0.4))).json();
    expect((await waitForJob(daemon, ok.id)).state).toBe('done');
  });

  test('5: a job whose limits multiply past the cost cap is refused saying what to reduce; so is an oversized frame', async () => {
    const huge = await api(daemon, 'POST', '/v1/jobs', { prompt: 'a red circle', seconds: 60, fps: 60, steps: 200, width: 4096, height: 4096, format: 'png' });
    expect(huge.status).toBe(400);
    expect(huge.json().error.message).toMatch(/frame-steps is over this daemon's limit .*--max-job-cost.*reduce seconds, fps or steps/);
    const wide = await api(daemon, 'POST', '/v1/jobs', { prompt: 'a red circle', seconds: 0.5, fps: 24, width: 8192, height: 8192 });
    expect(wide.status).toBe(400);
    expect(wide.json().error).toMatchObject({ field: 'request.width', message: expect.stringMatching(/--max-output-side/) });
    const bytes = await api(daemon, 'POST', '/v1/jobs', { prompt: 'a red circle', seconds: 30, fps: 30, steps: 2, width: 4096, height: 4096, format: 'png' });
    expect(bytes.status).toBe(400);
    expect(bytes.json().error.message).toMatch(/--max-output-bytes/);
    await alive();
  });

  test('8: an error reply never echoes a huge requestId', async () => {
    const client = await StreamClient.open(daemon.port, daemon.token);
    await client.hello();
    client.send({ type: 'cancel', requestId: 'x'.repeat(1_000_000), jobId: 'nope' });
    const error = await client.waitFor('error');
    expect(error.requestId).toBeNull();
    expect(JSON.stringify(error).length).toBeLessThan(2000);
    client.close();
  });

  test('9: the daemon runs an ffmpeg of version 5 or later when one is on PATH, before the 2018 bundled build', () => {
    expect(daemon.ffmpeg.major).toBeGreaterThanOrEqual(5);
    expect(daemon.ffmpeg.path).not.toMatch(/@ffmpeg-installer/);
  });
});

describe('issue 10: the data folder, pairing and shutdown (real daemon)', () => {
  test('6: a data folder made 755/644 by someone else is made 0700/0600 at start, and what the daemon writes is 0600', async () => {
    const dataDir = tempDir('longshot-perm-');
    fs.chmodSync(dataDir, 0o755);
    fs.mkdirSync(path.join(dataDir, 'clips'), { mode: 0o755 });
    fs.writeFileSync(path.join(dataDir, 'clips', 'old.mp4'), 'x', { mode: 0o644 });
    const old = new Database(path.join(dataDir, 'jobs.sqlite'));
    old.pragma('journal_mode = WAL');
    old.close();
    fs.chmodSync(path.join(dataDir, 'jobs.sqlite'), 0o644);
    fs.chmodSync(path.join(dataDir, 'clips'), 0o755);
    fs.chmodSync(path.join(dataDir, 'clips', 'old.mp4'), 0o644);
    const daemon = await startTestDaemon({ dataDir }, { preload: false });
    try {
      const job = (await api(daemon, 'POST', '/v1/jobs', SHORT_JOB)).json();
      const done = await waitForJob(daemon, job.id);
      const modes: Record<string, string> = {};
      const walk = (d: string) => {
        modes[path.relative(dataDir, d) || '.'] = (fs.statSync(d).mode & 0o777).toString(8);
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const full = path.join(d, e.name);
          if (e.isDirectory()) walk(full);
          else modes[path.relative(dataDir, full)] = (fs.statSync(full).mode & 0o777).toString(8);
        }
      };
      walk(dataDir);
      expect(Object.keys(modes)).toEqual(expect.arrayContaining(['jobs.sqlite', 'jobs.sqlite-wal', 'token', path.relative(dataDir, done.output)]));
      for (const [name, mode] of Object.entries(modes)) expect([name, mode]).toEqual([name, fs.statSync(path.join(dataDir, name)).isDirectory() ? '700' : '600']);
    } finally {
      await daemon.close();
    }
  });

  test('7: wrong codes from any local user cost the caller a delay; they cannot burn the user\'s code', async () => {
    const daemon = await startTestDaemon({}, { preload: false });
    try {
      const { code } = daemon.pairing.createCode();
      const pair = (c: string) => request(daemon.port, { method: 'POST', path: '/v1/pair', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: c }) });
      const started = Date.now();
      const wrong = Array.from({ length: 8 }, () => pair('0000-0000').then((res) => ({ status: res.status, ms: Date.now() - started })));
      await sleep(50);
      const t0 = Date.now();
      const right = await pair(code);
      expect(right.status).toBe(200);
      expect(right.json().token).toBe(daemon.token);
      expect(Date.now() - t0).toBeLessThan(1000);
      const answered = await Promise.all(wrong);
      for (const w of answered) expect(w.status).toBe(401);
      expect(Math.min(...answered.map((w) => w.ms))).toBeGreaterThanOrEqual(450);
      // A new `pair` after an attack always gives a code that works.
      await Promise.all(Array.from({ length: 6 }, () => pair('1111-1111')));
      expect((await pair(daemon.pairing.createCode().code)).status).toBe(200);
    } finally {
      await daemon.close();
    }
  });

  test('8: jobs submitted during shutdown get 503 with Retry-After', async () => {
    const daemon = await startTestDaemon({}, { preload: false });
    try {
      await daemon.queue.close();
      const res = await api(daemon, 'POST', '/v1/jobs', SHORT_JOB);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().error.code).toBe('unavailable');
    } finally {
      await daemon.close();
    }
  });

  test('3: ffmpeg processes a crashed daemon left are swept at the next start', async () => {
    const dataDir = tempDir('longshot-orphan-');
    const fifo = path.join(dataDir, 'stuck');
    execFileSync('mkfifo', [fifo]);
    // What a `kill -9`ed daemon leaves: an ffmpeg blocked on a read, and its pid file.
    const orphan = spawn(ffmpeg, ['-nostdin', '-i', fifo, '-f', 'null', '-'], { stdio: 'ignore', detached: true });
    fs.mkdirSync(path.join(dataDir, 'run'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'run', `${orphan.pid}.pid`), JSON.stringify({ pid: orphan.pid, binary: ffmpeg }));
    await sleep(200);
    expect(orphan.exitCode).toBeNull();
    const daemon = await startTestDaemon({ dataDir, ffmpegPath: ffmpeg }, { preload: false });
    try {
      await Promise.race([exited(orphan), sleep(5000)]);
      expect(orphan.signalCode).toBe('SIGKILL');
      expect(fs.readdirSync(path.join(dataDir, 'run'))).toEqual([]);
    } finally {
      if (orphan.exitCode === null && orphan.signalCode === null) orphan.kill('SIGKILL');
      await daemon.close();
    }
  });
});

describe('issue 10: the list that crashed the daemon (its own process)', () => {
  test('1: 36 jobs with two 7.9 MB images each, then `list` on reconnect: the daemon answers and keeps serving', async () => {
    const dataDir = tempDir('longshot-big-');
    const proc = await spawnDaemon(dataDir, ['--queue-cap', '100', '--log-level', 'error']);
    try {
      const token = fs.readFileSync(path.join(dataDir, 'token'), 'utf8').trim();
      const image = 'A'.repeat(7_900_000);
      const body = JSON.stringify({ ...SHORT_JOB, mode: 'extend', references: [{ role: 'before', source: { kind: 'images', images: [image, image] } }] });
      for (let i = 0; i < 36; i++) {
        const res = await request(proc.port, { method: 'POST', path: '/v1/jobs', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
        expect(res.status).toBe(201);
      }
      const ws = new WebSocket(`ws://127.0.0.1:${proc.port}/v1/stream`, [WS_SUBPROTOCOL, WS_TOKEN_PREFIX + token]);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const client = new StreamClient(ws);
      await client.hello();
      client.send({ type: 'list', requestId: 'all' });
      const page = await client.waitFor('jobs', (m) => m.requestId === 'all', 30_000);
      expect(page.jobs.length).toBe(36);
      client.close();
      const health = await request(proc.port, { path: '/health' });
      expect(health.status).toBe(200);
      expect(proc.child.exitCode).toBeNull();
    } finally {
      proc.child.kill('SIGTERM');
      await exited(proc.child);
    }
  });
});
