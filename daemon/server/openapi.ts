import { z } from 'zod';
import { ErrorBodySchema, GenerateRequestSchema, PairRequestSchema, PROTOCOL_VERSION } from '../../shared/protocol';

/** What the document needs of a route: its method, express path and whether it skips the token. */
export interface RouteShape {
  method: 'get' | 'post' | 'delete';
  path: string;
  public?: true;
}

const SUMMARIES: Record<string, string> = {
  'get /health': 'Daemon name, version, protocol and model (no token)',
  'post /v1/pair': 'Exchange a one-time pairing code for the token (no token)',
  'get /v1/openapi.json': 'This document',
  'get /v1/models': 'Model packages the daemon can run',
  'get /v1/jobs': 'Jobs, newest first',
  'post /v1/jobs': 'Queue a generation; its media references are checked first (400 media_unreadable, one message, when one cannot be read)',
  'get /v1/jobs/{id}': 'One job',
  'delete /v1/jobs/{id}': 'Cancel or remove a job',
  'post /v1/jobs/{id}/retry': 'Queue a failed, cancelled or interrupted job again',
  'get /v1/jobs/{id}/clip': 'The finished clip (Range requests answered)',
  'get /v1/jobs/{id}/poster': 'The poster frame of a done job: a JPEG of the middle frame at the clip\'s size (404 when it has none)',
};

const BODIES: Record<string, z.ZodType> = { 'post /v1/jobs': GenerateRequestSchema, 'post /v1/pair': PairRequestSchema };

/** Reference kinds the daemon writes in its own records and refuses from clients: not part of the published API. */
const INTERNAL_KINDS = new Set(['stored']);

/** A JSON Schema without the alternatives (`oneOf`/`anyOf` members) whose `kind` is internal. */
function withoutInternalKinds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutInternalKinds);
  if (schema === null || typeof schema !== 'object') return schema;
  const isInternal = (member: unknown) => INTERNAL_KINDS.has((member as { properties?: { kind?: { const?: string } } }).properties?.kind?.const ?? '');
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, withoutInternalKinds(key === 'oneOf' || key === 'anyOf' ? (value as unknown[]).filter((m) => !isInternal(m)) : value)]),
  );
}

/** Express `:id` → OpenAPI `{id}`. */
const openApiPath = (expressPath: string) => expressPath.replace(/:(\w+)/g, '{$1}');

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the route table and the zod schemas of shared/ (their JSON
 * Schema, draft 2020-12, is what OpenAPI 3.1 uses), so it cannot drift from what the daemon accepts.
 */
export function openApiDocument(routes: readonly RouteShape[], version: string): Record<string, unknown> {
  const errorSchema = z.toJSONSchema(ErrorBodySchema);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const p = openApiPath(route.path);
    const key = `${route.method} ${p}`;
    const params = [...p.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const body = BODIES[key];
    paths[p] = {
      ...paths[p],
      [route.method]: {
        summary: SUMMARIES[key] ?? key,
        ...(route.public ? { security: [] } : {}),
        ...(params.length ? { parameters: params } : {}),
        ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: withoutInternalKinds(z.toJSONSchema(body, { io: 'input', unrepresentable: 'any' })) } } } } : {}),
        responses: {
          '200': { description: 'OK' },
          default: { description: 'An error: a code from shared/errors.ts and a message naming the field and the fix', content: { 'application/json': { schema: { type: 'object', properties: { error: errorSchema }, required: ['error'] } } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Longshot daemon', version, description: `Protocol ${PROTOCOL_VERSION}. Jobs stream on the WebSocket /v1/stream (see shared/PROTOCOL.md).` },
    servers: [{ url: 'http://127.0.0.1:43117' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The pairing token (`longshot pair --json`)' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
