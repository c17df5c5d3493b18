/**
 * The panel's connection to the daemon: one WebSocket on /v1/stream (token as a subprotocol, since UXP cannot set
 * headers), `hello` first, request ids, clip reassembly, and reconnection with backoff. Transport failures never
 * throw at the panel: they become a ConnectionState with a message saying what to do.
 */
import { LongshotError, type ErrorBody } from '../../shared/errors';
import type { DaemonInfo, GenerateRequestInput, Job, ModelSummary, PairReply, ServerMessage } from '../../shared/protocol';
import { PROTOCOL_VERSION, WS_SUBPROTOCOL, WS_TOKEN_PREFIX } from '../../shared/protocol-constants';
import { bytesToBase64 } from './bytes';
import { ClipAssembler, type ClipFile } from './clip-assembler';

/** Where the connection stands. */
export type ConnectionStatus = 'unpaired' | 'connecting' | 'connected' | 'offline' | 'unauthorized' | 'incompatible';

/** What the panel shows about the daemon. */
export interface ConnectionState {
  status: ConnectionStatus;
  /** A sentence for the user: what is happening, and what to do when something is wrong. */
  message: string;
  /** The daemon's own description once connected (machine, model, provider). */
  info: DaemonInfo | null;
}

/** Job events from the daemon, with clips already reassembled and verified. */
export type DaemonEvent =
  | Extract<ServerMessage, { type: 'started' | 'progress' | 'warning' | 'done' | 'failed' | 'cancelled' }>
  | { type: 'clip-file'; jobId: string; file: ClipFile }
  | { type: 'clip-damaged'; jobId: string; error: ErrorBody }
  /** An error the daemon sent for no pending request (for example, a refused cancel). */
  | { type: 'notice'; error: ErrorBody };

/** What the panel's state needs from the daemon. */
export interface DaemonClient {
  readonly connection: ConnectionState;
  onConnection(listener: (state: ConnectionState) => void): () => void;
  onEvent(listener: (event: DaemonEvent) => void): () => void;
  /** (Re)connects with this token and keeps reconnecting; null means not paired: stay disconnected. */
  connect(token: string | null): void;
  close(): void;
  /** Exchanges a one-time pairing code for the install's token. */
  pair(code: string): Promise<PairReply>;
  submit(request: GenerateRequestInput): Promise<Job>;
  retry(jobId: string): Promise<Job>;
  cancel(jobId: string): void;
  /** Follows a job; an ended job answers at once (with its clip when `clip`). */
  subscribe(jobId: string, clip: boolean): void;
  list(): Promise<Job[]>;
  /** A done job's poster frame as base64 JPEG (GET /v1/jobs/:id/poster with the token), or null when it has none. */
  poster(jobId: string): Promise<string | null>;
  /** The model packages the daemon can run (GET /v1/models with the token). */
  models(): Promise<ModelSummary[]>;
}

// Method-style handler types, so the browser's, UXP's and the `ws` package's sockets all fit.
type Handler<E> = { handle(event: E): void }['handle'];

/** The part of a WebSocket the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

export interface DaemonClientOptions {
  /** e.g. http://127.0.0.1:43117 */
  baseUrl: string;
  createSocket: (url: string, protocols: string[]) => WebSocketLike;
  fetch: (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown>; arrayBuffer(): Promise<ArrayBuffer> }>;
  /** Sent in `hello` and pairing, for the daemon's log. */
  clientName: string;
  /** Reconnect delays grow from `initialMs` to `maxMs`. */
  backoff?: { initialMs: number; maxMs: number };
}

const OPEN = 1;
// How often to ask /health while the daemon is still loading its model.
const MODEL_POLL_MS = 1000;

