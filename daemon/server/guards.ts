import type { IncomingHttpHeaders } from 'node:http';
import { LongshotError } from '../../shared/errors';
import { WS_SUBPROTOCOL, WS_TOKEN_PREFIX } from '../../shared/protocol';
import { Pairing } from './pairing';

// Only names that always mean this machine: a Host of anything else is a DNS-rebinding page talking to us.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether an HTTP Host header names the loopback interface (with or without a port). */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(host.trim().toLowerCase());
  return match !== null && LOOPBACK_HOSTS.has(match[1]!);
}

/**
 * Whether a browser Origin may open the stream: none (native clients; UXP's WebSocket sends none or its own
 * scheme) or one of the allowed panel origins. Web pages on any http(s) origin are refused.
 */
export function isAllowedOrigin(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  return /^(uxp|plugin):\/\//i.test(origin);
}

/** The bearer token of an Authorization header, or null. */
export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const value = headers.authorization;
  if (!value) return null;
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(value);
  return match ? match[1]! : null;
}

/** The token offered as a `token.<token>` WebSocket subprotocol, or null; the list must also offer `longshot.v1`. */
export function subprotocolToken(headers: IncomingHttpHeaders): string | null {
  const offered = (headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  if (!offered.includes(WS_SUBPROTOCOL)) return null;
  const entry = offered.find((p) => p.startsWith(WS_TOKEN_PREFIX));
  return entry ? entry.slice(WS_TOKEN_PREFIX.length) : null;
}

/** Throws `unauthorized` unless the request carries the pairing token (header, or subprotocol on upgrades). */
export function assertAuthorized(headers: IncomingHttpHeaders, pairing: Pairing): void {
  const token = bearerToken(headers) ?? subprotocolToken(headers);
  if (token === null) {
    throw new LongshotError('unauthorized', 'missing pairing token: send "Authorization: Bearer <token>" (see `npx longshot pair`)');
  }
  if (!pairing.checkToken(token)) throw new LongshotError('unauthorized', 'wrong pairing token: pair again with `npx longshot pair`');
}

/** Throws `forbidden` unless Host is a loopback name. */
export function assertLoopbackHost(host: string | undefined): void {
  if (!isLoopbackHost(host)) {
    throw new LongshotError('forbidden', `Host "${host ?? ''}" is not this machine: connect to 127.0.0.1 or localhost`);
  }
}
