/**
 * Errors as midonet-api answers them: one JSON shape for every refusal,
 *   {"error": {"status": 400, "code": "invalid", "message": "...", "issues": [{"field", "value", "allowed"}]}}
 * with the store's own message (the same words the CLI prints) and, when the refusal came from
 * validating values, one issue per field: the field, the value given and what is allowed.
 *
 * Status codes: 400 bad input, 401 no or unknown token, 403 a reader writing, 404 no such object or
 * route, 409 taken name/binding/address, referenced object or exhausted pool, 410 a feed position the
 * log no longer holds, 412 a stale If-Match, 413 body too large, 414 a part of the path too long,
 * 415 not JSON, 429 rate limit, 431 headers too large (answered by server.ts clientError),
 * 503 store unavailable.
 *
 * Invariant: an error never carries a stack trace or a raw hostile value: values are cut and control
 * characters escaped before they are put in a message.
 */
import { escapeControls, quote } from '../quote.js';
import type { z } from 'zod';
import { StoreError, type ErrorIssue, type StoreErrorCode } from '../state/errors.js';
import { issueMessage, keyField, keyName } from '../state/model-parse.js';

export interface WireIssue {
  readonly field: string;
  readonly value?: unknown;
  readonly allowed: string;
}

export interface WireError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly issues?: readonly WireIssue[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: readonly WireIssue[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function cut(v: unknown): unknown {
  if (typeof v === 'string' && v.length > 200) return `${v.slice(0, 197)}...`;
  return v;
}

const STATUS: Record<StoreErrorCode, number> = {
  invalid: 400,
  'not-found': 404,
  exists: 409,
  conflict: 409,
  referenced: 409,
  exhausted: 409,
  unavailable: 503,
  'position-gone': 410,
};

function issuesOf(e: StoreError): WireIssue[] | undefined {
  if (e.issues && e.issues.length > 0)
    return e.issues.map((i: ErrorIssue) => ({
      field: i.field,
      ...(i.value !== undefined ? { value: cut(i.value) } : {}),
      allowed: i.message,
    }));
  // A rule of the model: the planner names the field as `kind.field:` in its message.
  const m = /\b([a-z]+(?:-[a-z]+)*)\.([A-Za-z][A-Za-z.]*): (.*)$/.exec(e.message);
  return m ? [{ field: `${m[1]}.${m[2]}`, allowed: m[3]! }] : undefined;
}

/** The wire form of any error; `preconditioned`: the request carried If-Match (a conflict is then 412). */
export function wireError(e: unknown, preconditioned = false): WireError {
  if (e instanceof ApiError)
    return {
      status: e.status,
      code: e.code,
      message: escapeControls(e.message),
      ...(e.issues ? { issues: e.issues } : {}),
    };
  if (e instanceof StoreError) {
    const status = e.code === 'conflict' && preconditioned ? 412 : STATUS[e.code];
    const issues = issuesOf(e);
    return { status, code: e.code, message: escapeControls(e.message), ...(issues ? { issues } : {}) };
  }
  const fe = e as { statusCode?: number; code?: string; message?: string };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'too-large'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported-media-type'
          : fe.statusCode === 429
            ? 'rate-limited'
            : 'bad-request';
    const message =
      code === 'bad-request' && /JSON/i.test(fe.message ?? '')
        ? `the body is not valid JSON: ${fe.message ?? ''}`
        : code === 'unsupported-media-type'
          ? 'the body must be JSON (Content-Type: application/json)'
          : (fe.message ?? 'bad request');
    return { status: fe.statusCode, code, message: escapeControls(message) };
  }
  return { status: 500, code: 'internal', message: 'internal error (see the server log)' };
}

/**
 * The parser of a route's query string: `schema` checks it, except on a request without one (most
 * requests), which gets what the schema makes of `{}`, worked out once (and frozen, as it is shared).
 */
export function queryParser<S extends z.ZodTypeAny>(
  schema: S,
): (req: { readonly url: string; readonly query: unknown }) => z.output<S> {
  const empty = schema.safeParse({});
  if (empty.success && typeof empty.data === 'object' && empty.data !== null) Object.freeze(empty.data);
  return (req) =>
    empty.success && !req.url.includes('?')
      ? (empty.data as z.output<S>)
      : parseWith(schema, req.query ?? {}, 'query');
}

/** Parses a request part with a zod schema, or throws a 400 naming every field at fault. */
export function parseWith<S extends z.ZodTypeAny>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data as z.output<S>;
  const issues = r.error.issues.map((i) => {
    const field =
      i.path.length > 0
        ? i.path.map((k) => keyName(String(k))).join('.')
        : i.code === 'unrecognized_keys'
          ? keyField(i.keys)
          : what;
    let v: unknown = value;
    for (const k of i.path) v = (v as Record<PropertyKey, unknown> | undefined)?.[k];
    return {
      field,
      ...(v !== undefined && i.code !== 'unrecognized_keys' ? { value: cut(v) } : {}),
      allowed:
        v === undefined && i.code === 'invalid_union_discriminator'
          ? `is required; ${issueMessage(i)}`
          : issueMessage(i),
    };
  });
  throw new ApiError(
    400,
    'invalid',
    `${what}: ${issues.map((i) => `${i.field}: ${i.value !== undefined ? `${quote(i.value)}: ` : ''}${i.allowed}`).join('; ')}`,
    issues,
  );
}
