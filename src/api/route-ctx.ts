/**
 * What the route modules of midonet-api share: the context they get from server.ts, the JSON Schema
 * of an error response (errors.ts) and the `wait` query parameter of writes.
 *
 * Invariant: nothing here does I/O; server.ts builds the one RouteCtx of a server.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Logger } from '../log.js';
import type { TopologyStore } from '../state/store.js';
import type { ApiConfig } from './config.js';
import type { TokenIndex } from './tokens.js';
import type { WaitReport } from './wait.js';

/** What every route module gets. */
export interface RouteCtx {
  readonly store: TopologyStore;
  readonly config: ApiConfig;
  readonly log: Logger;
  readonly tokens: TokenIndex;
  readonly now: () => number;
  /** The version If-Match asks for (undefined without one, or with `*`). */
  ifMatch(req: FastifyRequest): number | undefined;
  /**
   * After a write committed at `position`: sets the headers and, when the query asked `wait` (seconds,
   * as the route's query parser read it), waits for the agents.
   */
  finishWrite(
    reply: FastifyReply,
    position: number,
    wait: number | undefined,
  ): Promise<WaitReport | undefined>;
}

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        status: { type: 'integer' },
        code: { type: 'string' },
        message: { type: 'string' },
        issues: {
          type: 'array',
          items: {
            type: 'object',
            properties: { field: { type: 'string' }, value: {}, allowed: { type: 'string' } },
            required: ['field', 'allowed'],
          },
        },
      },
      required: ['status', 'code', 'message'],
    },
  },
  required: ['error'],
};

/** `?wait=SECONDS`: how long a write may wait for the agents. */
export const waitQuery = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { message: 'expected seconds, e.g. 5 or 0.5' })
  .transform(Number)
  .optional();
