/**
 * midonet-api's HTTP server: fastify 5 with its OpenAPI plugin (@fastify/swagger). Fastify gives the
 * routing, JSON body parsing with a size bound, TLS, hooks for authentication, in-process requests for
 * tests and an OpenAPI document built from the very routes it serves; writing that plumbing by hand
 * would be more code to get wrong and no gain. One hook per request authenticates and counts the
 * request against the rate limit of its token (rate-limit.ts): a hook costs about as much as the
 * little work it does, so there is one.
 *
 * Validation is not fastify's: routes carry JSON Schemas (generated from the model's zod schemas) for
 * the OpenAPI document only, and every value is checked by the transaction planner, the one place the
 * CLI's writes are checked too, so the API and the CLI refuse the same things with the same words.
 *
 * Writes call the store's `transact` as they come, concurrently: the store commits the transactions
 * that arrive together as one group (sqlite-store.ts, cassandra-group.ts), each still planned,
 * answered and versioned on its own.
 *
 * Invariants: every route but /health and /openapi.json needs a valid bearer token; a reader token may
 * only read (any other method gets 403 before the handler runs); a token (an address, on the open
 * routes) gets at most rateLimit.max requests per window, the rest 429 with Retry-After; every
 * response to an error is the JSON of errors.ts; a write either commits through the planner or
 * changes nothing.
 */
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../log.js';
import type { ApiToken } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';
import type { ApiConfig } from './config.js';
import { ApiError, wireError } from './errors.js';
import { quote } from '../quote.js';
import { utf8Problem } from '../utf8.js';
import { keyField, keyList } from '../state/model-parse.js';
import { TokenIndex } from './tokens.js';
import { RateLimit } from './rate-limit.js';
import { waitForAgents } from './wait.js';
import type { RouteCtx } from './route-ctx.js';
import { objectRoutes } from './routes-objects.js';
import { relationRoutes } from './routes-relations.js';
import { feedRoutes } from './routes-feed.js';
import { adminRoutes } from './routes-admin.js';

export const API_VERSION = '0.1.0';

const OPEN_ROUTES = new Set(['/health', '/openapi.json']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token of the request (null on the open routes). */
    token: ApiToken | null;
  }
}

/**
 * What a request that never reached a route gets (headers too large, a malformed request line, a
 * timeout): the API's own error shape, as every other refusal, then the connection closes.
 */
function clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers-too-large', 'the request headers are larger than this server takes (16 KB)']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'timeout', 'the request did not arrive in time']
        : [400, 'bad-request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { status, code, message } });
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy(err);
}

/**
 * The longest part of a path (a name or an id, decoded) a route takes: above a name's 255 characters,
 * so any object can be named in a path; fastify's own bound (100) refused names that are allowed.
 */
const MAX_PATH_PART = 1024;

/**
 * What a request gets when fastify refuses its path before routing (a %-escape that is not UTF-8 or
 * not complete, a part too long): the API's own error shape, the path quoted and cut, not fastify's
 * shape with the whole path echoed.
 */
function frameworkError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const path = quote(req.url.split('?')[0]!);
  const w =
    err.code === 'FST_ERR_BAD_URL'
      ? {
          status: 400,
          code: 'bad-request',
          message: `the path ${path} has a %-escape that is not complete or not UTF-8`,
        }
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? {
            status: 414,
            code: 'too-long',
            message: `a part of the path ${path} is longer than ${MAX_PATH_PART} characters (a name is at most 255)`,
          }
        : wireError(err);
  void reply.code(w.status).send({ error: w });
}

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly tokens: TokenIndex;
  close(): Promise<void>;
}

