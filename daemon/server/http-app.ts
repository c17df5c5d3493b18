import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { LongshotError, toErrorBody } from '../../shared/errors';
import { ClientMessageSchema, PairRequestSchema, parseGenerateRequest, validationError, type DaemonInfo, type Job, type ModelSummary, type PairReply } from '../../shared/protocol';
import { SHUTDOWN_RETRY_SECONDS, type JobQueue } from '../jobs/job-queue';
import { httpStatus } from './error-status';
import { openApiDocument } from './openapi';
import { assertAuthorized, assertLoopbackHost } from './guards';
import type { Pairing } from './pairing';

/** Largest JSON body accepted: room for a few reference frames sent as images. */
export const JSON_BODY_LIMIT = '16mb';
/** Seconds a client told `queue_full` should wait before trying again. */
export const RETRY_AFTER_SECONDS = 10;

/** What the HTTP and WebSocket edges need from the daemon. */
export interface DaemonServices {
  queue: JobQueue;
  pairing: Pairing;
  info: () => DaemonInfo;
  models: () => Promise<ModelSummary[]>;
  /** The poster JPEG of a job, or null when it has none. */
  poster: (job: Job) => string | null;
  logger: Logger;
  /** Browser origins allowed to open the stream besides UXP's own (tests serve the panel from a page). */
  allowedOrigins: readonly string[];
}

type Method = 'get' | 'post' | 'delete';
/** One row of the route table: `public` routes skip the token check, and only those two may. */
interface Route {
  method: Method;
  path: string;
  public?: true;
  handler: (req: Request, res: Response) => unknown;
}

/** The guard every non-public route runs first; exported so a test can prove each route has it. */
export function requireToken(pairing: Pairing): RequestHandler {
  return function requireToken(req, _res, next) {
    assertAuthorized(req.headers, pairing);
    next();
  };
}

/** All routes of the daemon in one table. */
export function routeTable(s: DaemonServices): Route[] {
  const jobId = (req: Request) => String(req.params.id);
  const routes: Route[] = [
    { method: 'get', path: '/health', public: true, handler: (_req, res) => res.json({ ok: true, ...s.info() }) },
    {
      method: 'post',
      path: '/v1/pair',
      public: true,
      handler: async (req, res) => {
        const parsed = PairRequestSchema.safeParse(req.body);
        if (!parsed.success) throw validationError(parsed.error, '');
        const token = await s.pairing.redeemFrom(parsed.data.code, req.socket.remoteAddress ?? 'unknown');
        const info = s.info();
        s.logger.info({ client: parsed.data.client ?? null }, 'client paired');
        const reply: PairReply = { token, machine: info.machine, hostname: info.hostname };
        res.json(reply);
      },
    },
    { method: 'get', path: '/v1/models', handler: async (_req, res) => res.json(await s.models()) },
    {
      method: 'get',
      path: '/v1/jobs',
      handler: (req, res) => {
        // One page, newest first; the next page's `before` comes in X-Longshot-Next (absent after the last page).
        const page = s.queue.list(listPage(req.query));
        if (page.next) res.setHeader('X-Longshot-Next', page.next);
        res.json(page.jobs);
      },
    },
    { method: 'post', path: '/v1/jobs', handler: (req, res) => res.status(201).json(s.queue.submit(parseGenerateRequest(req.body))) },
    { method: 'get', path: '/v1/jobs/:id', handler: (req, res) => res.json(s.queue.get(jobId(req))) },
    // Cancels a queued or running job; deletes an ended one with its clip and reference files.
    { method: 'delete', path: '/v1/jobs/:id', handler: (req, res) => res.json(s.queue.remove(jobId(req))) },
    { method: 'post', path: '/v1/jobs/:id/retry', handler: (req, res) => res.json(s.queue.retry(jobId(req))) },
    {
      method: 'get',
      path: '/v1/jobs/:id/clip',
      handler: (req, res) => {
        const job = s.queue.get(jobId(req));
        if (job.state !== 'done' || !job.output) {
          throw new LongshotError('conflict', `job ${job.id} is ${job.state}: its clip exists once it is done`, { field: 'id' });
        }
        if (job.request.format === 'png') {
          throw new LongshotError('conflict', `job ${job.id} wrote a PNG sequence, a folder: read the frames in ${job.output}`, { field: 'id' });
        }
        // send() answers Range requests (206 with Content-Range) and conditional ones.
        res.setHeader('X-Longshot-Sha256', job.sha256 ?? '');
        return sendFile(res, job.output);
      },
    },
    {
      method: 'get',
      path: '/v1/jobs/:id/poster',
      handler: (req, res) => {
        const job = s.queue.get(jobId(req));
        const poster = s.poster(job);
        if (!poster) {
          const why = job.state === 'done' ? 'its poster could not be written (see the daemon log)' : `it is ${job.state}, and posters are made when the clip is written`;
          throw new LongshotError('not_found', `job ${job.id} has no poster: ${why}`, { field: 'id' });
        }
        res.type('image/jpeg');
        return sendFile(res, poster);
      },
    },
    { method: 'get', path: '/v1/openapi.json', handler: (_req, res) => res.json(openApiDocument(routes, s.info().version)) },
  ];
  return routes;
}

