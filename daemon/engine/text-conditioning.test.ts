import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadPackage } from './model-package';
import { ModelRunner } from './model-runner';
import { createVideoPipeline, type EngineVideoPipeline } from './pipeline';
import { copyPackageTo } from './testdata/package-copy';
import { pipelineInput } from './testdata/pipeline-fixture';
import { createTextConditioning } from './text-conditioning';
import type { RgbFrame } from './types';

// models/testdata/text-encoder/make_package.py: a WordPiece tokenizer.json, a CLIP-style text.onnx (ids and
// attention mask [B, 8] → [B, 8, 24]) and a U-ViT reading those embeddings, trained on screens of one colour.
const FIXTURES = path.join(__dirname, '../../models/testdata/text-encoder');
const TINY_TEXT = path.join(FIXTURES, 'tiny-text');
const logger = pino({ level: 'silent' });
const L = 8;
const D = 24;

/** Mean of each RGB channel over frames, in 0–255. */
function meanRgb(frames: RgbFrame[]): [number, number, number] {
  const sum = [0, 0, 0];
  let pixels = 0;
  for (const frame of frames) {
    for (let i = 0; i < frame.length; i += 3) for (let c = 0; c < 3; c++) sum[c]! += frame[i + c]!;
    pixels += frame.length / 3;
  }
  return sum.map((s) => s / pixels) as [number, number, number];
}

describe('a package with a tokenizer.json and a text-encoder graph', () => {
  let pipeline: EngineVideoPipeline;
  beforeAll(async () => {
    pipeline = await createVideoPipeline(TINY_TEXT, { device: 'cpu', threads: 1, logger });
  });
  afterAll(async () => {
    await pipeline.close();
  });

  test('the prompt reaches the frames through the tokenizer, the encoder and the U-ViT: a screen of the colour named', async () => {
    const run = async (prompt: string) => meanRgb(await pipeline.run(pipelineInput({ prompt, steps: 8, seed: 3 })));
    const [red, green, blue, white] = [await run('a red screen'), await run('the GREEN frame'), await run('a blue screen, still'), await run('the white screen')];
    // Each channel named is the brightest, by far: the encoder's embeddings, not the noise, chose it.
    expect(red[0]).toBeGreaterThan(Math.max(red[1], red[2]) + 150);
    expect(green[1]).toBeGreaterThan(Math.max(green[0], green[2]) + 150);
    expect(blue[2]).toBeGreaterThan(Math.max(blue[0], blue[1]) + 150);
    expect(Math.min(...white)).toBeGreaterThan(200);
  });

  test('words the tokenizer cannot spell are reported (read as [UNK])', async () => {
    expect(await pipeline.unknownWords('a crimson screen fades in')).toEqual(['crimson']);
    expect(await pipeline.unknownWords('the blueish screen')).toEqual([]);
  });
});

describe('text conditioning writes the U-ViT text input', () => {
  test('row 0 the prompt through the encoder, row 1 the empty prompt through it: the same for every prompt', async () => {
    const pkg = await loadPackage(TINY_TEXT);
    const runner = await ModelRunner.create(pkg, { device: 'cpu', threads: 1, logger });
    const text = await createTextConditioning(pkg, runner, 1, logger);
    try {
      const rows = runner.batch.text as Float32Array;
      expect(await text.write('a red screen')).toEqual([]);
      const [red, unconditional] = [rows.slice(0, L * D), rows.slice(L * D)];
      expect(await text.write('a blue screen crimson')).toEqual(['crimson']);
      expect(rows.slice(L * D)).toEqual(unconditional);
      expect(rows.slice(0, L * D)).not.toEqual(red);
      expect(rows.every(Number.isFinite)).toBe(true);
      // The empty prompt as a prompt is the unconditional row.
      await text.write('');
      expect(rows.slice(0, L * D)).toEqual(unconditional);
    } finally {
      await Promise.all([text.close(), runner.close()]);
    }
  });
});

describe('bad packages are refused naming the file and the field', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'longshot-text-encoder-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });
  const refused = (pkg: string, message: RegExp) =>
    expect(createVideoPipeline(pkg, { device: 'cpu', threads: 1, logger })).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(message) });

  test('tokenizer.json missing', async () => {
    const pkg = await copyPackageTo(path.join(dir, 'missing'), TINY_TEXT, () => undefined);
    await fs.rm(path.join(pkg, 'tokenizer.json'));
    await refused(pkg, /file tokenizer\.json \(model\.json tokenizer\.file\) is missing/);
  });

  test('a text encoder whose embeddings are not as wide as the U-ViT text input', async () => {
    const pkg = await copyPackageTo(path.join(dir, 'width'), TINY_TEXT, () => undefined);
    const other = await fs.readFile(path.join(FIXTURES, 'text-width-16.onnx'));
    await fs.writeFile(path.join(pkg, 'text.onnx'), other);
    const manifest = JSON.parse(await fs.readFile(path.join(pkg, 'model.json'), 'utf8'));
    manifest.files['text.onnx'] = { sha256: createHash('sha256').update(other).digest('hex'), bytes: other.length };
    await fs.writeFile(path.join(pkg, 'model.json'), JSON.stringify(manifest));
    await refused(pkg, /file text\.onnx gives text embeddings 16 wide \(output "text"\), but model\.json inputs\.text, the U-ViT's text input, is 24 wide/);
  });

  test('model.json inputs.text that is not the embeddings [B, L, D] of float32', async () => {
    const asTokens = await copyPackageTo(path.join(dir, 'tokens'), TINY_TEXT, (m) => (m.inputs.text = { name: 'text', dtype: 'int64', shape: ['B', L] }));
    await refused(asTokens, /model\.json inputs\.text\.shape is \["B",8\], but model\.json says \["B",8,"D"\] \(from tokenizer\.max_length and the text encoder's width D\)/);
    const int64 = await copyPackageTo(path.join(dir, 'int64'), TINY_TEXT, (m) => (m.inputs.text.dtype = 'int64'));
    await refused(int64, /model\.json inputs\.text\.dtype is int64, but a text encoder gives float32 embeddings/);
  });

  test('a tokenizer.json the library refuses, or with no pad token', async () => {
    const pkg = await copyPackageTo(path.join(dir, 'refused'), TINY_TEXT, () => undefined);
    const json = JSON.parse(await fs.readFile(path.join(pkg, 'tokenizer.json'), 'utf8'));
    const rewrite = async (tokenizer: unknown) => {
      const bytes = Buffer.from(JSON.stringify(tokenizer));
      await fs.writeFile(path.join(pkg, 'tokenizer.json'), bytes);
      const manifest = JSON.parse(await fs.readFile(path.join(pkg, 'model.json'), 'utf8'));
      manifest.files['tokenizer.json'] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
      await fs.writeFile(path.join(pkg, 'model.json'), JSON.stringify(manifest));
    };
    await rewrite({ ...json, pre_tokenizer: { type: 'SplitOnVowels' } });
    await refused(pkg, /file tokenizer\.json \(model\.json tokenizer\.file\) is refused by @huggingface\/tokenizers: Unknown PreTokenizer type: SplitOnVowels/);
    await rewrite({ ...json, padding: null });
    await refused(pkg, /file tokenizer\.json \(model\.json tokenizer\.file\) has no padding\.pad_id/);
  });
});
