import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HuggingFaceTokenizer, WordTokenizer } from './tokenizer';

const TINY = path.join(__dirname, '../../models/testdata/tiny-uvit');
const TINY_TEXT = path.join(__dirname, '../../models/testdata/text-encoder/tiny-text');
const ids = (t: { ids: BigInt64Array }) => Array.from(t.ids, Number);
const mask = (t: { attentionMask: BigInt64Array }) => Array.from(t.attentionMask, Number);

describe('word tokenizer (PACKAGE.md)', () => {
  const tokenizer = new WordTokenizer(['<pad>', 'a', 'red', 'circle', 'moves', 'left', '3d'], 6);

  test('lower-cases, splits on anything not a letter or digit, maps words to their index, pads with 0', () => {
    expect(ids(tokenizer.encode('A RED circle,moves--left!'))).toEqual([1, 2, 3, 4, 5, 0]);
    expect(mask(tokenizer.encode('A RED circle,moves--left!'))).toEqual([1, 1, 1, 1, 1, 0]);
    expect(ids(tokenizer.encode('  3D\tcircle\n'))).toEqual([6, 3, 0, 0, 0, 0]);
  });

  test('unknown words are dropped and returned, never an error', () => {
    const result = tokenizer.encode('a glittering red circle zooms');
    expect(ids(result)).toEqual([1, 2, 3, 0, 0, 0]);
    expect(result.unknownWords).toEqual(['glittering', 'zooms']);
  });

  test('keeps the first L ids; the empty prompt is all padding (the unconditional prompt)', () => {
    expect(ids(tokenizer.encode('a a a red red red circle circle'))).toEqual([1, 1, 1, 2, 2, 2]);
    expect(ids(tokenizer.encode(''))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ids(tokenizer.encode('é ü !!'))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test('loads the vocabulary of a package', async () => {
    const loaded = await WordTokenizer.load(TINY, 'vocab.json', 24);
    expect(ids(loaded.encode('A red circle moves left')).slice(0, 5)).toEqual([1, 8, 14, 17, 18]);
  });

  test('a file that is not a word vocabulary is refused naming the file', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'longshot-vocab-'));
    try {
      await fs.writeFile(path.join(dir, 'vocab.json'), JSON.stringify({ type: 'bpe', tokens: [] }));
      await expect(WordTokenizer.load(dir, 'vocab.json', 24)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringContaining('vocab.json') });
      await fs.writeFile(path.join(dir, 'vocab.json'), '{not json');
      await expect(WordTokenizer.load(dir, 'vocab.json', 24)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringContaining('vocab.json') });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

/** A folder holding one tokenizer.json, for the tokenizers written here. */
async function withTokenizerJson(json: unknown, run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'longshot-tokenizer-'));
  try {
    await fs.writeFile(path.join(dir, 'tokenizer.json'), typeof json === 'string' ? json : JSON.stringify(json));
    await run(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const NONE = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [] };

describe('Hugging Face tokenizer.json (@huggingface/tokenizers)', () => {
  // tiny-text's WordPiece: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, a 4, the 5, red 6, green 7, blue 8, white 9, screen 10,
  // frame 11, fades 12, in 13, out 14, stays 15, still 16, slowly 17, dark 18, ##ish 19, ##er 20, "," 21, "." 22.
  let wordPiece: HuggingFaceTokenizer;
  beforeAll(async () => {
    wordPiece = await HuggingFaceTokenizer.load(TINY_TEXT, 'tokenizer.json', 8);
  });

  test('WordPiece: normalised (lower case), split into word pieces, wrapped in [CLS] … [SEP], padded with padding.pad_id', () => {
    const red = wordPiece.encode('A RED screen fades in');
    expect([ids(red), mask(red), red.unknownWords]).toEqual([[2, 4, 6, 10, 12, 13, 3, 0], [1, 1, 1, 1, 1, 1, 1, 0], []]);
    expect(ids(wordPiece.encode('blueish, darker'))).toEqual([2, 8, 19, 21, 18, 20, 3, 0]);
  });

  test('the empty prompt is the special tokens and padding (the unconditional prompt the encoder reads)', () => {
    const empty = wordPiece.encode('');
    expect([ids(empty), mask(empty)]).toEqual([[2, 3, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0]]);
  });

  test('a long prompt is cut to max_length keeping [SEP], as tokenizers truncation does', () => {
    const long = wordPiece.encode('the white frame fades out slowly and then stays still');
    expect(ids(long)).toEqual([2, 5, 9, 11, 12, 14, 17, 3]);
    expect(mask(long)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  test('words the vocabulary cannot spell come out as [UNK] and are reported, never an error', () => {
    const crimson = wordPiece.encode('a crimson screen');
    expect([ids(crimson), crimson.unknownWords]).toEqual([[2, 4, 1, 10, 3, 0, 0, 0], ['crimson']]);
  });

  test('BPE: merges in rank order, model.json tokenizer.pad_token as the pad', async () => {
    const bpe = {
      ...NONE,
      pre_tokenizer: { type: 'Whitespace' },
      model: { type: 'BPE', unk_token: '<unk>', vocab: { '<pad>': 0, '<unk>': 1, l: 2, o: 3, w: 4, lo: 5, low: 6, e: 7, r: 8, er: 9 }, merges: ['l o', 'lo w', 'e r'] },
      added_tokens: [{ id: 0, content: '<pad>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false }],
    };
    await withTokenizerJson(bpe, async (dir) => {
      const tokenizer = await HuggingFaceTokenizer.load(dir, 'tokenizer.json', 6, '<pad>');
      const lower = tokenizer.encode('lower low');
      expect([ids(lower), mask(lower), lower.unknownWords]).toEqual([[6, 9, 6, 0, 0, 0], [1, 1, 1, 0, 0, 0], []]);
      expect(tokenizer.encode('low xylo').unknownWords).toEqual(['xylo']);
    });
  });

  test('Unigram: the most likely segmentation under its log-probabilities, after the Metaspace pre-tokenizer', async () => {
    const unigram = {
      ...NONE,
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      padding: { pad_id: 0, direction: 'Right' },
      model: { type: 'Unigram', unk_id: 1, vocab: [['<pad>', 0], ['<unk>', 0], ['▁', -3], ['▁red', -2], ['▁re', -4], ['d', -4], ['▁sky', -2], ['s', -5], ['k', -5], ['y', -5]] },
    };
    await withTokenizerJson(unigram, async (dir) => {
      const tokenizer = await HuggingFaceTokenizer.load(dir, 'tokenizer.json', 5);
      expect(ids(tokenizer.encode('red skys'))).toEqual([3, 6, 7, 0, 0]);
    });
  });

  test('refused naming the file and the field: not JSON, no model, a model the library does not know, no pad token', async () => {
    const refused = (json: unknown, message: RegExp, padToken?: string) =>
      withTokenizerJson(json, (dir) => expect(HuggingFaceTokenizer.load(dir, 'tokenizer.json', 8, padToken)).rejects.toMatchObject({ code: 'model_invalid', message: expect.stringMatching(message) }));
    const good = JSON.parse(await fs.readFile(path.join(TINY_TEXT, 'tokenizer.json'), 'utf8'));
    await refused('{"model": ', /file tokenizer\.json \(model\.json tokenizer\.file\) cannot be read as JSON: it is not valid JSON/);
    await refused({ version: '1.0' }, /tokenizer\.json \(model\.json tokenizer\.file\) is not a Hugging Face tokenizer\.json: it has no "model" object/);
    await refused({ ...good, model: { type: 'CharLevel', alphabet: 'abc' } }, /tokenizer\.json \(model\.json tokenizer\.file\) is refused by @huggingface\/tokenizers: Unknown TokenizerModel type: CharLevel/);
    await refused({ ...good, normalizer: { type: 'Uppercase' } }, /is refused by @huggingface\/tokenizers: Unknown Normalizer type: Uppercase/);
    await refused({ ...good, padding: null }, /has no padding\.pad_id: set its padding \(tokenizers: enable_padding\) or model\.json tokenizer\.pad_token/);
    await refused({ ...good, padding: null }, /has no token "<pad>" \(model\.json tokenizer\.pad_token\)/, '<pad>');
    await refused({ ...good, padding: { ...good.padding, direction: 'Left' } }, /pads on the Left \(padding\.direction\)/);
    await withTokenizerJson(good, (dir) => expect(HuggingFaceTokenizer.load(dir, 'tokenizer.json', 2)).rejects.toThrow(/adds 2 special tokens to every prompt, leaving none of model\.json tokenizer\.max_length \(2\)/));
  });
});