/** Sends a file of the data folder (its dot-named parents included); a failure before the headers goes to the error mapping. */
function sendFile(res: Response, file: string): Promise<void> {
  return new Promise<void>((resolve, reject) => res.sendFile(file, { dotfiles: 'allow' }, (err) => (err && !res.headersSent ? reject(err) : resolve())));
}

/** Builds the express app: Host check on everything, the token on every route but /health and /v1/pair. */
export function createHttpApp(s: DaemonServices): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, _res, next) => {
    assertLoopbackHost(req.headers.host);
    next();
  });
  app.use(express.json({ limit: JSON_BODY_LIMIT, strict: true }));
  const guard = requireToken(s.pairing);
  for (const route of routeTable(s)) {
    const handler: RequestHandler = (req, res, next) => {
      Promise.resolve()
        .then(() => route.handler(req, res))
        .catch(next);
    };
    if (route.public) app[route.method](route.path, handler);
    else app[route.method](route.path, guard, handler);
  }
  app.use((req, _res, next) => next(new LongshotError('not_found', `no route ${req.method} ${req.path}: see PROTOCOL.md for the API`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const body = toHttpError(err);
    if (body.code === 'internal') s.logger.error({ err, path: req.path }, 'request failed');
    else s.logger.info({ code: body.code, path: req.path, method: req.method }, 'request refused');
    if (body.code === 'queue_full') res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    if (body.code === 'unavailable') res.setHeader('Retry-After', String(SHUTDOWN_RETRY_SECONDS));
    if (!res.headersSent) res.status(httpStatus(body.code)).json({ error: body });
  });
  return app;
}

/** `?limit=&before=` of a job listing, checked like the stream's `list` message. */
function listPage(query: Request['query']): { limit?: number; before?: string } {
  const one = (name: string) => {
    const value = query[name];
    if (value !== undefined && typeof value !== 'string') throw new LongshotError('bad_request', `${name}: give it once`, { field: name });
    return value;
  };
  const parsed = ClientMessageSchema.safeParse({ type: 'list', requestId: 'http', limit: one('limit') === undefined ? undefined : Number(one('limit')), before: one('before') });
  if (!parsed.success) throw validationError(parsed.error, '');
  const page = parsed.data as { limit?: number; before?: string };
  return { limit: page.limit, before: page.before };
}

/** Maps body-parser's errors (bad JSON, too large) to ours; everything else through toErrorBody. */
function toHttpError(err: unknown) {
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return { code: 'bad_request' as const, message: 'body: not valid JSON; send a JSON object with Content-Type: application/json' };
  if (e?.type === 'entity.too.large') return { code: 'payload_too_large' as const, message: `body: larger than ${JSON_BODY_LIMIT}; send reference frames by media path instead of images` };
  if (e?.status === 404 && !(err instanceof LongshotError)) return { code: 'not_found' as const, message: e.message ?? 'not found' };
  return toErrorBody(err);
}