export async function buildApi(opts: {
  store: TopologyStore;
  config: ApiConfig;
  log: Logger;
  now?: () => number;
}): Promise<ApiServer> {
  const { store, config, log } = opts;
  const https =
    config.tlsCert !== null && config.tlsKey !== null
      ? { https: { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } }
      : {};
  const app = Fastify({
    // No logger of fastify's own: a child logger per request costs more than the request itself;
    // the error handler logs what fails, with this module's logger.
    logger: false,
    bodyLimit: config.bodyLimitBytes,
    clientErrorHandler: clientError,
    routerOptions: { maxParamLength: MAX_PATH_PART },
    frameworkErrors: frameworkError,
    ...https,
  }) as unknown as FastifyInstance;
  const tokens = new TokenIndex(store);
  await tokens.start((e) => log.error({ err: e.message }, 'token feed stopped; restart the API'));

  app.decorateRequest('token', null);
  // The planner validates values (see the header): schemas on routes document, they do not check.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON bodies are parsed by fastify's own (safe) parser; when it refuses one, the refusal says why
  // (fastify's says "not valid JSON" for JSON it refuses because of a '__proto__' key). An empty body
  // is no body: a DELETE sent with Content-Type: application/json and nothing else is fine. The body
  // is taken as bytes and must be UTF-8 (JSON's encoding): decoded as a string, a byte that is not
  // would become U+FFFD, and a name would be stored other than it was sent.
  const safeJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length === 0) return done(null, undefined);
    const notUtf8 = utf8Problem(bytes);
    if (notUtf8 !== undefined)
      return done(
        new ApiError(400, 'bad-request', `the body is not valid UTF-8 (${notUtf8}): JSON bodies are UTF-8`),
      );
    const text = bytes.toString('utf8');
    void safeJson(req, text, (err, parsed) => {
      if (!err) return done(null, parsed);
      try {
        JSON.parse(text);
      } catch (e) {
        return done(new ApiError(400, 'bad-request', `the body is not valid JSON: ${(e as Error).message}`));
      }
      done(
        new ApiError(
          400,
          'invalid',
          "the body has a key '__proto__' or a 'constructor' with 'prototype', which no object takes",
        ),
      );
    });
  });

  app.setErrorHandler((err, req, reply) => {
    const w =
      (err as { code?: unknown }).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? {
            status: 413,
            code: 'too-large',
            message: `the request body is larger than ${config.bodyLimitBytes} bytes, the most this server takes (bodyLimitBytes)`,
          }
        : wireError(err, req.headers['if-match'] !== undefined);
    if (w.status >= 500) log.error({ err: (err as Error).message, url: req.url }, 'request failed');
    if (w.status === 401) void reply.header('www-authenticate', 'Bearer realm="midonet-api"');
    void reply.code(w.status).send({ error: w });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    void reply.code(404).send({
      error: {
        status: 404,
        code: 'no-route',
        message: `no route ${req.method} ${quote(path)}; see /openapi.json`,
      },
    });
  });

  const now = opts.now ?? Date.now;
  const limit = new RateLimit(config.rateLimit.max, config.rateLimit.windowMs, now);
  const count = (key: string, reply: FastifyReply) => {
    const retryAfter = limit.take(key);
    if (retryAfter === undefined) return;
    void reply.header('retry-after', String(retryAfter));
    throw new ApiError(
      429,
      'rate-limited',
      `rate limit of ${limit.max} requests per ${limit.windowMs / 1000} s reached; retry in ${retryAfter} s`,
    );
  };

  app.addHook('onRequest', async (req, reply) => {
    const q = req.url.indexOf('?');
    if (OPEN_ROUTES.has(q < 0 ? req.url : req.url.slice(0, q))) return count(req.ip, reply);
    const h = req.headers.authorization;
    if (h === undefined)
      throw new ApiError(401, 'unauthenticated', 'a bearer token is required: Authorization: Bearer TOKEN');
    const m = /^Bearer (\S+)$/.exec(h);
    const t = m ? await tokens.verify(m[1]!) : undefined;
    if (!t)
      throw new ApiError(
        401,
        'unauthenticated',
        'the bearer token is not valid (unknown, deleted or malformed)',
      );
    req.token = t;
    if (t.role !== 'admin' && req.method !== 'GET' && req.method !== 'HEAD')
      throw new ApiError(403, 'forbidden', `token '${t.name}' has role ${t.role}: it may only read`);
    count(t.id, reply);
  });
  // A route that takes no query parameters refuses them, as the routes that take some refuse the
  // ones they do not know: a mistyped parameter is never silently ignored.
  app.addHook('preHandler', (req, _reply, done) => {
    const q = req.url.indexOf('?');
    if (q < 0 || !req.url.startsWith('/v1/') || req.routeOptions.schema?.querystring !== undefined)
      return done();
    const keys = [...new URLSearchParams(req.url.slice(q + 1)).keys()];
    if (keys.length === 0) return done();
    done(
      new ApiError(400, 'invalid', `query: unknown parameter(s) ${keyList(keys)}: this route takes none`, [
        { field: keyField(keys), allowed: 'this route takes no query parameters' },
      ]),
    );
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'midonet-api',
        version: API_VERSION,
        description:
          'The topology of midonet-ts over HTTP: every kind and verb of midonet-cli, a resumable change feed, and writes that can wait until the agents applied them. Values are validated by the same transaction planner as the CLI; errors are JSON with the field, the value and what is allowed.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  const ctx: RouteCtx = {
    store,
    config,
    log,
    tokens,
    now,
    ifMatch(req) {
      const h = req.headers['if-match'];
      if (h === undefined || h === '*') return undefined;
      const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(h.trim());
      if (!m)
        throw new ApiError(400, 'invalid', `If-Match: ${quote(h)}: expected the object's version, e.g. "3"`);
      return Number(m[1]);
    },
    async finishWrite(reply, position, wait) {
      void reply.header('midonet-position', String(position));
      if (wait === undefined || wait === 0) return undefined;
      const timeoutMs = Math.min(wait * 1000, config.maxWaitMs);
      const report = await waitForAgents(store, position, timeoutMs);
      void reply.header('midonet-applied', report.outcome);
      if (report.pending.length > 0)
        void reply.header('midonet-pending-hosts', report.pending.map((p) => p.hostId).join(','));
      if (report.note) void reply.header('midonet-note', report.note);
      return report;
    },
  };

  app.get('/openapi.json', { schema: { hide: true } }, () => Promise.resolve(app.swagger()));
  app.get(
    '/health',
    { schema: { summary: 'liveness of the API and its store', security: [], tags: ['meta'] } },
    async (_req, reply) => {
      try {
        return { ok: true, position: await store.position(), version: API_VERSION };
      } catch (e) {
        return reply.code(503).send({ ok: false, error: (e as Error).message });
      }
    },
  );
  objectRoutes(app, ctx);
  relationRoutes(app, ctx);
  feedRoutes(app, ctx);
  adminRoutes(app, ctx);
  await app.ready();

  return {
    app,
    tokens,
    async close() {
      tokens.stop();
      await app.close();
    },
  };
}
