import fs from 'node:fs';
import path from 'node:path';
import { parseGenerateRequest, type GenerateRequestInput } from '../../shared/protocol';
import { loadPackage } from '../engine/model-package';
import { createVideoPipeline } from '../engine/pipeline';
import { copyPackageTo } from '../engine/testdata/package-copy';
import { silentLogger } from '../log';
import { tempDir, TEST_MODELS_DIR } from '../../test/support/daemon-harness';
import { ModelRegistry } from './model-registry';

const TINY_UVIT = path.join(TEST_MODELS_DIR, 'tiny-uvit');
const TINY_LATENT = path.join(TEST_MODELS_DIR, 'tiny-latent');

const made: string[] = [];
afterAll(() => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A models folder of real packages: tiny-uvit as it ships, plus copies with their model.json edited (removed after the tests). */
async function modelsDir(copies: Record<string, [from: string, edit: (manifest: any) => void]>): Promise<string> {
  const dir = tempDir('longshot-models-');
  made.push(dir);
  await fs.promises.cp(TINY_UVIT, path.join(dir, 'tiny-uvit'), { recursive: true });
  for (const [name, [from, edit]] of Object.entries(copies)) await copyPackageTo(path.join(dir, name), from, (m) => ((m.name = name), edit(m)));
  return dir;
}

const footage = (jobs: string[]) => (m: any) => Object.assign(m, { domain: 'footage', jobs });
const registryOf = (dir: string, defaultModel = 'tiny-uvit') => new ModelRegistry(dir, defaultModel, (d, hashes) => createVideoPipeline(d, { device: 'cpu', threads: 1, logger: silentLogger(), hashes }), silentLogger());
const media = (role: 'before' | 'after') => ({ role, source: { kind: 'media' as const, path: '/clip.mp4', timeSeconds: 1 } });
const request = (input: Partial<GenerateRequestInput>) => parseGenerateRequest({ seconds: 1, fps: 24, ...input });
const extend = request({ mode: 'extend', references: [media('before')] });
const extendHead = request({ mode: 'extend-head', references: [media('after')] });
const fill = request({ mode: 'fill', references: [media('before'), media('after')] });
const broll = request({ prompt: 'a red circle bounces' });

describe('model.json domain and jobs', () => {
  test('absent: domain "unknown" and every job; the bundled and test packages say what they know', async () => {
    const dir = await modelsDir({ plain: [TINY_UVIT, (m) => (delete m.domain, delete m.jobs)] });
    expect((await loadPackage(path.join(dir, 'plain'))).manifest).toMatchObject({ domain: 'unknown', jobs: ['broll', 'extend', 'fill'] });
    expect((await loadPackage(TINY_UVIT)).manifest).toMatchObject({ domain: 'shapesworld', jobs: ['broll', 'extend', 'fill'] });
    const bundled = JSON.parse(fs.readFileSync(path.join(TEST_MODELS_DIR, '..', 'shapesworld-uvit', 'model.json'), 'utf8'));
    expect(bundled).toMatchObject({ domain: 'shapesworld', jobs: ['broll', 'extend', 'fill'] });
    expect(Object.keys(bundled.files)).not.toContain('model.json');
  });

  test.each([
    [{ domain: 'Camera Footage' }, /field "domain": domain: a short id/],
    [{ domain: '' }, /field "domain"/],
    [{ jobs: [] }, /field "jobs": jobs: name at least one job/],
    [{ jobs: ['extend', 'extend'] }, /field "jobs": jobs: name each job once/],
    [{ jobs: ['draw'] }, /field "jobs.0"/],
    [{ jobs: 'extend' }, /field "jobs": jobs: a list of "broll", "extend", "fill"/],
  ])('%j is refused, naming the field', async (change, message) => {
    const dir = await modelsDir({ bad: [TINY_UVIT, (m) => Object.assign(m, change)] });
    await expect(loadPackage(path.join(dir, 'bad'))).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(message) });
    // The listing leaves it out and keeps the good one.
    expect((await registryOf(dir).list()).map((m) => m.name)).toEqual(['tiny-uvit']);
  });
});

