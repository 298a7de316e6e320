/**
 * The store's own verbs over HTTP, for programs that follow the topology and for the CLI's HTTP store:
 *   GET  /v1/feed?from=P           every change after P, then each one as it commits: server-sent
 *                                  events (Accept: text/event-stream; `id` is the position, so an
 *                                  EventSource resumes by itself with Last-Event-ID) or JSON lines
 *   GET  /v1/changes?from=P&limit=N   one page of changes after P: {changes, position}
 *   GET  /v1/snapshot              every object and the position it reflects
 *   GET  /v1/position | /v1/liveness | /v1/referrers/ID
 *   POST /v1/transactions {ops}    several writes as one transaction (the planner's ops)
 *
 * Invariant: a feed delivers each change once, in commit order, from the position asked (the store's
 * watch guarantees it); a position the log no longer holds is 410 before the stream starts or an
 * `error` event on it, never a silent gap. API tokens never leave the API with their digest.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { StoreError } from '../state/errors.js';
import type { Change, Op } from '../state/store.js';
import { ApiError, parseWith, queryParser, wireError } from './errors.js';
import { API_KINDS, jsonSchema } from './kinds.js';
import { errorSchema, waitQuery, type RouteCtx } from './route-ctx.js';

const position = z
  .string()
  .regex(/^\d{1,15}$/, { message: 'expected a feed position (a whole number from 0)' })
  .transform(Number);
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
  message: 'expected a UUID',
});
const kind = z.enum(API_KINDS as [string, ...string[]]);
const fields = z.record(z.unknown());
const version = z.number().int().min(1);
export const opSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('create'),
      kind,
      id: uuid.optional(),
      fields,
      position: z.number().int().min(1).optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal('update'),
      kind,
      id: uuid,
      set: fields,
      expectedVersion: version.optional(),
      position: z.number().int().min(1).optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal('delete'),
      kind,
      id: uuid,
      expectedVersion: version.optional(),
      cascade: z.boolean().optional(),
    })
    .strict(),
]);
const txBody = z.object({ ops: z.array(opSchema).min(1).max(10000) }).strict();
const txQuery = queryParser(z.object({ wait: waitQuery }).strict());

/** A change as it may leave the API (a token's digest removed). */
export function redact(c: Change): Change {
  if (c.kind !== 'api-token') return c;
  const { secretHash: _h, ...object } = c.object as unknown as Record<string, unknown>;
  return { ...c, object: object as unknown as Change['object'] };
}

export function feedRoutes(app: FastifyInstance, ctx: RouteCtx): void {
  const { store } = ctx;
  const tags = ['feed'];

  app.get(
    '/v1/feed',
    {
      schema: {
        tags,
        summary:
          'follow the change feed (SSE with Accept: text/event-stream, else JSON lines); resumable from a position',
        querystring: {
          type: 'object',
          properties: { from: { type: 'string', description: 'the last position seen (default: now)' } },
        },
      },
    },
    async (req, reply) => {
      const q = parseWith(z.object({ from: position.optional() }).strict(), req.query ?? {}, 'query');
      const last = req.headers['last-event-id'];
      const from =
        q.from ??
        (typeof last === 'string' && /^\d{1,15}$/.test(last) ? Number(last) : await store.position());
      const sse = (req.headers.accept ?? '').includes('text/event-stream');
      const token = req.token;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': sse ? 'text/event-stream' : 'application/x-ndjson',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
        'midonet-from': String(from),
      });
      raw.flushHeaders();
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        clearInterval(keepAlive);
        watch.close();
        raw.end();
      };
      const send = (c: Change) => {
        const data = JSON.stringify(redact(c));
        raw.write(sse ? `id: ${c.seq}\nevent: change\ndata: ${data}\n\n` : `${data}\n`);
      };
      const keepAlive = setInterval(() => raw.write(sse ? ': keep-alive\n\n' : '\n'), 15000);
      const watch = store.watch(from, {
        onChanges: (cs) => {
          if (done) return;
          for (const c of cs) {
            send(c);
            // The token of this stream was deleted: it may read no more.
            if (c.kind === 'api-token' && c.op === 'delete' && c.id === token?.id) return end();
          }
        },
        onError: (e) => {
          const w = wireError(e);
          raw.write(
            sse
              ? `event: error\ndata: ${JSON.stringify({ error: w })}\n\n`
              : `${JSON.stringify({ error: w })}\n`,
          );
          end();
        },
      });
      req.raw.on('close', end);
    },
  );

  app.get(
    '/v1/changes',
    {
      schema: {
        tags,
        summary: 'one page of changes after a position',
        querystring: { type: 'object', properties: { from: { type: 'string' }, limit: { type: 'string' } } },
        response: { 200: { type: 'object' }, '4XX': errorSchema },
      },
    },
    async (req) => {
      const q = parseWith(
        z
          .object({
            from: position,
            limit: position
              .refine((n) => n >= 1 && n <= 10000, { message: 'expected 1 to 10000' })
              .optional(),
          })
          .strict(),
        req.query ?? {},
        'query',
      );
      const changes = (await store.changesSince(q.from, q.limit ?? 1000)).map(redact);
      return { changes, position: await store.position() };
    },
  );

  app.get(
    '/v1/snapshot',
    { schema: { tags, summary: 'every object (API tokens excepted) and the feed position they reflect' } },
    async () => {
      const snap = await store.snapshot();
      return { position: snap.position, objects: snap.objects.filter((o) => o.kind !== 'api-token') };
    },
  );
  app.get(
    '/v1/position',
    { schema: { tags, summary: 'the position of the last committed change' } },
    async () => ({
      position: await store.position(),
    }),
  );
  app.get(
    '/v1/liveness',
    { schema: { tags: ['host'], summary: 'liveness of every host and what its agent reports' } },
    async () => store.liveness(),
  );
  app.get(
    '/v1/referrers/:id',
    {
      schema: {
        tags: ['meta'],
        summary: 'objects holding a reference to an id',
        params: { type: 'object', properties: { id: { type: 'string' } } },
      },
    },
    async (req) => {
      const id = parseWith(uuid, (req.params as { id: string }).id, 'id');
      return store.referrers(id);
    },
  );

  app.post(
    '/v1/transactions',
    {
      schema: {
        tags: ['meta'],
        summary: 'several writes as one transaction: all or nothing, through the same planner',
        querystring: { type: 'object', properties: { wait: { type: 'string' } } },
        body: jsonSchema(txBody),
        response: { 200: { type: 'object' }, '4XX': errorSchema },
      },
    },
    async (req, reply) => {
      const q = txQuery(req);
      const body = parseWith(txBody, req.body ?? {}, 'body');
      let r;
      try {
        r = await ctx.store.transact(body.ops as Op[]);
      } catch (e) {
        // A stale expectedVersion is a failed precondition, as If-Match's is.
        if (
          e instanceof StoreError &&
          e.code === 'conflict' &&
          body.ops.some((o) => 'expectedVersion' in o && o.expectedVersion !== undefined)
        )
          throw new ApiError(412, 'conflict', e.message);
        throw e;
      }
      const applied = await ctx.finishWrite(reply, r.position, q.wait);
      return {
        position: r.position,
        results: r.results,
        changes: r.changes.map(redact),
        ...(applied ? { applied } : {}),
      };
    },
  );
}
