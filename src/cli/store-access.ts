/**
 * Opening the store a command works on, from the global options: --api URL (or $MIDONET_API, or `api`
 * in the config file) works through midonet-api with a bearer token (--token, $MIDONET_API_TOKEN,
 * `apiToken`); else --store URL, else $MIDONET_STORE, else `store` in the config file
 * (/etc/midonet/midonet-cli.json or --config FILE), else sqlite:/var/lib/midonet/state.db.
 *
 * Start-up matters here (a CLI call is paid per command): the HTTP store, the logger and the
 * Cassandra driver are imported only when used.
 *
 * Invariant: the store is closed when the command is done, whatever happened.
 */
import { quote } from '../quote.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_CLI_CONFIG, cliConfigSchema, loadConfig } from '../config.js';
import type { LogLevel } from '../log-levels.js';
import { DEFAULT_STORE_URL, openStore } from '../state/open.js';
import type { TopologyStore } from '../state/store.js';
import { CliError } from './options.js';

export interface GlobalArgs {
  store?: string;
  api?: string;
  token?: string;
  json?: boolean;
  'log-level'?: LogLevel;
  config?: string;
  wait?: boolean;
  'wait-timeout'?: string;
}

/** Opens the store the global options select for one command, and closes it after. */
export async function withStore<T>(argv: GlobalArgs, fn: (store: TopologyStore) => Promise<T>): Promise<T> {
  const store = await openSelected(argv);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Opens the store the global options select; the caller closes it. */
export async function openSelected(argv: GlobalArgs): Promise<TopologyStore> {
  for (const k of ['store', 'config', 'log-level', 'api', 'token'] as const) {
    if (Array.isArray(argv[k])) throw new CliError(`--${k}: given more than once`);
  }
  const configFile = argv.config ?? DEFAULT_CLI_CONFIG;
  const config = loadConfig(configFile, cliConfigSchema, { optional: argv.config === undefined });
  const level = argv['log-level'] ?? config.logLevel;
  const debug =
    level === 'debug' || level === 'trace'
      ? (await import('../log.js'))
          .createLogger({ name: 'midonet-cli', level, destination: 2 })
          .child({ component: 'cli' })
      : undefined;
  const api = argv.api ?? process.env.MIDONET_API ?? (argv.store === undefined ? config.api : null);
  if (api) {
    if (argv.store !== undefined) throw new CliError('--store and --api: give one of them');
    const token = argv.token ?? process.env.MIDONET_API_TOKEN ?? config.apiToken;
    if (!token)
      throw new CliError(
        '--api: a token is needed: --token TOKEN, $MIDONET_API_TOKEN or apiToken in the config file',
      );
    debug?.debug({ api }, 'using midonet-api');
    const { HttpStore } = await import('../api/http-store.js');
    return new HttpStore(api, token);
  }
  if (argv.token !== undefined) throw new CliError('--token: applies with --api only');
  const url = argv.store ?? process.env.MIDONET_STORE ?? config.store;
  debug?.debug({ url }, 'opening store');
  if (url === DEFAULT_STORE_URL)
    mkdirSync(dirname(DEFAULT_STORE_URL.slice('sqlite:'.length)), { recursive: true });
  return openStore(url);
}

/** `--wait-timeout SECONDS` (default 30) as ms, when `--wait` is given. */
export function waitMs(argv: GlobalArgs): number | undefined {
  if (Array.isArray(argv['wait-timeout'])) throw new CliError('--wait-timeout: given more than once');
  const raw = argv['wait-timeout'];
  if (raw !== undefined && argv.wait !== true) throw new CliError('--wait-timeout: applies with --wait only');
  if (argv.wait !== true) return undefined;
  if (raw === undefined) return 30000;
  if (!/^[0-9]{1,5}(\.[0-9]+)?$/.test(String(raw)))
    throw new CliError(
      `--wait-timeout: ${quote(String(raw))} is not valid: expected seconds, e.g. 10 or 0.5`,
    );
  return Math.round(Number(raw) * 1000);
}
