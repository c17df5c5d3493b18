import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { FileHashCache, generatedFrameSize, listPackages, loadPackage, referenceFrameSize } from './model-package';
import { createVideoPipeline } from './pipeline';
import { copyPackageTo } from './testdata/package-copy';

const TINY = path.join(__dirname, '../../models/testdata/tiny-uvit');
const TINY_LATENT = path.join(__dirname, '../../models/testdata/tiny-latent');
const MOTION = path.join(__dirname, '../../models/testdata/footage-motion/tiny-footage-motion');
const logger = pino({ level: 'silent' });
let root: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'longshot-packages-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A copy of a tiny package (the pixel one unless `from` says) under `root/name`, with model.json edited by `edit`. */
function copyPackage(name: string, edit: (manifest: any) => void = () => undefined, from = TINY): Promise<string> {
  return copyPackageTo(path.join(root, name), from, edit);
}

/** Replaces a package file and records its new hash and size, so only the content is wrong. */
async function replaceFile(dir: string, file: string, content: Buffer): Promise<void> {
  await fs.writeFile(path.join(dir, file), content);
  const manifestPath = path.join(dir, 'model.json');
  const manifest = JSON.parse(await fs.readFile(manifestPath, 'utf8'));
  manifest.files[file] = { sha256: createHash('sha256').update(content).digest('hex'), bytes: content.length };
  await fs.writeFile(manifestPath, JSON.stringify(manifest));
}

test('the tiny package loads: manifest parsed, every file hashed', async () => {
  const pkg = await loadPackage(TINY);
  expect(pkg.manifest.name).toBe('tiny-uvit');
  expect(pkg.manifest.frames_per_window).toBe(8);
  expect(Object.keys(pkg.manifest.files).sort()).toEqual(['uvit.onnx', 'vocab.json']);
});

