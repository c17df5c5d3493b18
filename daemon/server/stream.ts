import { createReadStream } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { LongshotError, toErrorBody } from '../../shared/errors';
import {
  PROTOCOL_VERSION,
  WS_SUBPROTOCOL,
  parseClientMessage,
  parseGenerateRequest,
  echoableRequestId,
  protocolMajor,
  type Job,
  type ServerMessage,
} from '../../shared/protocol';
import { isFinal, type JobEvent } from '../jobs/job-queue';
import { httpStatus } from './error-status';
import { assertAuthorized, assertLoopbackHost, isAllowedOrigin } from './guards';
import type { DaemonServices } from './http-app';

/** Largest message a client may send (a submit with a few reference images); bigger ones close with 1009. */
export const WS_MAX_PAYLOAD = 16 * 1024 * 1024;
/** Bytes of clip per `clip` message. */
export const CLIP_CHUNK_BYTES = 512 * 1024;
/** Ping interval; a client that misses one pong is dropped. */
export const HEARTBEAT_MS = 30_000;
// Progress previews are dropped, never queued, for a client that is this far behind.
const SLOW_CLIENT_BYTES = 4 * 1024 * 1024;

/**
 * What one connection may have waiting to be sent: replies and events queued behind a send the client has not read
 * yet, and their bytes (with what the socket still holds). A client past either is closed with 1008: one that asks
 * without reading would otherwise make the daemon hold every answer.
 */
export interface StreamLimits {
  maxPendingMessages: number;
  maxPendingBytes: number;
}
export const STREAM_LIMITS: StreamLimits = { maxPendingMessages: 64, maxPendingBytes: 32 * 1024 * 1024 };

/** A message to send, or (for replies that read the job store) how to build it once it is its turn to be sent. */
type Outgoing = ServerMessage | (() => ServerMessage);

interface Connection {
  ws: WebSocket;
  greeted: boolean;
  alive: boolean;
  /** Subscribed job ids → whether to stream the clip. */
  subscriptions: Map<string, boolean>;
  /** Sends go through one chain so a clip's chunks and its `done` keep their order. */
  outbox: Promise<void>;
  /** Steps on the outbox not yet finished, and the bytes of the messages among them already serialised. */
  pending: number;
  pendingBytes: number;
}

