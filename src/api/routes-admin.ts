/**
 * Token administration over HTTP (admin tokens only, readers get 403 even to list):
 *   GET    /v1/tokens                    every token, without its digest
 *   POST   /v1/tokens {name, role}       a new token: the response is the only time it is shown
 *   DELETE /v1/tokens/REF                revoke (this process refuses it at once, others within the feed's delay)
 *
 * Invariant: no response carries a token's digest, and a token's secret is returned once, by the POST
 * that made it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { TOKEN_ROLES } from '../state/model.js';
import { ApiError, parseWith } from './errors.js';
import { jsonSchema } from './kinds.js';
import { errorSchema, type RouteCtx } from './route-ctx.js';
import { createToken, publicToken } from './tokens.js';

const tokenBody = z.object({ name: z.string().min(1).max(255), role: z.enum(TOKEN_ROLES) }).strict();

function adminOnly(req: FastifyRequest): void {
  if (req.token?.role !== 'admin')
    throw new ApiError(
      403,
      'forbidden',
      `token '${req.token?.name ?? '?'}' has role ${req.token?.role ?? '?'}: tokens are for admins`,
    );
}

export function adminRoutes(app: FastifyInstance, ctx: RouteCtx): void {
  const { store } = ctx;
  const tags = ['token'];
  app.get(
    '/v1/tokens',
    { schema: { tags, summary: 'list tokens (admin; digests are never shown)' } },
    async (req) => {
      adminOnly(req);
      return (await store.list('api-token')).map(publicToken);
    },
  );
  app.post(
    '/v1/tokens',
    {
      schema: {
        tags,
        summary: 'make a token (admin); the response is the only time its secret is shown',
        body: jsonSchema(tokenBody),
        response: { 201: { type: 'object' }, '4XX': errorSchema },
      },
    },
    async (req, reply) => {
      adminOnly(req);
      const b = parseWith(tokenBody, req.body ?? {}, 'body');
      const { object, token } = await createToken(store, b.name, b.role, ctx.now());
      return reply.code(201).send({ ...publicToken(object), token });
    },
  );
  app.delete(
    '/v1/tokens/:ref',
    {
      schema: {
        tags,
        summary: 'revoke a token (admin)',
        params: { type: 'object', properties: { ref: { type: 'string' } } },
      },
    },
    async (req) => {
      adminOnly(req);
      const t = await store.resolve('api-token', (req.params as { ref: string }).ref);
      const deleted = await store.delete('api-token', t.id);
      ctx.tokens.forget(t.id);
      return { deleted };
    },
  );
}
