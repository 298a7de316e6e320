/**
 * Configuration files: one JSON file per process (e.g. /etc/midonet/midonet-cli.json), validated at
 * start against a zod schema. A file that cannot be read or parsed, an unknown key or a wrong value is a
 * ConfigError whose message names the file, the key, the value and what is allowed.
 *
 * Invariant: `loadConfig` returns a fully defaulted, valid configuration or throws ConfigError; a
 * process never starts on a half-valid configuration.
 */
import { quote } from './quote.js';
import { readFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { LOG_LEVELS } from './log-levels.js';
import { DEFAULT_STORE_URL } from './state/open.js';

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
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
    }
  }
  const r = schema.safeParse(raw);
  if (r.success) return r.data as z.output<S>;
  const issue = r.error.issues[0]!;
  const key = issue.path.join('.');
  let value: unknown = raw;
  for (const k of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[k];
  switch (issue.code) {
    case 'unrecognized_keys':
      throw new ConfigError(
        `${file}: unknown key(s) ${issue.keys.map((k) => quote(key ? `${key}.${k}` : k)).join(', ')}`,
      );
    case 'invalid_enum_value':
      throw new ConfigError(
        `${file}: key ${quote(key)}: value ${quote(value)} is not allowed; allowed: ${issue.options.join(', ')}`,
      );
    case 'invalid_type':
      throw new ConfigError(`${file}: key ${quote(key)}: value ${quote(value)}: expected ${issue.expected}`);
    default:
      throw new ConfigError(`${file}: key ${quote(key)}: value ${quote(value)}: ${issue.message}`);
  }
}

export const storeUrl = z
  .string()
  .regex(/^[a-z]+:.+/, { message: 'expected a store URL such as sqlite:/var/lib/midonet/state.db' });

/** midonet-cli's own file (optional): where the store (or midonet-api) is and how much to log. */
export const cliConfigSchema = z
  .object({
    store: storeUrl.default(DEFAULT_STORE_URL),
    logLevel: z.enum(LOG_LEVELS).default('warn'),
    /** midonet-api URL; when set, the CLI works through the API instead of opening the store. */
    api: z
      .string()
      .regex(/^https?:\/\/[^/\s]+/, { message: 'expected http(s)://HOST:PORT, e.g. http://127.0.0.1:8181' })
      .nullable()
      .default(null),
    /** Bearer token for `api` (midonet-cli token create prints one). */
    apiToken: z.string().min(1).nullable().default(null),
  })
  .strict();
export type CliConfig = z.output<typeof cliConfigSchema>;

export const DEFAULT_CLI_CONFIG = '/etc/midonet/midonet-cli.json';