/** Attaches the `/v1/stream` WebSocket endpoint to an HTTP server. Returns a function that closes it. */
export function attachStream(server: Server, s: DaemonServices, limits: StreamLimits = STREAM_LIMITS): () => void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: WS_MAX_PAYLOAD,
    handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });
  const connections = new Set<Connection>();

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      assertLoopbackHost(req.headers.host);
      if (!isAllowedOrigin(req.headers.origin, s.allowedOrigins)) {
        throw new LongshotError('forbidden', `Origin "${req.headers.origin}" may not open the Longshot stream`);
      }
      if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/v1/stream') {
        throw new LongshotError('not_found', 'the WebSocket endpoint is /v1/stream');
      }
      assertAuthorized(req.headers, s.pairing);
    } catch (err) {
      const body = toErrorBody(err);
      s.logger.info({ code: body.code, origin: req.headers.origin ?? null }, 'stream upgrade refused');
      const json = JSON.stringify({ error: body });
      socket.end(
        `HTTP/1.1 ${httpStatus(body.code)} ${body.code}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });

  function onConnection(ws: WebSocket): void {
    const conn: Connection = { ws, greeted: false, alive: true, subscriptions: new Map(), outbox: Promise.resolve(), pending: 0, pendingBytes: 0 };
    connections.add(conn);
    s.logger.info({ clients: connections.size }, 'stream client connected');
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => handleMessage(conn, isBinary ? null : data.toString('utf8')));
    ws.on('error', (err) => s.logger.info({ err: err.message }, 'stream client error'));
    ws.on('close', (code) => {
      connections.delete(conn);
      s.logger.info({ code, clients: connections.size }, 'stream client closed');
    });
  }

  /** Queues a message; one built lazily reads the store when it is its turn, so a stalled client holds no pages. */
  function send(conn: Connection, message: Outgoing): void {
    if (typeof message === 'function') {
      enqueue(conn, 0, () => (conn.ws.readyState === conn.ws.OPEN ? sendText(conn, JSON.stringify(message())) : Promise.resolve()));
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (err) {
      failConnection(conn, err);
      return;
    }
    enqueue(conn, text.length, () => sendText(conn, text));
  }

  /**
   * Chains one step on the connection's outbox. A step that fails (a message too large to serialise, a clip file
   * that vanished) closes that one connection with an error; it never rejects the chain or reaches the process.
   * A connection already past its limits is closed instead (see {@link StreamLimits}).
   */
  function enqueue(conn: Connection, bytes: number, step: () => Promise<void>): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    conn.pending += 1;
    conn.pendingBytes += bytes;
    if (conn.pending > limits.maxPendingMessages || conn.pendingBytes + conn.ws.bufferedAmount > limits.maxPendingBytes) {
      closeUnread(conn);
      return;
    }
    conn.outbox = conn.outbox
      .then(step)
      .catch((err: unknown) => failConnection(conn, err))
      .finally(() => {
        conn.pending -= 1;
        conn.pendingBytes -= bytes;
      });
  }

  /** Closes a connection whose client sends faster than it reads what it asked for; what it queued is never built. */
  function closeUnread(conn: Connection): void {
    s.logger.warn({ pending: conn.pending, pendingBytes: conn.pendingBytes + conn.ws.bufferedAmount, limits }, 'stream client does not read its replies; closing it');
    conn.ws.close(1008, 'too many replies waiting: read replies before sending more requests');
  }

  function failConnection(conn: Connection, err: unknown): void {
    const body = err instanceof LongshotError ? err.toBody() : { code: 'internal' as const, message: 'the daemon could not send a reply on this connection; reconnect' };
    s.logger.error({ err, code: body.code }, 'stream send failed; closing that connection');
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    try {
      conn.ws.send(JSON.stringify({ type: 'error', requestId: null, error: body } satisfies ServerMessage));
    } catch {
      // the error itself cannot be sent: closing says enough
    }
    conn.ws.close(1011, body.code);
  }

  function sendText(conn: Connection, text: string): Promise<void> {
    if (conn.ws.readyState !== conn.ws.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => conn.ws.send(text, (err) => (err ? reject(err) : resolve())));
  }

  function handleMessage(conn: Connection, text: string | null): void {
    // A connection being closed (for not reading, or by its client) gets no more work done for it.
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    let requestId: string | null = null;
    try {
      if (text === null) throw new LongshotError('bad_request', 'binary frames are not part of the protocol: send JSON text');
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw new LongshotError('bad_request', 'message is not valid JSON: send one JSON object per frame');
      }
      requestId = echoableRequestId(raw);
      const msg = parseClientMessage(raw);
      if (msg.type === 'hello') {
        if (protocolMajor(msg.protocol) !== protocolMajor(PROTOCOL_VERSION)) {
          throw new LongshotError(
            'protocol_version',
            `protocol: this daemon speaks ${PROTOCOL_VERSION}, the client ${msg.protocol}; update the ${protocolMajor(msg.protocol) < protocolMajor(PROTOCOL_VERSION) ? 'panel' : 'daemon'}`,
            { field: 'protocol' },
          );
        }
        conn.greeted = true;
        send(conn, { type: 'welcome', requestId: msg.requestId, info: s.info() });
        return;
      }
      if (!conn.greeted) throw new LongshotError('protocol_version', 'send a hello message first to agree on the protocol version');
      switch (msg.type) {
        case 'submit': {
          // Answered once its references are checked (a few hundred ms); other messages are handled meanwhile.
          s.submit(parseGenerateRequest(msg.request)).then(
            (job) => {
              if (msg.stream) conn.subscriptions.set(job.id, true);
              send(conn, { type: 'queued', requestId: msg.requestId, job });
            },
            (err: unknown) => send(conn, { type: 'error', requestId: msg.requestId, error: toErrorBody(err) }),
          );
          return;
        }
        case 'cancel':
          s.queue.cancel(msg.jobId);
          return;
        case 'retry': {
          const job = s.queue.retry(msg.jobId);
          conn.subscriptions.set(job.id, true);
          send(conn, { type: 'queued', requestId: msg.requestId, job });
          return;
        }
        case 'subscribe': {
          const job = s.queue.get(msg.jobId);
          conn.subscriptions.set(job.id, msg.clip);
          if (isFinal(job)) finish(conn, job, msg.clip);
          return;
        }
        case 'list': {
          send(conn, () => {
            try {
              const page = s.queue.list({ limit: msg.limit, before: msg.before });
              return { type: 'jobs', requestId: msg.requestId, jobs: page.jobs, next: page.next };
            } catch (err) {
              return { type: 'error', requestId: msg.requestId, error: toErrorBody(err) };
            }
          });
          return;
        }
      }
    } catch (err) {
      send(conn, { type: 'error', requestId, error: toErrorBody(err) });
    }
  }

  /** Ends a job's stream for one client: its clip (if wanted and done), then exactly one final message. */
  function finish(conn: Connection, job: Job, withClip: boolean): void {
    conn.subscriptions.delete(job.id);
    if (job.state === 'done') {
      // A png job's output is a folder of frames on the daemon's disk; only files travel as `clip` chunks.
      if (withClip && job.request.format !== 'png') enqueue(conn, 0, () => streamClip(conn, job));
      send(conn, { type: 'done', jobId: job.id, job });
    } else if (job.state === 'cancelled') {
      send(conn, { type: 'cancelled', jobId: job.id, job });
    } else {
      send(conn, { type: 'failed', jobId: job.id, job, error: job.error ?? { code: 'internal', message: 'job ended without an error record' } });
    }
  }

  async function streamClip(conn: Connection, job: Job): Promise<void> {
    const bytes = job.bytes ?? 0;
    const count = Math.max(1, Math.ceil(bytes / CLIP_CHUNK_BYTES));
    const fileName = job.output!.split(/[\\/]/).pop()!;
    const mime = fileName.endsWith('.mov') ? 'video/quicktime' : fileName.endsWith('.mp4') ? 'video/mp4' : 'application/octet-stream';
    let index = 0;
    try {
      for await (const chunk of createReadStream(job.output!, { highWaterMark: CLIP_CHUNK_BYTES })) {
        if (conn.ws.readyState !== conn.ws.OPEN) return;
        await sendText(conn, JSON.stringify({ type: 'clip', jobId: job.id, index: index++, count, data: (chunk as Buffer).toString('base64'), bytes, sha256: job.sha256!, mime, fileName } satisfies ServerMessage));
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).syscall === undefined) throw err;
      throw new LongshotError('not_found', `job ${job.id}: its clip ${fileName} can no longer be read (${(err as NodeJS.ErrnoException).code}); make it again with retry`, { cause: err });
    }
  }

  const unsubscribe = s.queue.subscribe((event: JobEvent) => {
    for (const conn of connections) {
      const withClip = conn.subscriptions.get(event.job.id);
      if (withClip === undefined) continue;
      switch (event.type) {
        case 'started':
          send(conn, { type: 'started', jobId: event.job.id, job: event.job });
          break;
        case 'warning':
          send(conn, { type: 'warning', jobId: event.job.id, warning: event.warning });
          break;
        case 'progress': {
          if (conn.ws.bufferedAmount > SLOW_CLIENT_BYTES || conn.pending > limits.maxPendingMessages / 2) break;
          const { stage, step, total, etaSeconds, previewJpeg } = event.progress;
          const preview = previewJpeg ? Buffer.from(previewJpeg).toString('base64') : null;
          send(conn, { type: 'progress', jobId: event.job.id, stage, step, total, etaSeconds, preview });
          break;
        }
        case 'done':
        case 'failed':
        case 'cancelled':
          finish(conn, event.job, withClip);
          break;
        case 'queued':
          break;
      }
    }
  });

  const heartbeat = setInterval(() => {
    for (const conn of connections) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return () => {
    clearInterval(heartbeat);
    unsubscribe();
    for (const conn of connections) conn.ws.close(1001, 'daemon shutting down');
    wss.close();
  };
}
