import net from 'node:net';
import { WS_SUBPROTOCOL, WS_TOKEN_PREFIX } from '../../shared/protocol';
import { api, request, startTestDaemon, StreamClient, upgradeStatus, waitForJob } from '../../test/support/daemon-harness';
import { createHttpApp, routeTable, type DaemonServices } from './http-app';
import { WS_MAX_PAYLOAD } from './stream';

describe('daemon edge security (real server on an ephemeral loopback port)', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  beforeAll(async () => {
    daemon = await startTestDaemon({ queueCap: 2 }, { preload: false });
  });
  afterAll(async () => {
    await daemon.close();
  });

  const wsProtocols = (token: string) => [WS_SUBPROTOCOL, WS_TOKEN_PREFIX + token];

  test('listens on 127.0.0.1 only', () => {
    expect(daemon.url).toBe(`http://127.0.0.1:${daemon.port}`);
  });

  test('/health needs no token and holds no secret', async () => {
    const res = await request(daemon.port, { path: '/health' });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, name: 'longshot', protocol: '1.2' });
    expect(res.body).not.toContain(daemon.token);
  });

  test.each([
    ['missing', undefined],
    ['wrong', 'x'.repeat(43)],
    ['short', 'abc'],
    ['non-ASCII', 'tökén-ünïcödé-ẞ'.padEnd(43, 'é')],
  ])('HTTP token %s → 401 naming the fix', async (_name, token) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${Buffer.from(token, 'utf8').toString('latin1')}`;
    const res = await request(daemon.port, { path: '/v1/jobs', headers });
    expect(res.status).toBe(401);
    expect(res.json().error.code).toBe('unauthorized');
    expect(res.json().error.message).toMatch(/longshot pair/);
  });

  test.each([
    ['missing', [WS_SUBPROTOCOL]],
    ['wrong', [WS_SUBPROTOCOL, WS_TOKEN_PREFIX + 'y'.repeat(43)]],
    ['short', [WS_SUBPROTOCOL, WS_TOKEN_PREFIX + 'a']],
    ['without longshot.v1', [WS_TOKEN_PREFIX + 'TOKEN']],
  ])('WebSocket token %s → upgrade refused with 401', async (_name, protocols) => {
    const status = await upgradeStatus(daemon.port, protocols.map((p) => p.replace('TOKEN', daemon.token)));
    expect(status).toBe(401);
  });

  test('WebSocket token non-ASCII → refused (the handshake never opens)', async () => {
    const raw = await rawUpgrade(daemon.port, { 'Sec-WebSocket-Protocol': `${WS_SUBPROTOCOL}, token.ünïcödé`, Host: `127.0.0.1:${daemon.port}` });
    expect(raw).toMatch(/^HTTP\/1\.1 (400|401)/);
  });

  test('the right token opens the stream and the daemon answers longshot.v1', async () => {
    const client = await StreamClient.open(daemon.port, daemon.token);
    expect(client.ws.protocol).toBe(WS_SUBPROTOCOL);
    await client.hello();
    client.close();
  });

  test.each(['evil.test', '127.0.0.1.evil.test', 'evil.test:80', 'localhost.evil.test'])('Host %s is refused on HTTP (403)', async (host) => {
    const res = await request(daemon.port, { path: '/health', headers: { host, authorization: `Bearer ${daemon.token}` } });
    expect(res.status).toBe(403);
    expect(res.json().error.message).toMatch(/127\.0\.0\.1 or localhost/);
  });

  test.each(['evil.test', '127.0.0.1.evil.test'])('Host %s is refused on the upgrade (403)', async (host) => {
    expect(await upgradeStatus(daemon.port, wsProtocols(daemon.token), { host })).toBe(403);
  });

  test('localhost and [::1] Host names are accepted', async () => {
    for (const host of [`localhost:${daemon.port}`, `[::1]:${daemon.port}`, '127.0.0.1']) {
      expect((await request(daemon.port, { path: '/health', headers: { host } })).status).toBe(200);
    }
  });

  test('a web page Origin is refused on the upgrade; UXP (no Origin) is not', async () => {
    expect(await upgradeStatus(daemon.port, wsProtocols(daemon.token), { origin: 'https://evil.test' })).toBe(403);
    expect(await upgradeStatus(daemon.port, wsProtocols(daemon.token), { origin: `http://127.0.0.1:${daemon.port + 1}` })).toBe(403);
    expect(await upgradeStatus(daemon.port, wsProtocols(daemon.token))).toBe(101);
  });

  test('an unknown WebSocket path is refused', async () => {
    expect(await upgradeStatus(daemon.port, wsProtocols(daemon.token), {}, '/other')).toBe(404);
  });

  test('a frame over maxPayload closes that socket with 1009 and the daemon stays up', async () => {
    const client = await StreamClient.open(daemon.port, daemon.token);
    const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
    client.ws.send('x'.repeat(WS_MAX_PAYLOAD + 1));
    expect(await closed).toBe(1009);
    expect((await request(daemon.port, { path: '/health' })).status).toBe(200);
  });

  test('malformed JSON: 400 on HTTP, an error message on the stream, and the connection stays usable', async () => {
    const res = await request(daemon.port, { method: 'POST', path: '/v1/jobs', headers: { authorization: `Bearer ${daemon.token}`, 'content-type': 'application/json' }, body: '{"prompt": ' });
    expect(res.status).toBe(400);
    expect(res.json().error.message).toMatch(/not valid JSON/);

    const client = await StreamClient.open(daemon.port, daemon.token);
    client.ws.send('{nope');
    const err = await client.waitFor('error');
    expect(err.error.message).toMatch(/not valid JSON/);
    await client.hello();
    client.close();
  });

  test('2,000 headers get 431 and the daemon keeps serving', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `X-Filler-${i}: ${i}`).join('\r\n');
    const reply = await rawHttp(daemon.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 431/);
    expect((await request(daemon.port, { path: '/health' })).status).toBe(200);
  });

  test('unknown fields, wrong types, NaN, negative durations and huge prompts are refused naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [{ prompt: 'a red circle', seconds: 2, fps: 24, colour: 'red' }, /unknown field.*"colour"/],
      [{ prompt: 'a red circle', seconds: '2', fps: 24 }, /request\.seconds/],
      [{ prompt: 'a red circle', seconds: 2, fps: 'NaN' }, /request\.fps/],
      [{ prompt: 'a red circle', seconds: -1, fps: 24 }, /request\.seconds: seconds must be greater than 0/],
      [{ prompt: 'x'.repeat(10_000_000), seconds: 2, fps: 24 }, /larger than|request\.prompt/],
      [{ prompt: 'a red circle', seconds: 2, fps: 24, mode: 'extend' }, /request\.references: mode "extend" needs one reference/],
      [{ prompt: 'a red circle', seconds: 120, fps: 24 }, /request\.seconds: seconds must be at most 60/],
    ];
    for (const [body, pattern] of cases) {
      const res = await api(daemon, 'POST', '/v1/jobs', body);
      expect([400, 413]).toContain(res.status);
      expect(res.json().error.message).toMatch(pattern);
    }
  });

  test('an unknown model fails its job with model_not_found and the daemon keeps serving', async () => {
    const res = await api(daemon, 'POST', '/v1/jobs', { prompt: 'a red circle stays still', seconds: 0.1, fps: 24, model: 'no-such-model' });
    expect(res.status).toBe(201);
    const job = await waitForJob(daemon, res.json().id);
    expect(job.state).toBe('failed');
    expect(job.error.code).toBe('model_not_found');
    expect(job.error.message).toMatch(/no-such-model.*available: (.*, )?tiny-uvit/);
  });

  test('every route but /health and /v1/pair runs the token guard first', () => {
    const services = { queue: daemon.queue, submit: async () => ({}) as never, pairing: daemon.pairing, info: () => ({}) as never, models: async () => [], poster: () => null, logger: undefined as never, allowedOrigins: [] } as DaemonServices;
    const app = createHttpApp(services) as unknown as { router: { stack: { route?: { path: string; stack: { name: string }[] } }[] } };
    const routes = app.router.stack.filter((layer) => layer.route).map((layer) => layer.route!);
    expect(routes.length).toBe(routeTable(services).length);
    const unguarded = routes.filter((r) => r.stack[0]?.name !== 'requireToken').map((r) => r.path);
    expect(unguarded.sort()).toEqual(['/health', '/v1/pair']);
  });
});

function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', (err) => (data ? resolve(data) : reject(err)));
    setTimeout(() => (socket.destroy(), resolve(data)), 5000);
  });
}

function rawUpgrade(port: number, headers: Record<string, string>): Promise<string> {
  const lines = Object.entries({ Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers })
    .map(([k, v]) => `${k}: ${Buffer.from(v, 'utf8').toString('latin1')}`)
    .join('\r\n');
  return rawHttp(port, `GET /v1/stream HTTP/1.1\r\n${lines}\r\n\r\n`);
}
