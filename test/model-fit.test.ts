/**
 * Issue 26 item 5 and issue 28 item 7: the product picks the model that fits the job, and says so when a model does
 * not fit (a job outside its `jobs`, footage it cannot read back, words it does not know, an empty B-roll prompt) in
 * every channel: the HTTP job resource, the WebSocket, the daemon's log and the CLI (plain and --json). Real daemon,
 * real CLI, real packages: tiny-uvit and a copy of tiny-latent declared a footage model, and the bundled ShapesWorld
 * model for the reading of camera footage.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../daemon/config';
import { copyPackageTo } from '../daemon/engine/testdata/package-copy';
import { createLogger } from '../daemon/log';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { api, startTestDaemon, StreamClient, tempDir, TEST_MODELS_DIR, waitForJob } from './support/daemon-harness';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
const SHORT = { seconds: 0.25, fps: 24, steps: 2 };
const dir = tempDir('longshot-model-fit-');
let camera: string;

/** A models folder: tiny-uvit (ShapesWorld, every job) and tiny-footage (tiny-latent's weights, declared a footage model that extends and fills). */
async function tinyModels(): Promise<string> {
  const models = path.join(dir, 'models');
  await fs.promises.cp(path.join(TEST_MODELS_DIR, 'tiny-uvit'), path.join(models, 'tiny-uvit'), { recursive: true });
  await copyPackageTo(path.join(models, 'tiny-footage'), path.join(TEST_MODELS_DIR, 'tiny-latent'), (m) => Object.assign(m, { name: 'tiny-footage', domain: 'footage', jobs: ['extend', 'fill'] }));
  return models;
}

const extendOf = (file: string, extra: object = {}) => ({ ...SHORT, mode: 'extend', prompt: '', references: [{ role: 'before', source: { kind: 'media', path: file, timeSeconds: 0.5 } }], ...extra });