describe('bad packages are refused with model_invalid, naming the folder and the file', () => {
  test('a missing file', async () => {
    const dir = await copyPackage('missing');
    await fs.rm(path.join(dir, 'vocab.json'));
    await expect(loadPackage(dir)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(new RegExp(`${dir}.*file vocab.json \\(model.json tokenizer.file\\) is missing`)) });
  });

  test('a file whose content does not match its sha256', async () => {
    const dir = await copyPackage('hash');
    const graph = await fs.readFile(path.join(dir, 'uvit.onnx'));
    graph[graph.length - 10] ^= 0xff;
    await fs.writeFile(path.join(dir, 'uvit.onnx'), graph);
    await expect(loadPackage(dir)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/file uvit\.onnx does not match its sha256/) });
  });

  test('a truncated file (size differs)', async () => {
    const dir = await copyPackage('size');
    await fs.truncate(path.join(dir, 'uvit.onnx'), 1000);
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/file uvit\.onnx has 1000 bytes, model\.json says 389523/) });
  });

  test('a graph that is not ONNX (hashes right)', async () => {
    const dir = await copyPackage('not-onnx');
    await replaceFile(dir, 'uvit.onnx', Buffer.from('<html>this is not a model</html>'));
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/file uvit\.onnx is not an ONNX model/) });
  });

  test('a graph that starts like ONNX but is broken inside is refused when the session is created', async () => {
    const dir = await copyPackage('broken-onnx');
    await replaceFile(dir, 'uvit.onnx', Buffer.concat([Buffer.from([0x08, 0x07]), Buffer.alloc(64, 0xff)]));
    await expect(createVideoPipeline(dir, { device: 'cpu', threads: 1, logger })).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/file uvit\.onnx cannot be loaded by onnxruntime/) });
  });

  test('model.json shapes that contradict its own native size', async () => {
    const dir = await copyPackage('shape', (m) => (m.inputs.x.shape = ['B', 8, 3, 16, 33]));
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/inputs\.x\.shape is \["B",8,3,16,33\]/) });
    const tokens = await copyPackage('tokens', (m) => (m.tokenizer.max_length = 16));
    await expect(loadPackage(tokens)).rejects.toMatchObject({ message: expect.stringMatching(/inputs\.text\.shape is \["B",24\].*says \["B",16\]/) });
    const context = await copyPackage('context', (m) => (m.context_frames = 8));
    await expect(loadPackage(context)).rejects.toMatchObject({ message: expect.stringMatching(/context_frames \(8\) must be less than frames_per_window \(8\)/) });
  });

  test('model.json shapes that the graph does not have (checked against the session)', async () => {
    const dir = await copyPackage('graph-shape', (m) => {
      m.native.width = 64;
      m.inputs.x.shape[4] = 64;
      m.outputs.prediction.shape[4] = 64;
    });
    await expect(loadPackage(dir)).resolves.toBeDefined();
    await expect(createVideoPipeline(dir, { device: 'cpu', threads: 1, logger })).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringMatching(/file uvit\.onnx: input "x" has shape \["B",8,3,16,32\], model\.json inputs\.x says \["B",8,3,16,64\]/),
    });
  });

  test('input or output names the graph does not have', async () => {
    const renamed = await copyPackage('names', (m) => (m.inputs.text.name = 'text'));
    await expect(createVideoPipeline(renamed, { device: 'cpu', threads: 1, logger })).rejects.toMatchObject({ message: expect.stringMatching(/file uvit\.onnx has no input "text" \(model\.json inputs\.text\); its inputs are x, known, t, fps, tokens/) });
    const output = await copyPackage('output', (m) => (m.outputs.prediction.name = 'eps'));
    await expect(createVideoPipeline(output, { device: 'cpu', threads: 1, logger })).rejects.toMatchObject({ message: expect.stringMatching(/has no output "eps"/) });
  });

  test('a graph that needs an input model.json does not describe (a hand-written ONNX)', async () => {
    const dir = await copyPackage('extra-input');
    // An Identity graph with the package's inputs plus one more, written with the onnx package (test fixture only).
    const script = [
      'import sys, onnx',
      'from onnx import helper as h, TensorProto as T',
      'f = T.FLOAT',
      'inputs = [h.make_tensor_value_info("x", f, ["B", 8, 3, 16, 32]), h.make_tensor_value_info("known", f, ["B", 8]),',
      '          h.make_tensor_value_info("t", f, ["B"]), h.make_tensor_value_info("fps", f, ["B"]),',
      '          h.make_tensor_value_info("tokens", T.INT64, ["B", 24]), h.make_tensor_value_info("extra", f, ["B"])]',
      'graph = h.make_graph([h.make_node("Identity", ["x"], ["v"])], "extra", inputs, [h.make_tensor_value_info("v", f, ["B", 8, 3, 16, 32])])',
      'onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 13)], ir_version=7), sys.argv[1])',
    ].join('\n');
    const graphPath = path.join(root, 'extra.onnx');
    execFileSync('/usr/bin/python3', ['-c', script, graphPath]);
    await replaceFile(dir, 'uvit.onnx', await fs.readFile(graphPath));
    await expect(loadPackage(dir)).resolves.toBeDefined();
    await expect(createVideoPipeline(dir, { device: 'cpu', threads: 1, logger })).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/file uvit\.onnx needs inputs model\.json does not describe: extra/) });
  });

  test('a model.json that breaks the schema names the field', async () => {
    const dir = await copyPackage('schema', (m) => (m.format = 'longshot-model/3'));
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/model\.json field "format"/) });
    await fs.writeFile(path.join(dir, 'model.json'), '{ nope');
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/model\.json is not valid JSON \(at position 2/) });
  });

  test('a guidance interval outside [0, 1] names its field', async () => {
    const dir = await copyPackage('interval', (m) => (m.guidance_interval = { t_min: 1.5 }));
    await expect(loadPackage(dir)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.json field "guidance_interval\.t_min"/) });
  });

  test("a footage package's motion transfer outside its bounds, or an unknown render, names its field", async () => {
    const gain = await copyPackage('residual-gain', (m) => (m.motion_transfer = { residual_gain: 3, residual_smoothing: 0 }));
    await expect(loadPackage(gain)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.json field "motion_transfer\.residual_gain"/) });
    const fillGain = await copyPackage('fill-residual-gain', (m) => (m.motion_transfer = { residual_gain: 1, fill_residual_gain: -1, residual_smoothing: 0 }));
    await expect(loadPackage(fillGain)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.json field "motion_transfer\.fill_residual_gain"/) });
    const smoothing = await copyPackage('residual-smoothing', (m) => (m.motion_transfer = { residual_gain: 1, residual_smoothing: 1.5 }));
    await expect(loadPackage(smoothing)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.json field "motion_transfer\.residual_smoothing"/) });
    const render = await copyPackage('render', (m) => (m.footage_render = 'upscale'));
    await expect(loadPackage(render)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.json field "footage_render"/) });
  });

  test('five channels are a motion latent: the package says what they hold, and only a pixel footage package has them', async () => {
    const motion = await loadPackage(MOTION);
    expect([motion.manifest.channels, motion.manifest.motion_latent?.flow_scale]).toEqual([5, 1]);
    const bare = await copyPackage('bare', (m) => delete m.motion_latent, MOTION);
    await expect(loadPackage(bare)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.json channels 5 needs motion_latent/) });
    const rgb = await copyPackage('rgb', (m) => (m.motion_latent = { channels: ['r', 'g', 'b', 'flow_x', 'flow_y'], flow: 'backward', flow_scale: 1, flow_measure_factor: 2 }));
    await expect(loadPackage(rgb)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.json motion_latent needs channels 5/) });
    const shapes = await copyPackage('shapes', (m) => delete m.footage_render, MOTION);
    await expect(loadPackage(shapes)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/motion_latent is for pixel footage packages/) });
    const scale = await copyPackage('scale', (m) => (m.motion_latent.flow_scale = 0), MOTION);
    await expect(loadPackage(scale)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.json field "motion_latent\.flow_scale"/) });
  });

  test('a file listed outside the package folder', async () => {
    const dir = await copyPackage('escape', (m) => (m.files['../escape.bin'] = { sha256: 'a'.repeat(64), bytes: 1 }));
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/file \.\.\/escape\.bin lies outside the package/) });
  });
});

