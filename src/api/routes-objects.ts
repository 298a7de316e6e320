/**
 * The object routes, the same five for every kind (paths in kinds.ts):
 *   GET    /v1/KINDS?field=value&refersTo=ID&limit=N&after=CURSOR   list, filtered, one page
 *   GET    /v1/KINDS/REF                                            show (REF: name or id); ETag: "version"
 *   POST   /v1/KINDS[?position=N][&wait=S]                          create (rules: at a position)
 *   PATCH  /v1/KINDS/REF[?position=N][&wait=S]   If-Match: "v"      update (merge of the given fields;
 *                                                                   an empty body is 400: nothing to change)
 *   DELETE /v1/KINDS/REF[?cascade=true][&wait=S] If-Match: "v"      delete
 *
 * Invariant: pages are in one stable order (name, then id) and a cursor names the last object of a
 * page, so paging through a list that changes meanwhile neither repeats nor skips an object that was
 * there the whole time; every write is one store transaction.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Kind, Obj } from '../state/model.js';
import { ApiError, queryParser } from './errors.js';
import {
  API_KINDS,
  KIND_PATHS,
  createSchema,
  filterFields,
  objectSchema,
  patchableFields,
  updateSchema,
  type ApiKind,
} from './kinds.js';
import { errorSchema, waitQuery, type RouteCtx } from './route-ctx.js';

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, {
  message: 'expected a UUID',
});
const posInt = (max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, { message: 'expected a whole number' })
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, { message: `expected 1 to ${max}` });
const bool = z.enum(['true', 'false']).transform((s) => s === 'true');

type SortKey = [string, string];
function keyOf(o: Obj): SortKey {
  return [typeof o.name === 'string' ? o.name : '', o.id];
}
function before(a: SortKey, b: SortKey): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}
export function encodeCursor(k: SortKey): string {
  return Buffer.from(JSON.stringify(k)).toString('base64url');
}
function decodeCursor(s: string): SortKey {
  try {
    const k = JSON.parse(Buffer.from(s, 'base64url').toString()) as unknown;
    if (Array.isArray(k) && k.length === 2 && k.every((x) => typeof x === 'string')) return k as SortKey;
  } catch {
    /* refused below */
  }
  throw new ApiError(
    400,
    'invalid',
    'after: not a cursor this API gave (use the `next` of the previous page)',
    [{ field: 'after', allowed: 'the `next` value of the previous page' }],
  );
}

export function objectRoutes(app: FastifyInstance, ctx: RouteCtx): void {
  for (const kind of API_KINDS) kindRoutes(app, ctx, kind);
}

