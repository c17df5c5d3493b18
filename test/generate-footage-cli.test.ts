import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../daemon/config';
import { readFramesAt } from '../daemon/media/decode';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { probeMedia } from '../daemon/media/probe';
import type { Ffmpeg } from '../daemon/media/run-ffmpeg';
import { tempDir } from './support/daemon-harness';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
// The tiny footage package (models/footage/export.py from 30 steps of footage-tiny): 16x16 native, 8 frames a window.
const packageFlags = (folder: string, model: string) => ['--models-dir', path.join(PROJECT_ROOT, 'models', 'testdata', folder), '--model', model, '--threads', '1', '--steps', '2'];
const FOOTAGE_FLAGS = packageFlags('footage', 'tiny-footage');

describe('longshot generate with a footage package (real CLI, U-ViT graph, motion transfer, ffmpeg)', () => {
  const dir = tempDir();
  let clip: string;
  let ffmpeg: Ffmpeg;
  beforeAll(async () => {
    ffmpeg = await resolveFfmpeg(null);
    // Camera-like footage of an aspect the model does not have natively: a moving test pattern, 2 s at 25 fps.
    clip = path.join(dir, 'footage.mp4');
    await ffmpeg.run(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', clip]);
  });

  const generate = async (flags: string[], out: string, footage = FOOTAGE_FLAGS) => {
    const { stdout } = await run(process.execPath, [CLI, 'generate', '', '--fps', '25', '--json', ...flags, '-o', out, ...footage]);
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  };

  /** An extend, an extend of the head and a fill by `model` (its package flags `footage`): each a clip of the footage's
   * own size with exactly the frames asked for. */
  const expectClips = async (model: string, footage: string[]) => {
    const cases: [string, string[], number][] = [
      ['extend', ['--extend', `${clip}@1`, '--seconds', '0.48'], 12],
      ['head', ['--extend-head', `${clip}@1`, '--seconds', '0.4'], 10],
      ['fill', ['--fill', `${clip}@0.6,${clip}@1.2`, '--seconds', '0.6'], 15],
    ];
    for (const [name, flags, frames] of cases) {
      const out = path.join(dir, `${model}-${name}.mp4`);
      expect(await generate(flags, out, footage)).toMatchObject({ event: 'done', frames, model });
      const info = await probeMedia(ffmpeg, out, 'out');
      expect([info.width, info.height]).toEqual([320, 180]);
    }
  };

  test('extend, extend-head and fill give clips of the footage own size and exact frame counts', async () => {
    await expectClips('tiny-footage', FOOTAGE_FLAGS);
  });

  test('a motion-latent package (channels 5) extends, extends the head and fills through the CLI alike', async () => {
    // models/testdata/footage-motion: footage-motion-tiny untrained (its known_skip alone), exported with residual gain 0.
    await expectClips('tiny-footage-motion', packageFlags('footage-motion', 'tiny-footage-motion'));
  });

  test("an extend's first frame joins the footage's frame at the cut, at full detail", async () => {
    const out = path.join(dir, 'seam.mp4');
    await generate(['--extend', `${clip}@1`, '--seconds', '0.2'], out);
    const read = (file: string, time: number) => readFramesAt(ffmpeg, file, { timeSeconds: time, count: 1, side: 'after', width: 320, height: 180, field: 'f' });
    const [cut] = await read(clip, 1);
    const [first] = await read(out, 0);
    const meanAbs = cut!.reduce((s, v, i) => s + Math.abs(v - first![i]!), 0) / cut!.length;
    // A 16x16 model upscaled would be a blur far from the footage; motion transfer carries the footage itself.
    expect(meanAbs).toBeLessThan(12);
  });

  test('a clip whose frames at the footage size would not fit in memory is refused before any work, saying what to shorten', async () => {
    const big = path.join(dir, 'big.mp4');
    await ffmpeg.run(['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=0.5', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', big]);
    const failed = run(process.execPath, [CLI, 'generate', '', '--extend', `${big}@0.4`, '--seconds', '20', '--fps', '60', '-o', path.join(dir, 'long.mp4'), ...FOOTAGE_FLAGS]);
    await expect(failed).rejects.toMatchObject({ stderr: expect.stringMatching(/1200 frames at 1920x1080 .*GB.*shorter/) });
  });

  test('B-roll with a footage model is refused, naming what to do', async () => {
    const failed = run(process.execPath, [CLI, 'generate', 'a red circle bounces', '--seconds', '0.5', '--fps', '25', '-o', path.join(dir, 'broll.mp4'), ...FOOTAGE_FLAGS]);
    await expect(failed).rejects.toMatchObject({ stderr: expect.stringMatching(/extend|fill/) });
  });
});
