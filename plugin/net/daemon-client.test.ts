/** The DaemonClient against a real daemon (tiny model, real WebSocket, real clips). */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startTestDaemon, tempDir } from '../../test/support/daemon-harness';
import { createDaemonClient, type ConnectionState, type DaemonClient, type DaemonEvent } from './daemon-client';

type Daemon = Awaited<ReturnType<typeof startTestDaemon>>;

function clientFor(port: number): DaemonClient {
  return createDaemonClient({
    baseUrl: `http://127.0.0.1:${port}`,
    createSocket: (url, protocols) => new WebSocket(url, protocols),
    fetch: (url, init) => fetch(url, init),
    clientName: 'jest',
    backoff: { initialMs: 50, maxMs: 200 },
  });
}

function until(client: DaemonClient, pred: (s: ConnectionState) => boolean, timeoutMs = 20_000): Promise<ConnectionState> {
  if (pred(client.connection)) return Promise.resolve(client.connection);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connection stayed ${client.connection.status}: ${client.connection.message}`)), timeoutMs);
    const off = client.onConnection((s) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

describe('DaemonClient', () => {
  let daemon: Daemon;
  let client: DaemonClient;
  beforeAll(async () => {
    daemon = await startTestDaemon();
  });
  afterEach(() => client?.close());
  afterAll(async () => {
    await daemon.close();
    fs.rmSync(daemon.dataDir, { recursive: true, force: true });
  });

  it('stays unpaired without a token, pairs with the one-time code, then connects', async () => {
    client = clientFor(daemon.port);
    client.connect(null);
    expect(client.connection.status).toBe('unpaired');
    await expect(client.pair('WRNG-CODE')).rejects.toMatchObject({ code: 'unauthorized' });
    const reply = await client.pair(daemon.pairing.createCode().code);
    expect(reply.token).toBe(daemon.token);
    client.connect(reply.token);
    const state = await until(client, (s) => s.status === 'connected');
    expect(state.info).toMatchObject({ name: 'longshot', protocol: '1.2', machine: reply.machine });
    // The model list (GET /v1/models with the token) says what each package knows and serves.
    const models = await client.models();
    expect(models.find((m) => m.name === 'tiny-uvit')).toMatchObject({ default: true, domain: 'shapesworld', jobs: ['broll', 'extend', 'fill'] });
    client.close();
    await expect(client.models()).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('submits a job and receives progress with previews, the verified clip, then done', async () => {
    client = clientFor(daemon.port);
    client.connect(daemon.token);
    await until(client, (s) => s.status === 'connected');
    const events: DaemonEvent[] = [];
    const done = new Promise<void>((resolve) => client.onEvent((e) => (events.push(e), ['done', 'failed', 'cancelled'].includes(e.type) && resolve())));
    const job = await client.submit({ mode: 'broll', prompt: 'a red circle', seconds: 1, fps: 8, steps: 2, seed: 7 });
    expect(job.state).toBe('queued');
    await done;
    const types = events.map((e) => e.type);
    expect(events.at(-1)).toMatchObject({ type: 'done' });
    expect(types[0]).toBe('started');
    expect(types.filter((t) => t === 'progress').length).toBeGreaterThanOrEqual(2);
    expect(types.slice(-2)).toEqual(['clip-file', 'done']);
    const progress = events.find((e) => e.type === 'progress' && e.preview) as Extract<DaemonEvent, { type: 'progress' }>;
    expect(Buffer.from(progress.preview!, 'base64').subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const clip = events.find((e) => e.type === 'clip-file') as Extract<DaemonEvent, { type: 'clip-file' }>;
    const finished = (events.at(-1) as Extract<DaemonEvent, { type: 'done' }>).job;
    expect(clip.file.sha256).toBe(finished.sha256);
    expect(createHash('sha256').update(fs.readFileSync(finished.output!)).digest('hex')).toBe(clip.file.sha256);
    expect((await client.list()).map((j) => j.id)).toContain(job.id);
  });

  it('reports daemon errors on the request that caused them', async () => {
    client = clientFor(daemon.port);
    client.connect(daemon.token);
    await until(client, (s) => s.status === 'connected');
    await expect(client.submit({ mode: 'extend', seconds: 1, fps: 8 })).rejects.toThrow(/mode "extend" needs one reference/);
    await expect(client.retry('no-such-job')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('tells a wrong token from a daemon that is not running', async () => {
    client = clientFor(daemon.port);
    client.connect('not-the-token');
    expect((await until(client, (s) => s.status === 'unauthorized')).message).toMatch(/refused this panel's token: run `npx longshot pair`/);
    client.close();
    client = clientFor(1);
    client.connect('any');
    expect((await until(client, (s) => s.status === 'offline')).message).toMatch(/not running on 127.0.0.1:1: start it with `npx longshot serve`/);
    await expect(client.list()).rejects.toThrow(/not connected to the Longshot daemon/);
  });

  it('reconnects by itself when the daemon restarts on its port', async () => {
    const dataDir = tempDir();
    let own = await startTestDaemon({ dataDir });
    const port = own.port;
    client = clientFor(port);
    client.connect(own.token);
    await until(client, (s) => s.status === 'connected');
    await own.close();
    await until(client, (s) => s.status === 'offline');
    own = await startTestDaemon({ dataDir, port });
    await until(client, (s) => s.status === 'connected');
    client.close();
    await own.close();
    fs.rmSync(path.resolve(dataDir), { recursive: true, force: true });
  });
});
