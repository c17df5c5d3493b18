import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { LongshotError, toErrorBody } from '../../shared/errors';
import { ClientMessageSchema, PairRequestSchema, parseGenerateRequest, validationError, type DaemonInfo, type GenerateRequest, type Job, type ModelSummary, type PairReply } from '../../shared/protocol';
import { SHUTDOWN_RETRY_SECONDS, type JobQueue } from '../jobs/job-queue';
import { httpStatus } from './error-status';
import { openApiDocument } from './openapi';
import { assertAuthorized, assertLoopbackHost } from './guards';
import type { Pairing } from './pairing';

/**
 * What the HTTP edge reads of a request body, and when. The token is checked before any body is read; only an
 * authenticated job submission may send up to `jobBodyBytes` (room for a few reference frames sent as images),
 * pairing a code takes `pairBodyBytes`, other routes read no body. A body must arrive within `bodyTimeoutMs`, and at
 * most `maxJobBodies` job bodies are received at once.
 */
export interface HttpLimits {
  jobBodyBytes: number;
  pairBodyBytes: number;
  bodyTimeoutMs: number;
  maxJobBodies: number;
}
export const HTTP_LIMITS: HttpLimits = { jobBodyBytes: 16 * 1024 * 1024, pairBodyBytes: 1024, bodyTimeoutMs: 30_000, maxJobBodies: 4 };
/** Seconds a client told `queue_full` should wait before trying again. */
export const RETRY_AFTER_SECONDS = 10;

/** What the HTTP and WebSocket edges need from the daemon. */
export interface DaemonServices {
  queue: JobQueue;
  /** Checks a validated request (its media references readable) and queues it; throws what it was refused for. */
  submit: (request: GenerateRequest) => Promise<Job>;
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
/** One row of the route table: `public` routes skip the token check, and only those two may; `body` says which JSON body it reads. */
interface Route {
  method: Method;
  path: string;
  public?: true;
  body?: 'pair' | 'job';
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
      body: 'pair',
      handler: async (req, res) => {
        const parsed = PairRequestSchema.safeParse(req.body);
        if (!parsed.success) throw validationError(parsed.error, '');
        const token = await s.pairing.redeemPaced(parsed.data.code);
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
    { method: 'post', path: '/v1/jobs', body: 'job', handler: async (req, res) => res.status(201).json(await s.submit(parseGenerateRequest(req.body))) },
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

/**
 * A route's JSON body parser, run after the token check: at most `limit` bytes, received within the body timeout (or
 * the request is answered and its connection closed), and for job bodies at most `maxJobBodies` at once.
 */
function jsonBody(kind: 'pair' | 'job', limits: HttpLimits): RequestHandler {
  const limit = kind === 'job' ? limits.jobBodyBytes : limits.pairBodyBytes;
  const tooLarge = () => {
    const size = limit >= 1024 * 1024 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`;
    return new LongshotError('payload_too_large', `body: larger than ${size}; ${kind === 'job' ? 'send reference frames by media path instead of images' : 'send only {"code", "client"}'}`);
  };
  const parse = express.json({ limit, strict: true });
  let receiving = 0;
  return function jsonBody(req, res, next) {
    // Refused before a byte of it is read: a body that says it is too large, or one more than the daemon receives at once.
    if (Number(req.headers['content-length']) > limit) return next(tooLarge());
    if (kind === 'job' && receiving >= limits.maxJobBodies) {
      return next(new LongshotError('queue_full', `the daemon is already receiving ${limits.maxJobBodies} job bodies; send this one again in ${RETRY_AFTER_SECONDS} s`));
    }
    receiving += 1;
    let settled = false;
    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      receiving -= 1;
      clearTimeout(timer);
      next((err as { type?: string } | undefined)?.type === 'entity.too.large' ? tooLarge() : err);
    };
    const timer = setTimeout(() => settle(new LongshotError('bad_request', `body: not received within ${limits.bodyTimeoutMs / 1000} s; send the whole body at once`)), limits.bodyTimeoutMs);
    parse(req, res, settle);
  };
}

/** Builds the express app: Host check on everything, the token on every route but /health and /v1/pair, then the route's body. */
export function createHttpApp(s: DaemonServices, limits: HttpLimits = HTTP_LIMITS): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, _res, next) => {
    assertLoopbackHost(req.headers.host);
    next();
  });
  const guard = requireToken(s.pairing);
  const bodies = { pair: jsonBody('pair', limits), job: jsonBody('job', limits) };
  for (const route of routeTable(s)) {
    const handler: RequestHandler = (req, res, next) => {
      Promise.resolve()
        .then(() => route.handler(req, res))
        .catch(next);
    };
    const chain = [...(route.public ? [] : [guard]), ...(route.body ? [bodies[route.body]] : []), handler];
    app[route.method](route.path, ...chain);
  }
  app.use((req, _res, next) => next(new LongshotError('not_found', `no route ${req.method} ${req.path}: see PROTOCOL.md for the API`)));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const body = toHttpError(err);
    if (body.code === 'internal') s.logger.error({ err, path: req.path }, 'request failed');
    else s.logger.info({ code: body.code, path: req.path, method: req.method }, 'request refused');
    if (body.code === 'queue_full') res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    if (body.code === 'unavailable') res.setHeader('Retry-After', String(SHUTDOWN_RETRY_SECONDS));
    // A body left unread (refused before it was parsed) is not waited for: the connection closes after the answer.
    if (!req.complete) res.setHeader('Connection', 'close');
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

/** Maps body-parser's errors (bad JSON) to ours; everything else through toErrorBody. */
function toHttpError(err: unknown) {
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return { code: 'bad_request' as const, message: 'body: not valid JSON; send a JSON object with Content-Type: application/json' };

  if (e?.status === 404 && !(err instanceof LongshotError)) return { code: 'not_found' as const, message: e.message ?? 'not found' };
  return toErrorBody(err);
}
