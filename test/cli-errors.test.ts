/**
 * Issue 28 item 10: errors a user meets, said before any work is done, naming the flag or field and the fix. The real
 * CLI (bin/longshot.cjs, built by `npm run build`) and a real daemon.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { flagName, PROJECT_ROOT, SETTINGS } from '../daemon/config';
import { api, request, startTestDaemon, tempDir, TEST_MODEL, TEST_MODELS_DIR } from './support/daemon-harness';
import { cannotMountTmpfs, mountTmpfs, type Tmpfs } from './support/tmpfs';

const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
const MODEL_FLAGS = ['--models-dir', TEST_MODELS_DIR, '--default-model', TEST_MODEL, '--threads', '1'];

/** Runs the real CLI; resolves with its exit code and output instead of rejecting. */
async function longshot(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: Date.now() - started };
  }
}

describe('issue 28.10: `longshot generate` says what is wrong before it generates', () => {
  const dir = tempDir('longshot-cli-errors-');
  const generate = (...args: string[]) => longshot(['generate', 'a red circle bounces', '--seconds', '0.25', '--data-dir', dir, ...MODEL_FLAGS, ...args]);

  test('a negative number is checked as the flag\'s value, not taken for a flag', async () => {
    const run = await longshot(['generate', 'a red circle', '--seconds', '-2', '-o', path.join(dir, 'neg.mp4'), '--data-dir', dir, ...MODEL_FLAGS]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('error: --seconds: must be greater than 0\n');
  });

  test('an output name Longshot cannot write is refused, naming what it writes', async () => {
    const avi = await generate('-o', path.join(dir, 'clip.avi'));
    expect(avi.code).toBe(2);
    expect(avi.stderr).toMatch(/^error: -o .*clip\.avi: Longshot writes \.mp4 \(H\.264\), \.mov .*not \.avi\n$/);
    expect(fs.existsSync(path.join(dir, 'clip.avi'))).toBe(false);
    const clash = await generate('-o', path.join(dir, 'clip.mp4'), '--format', 'mov');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(/--format mov does not match -o .*clip\.mp4/);
  });

  test('a folder that does not exist is named at once, with no ffmpeg output and no temp file name', async () => {
    const missing = path.join(dir, 'no', 'such', 'folder');
    const run = await generate('-o', path.join(missing, 'clip.mp4'));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`error: -o: the folder ${missing} does not exist; create it first (mkdir -p "${missing}")\n`);
  });

  const cannotMount = cannotMountTmpfs();
  if (cannotMount) process.stderr.write(`read-only folder test skipped: ${cannotMount}\n`);
  (cannotMount ? test.skip : test)('a read-only folder is named at once', async () => {
    const { dir: ro, unmount } = mountTmpfs(tempDir('longshot-ro-'), '64k') as Tmpfs;
    try {
      await promisify(execFile)('mount', ['-o', 'remount,ro', ro]);
      const run = await generate('-o', path.join(ro, 'clip.mp4'));
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`error: -o: cannot write in ${ro} (EROFS); pick a folder this user can write to\n`);
    } finally {
      unmount();
    }
  });
});

describe('issue 28.10: the daemon\'s start, pairing and API say what is wrong', () => {
  test('`serve` on a port in use names the port and --port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const run = await longshot(['serve', '--port', String(port), '--data-dir', tempDir(), ...MODEL_FLAGS]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^error: --port: 127\\.0\\.0\\.1:${port} is already in use .*start this one with another --port\\n$`, 'm'));
      expect(run.stderr).not.toMatch(/internal error|EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  test('`pair` for a data folder the running daemon does not read says so; with its folder the code works', async () => {
    const daemon = await startTestDaemon({}, { preload: false });
    try {
      const other = tempDir('longshot-other-');
      const wrong = await longshot(['pair', '--port', String(daemon.port), '--data-dir', other]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(new RegExp(`the daemon on 127\\.0\\.0\\.1:${daemon.port} does not use the data folder ${other} .*run pair with that daemon's --data-dir`));
      expect(wrong.stdout).toBe('');
      const right = await longshot(['pair', '--port', String(daemon.port), '--data-dir', daemon.dataDir, '--json']);
      expect(right.code).toBe(0);
      const { code } = JSON.parse(right.stdout);
      const paired = await request(daemon.port, { method: 'POST', path: '/v1/pair', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
      expect(paired.status).toBe(200);
    } finally {
      await daemon.close();
    }
  });

  test('a code replaced by a newer `pair` is answered as replaced, not as wrong', async () => {
    const daemon = await startTestDaemon({}, { preload: false });
    try {
      const first = daemon.pairing.createCode().code;
      daemon.pairing.createCode();
      const res = await request(daemon.port, { method: 'POST', path: '/v1/pair', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: first }) });
      expect(res.status).toBe(401);
      expect(res.json().error.message).toMatch(/^code: this code was replaced at .* by a newer one .*type the code it printed last$/);
    } finally {
      await daemon.close();
    }
  });

  test('an unknown field is named as unknown, not as the field it left missing; OpenAPI bounds seconds and fps and hides `stored`', async () => {
    const daemon = await startTestDaemon({}, { preload: false });
    try {
      const res = await api(daemon, 'POST', '/v1/jobs', { prompt: 'a red circle', duration: 2, fps: 24 });
      expect(res.status).toBe(400);
      expect(res.json().error.message).toBe('request: unknown field(s) "duration": remove them');
      const doc = (await api(daemon, 'GET', '/v1/openapi.json')).json();
      const body = doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema;
      expect(body.properties.seconds).toMatchObject({ type: 'number', exclusiveMinimum: 0, maximum: 60 });
      expect(body.properties.fps).toMatchObject({ type: 'number', minimum: 6, maximum: 60 });
      expect(JSON.stringify(doc)).not.toContain('"stored"');
      expect(body.properties.references.items.properties.source.oneOf.map((s: { properties: { kind: { const: string } } }) => s.properties.kind.const)).toEqual(['media', 'images']);
    } finally {
      await daemon.close();
    }
  });

  test('`longshot --help` lists every setting with its variable', async () => {
    const { stdout } = await longshot(['--help']);
    for (const setting of Object.values(SETTINGS)) expect(stdout).toMatch(new RegExp(`--${flagName(setting.key)} +${setting.env} `));
  });
});
