import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WordTokenizer } from './tokenizer';

const TINY = path.join(__dirname, '../../models/testdata/tiny-uvit');
const ids = (t: { ids: BigInt64Array }) => Array.from(t.ids, Number);

describe('word tokenizer (PACKAGE.md)', () => {
  const tokenizer = new WordTokenizer(['<pad>', 'a', 'red', 'circle', 'moves', 'left', '3d'], 6);

  test('lower-cases, splits on anything not a letter or digit, maps words to their index, pads with 0', () => {
    expect(ids(tokenizer.encode('A RED circle,moves--left!'))).toEqual([1, 2, 3, 4, 5, 0]);
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
