import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { LongshotError } from '../../shared/errors';
import { MODEL_JOBS, ModelJobSchema, SamplerNameSchema, UNKNOWN_DOMAIN } from '../../shared/protocol';

const dim = z.union([z.literal('B'), z.number().int().positive()]);
const tensorSpec = z.object({ name: z.string().min(1), dtype: z.enum(['float32', 'int64']), shape: z.array(dim) });
/** A codec graph's tensor: N frames at once. */
const frameTensorSpec = z.object({ name: z.string().min(1), dtype: z.literal('float32'), shape: z.array(z.union([z.literal('N'), z.number().int().positive()])) });
const codecGraph = z.object({ file: z.string().min(1), input: frameTensorSpec, output: frameTensorSpec });

/** The frame autoencoder of a latent package (format /2): what one frame's code is and the graphs that make and undo it. */
const LatentSchema = z.object({
  /** One frame's latent: [C] or [C, h, w]. */
  shape: z.array(z.number().int().positive()).min(1),
  /** Per latent channel (the first dim of shape): model latent = (encoder output − shift) · scale. */
  shift: z.array(z.number()),
  scale: z.array(z.number().refine((v) => v !== 0 && Number.isFinite(v), 'must be finite and not 0 (the decoder input divides by it)')),
  encoder: codecGraph,
  decoder: codecGraph,
});

/** model.json, as models/PACKAGE.md defines it. */
export const ModelManifestSchema = z.object({
  format: z.enum(['longshot-model/1', 'longshot-model/2']),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'name: lower-case letters, digits, dot, dash, underscore'),
  version: z.string().min(1),
  description: z.string().optional(),
  /** What the model knows, a short id (`shapesworld`, `footage`); absent: `unknown`. */
  domain: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'domain: a short id of lower-case letters, digits and dashes, such as "footage"').default(UNKNOWN_DOMAIN),
  /** The jobs it serves, each once; absent: all of them. */
  jobs: z
    .array(ModelJobSchema, { error: `jobs: a list of ${MODEL_JOBS.map((j) => `"${j}"`).join(', ')}` })
    .min(1, 'jobs: name at least one job, or leave the field out for all of them')
    .refine((jobs) => new Set(jobs).size === jobs.length, 'jobs: name each job once')
    .default([...MODEL_JOBS]),
  architecture: z.object({ type: z.string() }).passthrough(),
  space: z.enum(['pixel', 'latent']),
  native: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  /** 3: RGB; 5: RGB and each frame's backward flow (`motion_latent`). */
  channels: z.union([z.literal(3), z.literal(5)]),
  frames_per_window: z.number().int().positive(),
  context_frames: z.number().int().min(1),
  fps_range: z.tuple([z.number().positive(), z.number().positive()]),
  value_range: z.tuple([z.number(), z.number()]),
  schedule: z.object({ type: z.literal('cosine'), s: z.number().min(0), t_min: z.number().min(0), t_max: z.number().max(1) }),
  prediction: z.enum(['v', 'eps']),
  defaults: z.object({ steps: z.number().int().positive(), guidance: z.number().min(0), sampler: SamplerNameSchema }),
  /** Classifier-free guidance applies at t ≥ t_min only; below it the prompt's prediction alone. Absent: everywhere. */
  guidance_interval: z.object({ t_min: z.number().min(0).max(1) }).optional(),
  /** "motion-transfer": the package's frames are small motion of the footage; the engine carries the footage's own
   * frames along it at the footage's size (pipeline-footage.ts). Such a package extends and fills, never B-roll. */
  footage_render: z.enum(['motion-transfer']).optional(),
  /** How motion transfer adds the small residual (motion-transfer.ts ResidualOptions); absent: all of it, frame by frame.
   * `fill_residual_gain`: the gain in a fill, where both sides are real frames (absent: `residual_gain`). */
  motion_transfer: z.object({ residual_gain: z.number().min(0).max(2), fill_residual_gain: z.number().min(0).max(2).optional(), residual_smoothing: z.number().int().min(0).max(8) }).optional(),
  /** A footage package whose frames carry their backward flow beside RGB (channels 5; models/PACKAGE.md): flow in
   * native pixels × flow_scale, measured on known frames at flow_measure_factor × native (clip-flows.ts). */
  motion_latent: z
    .object({
      channels: z.tuple([z.literal('r'), z.literal('g'), z.literal('b'), z.literal('flow_x'), z.literal('flow_y')]),
      flow: z.literal('backward'),
      flow_scale: z.number().positive(),
      flow_measure_factor: z.literal(2),
    })
    .optional(),
  inputs: z.object({ x: tensorSpec, known: tensorSpec, t: tensorSpec, fps: tensorSpec, text: tensorSpec }),
  outputs: z.object({ prediction: tensorSpec }),
  /** `word`: our word vocabulary; `huggingface`: a tokenizer.json (BPE, WordPiece, Unigram), padded with pad_token or
   * its own padding.pad_id. */
  tokenizer: z.discriminatedUnion('type', [
    z.object({ type: z.literal('word'), file: z.string(), max_length: z.number().int().positive() }),
    z.object({ type: z.literal('huggingface'), file: z.string(), max_length: z.number().int().positive(), pad_token: z.string().min(1).optional() }),
  ]),
  /** A text-encoder graph: token ids (and an attention mask, when it takes one) [B, L] in, embeddings out as inputs.text. */
  text_encoder: z.object({ file: z.string(), input: z.string(), attention_mask: z.string().optional(), output: z.string() }).nullable(),
  weights_dtype: z.enum(['float32', 'float16']),
  /** Required when space is "latent" (format /2 only), absent for pixel packages. */
  latent: LatentSchema.optional(),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) })),
});
/** A parsed model.json. */
export type ModelManifest = z.infer<typeof ModelManifestSchema>;

