/**
 * Configuration files: one JSON file per process (e.g. /etc/midonet/midonet-cli.json), validated at
 * start against a zod schema. A file that cannot be read or parsed, an unknown key or a wrong value is a
 * ConfigError whose message names the file, the key, the value and what is allowed.
 *
 * Invariant: `loadConfig` returns a fully defaulted, valid configuration or throws ConfigError; a
 * process never starts on a half-valid configuration.
 */
import { escapeControls, quote, UNSAFE_TEXT } from './quote.js';
import { utf8Problem } from './utf8.js';
import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { LOG_LEVELS } from './log-levels.js';
import { DEFAULT_STORE_URL, storeUrlProblem } from './state/open.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Parses `file` with `schema`; a missing file gives the defaults when `optional`. */
export function loadConfig<S extends z.ZodTypeAny>(
  file: string,
  schema: S,
  opts: { optional?: boolean } = {},
): z.output<S> {
  let raw: unknown = {};
  if (existsSync(file) || !opts.optional) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new ConfigError(
        `${escapeControls(file)}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    // Decoded as it is, a byte that is not UTF-8 would become U+FFFD in a value (a host name).
    const notUtf8 = utf8Problem(bytes);
    if (notUtf8 !== undefined)
      throw new ConfigError(`${escapeControls(file)}: not valid UTF-8 (${notUtf8}): the file is UTF-8 JSON`);
    const text = bytes.toString('utf8');
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(
        `${escapeControls(file)}: not valid JSON: ${escapeControls((e as Error).message)}`,
      );
    }
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data as z.output<S>;
  throw new ConfigError(`${escapeControls(file)}: ${configProblem(raw, r.error).text}`);
}

/** What a JSON value is, in words, for a message. */
function jsonKind(v: unknown): string {
  return v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'object'
        ? 'an object'
        : `a ${typeof v}`;
}

/**
 * The first issue of a configuration (a file, or midonet-cni's network configuration) in words: the
 * key (dotted), the value (quoted, escaped, cut) and what is allowed. `key` is the issue's dotted key.
 */
export function configProblem(
  raw: unknown,
  error: z.ZodError,
): { readonly key: string; readonly code: z.ZodIssueCode; readonly text: string } {
  const issue = error.issues[0]!;
  const key = issue.path.join('.');
  let value: unknown = raw;
  for (const k of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[k];
  const at = { key, code: issue.code };
  switch (issue.code) {
    case 'unrecognized_keys':
      return {
        ...at,
        text: `unknown key(s) ${issue.keys
          .slice(0, 5)
          .map((k) => quote(key ? `${key}.${k}` : k))
          .join(', ')}${issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : ''}`,
      };
    case 'invalid_enum_value':
      return {
        ...at,
        text: `key ${quote(key)}: value ${quote(value)} is not allowed; allowed: ${issue.options.join(', ')}`,
      };
    case 'invalid_type':
      if (key === '') return { ...at, text: `expected a JSON object of keys, got ${jsonKind(raw)}` };
      if (issue.received === 'undefined') return { ...at, text: `key ${quote(key)} is required` };
      return {
        ...at,
        // A schema's own words (e.g. intIn's range) when it has them, else zod's type name.
        text: `key ${quote(key)}: value ${quote(value)}: ${/^(Expected|Required)\b/.test(issue.message) ? `expected ${issue.expected}` : issue.message}`,
      };
    default:
      return { ...at, text: `key ${quote(key)}: value ${quote(value)}: ${issue.message}` };
  }
}

// ---- values every daemon's file shares -----------------------------------------------------------
// Each says what is allowed in its message, so an error names it. Strings never carry control
// characters (a newline in a host name would split a log line; one in a command argument, a command),
// names that reach a command line never start with '-' (they would be read as an option), and paths
// and namespace names cannot climb out of their directory.

/** Whether `s` has a character no value may carry (controls, invisible formatting; src/quote.ts). */
export function hasControl(s: string): boolean {
  return UNSAFE_TEXT.test(s);
}
/** A string of 1 to `max` characters without control characters. */
export function text(max: number) {
  return z
    .string()
    .min(1, { message: `expected 1 to ${max} characters` })
    .max(max, { message: `expected 1 to ${max} characters` })
    .refine((s) => !hasControl(s), {
      message: 'control or invisible characters (newlines, escapes) are not allowed',
    });
}

/** An integer from `min` to `max`. */
export function intIn(min: number, max: number) {
  const message = `expected an integer from ${min} to ${max}`;
  return z
    .number({ invalid_type_error: message })
    .int({ message })
    .min(min, { message })
    .max(max, { message });
}

/** An absolute path without `.` or `..` components or control characters. */
export const absolutePath = text(4096)
  .refine((s) => s.startsWith('/'), { message: 'expected an absolute path' })
  .refine((s) => !s.split('/').some((c) => c === '.' || c === '..'), {
    message: "expected an absolute path without '.' or '..' components",
  });

/** An Open vSwitch bridge (a Linux interface name): what ovs-vsctl and the kernel accept. */
export const ovsBridgeName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/, {
  message: "expected 1 to 15 of letters, digits, '_', '.', '-', not starting with '.' or '-'",
});

/** A host name as hosts register (the machine's host name by default). */
export const hostNameValue = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/, {
  message: "expected 1 to 255 of letters, digits, '_', '.', '-', not starting with '.' or '-'",
});

/** A network namespace name (a file in /var/run/netns): no '/', no leading '-' or '.'. */
export const netnsName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, {
  message:
    "expected 1 to 64 of letters, digits, '_', '.', '-', not starting with '.' or '-' (a namespace name, not a path)",
});

/** `tcp://HOST:PORT` with a port of 1 to 65535. */
export const tcpEndpoint = z
  .string()
  .regex(/^tcp:\/\/[^\s/]+:\d{1,5}$/, { message: 'expected tcp://HOST:PORT' })
  .refine((s) => !hasControl(s), {
    message: 'control or invisible characters (newlines, escapes) are not allowed',
  })
  .refine(
    (s) => Number(s.slice(s.lastIndexOf(':') + 1)) >= 1 && Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535,
    {
      message: 'expected tcp://HOST:PORT with a port from 1 to 65535',
    },
  );

/** A store URL openStore takes (state/open.ts checks it in full, opening nothing). */
export const storeUrl = text(2048).superRefine((s, ctx) => {
  const problem = storeUrlProblem(s);
  if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

/** midonet-cli's own file (optional): where the store (or midonet-api) is and how much to log. */
export const cliConfigSchema = z
  .object({
    store: storeUrl.default(DEFAULT_STORE_URL),
    logLevel: z.enum(LOG_LEVELS).default('warn'),
    /** midonet-api URL; when set, the CLI works through the API instead of opening the store. */
    api: text(2048)
      .refine((s) => /^https?:\/\/[^/\s]+/.test(s), {
        message: 'expected http(s)://HOST:PORT, e.g. http://127.0.0.1:8181',
      })
      .nullable()
      .default(null),
    /** Bearer token for `api` (midonet-cli token create prints one). */
    apiToken: text(1024).nullable().default(null),
  })
  .strict();
export type CliConfig = z.output<typeof cliConfigSchema>;

export const DEFAULT_CLI_CONFIG = '/etc/midonet/midonet-cli.json';