beforeAll(async () => {
  // Camera-like footage: ffmpeg's moving test pattern (colour bars, a gradient, a clock), nothing ShapesWorld draws.
  camera = path.join(dir, 'camera.mp4');
  execFileSync((await resolveFfmpeg(null)).path, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-t', '1', '-pix_fmt', 'yuv420p', '-y', camera]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the daemon picks the model and warns (HTTP, WebSocket, log)', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  const logLines: any[] = [];
  beforeAll(async () => {
    const sink = new Writable({ write: (chunk, _enc, done) => (logLines.push(...String(chunk).trim().split('\n').map((l) => JSON.parse(l))), done()) });
    daemon = await startTestDaemon({ modelsDir: await tinyModels() }, { logger: createLogger('info', sink), preload: false });
  });
  afterAll(async () => {
    await daemon.close();
    fs.rmSync(daemon.dataDir, { recursive: true, force: true });
  });

  test('GET /v1/models says what each package knows and the jobs it serves', async () => {
    const models = (await api(daemon, 'GET', '/v1/models')).json();
    expect(models.map((m: any) => [m.name, m.domain, m.jobs, m.default])).toEqual([
      ['tiny-footage', 'footage', ['extend', 'fill'], false],
      ['tiny-uvit', 'shapesworld', ['broll', 'extend', 'fill'], true],
    ]);
  });

  test('HTTP: with no model, an extend runs on the footage model and B-roll on the default; warnings are on the job resource and in the log', async () => {
    const extend = (await api(daemon, 'POST', '/v1/jobs', extendOf(camera))).json();
    expect(extend.model).toBeNull(); // chosen when it starts
    const broll = (await api(daemon, 'POST', '/v1/jobs', { ...SHORT, prompt: '' })).json();
    const doneExtend = await waitForJob(daemon, extend.id);
    const doneBroll = await waitForJob(daemon, broll.id);
    expect([doneExtend.state, doneExtend.model, doneBroll.state, doneBroll.model]).toEqual(['done', 'tiny-footage', 'done', 'tiny-uvit']);
    // tiny-footage's weights are tiny-latent's, trained on nothing like this footage: it cannot draw it back either.
    expect(doneExtend.warnings).toEqual([{ code: 'footage_unreadable', field: 'references', message: expect.stringMatching(/^tiny-footage cannot read this footage: .* miss \d+ % of their detail \(the limit is 25 %\)/) }]);
    expect(doneBroll.warnings).toEqual([{ code: 'prompt_empty', field: 'prompt', message: 'the prompt is empty: tiny-uvit makes a random scene; describe the shot to choose it' }]);
    expect((await api(daemon, 'GET', `/v1/jobs?limit=2`)).json().map((j: any) => j.warnings.map((w: any) => w.code))).toEqual([['prompt_empty'], ['footage_unreadable']]);
    const logged = logLines.filter((l) => l.msg === 'job warning').map((l) => [l.jobId, l.model, l.code]);
    expect(logged).toEqual(expect.arrayContaining([[extend.id, 'tiny-footage', 'footage_unreadable'], [broll.id, 'tiny-uvit', 'prompt_empty']]));
    const readBack = logLines.find((l) => l.msg === 'reference frames read back' && l.jobId === extend.id);
    expect(readBack).toMatchObject({ model: 'tiny-footage', frames: 2 });
    expect(readBack.unexplained).toBeGreaterThan(0.25);
  });

  test('a pixel package reads any footage back exactly: an extend named to tiny-uvit warns of nothing', async () => {
    const job = (await api(daemon, 'POST', '/v1/jobs', extendOf(camera, { model: 'tiny-uvit' }))).json();
    expect(job.model).toBe('tiny-uvit');
    expect(await waitForJob(daemon, job.id)).toMatchObject({ state: 'done', model: 'tiny-uvit', warnings: [] });
  });

  test('WebSocket: `started` names the model, each warning comes as it is raised, `done` carries them all', async () => {
    const client = await StreamClient.open(daemon.port, daemon.token);
    await client.hello();
    client.send({ type: 'submit', requestId: 'b', request: { ...SHORT, prompt: 'a red circle zooms', model: 'tiny-footage' } });
    const { job } = await client.waitFor('queued', (m) => m.requestId === 'b');
    expect(job.model).toBe('tiny-footage');
    const done = await client.waitFor('done', (m) => m.jobId === job.id);
    expect((await client.waitFor('started', (m) => m.jobId === job.id)).job.model).toBe('tiny-footage');
    const warnings = client.messages.filter((m) => m.type === 'warning' && m.jobId === job.id).map((m) => (m as { warning: unknown }).warning);
    expect(warnings).toEqual([
      { code: 'model_job_unsupported', field: 'model', message: 'tiny-footage (footage) serves extend, fill, not B-roll: its clip may not be what was asked; leave the model to Automatic (no `model`) for B-roll' },
      { code: 'prompt_words_unknown', field: 'prompt', message: 'tiny-footage does not know "zooms"; those words were ignored' },
    ]);
    expect(done.job.warnings).toEqual(warnings);
    // Every warning message comes before the job's final message.
    const order = client.messages.filter((m) => 'jobId' in m && m.jobId === job.id).map((m) => m.type);
    expect(order.lastIndexOf('warning')).toBeLessThan(order.indexOf('done'));
    client.close();
  });

  test('a retry chooses the model again and starts its warnings afresh', async () => {
    // An extend whose reference time is past the end of the footage fails after its model is chosen and the request's
    // warnings are raised, and fails again the same way when retried.
    const job = (await api(daemon, 'POST', '/v1/jobs', { ...extendOf(camera), prompt: 'zooms', references: [{ role: 'before', source: { kind: 'media', path: camera, timeSeconds: 5 } }] })).json();
    const unknown = { code: 'prompt_words_unknown', field: 'prompt', message: 'tiny-footage does not know "zooms"; those words were ignored' };
    expect(await waitForJob(daemon, job.id)).toMatchObject({ state: 'failed', model: 'tiny-footage', warnings: [unknown], error: { code: 'media_unreadable' } });
    const retried = (await api(daemon, 'POST', `/v1/jobs/${job.id}/retry`)).json();
    expect([retried.state, retried.model, retried.warnings]).toEqual(['queued', null, []]);
    expect(await waitForJob(daemon, job.id)).toMatchObject({ state: 'failed', model: 'tiny-footage', warnings: [unknown] });
  });
});

describe('longshot generate and models (real CLI)', () => {
  let models: string;
  let bundledOnly: string;
  beforeAll(async () => {
    models = await tinyModels();
    // The bundled ShapesWorld model alone, as a fresh install has it with no footage model.
    bundledOnly = path.join(dir, 'bundled');
    await fs.promises.cp(path.join(PROJECT_ROOT, 'models', 'shapesworld-uvit'), path.join(bundledOnly, 'shapesworld-uvit'), { recursive: true });
  });
  const cli = (args: string[], modelsDir = models, defaultModel = 'tiny-uvit') => run(process.execPath, [CLI, ...args, '--models-dir', modelsDir, '--default-model', defaultModel, '--threads', '1']);

  test('models lists each package with its domain and jobs, plain and --json', async () => {
    const { stdout } = await cli(['models']);
    expect(stdout).toMatch(/^ {2}tiny-footage 0\.1\.0 {2}knows footage, serves extend, fill {2}48x32/m);
    expect(stdout).toMatch(/^\* tiny-uvit 0\.0\.1 {2}knows shapesworld, serves broll, extend, fill /m);
    const json = JSON.parse((await cli(['models', '--json'])).stdout);
    expect(json.models.map((m: any) => [m.name, m.domain, m.jobs]).sort()).toEqual([['tiny-footage', 'footage', ['extend', 'fill']], ['tiny-uvit', 'shapesworld', ['broll', 'extend', 'fill']]]);
  });

  test('with no --model, an extend runs on the footage model through the same registry as the daemon', async () => {
    const { stdout } = await cli(['generate', '', '--extend', `${camera}@0.5`, '--seconds', '0.25', '--steps', '2', '--json', '-o', path.join(dir, 'auto.mp4')]);
    const done = stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.event === 'done');
    expect(done.model).toBe('tiny-footage');
  });

  test('plain output: a warning line on stderr for an empty B-roll prompt and for unknown words', async () => {
    const empty = await cli(['generate', '', '--seconds', '0.25', '--steps', '2', '-o', path.join(dir, 'empty.mp4')]);
    expect(empty.stderr).toBe('warning: the prompt is empty: tiny-uvit makes a random scene; describe the shot to choose it\n');
    const words = await cli(['generate', 'a sparkly red circle', '--seconds', '0.25', '--steps', '2', '--variations', '2', '-o', path.join(dir, 'words.mp4')]);
    expect(words.stderr).toBe('warning: tiny-uvit does not know "sparkly"; those words were ignored\n'); // once for both variations
  });

  test('--json: warning lines on stdout, and each clip\'s warnings in its done line', async () => {
    const { stdout, stderr } = await cli(['generate', 'a red circle', '--model', 'tiny-footage', '--seconds', '0.25', '--steps', '2', '--json', '-o', path.join(dir, 'job.mp4')]);
    expect(stderr).toBe('');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    const warning = { code: 'model_job_unsupported', field: 'model', message: expect.stringMatching(/^tiny-footage \(footage\) serves extend, fill, not B-roll/) };
    expect(lines.filter((l) => l.event === 'warning')).toEqual([{ event: 'warning', ...warning }]);
    expect(lines.at(-1)).toMatchObject({ event: 'done', model: 'tiny-footage', warnings: [warning] });
  });

  test('the ShapesWorld model warns on camera footage it cannot read back, and not on a ShapesWorld render', async () => {
    const render = path.join(dir, 'render.mp4');
    await run('/usr/bin/python3', ['-m', 'models.shapesworld.render', '--prompt', 'a red circle moves right', '--seconds', '1', '--fps', '24', '--seed', '3', '--out', render], { cwd: PROJECT_ROOT });
    const onCamera = await cli(['generate', '', '--extend', `${camera}@0.5`, '--seconds', '0.25', '--steps', '2', '--json', '-o', path.join(dir, 'camera-ext.mp4')], bundledOnly, 'shapesworld-uvit');
    const lines = onCamera.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.event === 'warning')).toEqual([
      expect.objectContaining({ code: 'footage_unreadable', field: 'references', message: expect.stringMatching(/^shapesworld-uvit cannot read this footage: .*use a model whose domain is "footage"/) }),
    ]);
    expect(lines.at(-1)).toMatchObject({ event: 'done', model: 'shapesworld-uvit', warnings: [expect.objectContaining({ code: 'footage_unreadable' })] });
    const onRender = await cli(['generate', '', '--extend', `${render}@0.9`, '--seconds', '0.25', '--steps', '2', '-o', path.join(dir, 'render-ext.mp4')], bundledOnly, 'shapesworld-uvit');
    expect(onRender.stderr).toBe('');
    const plain = await cli(['generate', '', '--extend', `${camera}@0.5`, '--seconds', '0.25', '--steps', '2', '-o', path.join(dir, 'camera-plain.mp4')], bundledOnly, 'shapesworld-uvit');
    expect(plain.stderr).toMatch(/^warning: shapesworld-uvit cannot read this footage: drawn back from its own reading, the reference frames miss \d+ % of their detail/);
  }, 180_000);
});
