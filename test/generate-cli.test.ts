import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../daemon/config';
import { probeMedia } from '../daemon/media/probe';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { tempDir, TEST_MODEL, TEST_MODELS_DIR } from './support/daemon-harness';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
const MODEL_FLAGS = ['--models-dir', TEST_MODELS_DIR, '--default-model', TEST_MODEL, '--threads', '1'];

/** A ShapesWorld clip rendered by the one renderer (models/shapesworld), as an editor's footage would be. */
async function renderFixture(dir: string, name: string, prompt: string, seconds: number, fps: number, t0 = 0): Promise<string> {
  const out = path.join(dir, name);
  await run('/usr/bin/python3', ['-m', 'models.shapesworld.render', '--prompt', prompt, '--seconds', String(seconds), '--fps', String(fps), '--t0', String(t0), '--seed', '3', '--out', out], { cwd: PROJECT_ROOT });
  return out;
}

async function frames(file: string): Promise<number> {
  const ffmpeg = await resolveFfmpeg(null);
  const { stderr } = await ffmpeg.run(['-i', file, '-map', '0:v:0', '-f', 'null', '-']);
  return Number([...stderr.matchAll(/frame=\s*(\d+)/g)].pop()![1]);
}

async function videoStreamMd5(file: string): Promise<string> {
  const ffmpeg = await resolveFfmpeg(null);
  const { stdout } = await ffmpeg.run(['-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'md5', '-']);
  return stdout.toString().trim();
}

describe('longshot generate (real CLI, real model, real ffmpeg)', () => {
  const dir = tempDir();

  test('B-roll: exact frames at 29.97 fps, default output ≥ 256 px tall, generation metadata, JSON lines', async () => {
    const out = path.join(dir, 'broll.mp4');
    const { stdout } = await run(process.execPath, [CLI, 'generate', 'a red circle bounces', '--seconds', '3.5', '--fps', '29.97', '--seed', '5', '--json', '-o', out, ...MODEL_FLAGS]);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    const progress = lines.filter((l) => l.event === 'progress');
    expect(progress.map((p) => p.step)).toEqual(progress.map((_, i) => i + 1));
    expect(progress.at(-1).step).toBe(progress.at(-1).total);
    expect(lines.at(-1)).toMatchObject({ event: 'done', frames: 105, seed: 5, model: TEST_MODEL, provider: 'cpu' });
    expect(await frames(out)).toBe(105);
    const ffmpeg = await resolveFfmpeg(null);
    const info = await probeMedia(ffmpeg, out, 'out');
    expect(info.height).toBeGreaterThanOrEqual(256);
    expect(info.fps).toBeCloseTo(30000 / 1001, 3);
    const { stderr } = await ffmpeg.run(['-i', out, '-f', 'null', '-']);
    expect(stderr).toMatch(/title\s*: a red circle bounces/);
    expect(stderr).toMatch(/"seed":5/);
  });

  test('the same request and seed give the same clip', async () => {
    const a = path.join(dir, 'a.mp4');
    const b = path.join(dir, 'b.mp4');
    const c = path.join(dir, 'c.mp4');
    for (const [out, seed] of [[a, '9'], [b, '9'], [c, '10']] as const) await run(process.execPath, [CLI, 'generate', 'a blue square falls', '--seconds', '1', '--fps', '24', '--seed', seed, '-o', out, ...MODEL_FLAGS]);
    // The encoded video stream, not the whole file: the file's XMP carries its creation time.
    expect(await videoStreamMd5(a)).toBe(await videoStreamMd5(b));
    expect(await videoStreamMd5(a)).not.toBe(await videoStreamMd5(c));
  });

  test('extend, extend-head and fill read rendered footage and make exactly the frames asked', async () => {
    const prompt = 'a green square moves right';
    const before = await renderFixture(dir, 'before.mp4', prompt, 2, 24);
    const after = await renderFixture(dir, 'after.mp4', prompt, 2, 24, 3.5);
    const cases: [string[], number][] = [
      [['--extend', `${before}@1.5`, '--seconds', '2'], 48],
      [['--extend-head', `${after}@0.5`, '--seconds', '1'], 24],
      [['--fill', `${before}@1.9583,${after}@0`, '--seconds', '1.5'], 36],
    ];
    for (const [flags, count] of cases) {
      const out = path.join(dir, `${flags[0]!.slice(2)}.mp4`);
      await run(process.execPath, [CLI, 'generate', prompt, '--fps', '24', ...flags, '-o', out, ...MODEL_FLAGS]);
      expect(await frames(out)).toBe(count);
    }
  });

  test('--help after a command prints its usage, exit code 0', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'generate', '--help']);
    expect(stdout).toMatch(/^Usage: longshot generate/);
    expect(stdout).toMatch(/--extend FILE@T/);
  });

  test('bad input: a clear error naming the flag, exit code 2, nothing written', async () => {
    const out = path.join(dir, 'bad.mp4');
    const cases: [string[], RegExp][] = [
      [['a red circle', '--seconds=-1', '-o', out], /^error: --seconds: must be greater than 0\n$/],
      [['a red circle', '--fps', 'fast', '-o', out], /--fps: expected a number, got "fast"/],
      [['a red circle', '--extend', 'clip.mp4', '-o', out], /--extend: expected FILE@SECONDS/],
      [['a red circle', '--size', '640', '-o', out], /--size: expected WIDTHxHEIGHT/],
      [['a red circle'], /-o: say where to write the clip/],
    ];
    for (const [args, pattern] of cases) {
      const err = await run(process.execPath, [CLI, 'generate', ...args, ...MODEL_FLAGS]).then(() => null, (e) => e);
      expect(err?.code).toBe(2);
      expect(err.stderr).toMatch(pattern);
    }
    const missing = await run(process.execPath, [CLI, 'generate', 'a red circle', '--extend', '/no/such.mp4@1', '-o', out, ...MODEL_FLAGS]).then(() => null, (e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: --extend: no video or image file at "/no/such.mp4"\n');
    expect(fs.existsSync(out)).toBe(false);
  });
});
