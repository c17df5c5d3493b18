import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { FileHashCache, listPackages, loadPackage } from './model-package';
import { createVideoPipeline } from './pipeline';

const TINY = path.join(__dirname, '../../models/testdata/tiny-uvit');
const logger = pino({ level: 'silent' });
let root: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'longshot-packages-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** A copy of the tiny package under `root/name`, with model.json edited by `edit`. */
async function copyPackage(name: string, edit: (manifest: any) => void = () => undefined): Promise<string> {
  const dir = path.join(root, name);
  await fs.cp(TINY, dir, { recursive: true });
  const manifest = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
  edit(manifest);
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest, null, 1));
  return dir;
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
    await expect(loadPackage(dir)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(new RegExp(`${dir}.*file vocab.json is missing`)) });
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
    const dir = await copyPackage('schema', (m) => (m.format = 'longshot-model/2'));
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/model\.json field "format"/) });
    await fs.writeFile(path.join(dir, 'model.json'), '{ nope');
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/model\.json is missing or not JSON/) });
  });

  test('a file listed outside the package folder', async () => {
    const dir = await copyPackage('escape', (m) => (m.files['../escape.bin'] = { sha256: 'a'.repeat(64), bytes: 1 }));
    await expect(loadPackage(dir)).rejects.toMatchObject({ message: expect.stringMatching(/file \.\.\/escape\.bin lies outside the package/) });
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
  expect(errors).toEqual([{ dir: broken, message: expect.stringMatching(/file uvit\.onnx is missing/) }]);
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
