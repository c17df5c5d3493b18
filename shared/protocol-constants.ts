/**
 * The protocol's constants, free of runtime dependencies, so the panel's bundle can use them without zod
 * (protocol.ts re-exports them with the validators).
 */

/** The protocol version this build speaks; a peer with another major version is refused at `hello`. */
export const PROTOCOL_VERSION = '1.1';
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

/** Seeds of N variations from `seed`: seed, seed+1, …, wrapping past {@link MAX_SEED} to 0 (as ComfyUI batches count up). */
export function variationSeeds(seed: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (seed + i) % (MAX_SEED + 1));
}
