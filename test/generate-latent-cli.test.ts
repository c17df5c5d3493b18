import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../daemon/config';
import { probeMedia } from '../daemon/media/probe';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { tempDir, TEST_MODELS_DIR } from './support/daemon-harness';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
// The tiny latent package sits beside the pixel test package; --model picks it by name.
const LATENT_FLAGS = ['--models-dir', TEST_MODELS_DIR, '--model', 'tiny-latent', '--threads', '1'];

describe('longshot generate with a latent package (real CLI, encoder/U-ViT/decoder graphs, ffmpeg)', () => {
  const dir = tempDir();

  test('B-roll, then extend and fill from its frames: exact frame counts at the native 48x32 scaled up', async () => {
    const ffmpeg = await resolveFfmpeg(null);
    const broll = path.join(dir, 'broll.mp4');
    const { stdout } = await run(process.execPath, [CLI, 'generate', 'a red circle bounces', '--seconds', '1', '--fps', '24', '--seed', '3', '--steps', '2', '--json', '-o', broll, ...LATENT_FLAGS]);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ event: 'done', frames: 24, seed: 3, model: 'tiny-latent', provider: 'cpu' });
    const info = await probeMedia(ffmpeg, broll, 'out');
    expect(info.height).toBeGreaterThanOrEqual(256);
    expect(info.width / info.height).toBeCloseTo(48 / 32, 1);
    const cases: [string[], number][] = [
      [['--extend', `${broll}@0.9`, '--seconds', '0.5'], 12],
      [['--fill', `${broll}@0.5,${broll}@0`, '--seconds', '0.25'], 6],
    ];
    for (const [flags, frames] of cases) {
      const out = path.join(dir, `${flags[0]!.slice(2)}.mp4`);
      const result = await run(process.execPath, [CLI, 'generate', 'a red circle bounces', '--fps', '24', '--steps', '2', '--json', ...flags, '-o', out, ...LATENT_FLAGS]);
      expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toMatchObject({ event: 'done', frames, model: 'tiny-latent' });
    }
  });

  test('longshot models lists the latent package next to the pixel one, nothing refused', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'models', '--json', '--models-dir', TEST_MODELS_DIR]);
    const { models, errors } = JSON.parse(stdout);
    expect(errors).toEqual([]);
    expect(models.map((m: { name: string; space: string }) => [m.name, m.space]).sort()).toEqual([['tiny-latent', 'latent'], ['tiny-uvit', 'pixel']]);
  });
});