describe('latent packages (format /2): the frame autoencoder must chain frames → codes → frames', () => {
  const copyLatent = (name: string, edit: (manifest: any) => void = () => undefined) => copyPackage(name, edit, TINY_LATENT);

  test('the tiny latent package loads, its encoder and decoder hashed like every file', async () => {
    const pkg = await loadPackage(TINY_LATENT);
    expect(pkg.manifest).toMatchObject({ format: 'longshot-model/2', space: 'latent', latent: { shape: [8], encoder: { file: 'encoder.onnx' }, decoder: { file: 'decoder.onnx' } } });
    expect(Object.keys(pkg.manifest.files).sort()).toEqual(['decoder.onnx', 'encoder.onnx', 'uvit.onnx', 'vocab.json']);
  });

  test('format /2 may be pixel; a pixel package may not carry a latent block, nor /1 a latent space', async () => {
    await expect(loadPackage(await copyPackage('pixel-2', (m) => (m.format = 'longshot-model/2')))).resolves.toBeDefined();
    const stray = await copyLatent('stray-latent', (m) => (m.space = 'pixel'));
    await expect(loadPackage(stray)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/"latent" is given but space is "pixel"/) });
    const old = await copyLatent('format-1', (m) => (m.format = 'longshot-model/1'));
    await expect(loadPackage(old)).rejects.toMatchObject({ message: expect.stringMatching(/format "longshot-model\/1" has no latent space; latent packages are "longshot-model\/2"/) });
  });

  test('a missing latent block or a missing decoder', async () => {
    const none = await copyLatent('no-latent', (m) => delete m.latent);
    await expect(loadPackage(none)).rejects.toMatchObject({ message: expect.stringMatching(new RegExp(`${none}: model.json "latent" is missing: space "latent" needs its frame autoencoder`)) });
    const noDecoder = await copyLatent('no-decoder', (m) => delete m.latent.decoder);
    await expect(loadPackage(noDecoder)).rejects.toMatchObject({ message: expect.stringMatching(/model\.json field "latent\.decoder": .*expected object/) });
    const unlisted = await copyLatent('unlisted-decoder', (m) => delete m.files['decoder.onnx']);
    await expect(loadPackage(unlisted)).rejects.toMatchObject({ message: expect.stringMatching(/"files" does not list decoder\.onnx/) });
    const gone = await copyLatent('gone-decoder');
    await fs.rm(path.join(gone, 'decoder.onnx'));
    await expect(loadPackage(gone)).rejects.toMatchObject({ message: expect.stringMatching(/file decoder\.onnx is missing/) });
  });

  test('shapes that do not chain name the field, what it is and what the rest of model.json says', async () => {
    const cases: [string, (m: any) => void, RegExp][] = [
      ['x-pixel', (m) => (m.inputs.x.shape = ['B', 8, 3, 32, 48]), /inputs\.x\.shape is \["B",8,3,32,48\], but model\.json says \["B",8,8\] \(from frames_per_window and latent\.shape\)/],
      ['prediction', (m) => (m.outputs.prediction.shape = ['B', 8, 4]), /outputs\.prediction\.shape is \["B",8,4\], but model\.json says \["B",8,8\]/],
      ['encoder-in', (m) => (m.latent.encoder.input.shape = ['N', 3, 32, 64]), /latent\.encoder\.input\.shape is \["N",3,32,64\], but its frames must be the native 48x32 or a whole multiple of it/],
      ['encoder-channels', (m) => (m.latent.encoder.input.shape = ['N', 1, 64, 96]), /latent\.encoder\.input\.shape is \["N",1,64,96\], but model\.json says \["N",3,64,96\] \(from channels and a whole multiple of the native size\)/],
      ['encoder-out', (m) => (m.latent.encoder.output.shape = ['N', 16]), /latent\.encoder\.output\.shape is \["N",16\], but model\.json says \["N",8\] \(from latent\.shape\)/],
      ['decoder-in', (m) => (m.latent.decoder.input.shape = ['N', 4, 2]), /latent\.decoder\.input\.shape is \["N",4,2\], but model\.json says \["N",8\] \(from latent\.shape: the encoder output must chain into it\)/],
      ['decoder-out', (m) => (m.latent.decoder.output.shape = ['N', 3, 48, 32]), /latent\.decoder\.output\.shape is \["N",3,48,32\], but its frames must be the native 48x32 or a whole multiple of it/],
      ['decoder-half', (m) => (m.latent.decoder.output.shape = ['N', 3, 48, 72]), /latent\.decoder\.output\.shape is \["N",3,48,72\], but its frames must be the native 48x32 or a whole multiple/],
      ['decoder-channels', (m) => (m.latent.decoder.output.shape = ['N', 4, 64, 96]), /latent\.decoder\.output\.shape is \["N",4,64,96\], but model\.json says \["N",3,64,96\] \(from channels and a whole multiple of the native size\)/],
      ['batch-dim', (m) => (m.latent.decoder.output.shape = ['B', 3, 32, 48]), /model\.json field "latent\.decoder\.output\.shape\.0"/],
    ];
    for (const [name, edit, message] of cases) await expect(loadPackage(await copyLatent(name, edit))).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(message) });
  });

  test('a decoder may draw frames a whole multiple of the native size: the package generates at that size', async () => {
    const pkg = await loadPackage(await copyLatent('drawn-2x', (m) => (m.latent.decoder.output.shape = ['N', 3, 64, 96])));
    expect(generatedFrameSize(pkg.manifest)).toEqual({ width: 96, height: 64 });
    expect(referenceFrameSize(pkg.manifest)).toEqual({ width: 48, height: 32 });
    expect(generatedFrameSize((await loadPackage(TINY)).manifest)).toEqual({ width: 32, height: 16 }); // a pixel package: native
  });

  test('an encoder may read reference frames at a whole multiple of the native size: references are read at that size', async () => {
    const pkg = await loadPackage(await copyLatent('read-3x', (m) => (m.latent.encoder.input.shape = ['N', 3, 96, 144])));
    expect(referenceFrameSize(pkg.manifest)).toEqual({ width: 144, height: 96 });
    expect(generatedFrameSize(pkg.manifest)).toEqual({ width: 48, height: 32 });
    expect(referenceFrameSize((await loadPackage(TINY)).manifest)).toEqual({ width: 32, height: 16 }); // a pixel package: native
  });

  test('shift and scale: one value a latent channel; scale finite and not 0; codec tensors float32', async () => {
    const shift = await copyLatent('shift', (m) => m.latent.shift.pop());
    await expect(loadPackage(shift)).rejects.toMatchObject({ message: expect.stringMatching(/latent\.shift has 7 values, but latent\.shape \[8\] has 8 channels \(one value each\)/) });
    const scale = await copyLatent('scale', (m) => m.latent.scale.push(1));
    await expect(loadPackage(scale)).rejects.toMatchObject({ message: expect.stringMatching(/latent\.scale has 9 values/) });
    const zero = await copyLatent('zero-scale', (m) => (m.latent.scale[3] = 0));
    await expect(loadPackage(zero)).rejects.toMatchObject({ message: expect.stringMatching(/field "latent\.scale\.3": must be finite and not 0/) });
    const dtype = await copyLatent('dtype', (m) => (m.latent.encoder.output.dtype = 'int64'));
    await expect(loadPackage(dtype)).rejects.toMatchObject({ message: expect.stringMatching(/field "latent\.encoder\.output\.dtype"/) });
  });

  test('a latent of shape [C, h, w] is accepted when every shape follows it', async () => {
    const grid = await copyLatent('grid', (m) => {
      m.latent.shape = [2, 2, 2];
      m.latent.shift = [0, 0];
      m.latent.scale = [1, 1];
      m.inputs.x.shape = m.outputs.prediction.shape = ['B', 8, 2, 2, 2];
      m.latent.encoder.output.shape = m.latent.decoder.input.shape = ['N', 2, 2, 2];
    });
    await expect(loadPackage(grid)).resolves.toMatchObject({ manifest: { latent: { shape: [2, 2, 2] } } });
  });

  test('an encoder or decoder that is not ONNX, cannot be loaded, or has other tensor names', async () => {
    const html = await copyLatent('html-decoder');
    await replaceFile(html, 'decoder.onnx', Buffer.from('<html>not a model</html>'));
    await expect(loadPackage(html)).rejects.toMatchObject({ message: expect.stringMatching(/file decoder\.onnx is not an ONNX model/) });
    const broken = await copyLatent('broken-encoder');
    await replaceFile(broken, 'encoder.onnx', Buffer.concat([Buffer.from([0x08, 0x07]), Buffer.alloc(64, 0xff)]));
    // The encoder's session is created when a job first reads references, so the broken graph is named then.
    const brokenPipeline = await createVideoPipeline(broken, { device: 'cpu', threads: 1, logger });
    try {
      await expect(brokenPipeline.codec.encode([new Float32Array(3 * brokenPipeline.referenceWidth * brokenPipeline.referenceHeight)])).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/file encoder\.onnx cannot be loaded by onnxruntime/) });
    } finally {
      await brokenPipeline.close();
    }
    const renamed = await copyLatent('renamed', (m) => (m.latent.decoder.input.name = 'code'));
    await expect(createVideoPipeline(renamed, { device: 'cpu', threads: 1, logger })).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/file decoder\.onnx has no input "code" \(model\.json latent\.decoder\.input\); its inputs are latent/) });
  });
});

