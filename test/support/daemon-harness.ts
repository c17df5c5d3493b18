import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { loadConfig, PROJECT_ROOT, type Config } from '../../daemon/config';
import { silentLogger } from '../../daemon/log';
import { startDaemon, type RunningDaemon, type StartOptions } from '../../daemon/start-daemon';
import { WS_SUBPROTOCOL, WS_TOKEN_PREFIX, type ServerMessage } from '../../shared/protocol';

/** The tiny random-weight model package tests run (fast on CPU, same contract as the bundled one). */
export const TEST_MODELS_DIR = path.join(PROJECT_ROOT, 'models', 'testdata');
export const TEST_MODEL = 'tiny-uvit';

/** A fresh temporary folder, removed by the caller. */
export function tempDir(prefix = 'longshot-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Config for a test daemon on an ephemeral loopback port with the tiny model. */
export function testConfig(dataDir: string, overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}, {}), port: 0, dataDir, modelsDir: TEST_MODELS_DIR, defaultModel: TEST_MODEL, device: 'cpu', threads: 1, logLevel: 'silent', ...overrides };
}

/** Starts a real daemon in this process. */
export async function startTestDaemon(overrides: Partial<Config> = {}, options: Partial<StartOptions> = {}): Promise<RunningDaemon & { dataDir: string; token: string }> {
  const dataDir = overrides.dataDir ?? tempDir();
  const daemon = await startDaemon(testConfig(dataDir, overrides), { logger: silentLogger(), ...options });
  return { ...daemon, dataDir, token: daemon.pairing.token() };
}

/** A raw HTTP request (node:http lets tests set Host and odd headers that fetch refuses). */
export function request(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; rawHeaders?: string[] },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; json: () => any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { host: `127.0.0.1:${port}`, ...(options.headers ?? {}) };
    const req = http.request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Authorised JSON request. */
export function api(daemon: { port: number; token: string }, method: string, urlPath: string, body?: unknown) {
  return request(daemon.port, {
    method,
    path: urlPath,
    headers: { authorization: `Bearer ${daemon.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A WebSocket client that records every message and can wait for one. */
export class StreamClient {
  readonly messages: ServerMessage[] = [];
  private waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as ServerMessage;
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => (w.pred(msg) ? (w.resolve(msg), false) : true));
    });
  }

  static open(port: number, token: string, headers: Record<string, string> = {}): Promise<StreamClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream`, [WS_SUBPROTOCOL, WS_TOKEN_PREFIX + token], { headers });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new StreamClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Resolves with the first message (already received or coming) that matches. */
  waitFor<T extends ServerMessage['type']>(type: T, pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, timeoutMs = 60_000): Promise<Extract<ServerMessage, { type: T }>> {
    const match = (m: ServerMessage) => m.type === type && pred(m as Extract<ServerMessage, { type: T }>);
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen as Extract<ServerMessage, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} message within ${timeoutMs} ms; got ${this.messages.map((m) => m.type).join(',')}`)), timeoutMs);
      this.waiters.push({ pred: match, resolve: (m) => (clearTimeout(timer), resolve(m as Extract<ServerMessage, { type: T }>)) });
    });
  }

  async hello(): Promise<void> {
    this.send({ type: 'hello', requestId: 'hello', protocol: '1.0', client: 'test' });
    await this.waitFor('welcome');
  }

  close(): void {
    this.ws.close();
  }
}

/** Resolves with the HTTP status with which a WebSocket upgrade was refused, or 101 if it opened. */
export function upgradeStatus(port: number, protocols: string[], headers: Record<string, string> = {}, urlPath = '/v1/stream'): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${urlPath}`, protocols, { headers });
  return new Promise((resolve) => {
    ws.once('open', () => (ws.close(), resolve(101)));
    ws.once('unexpected-response', (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
    ws.once('error', () => resolve(0));
  });
}

/** Polls a job over HTTP until `pred` holds (default: it has ended). */
export async function waitForJob(daemon: { port: number; token: string }, id: string, pred: (job: any) => boolean = (j) => ['done', 'failed', 'cancelled', 'interrupted'].includes(j.state), timeoutMs = 90_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = (await api(daemon, 'GET', `/v1/jobs/${id}`)).json();
    if (pred(job)) return job;
    if (Date.now() > until) throw new Error(`job ${id} stayed ${job.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
