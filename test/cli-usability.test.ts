import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { formatProgress } from '../daemon/cli/progress-bar';
import { PROJECT_ROOT } from '../daemon/config';
import { tempDir, TEST_MODEL, TEST_MODELS_DIR } from './support/daemon-harness';

const execFileAsync = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
const MODEL_FLAGS = ['--models-dir', TEST_MODELS_DIR, '--default-model', TEST_MODEL, '--threads', '1'];

/** Runs the real CLI; resolves with its exit code instead of rejecting. */
async function longshot(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('longshot CLI as a new user meets it', () => {
  const dir = tempDir();

  test('each command has its own --help', async () => {
    const generate = await longshot(['generate', '--help']);
    expect(generate.stdout).toMatch(/^Usage: longshot generate "<prompt>" -o OUT/);
    expect(generate.stdout).toMatch(/--variations N/);
    expect(generate.stdout).not.toMatch(/Commands:/);
    expect((await longshot(['help', 'doctor'])).stdout).toMatch(/^Usage: longshot doctor/);
    expect((await longshot(['--help'])).stdout).toMatch(/Commands:/);
  });

  test('errors name the flag typed, on the first line, with exit code 2', async () => {
    const { code, stderr } = await longshot(['generate', 'a red circle', '--fps', '3', '-o', path.join(dir, 'x.mp4'), ...MODEL_FLAGS]);
    expect(code).toBe(2);
    expect(stderr).toBe('error: --fps: must be at least 6\n');
    const size = await longshot(['generate', 'a red circle', '--size', '101x100', '-o', path.join(dir, 'x.mp4'), ...MODEL_FLAGS]);
    expect(size.stderr).toBe('error: --size: width and height must be even (H.264 4:2:0)\n');
  });

  test('a missing --extend file is reported before any model is looked for', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'no-models-'));
    const { code, stderr } = await longshot(['generate', 'more', '--extend', path.join(dir, 'missing.mp4@1'), '-o', path.join(dir, 'y.mp4'), '--models-dir', empty]);
    expect(code).toBe(1);
    expect(stderr).toBe(`error: --extend: no video or image file at "${path.join(dir, 'missing.mp4')}"\n`);
  });

  test('progress reads as windows and --steps, not the product of both', () => {
    const sampling = (step: number, total: number, etaSeconds: number | null) => ({ stage: 'sampling' as const, step, total, etaSeconds });
    expect(formatProgress(sampling(13, 48, null), 12)).toMatch(/ window 2\/4 · step 1\/12$/);
    expect(formatProgress(sampling(48, 48, 0), 12)).toMatch(/ window 4\/4 · step 12\/12  eta 0s$/);
    expect(formatProgress(sampling(5, 12, null), 12)).toMatch(/\] step 5\/12$/);
    // An extend's reference frames are read before its first step, and say so.
    expect(formatProgress({ stage: 'reading', step: 2, total: 4, etaSeconds: 1 }, 12)).toMatch(/\] reading reference frame 2\/4  eta 1s$/);
  });

  test('--variations 2 makes seeds s and s+1, each its own file, with window progress in JSON', async () => {
    const out = path.join(dir, 'var.mp4');
    const { code, stdout } = await longshot(['generate', 'a red circle bounces', '--seconds', '1', '--fps', '12', '--seed', '7', '--steps', '2', '--variations', '2', '--json', '-o', out, ...MODEL_FLAGS]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.event === 'done').map((l) => [l.seed, path.basename(l.output)])).toEqual([[7, 'var-seed7.mp4'], [8, 'var-seed8.mp4']]);
    const progress = lines.find((l) => l.event === 'progress');
    expect(progress).toMatchObject({ seed: 7, stage: 'sampling', window: 1, windowStep: 1, stepsPerWindow: 2 });
    expect(fs.existsSync(path.join(dir, 'var-seed8.mp4'))).toBe(true);
  });

  test('a generated clip is ProRes 422 HQ at 24000/1001, Rec. 709, with XMP provenance exiftool reads', async () => {
    const out = path.join(dir, 'hq.mov');
    const { code, stderr } = await longshot(['generate', 'a red circle bounces', '--seconds', '1', '--fps', '23.976', '--seed', '11', '--steps', '2', '--codec', 'prores-422-hq', '-o', out, ...MODEL_FLAGS]);
    expect([code, stderr]).toEqual([0, '']);
    const probe = JSON.parse(execFileSync('/usr/bin/ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=profile,r_frame_rate,color_space,color_primaries,color_transfer,color_range', '-of', 'json', out]).toString()).streams[0];
    expect(probe).toEqual({ profile: 'HQ', r_frame_rate: '24000/1001', color_space: 'bt709', color_primaries: 'bt709', color_transfer: 'bt709', color_range: 'tv' });
    const [xmp] = JSON.parse(execFileSync('/usr/bin/exiftool', ['-j', '-G1', '-XMP:all', out]).toString());
    expect(xmp).toMatchObject({
      'XMP-dc:Title': 'a red circle bounces',
      'XMP-iptcExt:DigitalSourceType': 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia',
      'XMP-longshot:Seed': 11, 'XMP-longshot:Model': TEST_MODEL, 'XMP-longshot:Steps': 2, 'XMP-longshot:Mode': 'broll',
    });
    const mp4 = await longshot(['generate', 'x', '--codec', 'dnxhr-hq', '-o', path.join(dir, 'x.mp4'), ...MODEL_FLAGS]);
    expect(mp4.stderr).toBe('error: --codec: codec "dnxhr-hq" is for format "mov"; MP4 is always H.264\n');
  });

  test('doctor exits 1 when no clip can be made, and keeps native warnings out of its report', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'no-models-'));
    const broken = await longshot(['doctor', '--models-dir', empty]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^FAIL model packages: no model package in/m);
    const good = await longshot(['doctor', ...MODEL_FLAGS]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^ok   provider cpu: runs /m);
    expect(good.stdout).toMatch(/^--   provider cuda: not installed: .*ONNXRUNTIME_NODE_INSTALL=cuda12/m);
    expect(good.stdout + good.stderr).not.toMatch(/vkCreateInstance|Dawn|onnxruntime_src|\[E:onnxruntime/);
  });
});