test('listPackages: valid packages listed, a broken one reported without hiding the others, plain folders skipped', async () => {
  await copyPackage('good');
  const broken = await copyPackage('broken');
  await fs.rm(path.join(broken, 'uvit.onnx'));
  await fs.mkdir(path.join(root, 'not-a-package'));
  await fs.writeFile(path.join(root, 'stray.txt'), 'x');
  const { packages, errors } = await listPackages(root);
  expect(packages.map((p) => path.basename(p.dir))).toEqual(['good']);
  expect(errors).toEqual([{ dir: broken, name: 'broken', message: expect.stringMatching(/file uvit\.onnx is missing/) }]);
  expect(await listPackages(path.join(root, 'nowhere'))).toEqual({ packages: [], errors: [] });
});

test('a hash cache skips unchanged files but hashes a rewritten one again', async () => {
  const dir = await copyPackage('cached');
  const hashes = new FileHashCache();
  await expect(loadPackage(dir, hashes)).resolves.toBeDefined();
  // Same size, new content, new mtime: hashed again and refused.
  const graph = await fs.readFile(path.join(dir, 'uvit.onnx'));
  graph[graph.length - 1] ^= 0xff;
  await fs.writeFile(path.join(dir, 'uvit.onnx'), graph);
  const later = new Date(Date.now() + 5000);
  await fs.utimes(path.join(dir, 'uvit.onnx'), later, later);
  await expect(loadPackage(dir, hashes)).rejects.toMatchObject({ message: expect.stringMatching(/uvit\.onnx does not match its sha256/) });
  // Unchanged stat: the remembered hash is trusted (no re-read), which is the point of the cache.
  const stat = await fs.stat(path.join(dir, 'vocab.json'));
  const first = await hashes.sha256(path.join(dir, 'vocab.json'), stat);
  await fs.writeFile(path.join(dir, 'vocab.json'), 'changed');
  await fs.utimes(path.join(dir, 'vocab.json'), stat.atime, stat.mtime);
  expect(await hashes.sha256(path.join(dir, 'vocab.json'), stat)).toBe(first);
});