function kindRoutes(app: FastifyInstance, ctx: RouteCtx, kind: ApiKind): void {
  const { store } = ctx;
  const base = `/v1/${KIND_PATHS[kind]}`;
  const tags = [kind];
  const fields = filterFields(kind);
  const listQuery = z
    .object({
      limit: posInt(ctx.config.maxPageSize).optional(),
      after: z.string().max(2000).optional(),
      refersTo: uuid.optional(),
      ...Object.fromEntries(fields.map((f) => [f, z.string().max(1000).optional()])),
    })
    .strict();
  const parseListQuery = queryParser(listQuery);
  const refParam = {
    type: 'object',
    properties: { ref: { type: 'string', description: 'name or id' } },
    required: ['ref'],
  };
  const writeQuery = (extra: Record<string, unknown>) => ({
    type: 'object',
    properties: {
      wait: { type: 'string', description: 'seconds to wait until every live agent applied the write' },
      ...extra,
    },
  });
  const positionDoc =
    kind === 'rule' ? { position: { type: 'string', description: '1-based place in the chain' } } : {};
  const ok = (schema: unknown) => ({ 200: schema, '4XX': errorSchema });

  app.get(
    base,
    {
      schema: {
        tags,
        summary: `list ${kind} objects (one page)`,
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'string', description: `page size, 1 to ${ctx.config.maxPageSize} (default 100)` },
            after: { type: 'string', description: 'the `next` of the previous page' },
            refersTo: { type: 'string', description: 'only objects holding a reference to this id' },
            ...Object.fromEntries(fields.map((f) => [f, { type: 'string', description: `exact ${f}` }])),
          },
        },
        response: ok({
          type: 'object',
          properties: {
            items: { type: 'array', items: objectSchema(kind) },
            next: { type: ['string', 'null'] },
          },
          required: ['items', 'next'],
        }),
      },
    },
    async (req) => {
      const q = parseListQuery(req) as Record<string, unknown> & {
        limit?: number;
        after?: string;
        refersTo?: string;
      };
      const filters = fields.filter((f) => q[f] !== undefined).map((f) => [f, q[f] as string] as const);
      const refFilter =
        q.refersTo ?? filters.find(([f, v]) => f.endsWith('Id') && /^[0-9a-f-]{36}$/.test(v))?.[1];
      let objs: Obj[] = refFilter ? await store.list(kind, { refersTo: refFilter }) : await store.list(kind);
      for (const [f, v] of filters) {
        objs = objs.filter((o) => {
          const x = (o as unknown as Record<string, unknown>)[f];
          return x === null
            ? v === 'null'
            : JSON.stringify(x) === JSON.stringify(typeof x === 'string' ? v : parseScalar(v));
        });
      }
      objs.sort((a, b) => (before(keyOf(a), keyOf(b)) ? -1 : before(keyOf(b), keyOf(a)) ? 1 : 0));
      if (q.after !== undefined) {
        const after = decodeCursor(q.after);
        objs = objs.filter((o) => before(after, keyOf(o)));
      }
      const limit = q.limit ?? Math.min(100, ctx.config.maxPageSize);
      const items = objs.slice(0, limit);
      const next = objs.length > limit ? encodeCursor(keyOf(items.at(-1)!)) : null;
      return { items, next };
    },
  );

  app.get(
    `${base}/:ref`,
    { schema: { tags, summary: `show one ${kind}`, params: refParam, response: ok(objectSchema(kind)) } },
    async (req, reply) => {
      const obj = await store.resolve(kind, (req.params as { ref: string }).ref);
      void reply.header('etag', `"${obj.version}"`);
      return obj;
    },
  );

  const createQuery = queryParser(z.object({ wait: waitQuery, position: posInt(1e9).optional() }).strict());
  app.post(
    base,
    {
      schema: {
        tags,
        summary: `create a ${kind}`,
        querystring: writeQuery(positionDoc),
        body: createSchema(kind),
        response: { 201: objectSchema(kind), '4XX': errorSchema },
      },
    },
    async (req, reply) => {
      const q = createQuery(req);
      const r = await ctx.store.transact([
        {
          op: 'create',
          kind,
          fields: bodyObject(req.body),
          ...(q.position !== undefined ? { position: q.position } : {}),
        },
      ]);
      const obj = r.results[0] as Obj;
      await ctx.finishWrite(reply, r.position, q.wait);
      void reply.header('etag', `"${obj.version}"`).header('location', `${base}/${obj.id}`);
      return reply.code(201).send(obj);
    },
  );

  app.patch(
    `${base}/:ref`,
    {
      schema: {
        tags,
        summary: `update a ${kind} (the fields given; If-Match: "version" refuses a stale write with 412)`,
        params: refParam,
        querystring: writeQuery(positionDoc),
        body: updateSchema(kind),
        response: ok(objectSchema(kind)),
      },
    },
    async (req, reply) => {
      const q = createQuery(req);
      const expectedVersion = ctx.ifMatch(req);
      const set = bodyObject(req.body);
      // An update of no field (and no move of a rule) is a mistake, not a success that did nothing.
      if (Object.keys(set).length === 0 && q.position === undefined) nothingToChange(kind);
      const cur = await store.resolve(kind, (req.params as { ref: string }).ref);
      const r = await ctx.store.transact([
        {
          op: 'update',
          kind,
          id: cur.id,
          set,
          ...(expectedVersion !== undefined ? { expectedVersion } : {}),
          ...(q.position !== undefined ? { position: q.position } : {}),
        },
      ]);
      const obj = r.results[0] as Obj;
      await ctx.finishWrite(reply, r.position, q.wait);
      void reply.header('etag', `"${obj.version}"`);
      return obj;
    },
  );

  const deleteQuery = queryParser(z.object({ wait: waitQuery, cascade: bool.optional() }).strict());
  app.delete(
    `${base}/:ref`,
    {
      schema: {
        tags,
        summary: `delete a ${kind} (cascade=true also deletes what depends on it)`,
        params: refParam,
        querystring: writeQuery({ cascade: { type: 'string', enum: ['true', 'false'] } }),
        response: ok({ type: 'object', properties: { deleted: { type: 'array' } }, required: ['deleted'] }),
      },
    },
    async (req, reply) => {
      const q = deleteQuery(req);
      const expectedVersion = ctx.ifMatch(req);
      const cur = await store.resolve(kind, (req.params as { ref: string }).ref);
      const r = await ctx.store.transact([
        {
          op: 'delete',
          kind: kind as Kind,
          id: cur.id,
          cascade: q.cascade ?? false,
          ...(expectedVersion !== undefined ? { expectedVersion } : {}),
        },
      ]);
      await ctx.finishWrite(reply, r.position, q.wait);
      return r.results[0];
    },
  );
}

/** A query value as the JSON scalar it stands for ('true', '3'), or the string itself. */
function parseScalar(v: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** The refusal of a PATCH with an empty body: it names the fields the kind's updates may change. */
function nothingToChange(kind: Kind): never {
  const fields = patchableFields(kind).join(', ');
  throw new ApiError(
    400,
    'invalid',
    `${kind} update: nothing to change: the body has no fields; give at least one of: ${fields}${kind === 'rule' ? ' (or ?position=N to move the rule)' : ''}`,
    [{ field: '(body)', value: {}, allowed: `at least one of: ${fields}` }],
  );
}

/** A write's body: a JSON object (its fields are then the planner's to judge). */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ApiError(400, 'invalid', 'the body must be a JSON object of fields', [
      {
        field: '(body)',
        value: Array.isArray(body)
          ? 'array'
          : body === undefined
            ? 'missing'
            : body === null
              ? 'null'
              : typeof body,
        allowed: 'a JSON object',
      },
    ]);
  return body as Record<string, unknown>;
}