describe('ModelRegistry.choose: the package a request runs on', () => {
  test('with no model named, extends and fills go to a footage package that serves them; B-roll to the default', async () => {
    const dir = await modelsDir({ 'tiny-footage': [TINY_LATENT, footage(['extend', 'fill'])] });
    const registry = registryOf(dir);
    expect((await registry.list()).find((m) => m.name === 'tiny-footage')).toMatchObject({ domain: 'footage', jobs: ['extend', 'fill'], default: false });
    expect((await registry.choose(broll)).name).toBe('tiny-uvit');
    for (const r of [extend, extendHead, fill]) expect([r.mode, (await registry.choose(r)).name]).toEqual([r.mode, 'tiny-footage']);
  });

  test('a named model is used as named, even for a job it does not serve', async () => {
    const dir = await modelsDir({ 'tiny-footage': [TINY_LATENT, footage(['extend', 'fill'])] });
    const registry = registryOf(dir);
    expect((await registry.choose({ ...broll, model: 'tiny-footage' })).name).toBe('tiny-footage');
    expect((await registry.choose({ ...extend, model: 'tiny-uvit' })).name).toBe('tiny-uvit');
    await expect(registry.choose({ ...broll, model: 'nope' })).rejects.toMatchObject({ code: 'model_not_found', field: 'request.model', message: expect.stringMatching(/^request\.model: no valid package named "nope" in .*; available: tiny-footage, tiny-uvit$/) });
  });

  test('a footage package that does not serve the job, or a package of another domain, is not chosen', async () => {
    const dir = await modelsDir({ 'extend-only': [TINY_LATENT, footage(['extend'])], 'other-world': [TINY_LATENT, (m) => Object.assign(m, { domain: 'cartoons', jobs: ['extend', 'fill'] })] });
    const registry = registryOf(dir);
    expect((await registry.choose(extend)).name).toBe('extend-only');
    expect((await registry.choose(fill)).name).toBe('tiny-uvit');
  });

  test('without a footage package everything runs on the default; a missing default says --default-model', async () => {
    const dir = await modelsDir({});
    expect((await registryOf(dir).choose(extend)).name).toBe('tiny-uvit');
    await expect(registryOf(dir, 'gone').choose(fill)).rejects.toMatchObject({ code: 'model_not_found', message: expect.stringMatching(/default model "gone" .*--default-model.*available: tiny-uvit/) });
  });
});

describe('ModelRegistry.prepare: the loaded model and what the request warns about', () => {
  let dir: string;
  let registry: ModelRegistry;
  beforeAll(async () => {
    dir = await modelsDir({ 'tiny-footage': [TINY_LATENT, footage(['extend', 'fill'])] });
    registry = registryOf(dir);
  });
  afterAll(async () => {
    await registry.close();
  });

  test('a prompt the model knows, on a job it serves: no warning', async () => {
    const prepared = await registry.prepare(broll);
    expect([prepared.model.name, prepared.pipeline.modelName, prepared.warnings]).toEqual(['tiny-uvit', 'tiny-uvit', []]);
    expect((await registry.prepare(extend)).warnings).toEqual([]);
  });

  test('B-roll asked of a footage model, unknown words, an empty B-roll prompt', async () => {
    expect((await registry.prepare({ ...broll, model: 'tiny-footage' })).warnings).toEqual([
      { code: 'model_job_unsupported', field: 'model', message: 'tiny-footage (footage) serves extend, fill, not B-roll: its clip may not be what was asked; leave the model to Automatic (no `model`) for B-roll' },
    ]);
    expect((await registry.prepare({ ...broll, prompt: 'a sparkly red circle zooms' })).warnings).toEqual([
      { code: 'prompt_words_unknown', field: 'prompt', message: 'tiny-uvit does not know "sparkly", "zooms"; those words were ignored' },
    ]);
    expect((await registry.prepare({ ...broll, prompt: '  ' })).warnings).toEqual([
      { code: 'prompt_empty', field: 'prompt', message: 'the prompt is empty: tiny-uvit makes a random scene; describe the shot to choose it' },
    ]);
  });

  test('a model asked by name for an extend it does not serve', async () => {
    const dirOwn = await modelsDir({ 'broll-only': [TINY_UVIT, (m) => (m.jobs = ['broll'])] });
    const own = registryOf(dirOwn);
    const { warnings } = await own.prepare({ ...extend, model: 'broll-only' });
    await own.close();
    expect(warnings).toEqual([{ code: 'model_job_unsupported', field: 'model', message: expect.stringMatching(/^broll-only \(shapesworld\) serves B-roll, not extend: .*choose a model whose jobs include extend/) }]);
  });
});
