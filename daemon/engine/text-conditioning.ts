import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';
import { LongshotError } from '../../shared/errors';
import type { ModelPackage } from './model-package';
import { checkGraphTensors, createCompanionSession, type GraphTensorSpec, type ModelRunner } from './model-runner';
import { loadTokenizer, type PromptTokenizer, type Tokenized } from './tokenizer';

/**
 * A prompt as the U-ViT's text input: the tokenizer's ids, or (model.json `text_encoder`) the text-encoder graph's
 * embeddings of them. The unconditional prompt of classifier-free guidance is the empty prompt's input (all padding
 * for a word vocabulary; the special tokens and padding, through the encoder, for a Hugging Face tokenizer).
 */
export interface TextConditioning {
  /** Words of the prompt the tokenizer cannot spell (ignored, never an error). */
  unknownWords(prompt: string): string[];
  /** Writes the runner's text input: row 0 the prompt, row 1 the unconditional prompt. Returns the unknown words. */
  write(prompt: string): Promise<string[]>;
  close(): Promise<void>;
}

/** The package's text conditioning, writing into `runner`'s batch; a text encoder runs on the runner's provider. */
export async function createTextConditioning(pkg: ModelPackage, runner: ModelRunner, threads: number, logger: Logger): Promise<TextConditioning> {
  const tokenizer = await loadTokenizer(pkg);
  const { text } = runner.batch;
  if (!pkg.manifest.text_encoder) {
    if (!(text instanceof BigInt64Array)) throw new Error('a package without a text encoder takes token ids');
    return new TokenConditioning(tokenizer, text);
  }
  if (!(text instanceof Float32Array)) throw new Error('a package with a text encoder takes float32 embeddings');
  const conditioning = await EncodedConditioning.create(pkg, tokenizer, text, runner.provider, threads);
  logger.info({ model: pkg.manifest.name, provider: runner.provider, textEncoder: pkg.manifest.text_encoder.file }, 'text encoder ready');
  return conditioning;
}

/** The U-ViT reads token ids itself. */
class TokenConditioning implements TextConditioning {
  private readonly unconditional: BigInt64Array;

  constructor(
    private readonly tokenizer: PromptTokenizer,
    private readonly text: BigInt64Array,
  ) {
    this.unconditional = tokenizer.encode('').ids;
  }

  unknownWords(prompt: string): string[] {
    return this.tokenizer.encode(prompt).unknownWords;
  }

  async write(prompt: string): Promise<string[]> {
    const { ids, unknownWords } = this.tokenizer.encode(prompt);
    this.text.set(ids, 0);
    this.text.set(this.unconditional, ids.length);
    return unknownWords;
  }

  async close(): Promise<void> {}
}

/** A text-encoder graph turns token ids (and their attention mask) [1, L] into embeddings [1, L, D] for the U-ViT. */
class EncodedConditioning implements TextConditioning {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly pkg: ModelPackage,
    private readonly tokenizer: PromptTokenizer,
    private readonly text: Float32Array,
    /** The empty prompt's embeddings, computed once. */
    private readonly unconditional: Float32Array,
  ) {}

  /** Opens the graph, checks it against model.json (its output must be the U-ViT's text input), embeds the empty prompt. */
  static async create(pkg: ModelPackage, tokenizer: PromptTokenizer, text: Float32Array, provider: string, threads: number): Promise<EncodedConditioning> {
    const { manifest } = pkg;
    const encoder = manifest.text_encoder!;
    const session = await createCompanionSession(pkg, encoder.file, provider, threads);
    try {
      const ids: GraphTensorSpec = { name: encoder.input, dtype: 'int64', shape: ['B', tokenizer.maxLength] };
      const inputs = { 'text_encoder.input': ids, ...(encoder.attention_mask ? { 'text_encoder.attention_mask': { ...ids, name: encoder.attention_mask } } : {}) };
      checkWidth(session, pkg);
      checkGraphTensors(session, pkg, encoder.file, inputs, { 'text_encoder.output': { ...manifest.inputs.text, name: encoder.output } });
      const conditioning = new EncodedConditioning(session, pkg, tokenizer, text, new Float32Array(text.length / 2));
      conditioning.unconditional.set(await conditioning.embed(tokenizer.encode('')));
      return conditioning;
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
  }

  unknownWords(prompt: string): string[] {
    return this.tokenizer.encode(prompt).unknownWords;
  }

  async write(prompt: string): Promise<string[]> {
    const tokenized = this.tokenizer.encode(prompt);
    this.text.set(await this.embed(tokenized), 0);
    this.text.set(this.unconditional, this.unconditional.length);
    return tokenized.unknownWords;
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  /** One prompt's embeddings [L, D]. */
  private async embed({ ids, attentionMask }: Tokenized): Promise<Float32Array> {
    const encoder = this.pkg.manifest.text_encoder!;
    const dims = [1, ids.length];
    const feeds: Record<string, ort.Tensor> = { [encoder.input]: new ort.Tensor('int64', ids, dims) };
    if (encoder.attention_mask) feeds[encoder.attention_mask] = new ort.Tensor('int64', attentionMask, dims);
    const output = (await this.session.run(feeds))[encoder.output]!.data as Float32Array;
    const want = this.unconditional.length;
    if (output.length !== want || !output.every(Number.isFinite)) {
      throw new LongshotError('model_invalid', `model package ${this.pkg.dir}: file ${encoder.file} gave ${output.length} values for a prompt (want ${want}, model.json inputs.text) or non-finite ones`);
    }
    return output;
  }
}

/** The encoder's embedding width must be the U-ViT's text width: said plainly, naming both files and the field. */
function checkWidth(session: ort.InferenceSession, pkg: ModelPackage): void {
  const { manifest } = pkg;
  const encoder = manifest.text_encoder!;
  const output = session.outputMetadata.find((m) => m.name === encoder.output);
  const width = output?.isTensor ? output.shape[2] : undefined;
  const expected = manifest.inputs.text.shape[2];
  if (typeof width === 'number' && width !== expected) {
    throw new LongshotError(
      'model_invalid',
      `model package ${pkg.dir}: file ${encoder.file} gives text embeddings ${width} wide (output "${encoder.output}"), but model.json inputs.text, the U-ViT's text input, is ${expected} wide (shape ${JSON.stringify(manifest.inputs.text.shape)}); pair the U-ViT with the text encoder it was trained on`,
    );
  }
}
