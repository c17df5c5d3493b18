/**
 * Longshot protocol v1: every message between the panel (or CLI) and the daemon, as TypeScript types with
 * runtime validators. Only this folder defines wire shapes; see PROTOCOL.md for the conversation.
 */
import { z } from 'zod';
import { ERROR_CODES, LongshotError } from './errors';
import { MOV_CODECS, OUTPUT_FORMATS } from './media-formats';
import { MAX_LIST_LIMIT, MAX_PROMPT_CHARS, MAX_SECONDS, MODEL_JOBS, type ModelJob, type WarningCode } from './protocol-constants';

export * from './protocol-constants';
export * from './media-formats';

// zod's number refuses NaN and ±Infinity; the bounds chained on it reach the JSON Schema (a refine or pipe would hide them).
const finite = (what: string) => z.number({ error: `${what} must be a finite number` });

/** Where reference frames come from: a media file read at a time (daemon-side ffmpeg), or encoded images. */
export const ReferenceSourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('media'),
    /** Absolute path of a media file on the daemon's machine (video or a still image). */
    path: z.string().min(1, 'path must not be empty').max(4096),
    /** The time in the media, in seconds, of the frame at the seam (the out point for `before`, the in point for `after`). */
    timeSeconds: finite('timeSeconds').min(0, 'timeSeconds must be ≥ 0'),
  }),
  z.strictObject({
    kind: z.literal('images'),
    /** Base64 PNG or JPEG frames in time order; for `before` the last one is at the seam, for `after` the first. */
    images: z.array(z.string().min(16).max(8_000_000)).min(1, 'images needs at least one frame').max(64),
  }),
  /**
   * How the daemon records `images` once it accepts a job: the images are written once to files in its data folder
   * and the stored request (and every listing) names those files, not the bytes. Clients never send this kind.
   */
  z.strictObject({
    kind: z.literal('stored'),
    /** File names in the daemon's references folder, in the order the images were sent. */
    files: z.array(z.string().regex(/^[0-9a-f-]{36}\.img$/, 'files names the daemon\'s own reference files')).min(1).max(64),
    /** Bytes of all the images together. */
    bytes: z.number().int().min(0),
  }),
]);
/** Where reference frames come from. */
export type ReferenceSource = z.infer<typeof ReferenceSourceSchema>;

/** Known frames on one side of the generated span. */
export const ReferenceSchema = z.strictObject({
  /** `before`: frames that come just before the generated clip; `after`: frames that come just after it. */
  role: z.enum(['before', 'after']),
  source: ReferenceSourceSchema,
});
/** Known frames on one side of the generated span. */
export type Reference = z.infer<typeof ReferenceSchema>;

/** What the generated clip is for; it fixes which references must be present. */
export const ModeSchema = z.enum(['broll', 'extend', 'extend-head', 'fill']);
/** What the generated clip is for. */
export type Mode = z.infer<typeof ModeSchema>;

/** Output container (shared/media-formats.ts). */
export const OutputFormatSchema = z.enum(OUTPUT_FORMATS);
/** Codec of a `mov` (shared/media-formats.ts). */
export const MovCodecSchema = z.enum(MOV_CODECS);

/** Sampler names the engine knows. */
export const SamplerNameSchema = z.enum(['dpmpp-2m', 'ddim']);
/** Sampler names the engine knows. */
export type SamplerName = z.infer<typeof SamplerNameSchema>;

/**
 * Everything a generation needs, complete on its own: stored unchanged with the job so any job can be re-run.
 * Optional fields take the model's defaults.
 */
