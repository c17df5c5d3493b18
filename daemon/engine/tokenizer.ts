import fs from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { LongshotError } from '../../shared/errors';
import { notJson, type ModelPackage } from './model-package';

/** A prompt as the text input takes it: L token ids, padded; which of them are the prompt's; the words not known. */
export interface Tokenized {
  /** [L] token ids, padding after the prompt's. */
  ids: BigInt64Array;
  /** [L] 1 for the prompt's tokens (special tokens included), 0 for padding. */
  attentionMask: BigInt64Array;
  /** Words the vocabulary cannot spell; dropped or read as the unknown token, never an error. */
  unknownWords: string[];
}

/** A package's tokenizer (model.json `tokenizer`); `encode('')` is the unconditional prompt. */
export interface PromptTokenizer {
  readonly maxLength: number;
  encode(prompt: string): Tokenized;
}

/** The tokenizer model.json names: its `word` vocabulary or a Hugging Face `tokenizer.json`. */
export async function loadTokenizer(pkg: ModelPackage): Promise<PromptTokenizer> {
  const spec = pkg.manifest.tokenizer;
  return spec.type === 'word'
    ? WordTokenizer.load(pkg.dir, spec.file, spec.max_length)
    : HuggingFaceTokenizer.load(pkg.dir, spec.file, spec.max_length, spec.pad_token);
}

function refusal(packageDir: string, file: string, what: string, cause?: unknown): LongshotError {
  return new LongshotError('model_invalid', `model package ${packageDir}: file ${file} (model.json tokenizer.file) ${what}`, { cause });
}

async function readJson(packageDir: string, file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(path.join(packageDir, file), 'utf8'));
  } catch (err) {
    throw refusal(packageDir, file, `cannot be read as JSON: it is ${notJson(err)}`, err);
  }
}

/** The attention mask of L ids whose first `count` are the prompt's, the rest padding. */
function maskOf(length: number, count: number): BigInt64Array {
  return new BigInt64Array(length).fill(1n, 0, count);
}

/** The `word` tokenizer of models/PACKAGE.md: lower-case, split on non-alphanumerics, drop unknown words, pad with 0. */
export class WordTokenizer implements PromptTokenizer {
  private readonly index: Map<string, number>;

  constructor(tokens: string[], readonly maxLength: number) {
    this.index = new Map(tokens.map((t, i) => [t, i]));
  }

  /** Reads a package's `word` vocabulary file; anything else is refused naming the file. */
  static async load(packageDir: string, file: string, maxLength: number): Promise<WordTokenizer> {
    const vocab = (await readJson(packageDir, file)) as { type?: unknown; tokens?: unknown } | null;
    const tokens = vocab?.tokens;
    if (vocab?.type !== 'word' || !Array.isArray(tokens) || tokens[0] !== '<pad>' || !tokens.every((t) => typeof t === 'string')) {
      throw refusal(packageDir, file, 'is not a word vocabulary: want { "type": "word", "tokens": ["<pad>", …] } (PACKAGE.md)');
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
    return { ids, attentionMask: maskOf(this.maxLength, n), unknownWords };
  }
}

/** What the engine reads of tokenizer.json itself: the library ignores padding (Python's `tokenizers` applies it). */
interface TokenizerJson {
  model?: unknown;
  padding?: { pad_id?: unknown; direction?: unknown } | null;
}

/**
 * A Hugging Face `tokenizer.json` (BPE, WordPiece, Unigram, with its normalizer, pre-tokenizer and post-processor),
 * read by @huggingface/tokenizers. Prompts are truncated to max_length keeping the post-processor's special tokens
 * (as `tokenizers` truncation does) and padded on the right with the pad token.
 */
export class HuggingFaceTokenizer implements PromptTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly padId: bigint,
    /** Special tokens the post-processor adds to every prompt ([CLS] … [SEP], <s> … </s>). */
    private readonly specialCount: number,
    readonly maxLength: number,
  ) {}

  /**
   * Reads tokenizer.json; the pad token is model.json's `tokenizer.pad_token` when given, else tokenizer.json's
   * `padding.pad_id`. A file the library refuses, or with no pad token, is refused naming the file and the field.
   */
  static async load(packageDir: string, file: string, maxLength: number, padToken?: string): Promise<HuggingFaceTokenizer> {
    const refuse = (what: string, cause?: unknown) => refusal(packageDir, file, what, cause);
    const json = (await readJson(packageDir, file)) as TokenizerJson | null;
    if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof json.model !== 'object' || json.model === null) {
      throw refuse('is not a Hugging Face tokenizer.json: it has no "model" object (BPE, WordPiece or Unigram)');
    }
    let tokenizer: Tokenizer;
    let specialCount: number;
    try {
      tokenizer = new Tokenizer(json, {});
      specialCount = tokenizer.encode('').ids.length;
      tokenizer.encode('A prompt, to check the tokenizer runs: 1 2 3.'); // some refusals (a pattern) come on first use
    } catch (err) {
      throw refuse(`is refused by @huggingface/tokenizers: ${(err as Error).message.split('\n')[0]}`, err);
    }
    if (json.padding && json.padding.direction !== undefined && json.padding.direction !== 'Right') {
      throw refuse(`pads on the ${String(json.padding.direction)} (padding.direction); the engine pads prompts on the right: set it to "Right"`);
    }
    let padId: number | undefined;
    if (padToken !== undefined) {
      padId = tokenizer.token_to_id(padToken);
      if (padId === undefined) throw refuse(`has no token "${padToken}" (model.json tokenizer.pad_token)`);
    } else {
      const id = json.padding?.pad_id;
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw refuse('has no padding.pad_id: set its padding (tokenizers: enable_padding) or model.json tokenizer.pad_token');
      padId = id;
    }
    if (specialCount >= maxLength) throw refuse(`adds ${specialCount} special tokens to every prompt, leaving none of model.json tokenizer.max_length (${maxLength})`);
    return new HuggingFaceTokenizer(tokenizer, BigInt(padId), specialCount, maxLength);
  }

  encode(prompt: string): Tokenized {
    const kept = this.tokenizer.tokenize(prompt).slice(0, this.maxLength - this.specialCount);
    const tokens = this.tokenizer.post_processor ? this.tokenizer.post_processor.post_process(kept, null, true).tokens : kept;
    const ids = new BigInt64Array(this.maxLength).fill(this.padId);
    let n = 0;
    for (const token of tokens) {
      const id = this.tokenizer.token_to_id(token);
      if (id !== undefined) ids[n++] = BigInt(id);
    }
    return { ids, attentionMask: maskOf(this.maxLength, n), unknownWords: this.unknownWords(prompt) };
  }

  /** The prompt's words (split at white space) that come out as the unknown token, or with a piece no id has. */
  private unknownWords(prompt: string): string[] {
    const unknown = this.tokenizer.model?.unk_token_id;
    return prompt.split(/\s+/).filter((word) => word && this.tokenizer.tokenize(word).some((token) => {
      const id = this.tokenizer.token_to_id(token);
      return id === undefined || id === unknown;
    }));
  }
}
