import { createHttpApp, type DaemonServices } from '../daemon/server/http-app';
import { silentLogger } from '../daemon/log';
import { api, request, startTestDaemon } from './support/daemon-harness';

/** Every method+path the express app answers, read from its router (not from the route table). */
function routerRoutes(): string[] {
  const services = { pairing: { token: () => 't' }, logger: silentLogger(), allowedOrigins: [] } as unknown as DaemonServices;
  const app = createHttpApp(services) as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } };
  return app.router.stack.flatMap((layer) => (layer.route ? Object.keys(layer.route.methods).map((m) => `${m} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`) : []));
}

describe('GET /v1/openapi.json (real daemon)', () => {
  let daemon: Awaited<ReturnType<typeof startTestDaemon>>;
  beforeAll(async () => {
    daemon = await startTestDaemon();
  });
  afterAll(async () => daemon.close());

  test('needs the token like the rest of the API', async () => {
    expect((await request(daemon.port, { path: '/v1/openapi.json' })).status).toBe(401);
  });

  test('is OpenAPI 3.1 and lists every route of the router, with the request schema from zod', async () => {
    const res = await api(daemon, 'GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
    const routes = routerRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(10);
    expect(documented.sort()).toEqual([...new Set(routes)].sort());
    const body = doc.paths['/v1/jobs'].post.requestBody.content['application/json'].schema;
    expect(body.properties.steps).toMatchObject({ type: 'integer', minimum: 1, maximum: 200 });
    expect(body.required).toEqual(expect.arrayContaining(['seconds', 'fps']));
    expect(body.properties.codec.enum).toEqual(['prores-422', 'prores-422-hq', 'prores-4444', 'dnxhr-hq']);
    expect(doc.paths['/health'].get.security).toEqual([]);
    expect(doc.paths['/v1/jobs/{id}/poster'].get.summary).toMatch(/JPEG of the middle frame/);
  });
});