export const GenerateRequestSchema = z
  .strictObject({
    mode: ModeSchema.default('broll'),
    prompt: z.string().max(MAX_PROMPT_CHARS, `prompt is longer than ${MAX_PROMPT_CHARS} characters: shorten it`).default(''),
    /** Length of the generated clip in seconds. */
    seconds: finite('seconds').gt(0, 'seconds must be greater than 0').max(MAX_SECONDS, `seconds must be at most ${MAX_SECONDS}`),
    /** Frame rate of the clip, as the timeline's (23.976 is sent as 23.976 or 24000/1001). */
    fps: finite('fps').min(6, 'fps must be at least 6').max(60, 'fps must be at most 60'),
    /** Output frame size; default: the model's native aspect, at least 256 px tall. */
    width: z.number().int('width must be an integer').min(16).max(8192).optional(),
    height: z.number().int('height must be an integer').min(16).max(8192).optional(),
    seed: z.number().int('seed must be an integer').min(0).max(2 ** 32 - 1).optional(),
    steps: z.number().int('steps must be an integer').min(1, 'steps must be at least 1').max(200, 'steps must be at most 200').optional(),
    guidance: finite('guidance').min(0).max(30).optional(),
    sampler: SamplerNameSchema.optional(),
    /** Model name as listed by `GET /v1/models`; default: the bundled model. */
    model: z.string().min(1).max(200).optional(),
    format: OutputFormatSchema.default('mp4'),
    /** For `format: "mov"` only: which codec (default ProRes 422). */
    codec: MovCodecSchema.optional(),
    references: z.array(ReferenceSchema).max(2).default([]),
  })
  .superRefine((req, ctx) => {
    const roles = req.references.map((r) => r.role).sort().join(',');
    const need: Record<Mode, string> = { broll: '', extend: 'before', 'extend-head': 'after', fill: 'after,before' };
    if (roles !== need[req.mode]) {
      const what: Record<Mode, string> = {
        broll: 'no references',
        extend: 'one reference with role "before" (the clip to continue)',
        'extend-head': 'one reference with role "after" (the clip to lead into)',
        fill: 'two references, role "before" and role "after"',
      };
      ctx.addIssue({ code: 'custom', path: ['references'], message: `mode "${req.mode}" needs ${what[req.mode]}` });
    }
    if (req.codec !== undefined && req.format !== 'mov') {
      ctx.addIssue({ code: 'custom', path: ['codec'], message: `codec "${req.codec}" is for format "mov"; MP4 is always H.264` });
    }
    if ((req.width === undefined) !== (req.height === undefined)) {
      ctx.addIssue({ code: 'custom', path: [req.width === undefined ? 'width' : 'height'], message: 'give width and height together' });
    }
    if (req.width !== undefined && (req.width % 2 || req.height! % 2)) {
      ctx.addIssue({ code: 'custom', path: [req.width % 2 ? 'width' : 'height'], message: 'width and height must be even (H.264 4:2:0)' });
    }
  });
/** A generation request as sent (defaults not yet applied). */
export type GenerateRequestInput = z.input<typeof GenerateRequestSchema>;
/** A validated generation request with defaults applied. */
export type GenerateRequest = z.output<typeof GenerateRequestSchema>;

/** A job a model package serves, as model.json's `jobs` lists it. */
export const ModelJobSchema = z.enum(MODEL_JOBS);

/** The model job a request's mode asks for: both extends are `extend`. */
export function modelJobOf(mode: Mode): ModelJob {
  return mode === 'broll' ? 'broll' : mode === 'fill' ? 'fill' : 'extend';
}

/** Something a job's output may not be what its request hoped for; the job runs on. `field` names the request field to change, when one is. */
export interface JobWarning {
  code: WarningCode;
  message: string;
  field?: string;
}

/** States of a job; `interrupted` means the daemon stopped while it ran, and it can be re-run. */
export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;
/** One of {@link JOB_STATES}. */
export type JobState = (typeof JOB_STATES)[number];
/** States a job never leaves. */
export const FINAL_STATES: readonly JobState[] = ['done', 'failed', 'cancelled', 'interrupted'];

/** The wire form of an error. */
export const ErrorBodySchema = z.strictObject({ code: z.enum(ERROR_CODES), message: z.string(), field: z.string().optional() });

/** A job as the daemon reports it. Times are ISO-8601 strings. */
export interface Job {
  id: string;
  state: JobState;
  request: GenerateRequest;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Sampler progress of a running job. */
  progress: Pick<JobProgress, 'step' | 'total'> | null;
  error: z.infer<typeof ErrorBodySchema> | null;
  /** Path of the finished clip on the daemon's machine. */
  output: string | null;
  /** Hex sha256 of the finished clip (for `png`, of the zip-free concatenation listed in PROTOCOL.md). */
  sha256: string | null;
  /** Size of the finished clip in bytes. */
  bytes: number | null;
  /** The model package that runs it: the request's `model`, or, when it names none, the one chosen when the job starts
   * (a footage model for extends and fills where one is installed, else the default); null until then. */
  model: string | null;
  /** What the job warned about so far, in the order they came (also sent as `warning` messages). */
  warnings: JobWarning[];
}

// ---- client → daemon -------------------------------------------------------------------------------

const requestId = z.string().min(1).max(100);

/** Client messages on `/v1/stream`. Each carries a `requestId` the replies echo. */
export const ClientMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('hello'), requestId, protocol: z.string().max(20), client: z.string().max(200).optional() }),
  z.strictObject({ type: z.literal('submit'), requestId, request: z.unknown(), stream: z.boolean().default(true) }),
  z.strictObject({ type: z.literal('cancel'), requestId, jobId: z.string().min(1).max(100) }),
  z.strictObject({ type: z.literal('retry'), requestId, jobId: z.string().min(1).max(100) }),
  /** Follow a job's events; `clip: true` also streams its clip when it is (or once it is) done. */
  z.strictObject({ type: z.literal('subscribe'), requestId, jobId: z.string().min(1).max(100), clip: z.boolean().default(true) }),
  /** One page of jobs, newest first: at most `limit` (default 50, at most 200), older than the job `before` if given. */
  z.strictObject({
    type: z.literal('list'),
    requestId,
    limit: z.number().int().min(1).max(MAX_LIST_LIMIT, `limit must be at most ${MAX_LIST_LIMIT}`).optional(),
    before: z.string().min(1).max(100).optional(),
  }),
]);
/** A client message. */
export type ClientMessage = z.input<typeof ClientMessageSchema>;