interface Pending {
  expect: 'queued' | 'jobs';
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** Creates the WebSocket client. Nothing connects until `connect` is called. */
export function createDaemonClient(options: DaemonClientOptions): DaemonClient {
  const { baseUrl, clientName } = options;
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 10_000 };
  const streamUrl = baseUrl.replace(/^http/, 'ws') + '/v1/stream';
  const where = baseUrl.replace(/^https?:\/\//, '');
  const connectionListeners = new Set<(state: ConnectionState) => void>();
  const eventListeners = new Set<(event: DaemonEvent) => void>();
  const pending = new Map<string, Pending>();
  const assembler = new ClipAssembler();
  let connection: ConnectionState = { status: 'unpaired', message: 'not paired: run `npx longshot pair` and type the code here', info: null };
  let token: string | null = null;
  let socket: WebSocketLike | null = null;
  let greeted = false;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let delay = backoff.initialMs;
  let nextId = 0;
  // Bumped on every connect/close so callbacks of an abandoned socket are ignored.
  let generation = 0;

  const setConnection = (next: ConnectionState) => {
    connection = next;
    for (const listener of connectionListeners) listener(next);
  };
  const emit = (event: DaemonEvent) => {
    for (const listener of eventListeners) listener(event);
  };
  const requestId = () => `panel-${++nextId}`;

  function send(message: object): void {
    if (!socket || socket.readyState !== OPEN || !greeted) {
      throw new LongshotError('interrupted', `not connected to the Longshot daemon: ${connection.message}`);
    }
    socket.send(JSON.stringify(message));
  }

  function ask<T>(expect: Pending['expect'], message: object): Promise<T> {
    const id = requestId();
    // A throw from send (not connected) inside the executor rejects the promise.
    return new Promise<T>((resolve, reject) => {
      send({ ...message, requestId: id });
      pending.set(id, { expect, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  function rejectPending(error: Error): void {
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  }

  async function diagnoseClose(gen: number): Promise<void> {
    // A refused upgrade looks like any dropped connection to a WebSocket: /health tells "not running" from "refused".
    let running = false;
    try {
      running = (await options.fetch(`${baseUrl}/health`)).ok;
    } catch {
      running = false;
    }
    if (gen !== generation) return;
    setConnection(
      running
        ? { status: 'unauthorized', message: `the daemon on ${where} refused this panel's token: run \`npx longshot pair\` and type the new code`, info: null }
        : { status: 'offline', message: `the Longshot daemon is not running on ${where}: start it with \`npx longshot serve\` (retrying)`, info: null },
    );
  }

  /** The daemon loads its model after it starts listening: ask /health until it names the model. */
  async function followModelLoad(gen: number): Promise<void> {
    while (gen === generation && connection.status === 'connected' && connection.info?.model === null) {
      await new Promise((resolve) => setTimeout(resolve, MODEL_POLL_MS));
      let info: DaemonInfo;
      try {
        const reply = await options.fetch(`${baseUrl}/health`);
        if (!reply.ok) continue;
        info = (await reply.json()) as DaemonInfo;
      } catch {
        continue;
      }
      if (gen === generation && connection.status === 'connected' && info.model !== null) {
        const { name, version, protocol, machine, hostname, model, provider } = info;
        setConnection({ ...connection, info: { name, version, protocol, machine, hostname, model, provider } });
      }
    }
  }

  function scheduleReconnect(gen: number): void {
    if (gen !== generation || token === null) return;
    retryTimer = setTimeout(() => open(gen), delay);
    delay = Math.min(delay * 2, backoff.maxMs);
  }

  function handle(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome':
        greeted = true;
        delay = backoff.initialMs;
        setConnection({ status: 'connected', message: `connected to ${message.info.hostname}`, info: message.info });
        if (message.info.model === null) void followModelLoad(generation);
        return;
      case 'error': {
        const p = message.requestId === null ? undefined : pending.get(message.requestId);
        if (p) {
          pending.delete(message.requestId!);
          p.reject(new LongshotError(message.error.code, message.error.message, { field: message.error.field }));
        } else if (message.error.code === 'protocol_version') {
          setConnection({ status: 'incompatible', message: message.error.message, info: null });
        } else emit({ type: 'notice', error: message.error });
        return;
      }
      case 'queued':
      case 'jobs': {
        const p = message.requestId === null ? undefined : pending.get(message.requestId);
        if (!p || p.expect !== message.type) return;
        pending.delete(message.requestId!);
        p.resolve(message.type === 'queued' ? message.job : message.jobs);
        return;
      }
      case 'clip':
        try {
          const file = assembler.add(message);
          if (file) emit({ type: 'clip-file', jobId: message.jobId, file });
        } catch (err) {
          emit({ type: 'clip-damaged', jobId: message.jobId, error: (err as LongshotError).toBody() });
        }
        return;
      default:
        emit(message);
    }
  }

  function open(gen: number): void {
    if (gen !== generation || token === null) return;
    // Retries keep the last failure's status and message (connect() alone says "connecting"), so the panel does not flicker.
    greeted = false;
    let ws: WebSocketLike;
    try {
      ws = options.createSocket(streamUrl, [WS_SUBPROTOCOL, WS_TOKEN_PREFIX + token]);
    } catch {
      void diagnoseClose(gen).then(() => scheduleReconnect(gen));
      return;
    }
    socket = ws;
    ws.onopen = () => {
      if (gen === generation) ws.send(JSON.stringify({ type: 'hello', requestId: requestId(), protocol: PROTOCOL_VERSION, client: clientName }));
    };
    ws.onmessage = (event) => {
      if (gen !== generation || typeof event.data !== 'string') return;
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return;
      }
      handle(message);
    };
    ws.onerror = () => undefined;
    ws.onclose = () => {
      if (gen !== generation) return;
      const wasGreeted = greeted;
      socket = null;
      greeted = false;
      assembler.clear();
      rejectPending(new LongshotError('interrupted', 'the connection to the daemon closed before it answered; try again once reconnected'));
      if (connection.status === 'incompatible') {
        scheduleReconnect(gen);
        return;
      }
      if (wasGreeted) setConnection({ status: 'offline', message: `lost the daemon on ${where}: reconnecting…`, info: null });
      void diagnoseClose(gen).then(() => scheduleReconnect(gen));
    };
  }

  function stop(): void {
    generation++;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    const old = socket;
    socket = null;
    greeted = false;
    rejectPending(new LongshotError('interrupted', 'the panel closed its connection to the daemon'));
    if (old && old.readyState <= OPEN) old.close(1000, 'panel closing');
  }

  /** GET with the token over HTTP; an error reply (but the statuses in `answers`) is thrown as the daemon's error. */
  async function authorizedGet(path: string, what: string, answers: number[]) {
    if (token === null) throw new LongshotError('unauthorized', 'not paired: run `npx longshot pair` and type the code here');
    let reply;
    try {
      reply = await options.fetch(`${baseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    } catch (err) {
      throw new LongshotError('interrupted', `could not reach the daemon on ${where} for ${what}; it is fetched again on reconnect`, { cause: err });
    }
    if (!reply.ok && !answers.includes(reply.status)) {
      const body = (await reply.json()) as { error: ErrorBody };
      throw new LongshotError(body.error.code, body.error.message, { field: body.error.field });
    }
    return reply;
  }

  return {
    get connection() {
      return connection;
    },
    onConnection(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    connect(newToken) {
      stop();
      token = newToken;
      delay = backoff.initialMs;
      if (token === null) {
        setConnection({ status: 'unpaired', message: 'not paired: run `npx longshot pair` and type the code here', info: null });
        return;
      }
      setConnection({ status: 'connecting', message: `connecting to ${where}…`, info: null });
      open(generation);
    },
    close() {
      stop();
      token = null;
    },
    async pair(code) {
      let reply;
      try {
        reply = await options.fetch(`${baseUrl}/v1/pair`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: code.trim(), client: clientName }) });
      } catch (err) {
        throw new LongshotError('not_found', `the Longshot daemon is not running on ${where}: start it with \`npx longshot serve\`, then pair`, { cause: err });
      }
      const body = (await reply.json()) as PairReply | { error: ErrorBody };
      if ('error' in body) throw new LongshotError(body.error.code, body.error.message, { field: body.error.field });
      return body;
    },
    submit(request) {
      return ask('queued', { type: 'submit', request, stream: true });
    },
    retry(jobId) {
      return ask('queued', { type: 'retry', jobId });
    },
    cancel(jobId) {
      send({ type: 'cancel', requestId: requestId(), jobId });
    },
    subscribe(jobId, clip) {
      send({ type: 'subscribe', requestId: requestId(), jobId, clip });
    },
    list() {
      return ask('jobs', { type: 'list' });
    },
    async poster(jobId) {
      const reply = await authorizedGet(`/v1/jobs/${encodeURIComponent(jobId)}/poster`, `the poster of job ${jobId}`, [404]);
      return reply.status === 404 ? null : bytesToBase64(new Uint8Array(await reply.arrayBuffer()));
    },
    async models() {
      return (await (await authorizedGet('/v1/models', 'its list of models', [])).json()) as ModelSummary[];
    },
  };
}