/** A package whose manifest parsed and whose files all match their hashes. */
export interface ModelPackage {
  dir: string;
  manifest: ModelManifest;
}

/** The U-ViT graph's file name inside a package. */
export const GRAPH_FILE = 'uvit.onnx';

/** Bounds checked before anything of a package is loaded: the sizes of model.json and of the vocabulary (both read
 * whole), and the largest tensor one batch row (one frame for a codec graph) of any graph may take or give, from the
 * shapes model.json declares. */
export const PACKAGE_LIMITS = { manifestBytes: 1024 * 1024, vocabularyBytes: 64 * 1024 * 1024, tensorBytes: 512 * 1024 * 1024 };
/** How long validating one package (hashing its files included) may take before a listing reports it refused. */
export const PACKAGE_VALIDATION_TIMEOUT_MS = 120_000;

function invalid(dir: string, what: string, cause?: unknown): LongshotError {
  return new LongshotError('model_invalid', `model package ${dir}: ${what}`, { cause });
}

/** Why a package file is not JSON, without its text: JSON.parse's own message quotes what it read. */
export function notJson(err: unknown): string {
  const at = /position \d+( \(line \d+ column \d+\))?/.exec((err as Error).message);
  return err instanceof SyntaxError ? `not valid JSON${at ? ` (at ${at[0]})` : ''}` : `unreadable (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
}

/**
 * A file of a package as it may be read: a regular file (no FIFO, device or folder) whose real path, links followed,
 * lies inside the package's real folder. Returns the real path and its size; refuses naming the file and why.
 */
async function confinedFile(dir: string, name: string, field?: string): Promise<{ real: string; size: number; mtimeMs: number }> {
  const file = field ? `${name} (model.json ${field})` : name;
  const full = path.resolve(dir, name);
  if (!isInside(path.resolve(dir), full)) throw invalid(dir, `file ${file} lies outside the package`);
  const [realDir, real] = await Promise.all([fs.realpath(dir), fs.realpath(full).catch(() => null)]);
  if (!real) throw invalid(dir, `file ${file} is missing`);
  if (!isInside(realDir, real)) throw invalid(dir, `file ${file} is a link to a file outside the package; copy that file into the package`);
  const stat = await fs.stat(real);
  if (!stat.isFile()) throw invalid(dir, `file ${file} is not a regular file (a FIFO, device or folder); package files must be plain files`);
  return { real, size: stat.size, mtimeMs: stat.mtimeMs };
}

function isInside(root: string, file: string): boolean {
  const relative = path.relative(root, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

/** Refuses a package whose declared tensors are larger than {@link PACKAGE_LIMITS} allows, before any graph is loaded. */
function checkTensorSizes(dir: string, manifest: ModelManifest): void {
  const specs: [string, { dtype: string; shape: readonly unknown[] }][] = [
    ...Object.entries(manifest.inputs).map(([k, v]) => [`inputs.${k}`, v] as [string, typeof v]),
    ['outputs.prediction', manifest.outputs.prediction],
    ...(manifest.latent ? (['encoder', 'decoder'] as const).flatMap((g) => (['input', 'output'] as const).map((io) => [`latent.${g}.${io}`, manifest.latent![g][io]] as [string, { dtype: string; shape: unknown[] }])) : []),
  ];
  for (const [key, spec] of specs) {
    const bytes = spec.shape.reduce<number>((n, d) => n * (typeof d === 'number' ? d : 1), spec.dtype === 'int64' ? 8 : 4);
    if (bytes > PACKAGE_LIMITS.tensorBytes) {
      throw invalid(dir, `model.json ${key} declares ${(bytes / 1024 ** 3).toFixed(2)} GiB a batch row (shape ${JSON.stringify(spec.shape)}); the engine takes tensors of at most ${PACKAGE_LIMITS.tensorBytes / 1024 ** 2} MiB`);
    }
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Hashes of package files remembered by path, size and modification time, so listing a models folder again
 * does not re-read multi-GB graphs; a rewritten file has a new mtime and is hashed again. Keep one per process
 * and pass it to {@link listPackages} and {@link loadPackage}.
 */
export class FileHashCache {
  private readonly known = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

  async sha256(file: string, stat: { size: number; mtimeMs: number }): Promise<string> {
    const cached = this.known.get(file);
    if (cached && cached.size === stat.size && cached.mtimeMs === stat.mtimeMs) return cached.sha256;
    const sha256 = await sha256File(file);
    this.known.set(file, { size: stat.size, mtimeMs: stat.mtimeMs, sha256 });
    return sha256;
  }
}

/**
 * Loads and validates a package folder: model.json against the schema, shapes consistent with the native size
 * (and, for latent packages, chaining frames → encoder → U-ViT → decoder → frames), every listed file present with
 * its size and sha256 (streamed, so multi-GB packages work), every graph a protobuf.
 */
export async function loadPackage(dir: string, hashes: FileHashCache = new FileHashCache()): Promise<ModelPackage> {
  const manifestFile = await confinedFile(dir, 'model.json');
  if (manifestFile.size > PACKAGE_LIMITS.manifestBytes) throw invalid(dir, `model.json has ${manifestFile.size} bytes; a manifest has at most ${PACKAGE_LIMITS.manifestBytes}`);
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(manifestFile.real, 'utf8'));
  } catch (err) {
    throw invalid(dir, `model.json is ${notJson(err)}`, err);
  }
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(dir, `model.json field "${issue.path.join('.')}": ${issue.message}`);
  }
  const manifest = parsed.data;
  const latent = checkSpace(dir, manifest);
  checkMotionLatent(dir, manifest);
  // Every tensor's shape follows from the rest of model.json; the engine relies on it.
  const F = manifest.frames_per_window;
  const nativeFrame = [manifest.channels, manifest.native.height, manifest.native.width];
  const sampledFrame = latent ? latent.shape : nativeFrame; // one frame as the U-ViT sees it
  const windowBecause = latent ? 'frames_per_window and latent.shape' : 'native size and frames_per_window';
  type ShapeCheck = [key: string, spec: { shape: unknown[] }, expected: unknown[] | null, because: string];
  const codecShapes: ShapeCheck[] = latent
    ? [
        ['latent.encoder.input', latent.encoder.input, ['N', manifest.channels, ...nativeMultiple(dir, manifest, 'latent.encoder.input', latent.encoder.input.shape)], 'channels and a whole multiple of the native size'],
        ['latent.encoder.output', latent.encoder.output, ['N', ...latent.shape], 'latent.shape'],
        ['latent.decoder.input', latent.decoder.input, ['N', ...latent.shape], 'latent.shape: the encoder output must chain into it'],
        ['latent.decoder.output', latent.decoder.output, ['N', manifest.channels, ...nativeMultiple(dir, manifest, 'latent.decoder.output', latent.decoder.output.shape)], 'channels and a whole multiple of the native size'],
      ]
    : [];
  const expectedShapes: ShapeCheck[] = [
    ['inputs.x', manifest.inputs.x, ['B', F, ...sampledFrame], windowBecause],
    ['outputs.prediction', manifest.outputs.prediction, ['B', F, ...sampledFrame], windowBecause],
    ['inputs.known', manifest.inputs.known, ['B', F], 'frames_per_window'],
    ['inputs.t', manifest.inputs.t, ['B'], 'one time a batch row'],
    ['inputs.fps', manifest.inputs.fps, ['B'], 'one rate a batch row'],
    ['inputs.text', manifest.inputs.text, textShape(manifest), manifest.text_encoder ? "tokenizer.max_length and the text encoder's width D" : 'tokenizer.max_length'],
    ...codecShapes,
  ];
  for (const [key, spec, expected, because] of expectedShapes) {
    if (expected && JSON.stringify(spec.shape) !== JSON.stringify(expected)) {
      throw invalid(dir, `model.json ${key}.shape is ${JSON.stringify(spec.shape)}, but model.json says ${JSON.stringify(expected)} (from ${because})`);
    }
  }
  const textDtype = manifest.text_encoder ? 'float32' : 'int64';
  if (manifest.inputs.text.dtype !== textDtype) throw invalid(dir, `model.json inputs.text.dtype is ${manifest.inputs.text.dtype}, but ${manifest.text_encoder ? 'a text encoder gives float32 embeddings' : 'token ids are int64 (text_encoder is null)'}`);
  if (manifest.context_frames >= F) throw invalid(dir, `model.json context_frames (${manifest.context_frames}) must be less than frames_per_window (${F})`);
  checkTensorSizes(dir, manifest);
  const codecFiles = latent ? [latent.encoder.file, latent.decoder.file] : [];
  const textEncoderFiles = manifest.text_encoder ? [manifest.text_encoder.file] : [];
  const fields = new Map([[manifest.tokenizer.file, 'tokenizer.file'], ...textEncoderFiles.map((file) => [file, 'text_encoder.file'] as [string, string])]);
  const needed = [GRAPH_FILE, manifest.tokenizer.file, ...textEncoderFiles, ...codecFiles];
  for (const file of needed) if (!manifest.files[file]) throw invalid(dir, `model.json "files" does not list ${file}${fields.has(file) ? ` (model.json ${fields.get(file)})` : ''}`);
  for (const [file, expected] of Object.entries(manifest.files)) {
    const found = await confinedFile(dir, file, fields.get(file));
    if (file === manifest.tokenizer.file && found.size > PACKAGE_LIMITS.vocabularyBytes) throw invalid(dir, `file ${file} has ${found.size} bytes; a vocabulary has at most ${PACKAGE_LIMITS.vocabularyBytes}`);
    if (found.size !== expected.bytes) throw invalid(dir, `file ${file} has ${found.size} bytes, model.json says ${expected.bytes} (truncated or replaced?)`);
    if ((await hashes.sha256(found.real, found)) !== expected.sha256) throw invalid(dir, `file ${file} does not match its sha256 in model.json (corrupted or replaced)`);
  }
  for (const file of [GRAPH_FILE, ...textEncoderFiles, ...codecFiles]) await checkOnnxHead(dir, file);
  return { dir, manifest };
}

/** Five channels are a motion latent's, and only a pixel footage package's (the engine measures and follows its flows). */
function checkMotionLatent(dir: string, manifest: ModelManifest): void {
  const motion = manifest.motion_latent !== undefined;
  if ((manifest.channels === 5) !== motion) {
    throw invalid(dir, motion ? `model.json motion_latent needs channels 5 (RGB and the flow), got ${manifest.channels}` : 'model.json channels 5 needs motion_latent (what the channels beyond RGB hold, models/PACKAGE.md)');
  }
  if (motion && (manifest.space !== 'pixel' || manifest.footage_render !== 'motion-transfer')) {
    throw invalid(dir, 'model.json motion_latent is for pixel footage packages: space "pixel" and footage_render "motion-transfer"');
  }
}

/** The U-ViT's text input: token ids ["B", L], or with a text encoder its embeddings ["B", L, D] (D: "D" when not a number, never matching). */
function textShape(manifest: ModelManifest): (string | number)[] {
  const L = manifest.tokenizer.max_length;
  if (!manifest.text_encoder) return ['B', L];
  const width = manifest.inputs.text.shape[2];
  return ['B', L, typeof width === 'number' ? width : 'D'];
}

/**
 * The size of the frames a package generates: a latent package's decoder may draw them at a whole multiple k of the
 * native size (a renderer of its latents draws sharper edges and truer positions at the output size than an upscale
 * of native frames does); pixel packages generate native frames.
 */
export function generatedFrameSize(manifest: ModelManifest): { width: number; height: number } {
  return frameSizeOf(manifest.latent?.decoder.output.shape, manifest.native);
}

/**
 * The size reference frames are read at: a latent package's encoder may read them at a whole multiple of the native
 * size (the bundled one refines its reading against the frame, where a pixel pins a position more finely); pixel
 * packages condition on native frames.
 */
export function referenceFrameSize(manifest: ModelManifest): { width: number; height: number } {
  return frameSizeOf(manifest.latent?.encoder.input.shape, manifest.native);
}

function frameSizeOf(shape: unknown[] | undefined, native: { width: number; height: number }): { width: number; height: number } {
  return shape ? { height: Number(shape[2]), width: Number(shape[3]) } : native;
}

/** A codec graph's frame tensor [N, C, h, w]: its [h, w], checked to be k × the native size for a whole k ≥ 1. */
function nativeMultiple(dir: string, manifest: ModelManifest, key: string, shape: unknown[]): [number, number] {
  const { height, width } = manifest.native;
  const [, , h, w] = shape;
  const k = typeof h === 'number' ? h / height : NaN;
  if (!(Number.isInteger(k) && k >= 1 && w === width * k)) {
    throw invalid(dir, `model.json ${key}.shape is ${JSON.stringify(shape)}, but its frames must be the native ${width}x${height} or a whole multiple of it (["N", ${manifest.channels}, k·${height}, k·${width}])`);
  }
  return [h as number, w as number];
}

/**
 * The space and the latent block agree: latent packages (format /2 only) carry a frame autoencoder whose
 * shift and scale have one value a latent channel; pixel packages carry none. Returns the latent block, if any.
 */
function checkSpace(dir: string, manifest: ModelManifest): ModelManifest['latent'] {
  const { latent } = manifest;
  if (manifest.space === 'pixel') {
    if (latent) throw invalid(dir, 'model.json "latent" is given but space is "pixel"; remove it, or set space "latent"');
    return undefined;
  }
  if (manifest.format === 'longshot-model/1') throw invalid(dir, 'model.json format "longshot-model/1" has no latent space; latent packages are "longshot-model/2"');
  if (!latent) throw invalid(dir, 'model.json "latent" is missing: space "latent" needs its frame autoencoder (shape, shift, scale, encoder, decoder; see models/PACKAGE.md)');
  const channels = latent.shape[0]!;
  for (const key of ['shift', 'scale'] as const) {
    if (latent[key].length !== channels) throw invalid(dir, `model.json latent.${key} has ${latent[key].length} values, but latent.shape ${JSON.stringify(latent.shape)} has ${channels} channels (one value each)`);
  }
  return latent;
}

async function checkOnnxHead(dir: string, file: string): Promise<void> {
  const head = Buffer.alloc(16);
  const handle = await fs.open(path.join(dir, file), 'r');
  try {
    await handle.read(head, 0, 16, 0);
  } finally {
    await handle.close();
  }
  // An ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
  if (head[0] !== 0x08) throw invalid(dir, `file ${file} is not an ONNX model (it does not start like a protobuf ModelProto)`);
}

/**
 * The valid packages of a models folder (each subfolder with a model.json); broken ones are reported, not fatal, with
 * the name their folder has. A package whose validation takes longer than `timeoutMs` is reported too.
 */
export async function listPackages(
  modelsDir: string,
  hashes: FileHashCache = new FileHashCache(),
  timeoutMs = PACKAGE_VALIDATION_TIMEOUT_MS,
): Promise<{ packages: ModelPackage[]; errors: { dir: string; name: string; message: string }[] }> {
  const entries = await fs.readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  const packages: ModelPackage[] = [];
  const errors: { dir: string; name: string; message: string }[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(modelsDir, entry.name);
    if (!(await fs.lstat(path.join(dir, 'model.json')).catch(() => null))) continue;
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(invalid(dir, `validation took longer than ${timeoutMs / 1000} s (a file on a slow or hung disk?)`)), timeoutMs);
    });
    try {
      packages.push(await Promise.race([loadPackage(dir, hashes), slow]));
    } catch (err) {
      errors.push({ dir, name: entry.name, message: (err as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }
  return { packages, errors };
}