// ---- daemon → client -------------------------------------------------------------------------------

/** What the daemon says about itself at `welcome` and on `/health`. */
export interface DaemonInfo {
  name: 'longshot';
  version: string;
  protocol: string;
  /** A stable, hashed id of this install's machine, so a panel can tell which machine it talks to. */
  machine: string;
  hostname: string;
  model: string | null;
  provider: string | null;
}

/** Which part of a job progress counts: its reference frames read (extends and fills, first), or sampler steps. */
export type ProgressStage = 'reading' | 'sampling';

/** How far a running job is, as the stream sends it; the engine's PipelineProgress derives from it (engine/types.ts). */
export interface JobProgress {
  /** `reading`: the job's reference frames read so far, of `total` (extends and fills, before sampling);
   * `sampling`: sampler steps done across the whole job, of `total` (all windows). */
  stage: ProgressStage;
  step: number;
  total: number;
  etaSeconds: number | null;
  /** Base64 JPEG of the current estimate (a frame of the window being sampled). */
  preview: string | null;
}

/** Daemon messages on `/v1/stream`. A job's stream ends with exactly one of `done`, `failed` or `cancelled`. */
export type ServerMessage =
  | { type: 'welcome'; requestId: string; info: DaemonInfo }
  | { type: 'error'; requestId: string | null; error: z.infer<typeof ErrorBodySchema> }
  /** One page of jobs, newest first; `next` is the `before` that asks for the following page, or null after the last. */
  | { type: 'jobs'; requestId: string; jobs: Job[]; next: string | null }
  | { type: 'queued'; requestId: string | null; job: Job }
  | { type: 'started'; jobId: string; job: Job }
  | ({ type: 'progress'; jobId: string } & JobProgress)
  | {
      type: 'clip';
      jobId: string;
      /** Chunk index from 0; `count` chunks make the file. */
      index: number;
      count: number;
      /** Base64 bytes of this chunk. */
      data: string;
      bytes: number;
      sha256: string;
      mime: string;
      fileName: string;
    }
  /** Something the job's output may not be what was asked (the job runs on); also kept in the job's `warnings`. */
  | { type: 'warning'; jobId: string; warning: JobWarning }
  | { type: 'done'; jobId: string; job: Job }
  | { type: 'failed'; jobId: string; job: Job; error: z.infer<typeof ErrorBodySchema> }
  | { type: 'cancelled'; jobId: string; job: Job };

/** Pairing exchange: `POST /v1/pair` with the one-time code. */
export const PairRequestSchema = z.strictObject({ code: z.string().min(1).max(64), client: z.string().max(200).optional() });
/** Reply to a successful pairing. */
export interface PairReply {
  token: string;
  machine: string;
  hostname: string;
}

/** A model the daemon can run, as `GET /v1/models` lists it. */
export interface ModelSummary {
  name: string;
  version: string;
  default: boolean;
  nativeWidth: number;
  nativeHeight: number;
  framesPerWindow: number;
  fpsRange: [number, number];
  /** What the model knows (model.json `domain`): `shapesworld`, `footage`, … or `unknown`. */
  domain: string;
  /** The jobs it serves (model.json `jobs`). */
  jobs: ModelJob[];
  path: string;
}

/** Major part of a version string such as "1.0". */
export function protocolMajor(version: string): number {
  return Number.parseInt(version.split('.')[0] ?? '', 10);
}

/** Formats a zod error as a LongshotError that names the first failing field and what to do. */
export function validationError(error: z.ZodError, root: string): LongshotError {
  // An unknown field first: a misnamed one (`duration` for `seconds`) also leaves the right one missing, which alone says less.
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  const field = [root, ...issue.path.map(String)].filter(Boolean).join('.');
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove them`;
  return new LongshotError('bad_request', `${field || 'body'}: ${message}`, { field: field || undefined });
}

/** Validates and normalises a generation request, throwing a `bad_request` LongshotError naming the field. */
export function parseGenerateRequest(input: unknown): GenerateRequest {
  const result = GenerateRequestSchema.safeParse(input);
  if (!result.success) throw validationError(result.error, 'request');
  return result.data;
}

/** A `requestId` fit to echo in a reply: the client's own when it is a valid one, else null (an error never echoes a megabyte). */
export function echoableRequestId(raw: unknown): string | null {
  const id = raw && typeof raw === 'object' ? (raw as { requestId?: unknown }).requestId : undefined;
  return requestId.safeParse(id).success ? (id as string) : null;
}

/** Validates a client message, throwing a `bad_request` LongshotError naming the field. */
export function parseClientMessage(input: unknown): z.output<typeof ClientMessageSchema> {
  const result = ClientMessageSchema.safeParse(input);
  if (!result.success) throw validationError(result.error, '');
  return result.data;
}
