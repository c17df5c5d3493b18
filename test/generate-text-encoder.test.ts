/**
 * Issue 27 item 3: a package with a standard tokenizer.json and a text-encoder graph generates through `longshot
 * generate` and the daemon, and a broken one is refused naming the file and the field. Real CLI, real daemon, real
 * package (models/testdata/text-encoder/tiny-text: screens of the colour the prompt names), real ffmpeg.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../daemon/config';
import { copyPackageTo } from '../daemon/engine/testdata/package-copy';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { api, startTestDaemon, tempDir, waitForJob } from './support/daemon-harness';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
const TEXT_MODELS = path.join(PROJECT_ROOT, 'models', 'testdata', 'text-encoder');
const FLAGS = ['--models-dir', TEXT_MODELS, '--model', 'tiny-text', '--threads', '1'];
const dir = tempDir('longshot-text-encoder-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The clip's first frame averaged to one RGB pixel by ffmpeg. */
async function meanColour(file: string): Promise<number[]> {
  const ffmpeg = await resolveFfmpeg(null);
  const { stdout } = await ffmpeg.run(['-i', file, '-frames:v', '1', '-vf', 'scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
  return Array.from(stdout.subarray(0, 3));
}

describe('longshot generate with a text-encoder package (real CLI)', () => {
  test('B-roll of the colour the prompt names; unknown words are warned of', async () => {
    const out = path.join(dir, 'blue.mp4');
    const { stdout } = await run(process.execPath, [CLI, 'generate', 'a blue crimson screen', '--seconds', '0.5', '--fps', '24', '--seed', '3', '--steps', '6', '--json', '-o', out, ...FLAGS]);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ event: 'done', frames: 12, seed: 3, model: 'tiny-text', provider: 'cpu' });
    expect(JSON.stringify(lines)).toContain('tiny-text does not know \\"crimson\\"');
    const [r, g, b] = await meanColour(out);
    expect(b).toBeGreaterThan(Math.max(r!, g!) + 150);
  });

  test('longshot models lists it; a copy without its tokenizer.json is refused naming the file and the field', async () => {
    const models = path.join(dir, 'models');
    await fs.promises.cp(path.join(TEXT_MODELS, 'tiny-text'), path.join(models, 'tiny-text'), { recursive: true });
    await copyPackageTo(path.join(models, 'no-tokenizer'), path.join(TEXT_MODELS, 'tiny-text'), (m) => (m.name = 'no-tokenizer'));
    await fs.promises.rm(path.join(models, 'no-tokenizer', 'tokenizer.json'));
    const { stdout } = await run(process.execPath, [CLI, 'models', '--json', '--models-dir', models]);
    const listed = JSON.parse(stdout);
    expect(listed.models.map((m: { name: string }) => m.name)).toEqual(['tiny-text']);
    expect(listed.errors).toEqual([expect.objectContaining({ dir: path.join(models, 'no-tokenizer'), message: expect.stringMatching(/file tokenizer\.json \(model\.json tokenizer\.file\) is missing/) })]);
    const failed = await run(process.execPath, [CLI, 'generate', 'a red screen', '--seconds', '0.25', '--fps', '24', '-o', path.join(dir, 'x.mp4'), '--models-dir', models, '--model', 'no-tokenizer', '--threads', '1']).catch((err) => err);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/--model: the package "no-tokenizer" is refused: .*file tokenizer\.json \(model\.json tokenizer\.file\) is missing/);
  });
});

describe('the daemon runs a text-encoder package (HTTP)', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  beforeAll(async () => {
    daemon = await startTestDaemon({ modelsDir: TEXT_MODELS, defaultModel: 'tiny-text' });
  });
  afterAll(async () => {
    await daemon.close();
    fs.rmSync(daemon.dataDir, { recursive: true, force: true });
  });

  test('a B-roll job runs on it and its clip is the colour named', async () => {
    const job = (await api(daemon, 'POST', '/v1/jobs', { prompt: 'the red frame', seconds: 0.25, fps: 24, steps: 6, seed: 5 })).json();
    const done = await waitForJob(daemon, job.id);
    expect(done).toMatchObject({ state: 'done', model: 'tiny-text', warnings: [] });
    const [r, g, b] = await meanColour(done.output);
    expect(r).toBeGreaterThan(Math.max(g!, b!) + 150);
  });
});
