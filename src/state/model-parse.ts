/**
 * Checks the fields of one object against its kind's schema (model.ts) and turns zod's issues into
 * FieldIssues that name the field, the value given and what is allowed, in words a user can act on.
 *
 * Invariant: parseFields never throws for bad input: it returns the normalized fields (defaults filled
 * in) or every issue found.
 */
import type { z } from 'zod';
import { quote } from '../quote.js';
import { fieldSchemas, type Fields, type Kind } from './model.js';

/** Unknown keys named in a message or an issue's field: at most this many, the rest counted. */
const KEYS_SHOWN = 5;

/**
 * A key as a field name: as it is when it reads as one, else quoted (escaped, cut). Every message
 * that names a field someone gave (here, the API's parseWith) names it through this.
 */
export function keyName(k: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(k) ? k : quote(k);
}

/**
 * Unknown keys someone gave, for a message (`keyList`) or an issue's field (`keyField`): each escaped
 * and cut, at most KEYS_SHOWN of them, so a body of 100,000 hostile keys gets a short answer.
 */
export function keyList(keys: readonly string[]): string {
  const more = keys.length - KEYS_SHOWN;
  return `${keys.slice(0, KEYS_SHOWN).map(keyName).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}
export function keyField(keys: readonly string[]): string {
  return `${keys.slice(0, KEYS_SHOWN).map(keyName).join(',')}${keys.length > KEYS_SHOWN ? ',...' : ''}`;
}

/** One problem with a value: which field, what was given, what is allowed. */
export interface FieldIssue {
  readonly field: string;
  readonly value: unknown;
  readonly message: string;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/**
 * What is allowed, in words a user can act on, for one of zod's issues (the API's parseWith words its
 * refusals with it too, so a store write and a request part are refused alike).
 */
export function issueMessage(issue: z.ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.received === 'undefined'
        ? 'is required'
        : `expected ${issue.expected}, got ${issue.received}`;
    case 'invalid_enum_value':
      return `allowed values: ${issue.options.join(', ')}`;
    case 'invalid_union_discriminator':
      // A tagged union's tag (a transaction op's `op`): the value is named beside the field.
      return `allowed values: ${issue.options.map(String).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field(s): ${keyList(issue.keys)}`;
    case 'too_small':
      return issue.type === 'array'
        ? `needs at least ${String(issue.minimum)} item(s)`
        : issue.type === 'string'
          ? issue.message
          : `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return issue.type === 'string' ? issue.message : `must be at most ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}

/** Validates and normalizes the fields of one object; defaults are filled in. */
export function parseFields<K extends Kind>(
  kind: K,
  input: unknown,
): { ok: true; fields: Fields<K> } | { ok: false; issues: FieldIssue[] } {
  const r = fieldSchemas[kind].safeParse(input);
  if (r.success) return { ok: true, fields: r.data };
  return {
    ok: false,
    issues: r.error.issues.map((i) => ({
      field:
        i.path.map((k) => keyName(String(k))).join('.') ||
        (i.code === 'unrecognized_keys' ? keyField(i.keys) : '(object)'),
      value: i.code === 'unrecognized_keys' ? undefined : valueAt(input, i.path),
      message: issueMessage(i),
    })),
  };
}
