import fs from 'node:fs/promises';
import path from 'node:path';
import { LongshotError } from '../../shared/errors';
import { notJson } from './model-package';

/** Token ids of prompts, and the words that were not in the vocabulary (ignored, never an error). */
export interface Tokenized {
  ids: BigInt64Array;
  unknownWords: string[];
}

/** The `word` tokenizer of models/PACKAGE.md: lower-case, split on non-alphanumerics, drop unknown words, pad with 0. */
export class WordTokenizer {
  private readonly index: Map<string, number>;

  constructor(tokens: string[], readonly maxLength: number) {
    this.index = new Map(tokens.map((t, i) => [t, i]));
  }

  /** Reads a package's `word` vocabulary file; anything else is refused naming the file. */
  static async load(packageDir: string, file: string, maxLength: number): Promise<WordTokenizer> {
    const refuse = (what: string, cause?: unknown) =>
      new LongshotError('model_invalid', `model package ${packageDir}: file ${file} ${what}`, { cause });
    let vocab: { type?: unknown; tokens?: unknown };
    try {
      vocab = JSON.parse(await fs.readFile(path.join(packageDir, file), 'utf8')) as typeof vocab;
    } catch (err) {
      throw refuse(`cannot be read as JSON: it is ${notJson(err)}`, err);
    }
    const tokens = vocab.tokens;
    if (vocab.type !== 'word' || !Array.isArray(tokens) || tokens[0] !== '<pad>' || !tokens.every((t) => typeof t === 'string')) {
      throw refuse('is not a word vocabulary: want { "type": "word", "tokens": ["<pad>", …] } (PACKAGE.md)');
    }
    return new WordTokenizer(tokens as string[], maxLength);
  }

  encode(prompt: string): Tokenized {
    const ids = new BigInt64Array(this.maxLength);
    const unknownWords: string[] = [];
    let n = 0;
    for (const word of prompt.toLowerCase().split(/[^a-z0-9]+/)) {
      if (!word) continue;
      const id = this.index.get(word);
      if (id === undefined) unknownWords.push(word);
      else if (n < this.maxLength) ids[n++] = BigInt(id);
    }
    return { ids, unknownWords };
  }
}
