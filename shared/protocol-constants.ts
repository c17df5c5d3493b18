/**
 * The protocol's constants, free of runtime dependencies, so the panel's bundle can use them without zod
 * (protocol.ts re-exports them with the validators).
 */

/** The protocol version this build speaks; a peer with another major version is refused at `hello`. */
export const PROTOCOL_VERSION = '1.2';
/** The daemon's port on 127.0.0.1. Fixed for the panel: UXP lets it reach only the addresses its manifest lists. */
export const DAEMON_PORT = 43117;
/** The WebSocket subprotocol the daemon answers with. */
export const WS_SUBPROTOCOL = 'longshot.v1';
/** Prefix of the WebSocket subprotocol that carries the pairing token (UXP cannot set headers). */
export const WS_TOKEN_PREFIX = 'token.';
/** The longest generated clip one job may make, in seconds. */
export const MAX_SECONDS = 60;
/** The longest prompt accepted, in characters. */
export const MAX_PROMPT_CHARS = 2000;
/** Jobs in one page of a listing when the client names no limit. */
export const DEFAULT_LIST_LIMIT = 50;
/** The most jobs one page of a listing may hold. */
export const MAX_LIST_LIMIT = 200;
/** The largest seed; seeds are unsigned 32-bit integers. */
export const MAX_SEED = 2 ** 32 - 1;
/** The most variations (jobs with seeds s, s+1, …) one "×N" or `--variations N` makes. */
export const MAX_VARIATIONS = 16;

/** The jobs a model package may serve (its model.json `jobs`): B-roll from a prompt, extending a clip (head or tail), filling a gap. */
export const MODEL_JOBS = ['broll', 'extend', 'fill'] as const;
/** One of {@link MODEL_JOBS}. */
export type ModelJob = (typeof MODEL_JOBS)[number];
/** The domain of a package whose model.json names none. */
export const UNKNOWN_DOMAIN = 'unknown';
/** The domain of packages that know camera footage: with no model named, extends and fills go to one of these. */
export const FOOTAGE_DOMAIN = 'footage';

/**
 * What a job warns about; the job still runs. `model_job_unsupported`: its model does not serve this job (model.json
 * `jobs`); `footage_unreadable`: its model cannot draw back the reference frames it read, so its clip follows the
 * model's own reading, not the footage; `prompt_words_unknown`: words the model does not know were ignored;
 * `prompt_empty`: B-roll with no prompt is a random scene.
 */
export const WARNING_CODES = ['model_job_unsupported', 'footage_unreadable', 'prompt_words_unknown', 'prompt_empty'] as const;
/** One of {@link WARNING_CODES}. */
export type WarningCode = (typeof WARNING_CODES)[number];

/** Seeds of N variations from `seed`: seed, seed+1, …, wrapping past {@link MAX_SEED} to 0 (as ComfyUI batches count up). */
export function variationSeeds(seed: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (seed + i) % (MAX_SEED + 1));
}
