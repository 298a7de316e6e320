/**
 * midonet-cli: topology edits and inspection from the command line (yargs).
 *
 *   midonet-cli <kind> <verb> [ref] [arg] [--field value ...] [--json] [--store URL]
 *
 * Store selection: --api URL (or $MIDONET_API, or `api` in the config file) works through midonet-api
 * with a bearer token (--token, $MIDONET_API_TOKEN, `apiToken`); else --store URL, else $MIDONET_STORE,
 * else `store` in the config file (/etc/midonet/midonet-cli.json or --config FILE), else
 * sqlite:/var/lib/midonet/state.db.
 *
 * Invariant: every failure ends as one line on stderr (`midonet-cli: error: ...`) and a non-zero exit:
 * 2 for bad usage, 1 for what the store or configuration refused or could not do; never a stack trace.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, DEFAULT_CLI_CONFIG, cliConfigSchema, loadConfig } from '../config.js';
import { LOG_LEVELS, createLogger, type LogLevel } from '../log.js';
import { unknownKindMessage, type Kind } from '../state/model.js';
import { escapeControls, quote } from '../quote.js';
import { StoreError } from '../state/errors.js';
import { DEFAULT_STORE_URL, openStore } from '../state/open.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TopologyStore } from '../state/store.js';
import { CliError, KIND_OPTIONS, CONDITION_OPTIONS } from './options.js';
import {
  CLI_KINDS,
  VERB_OPTIONS,
  optionFlags,
  runTopologyCommand,
  verbsOf,
  type Args,
} from './topology-commands.js';
import { extraCommands } from './extra-commands.js';
import { tokenCommand } from './token-commands.js';
import { HttpStore } from '../api/http-store.js';

export const VERSION = '0.1.0';

export interface GlobalArgs {
  store?: string;
  api?: string;
  token?: string;
  json?: boolean;
  'log-level'?: LogLevel;
  config?: string;
}

/** Opens the store the global options select, and a logger, for one command. */
export async function withStore<T>(argv: GlobalArgs, fn: (store: TopologyStore) => Promise<T>): Promise<T> {
  for (const k of ['store', 'config', 'log-level', 'api', 'token'] as const) {
    if (Array.isArray(argv[k])) throw new CliError(`--${k}: given more than once`);
  }
  const configFile = argv.config ?? DEFAULT_CLI_CONFIG;
  const config = loadConfig(configFile, cliConfigSchema, { optional: argv.config === undefined });
  const log = createLogger({
    name: 'midonet-cli',
    level: argv['log-level'] ?? config.logLevel,
    destination: 2,
  }).child({ component: 'cli' });
  const api = argv.api ?? process.env.MIDONET_API ?? (argv.store === undefined ? config.api : null);
  if (api) {
    if (argv.store !== undefined) throw new CliError('--store and --api: give one of them');
    const token = argv.token ?? process.env.MIDONET_API_TOKEN ?? config.apiToken;
    if (!token)
      throw new CliError(
        '--api: a token is needed: --token TOKEN, $MIDONET_API_TOKEN or apiToken in the config file',
      );
    log.debug({ api }, 'using midonet-api');
    const remote = new HttpStore(api, token);
    try {
      return await fn(remote);
    } finally {
      await remote.close();
    }
  }
  if (argv.token !== undefined) throw new CliError('--token: applies with --api only');
  const url = argv.store ?? process.env.MIDONET_STORE ?? config.store;
  log.debug({ url }, 'opening store');
  if (url === DEFAULT_STORE_URL)
    mkdirSync(dirname(DEFAULT_STORE_URL.slice('sqlite:'.length)), { recursive: true });
  const store = await openStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function describeOption(kind: Kind, flag: string): string {
  return (
    KIND_OPTIONS[kind].find((s) => s.flag === flag)?.describe ??
    CONDITION_OPTIONS.find((c) => c.flag === flag)?.describe ??
    VERB_OPTIONS[flag]?.describe ??
    ''
  );
}

export function buildCli(argv: string[], print: (s: string) => void): Argv {
  let cli = yargs(argv)
    .scriptName('midonet-cli')
    .usage('$0 <kind> <verb> [ref] [--field value ...]')
    .parserConfiguration({
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'boolean-negation': false,
      'duplicate-arguments-array': true,
    })
    .option('store', {
      type: 'string',
      describe: 'store URL (default: $MIDONET_STORE, the config file, or sqlite:/var/lib/midonet/state.db)',
    })
    .option('api', {
      type: 'string',
      describe:
        'work through midonet-api at this URL instead of the store (default: $MIDONET_API, the config file)',
    })
    .option('token', {
      type: 'string',
      describe: 'bearer token for --api (default: $MIDONET_API_TOKEN, the config file)',
    })
    .option('json', { type: 'boolean', describe: 'print JSON for programs' })
    .option('log-level', { choices: LOG_LEVELS, describe: 'log level (logs go to stderr)' })
    .option('config', { type: 'string', describe: `config file (default ${DEFAULT_CLI_CONFIG} if present)` });
  for (const kind of CLI_KINDS) {
    cli = cli.command(
      `${kind} <verb> [ref] [arg]`,
      `${verbsOf(kind).join('|')} ${kind} objects`,
      (y) => {
        let c = y
          .positional('verb', { choices: verbsOf(kind), type: 'string' })
          .positional('ref', { type: 'string', describe: 'name or id' })
          .positional('arg', {
            type: 'string',
            describe: 'second object (port link PORT PEER, port-group add-port GROUP PORT)',
          });
        for (const flag of optionFlags(kind)) {
          c = c.option(flag, {
            type: VERB_OPTIONS[flag]?.boolean ? 'boolean' : 'string',
            describe: describeOption(kind, flag),
          });
        }
        return c;
      },
      async (a) => {
        const g = a as unknown as GlobalArgs & Args;
        await withStore(g, (store) => runTopologyCommand({ store, json: g.json === true, print }, kind, g));
      },
    );
  }
  for (const cmd of [...extraCommands(print), tokenCommand(print)]) cli = cli.command(cmd);
  return cli
    .completion('completion', 'print a bash completion script (source it from ~/.bashrc)')
    .demandCommand(1, 'give a command, e.g. midonet-cli bridge list')
    .exitProcess(false)
    .strict()
    .recommendCommands()
    .version(VERSION)
    .help()
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      const line = msg.replace(/\s*\n\s*/g, ' ');
      const unknown = /^Unknown arguments?: ([^,]*)/.exec(line)?.[1];
      if (unknown !== undefined && argv.includes(unknown) && !COMMANDS.includes(unknown))
        throw new CliError(
          `${unknownKindMessage(unknown, CLI_KINDS)}; other commands: ${OTHER_COMMANDS.join(', ')}`,
        );
      const verb = /Invalid values: Argument: verb, Given: "(.*)", Choices: (.*)$/.exec(line);
      throw new CliError(
        verb ? `unknown verb ${quote(verb[1])}; allowed: ${verb[2]!.replace(/"/g, '')}` : line,
      );
    });
}

/** The first words of the commands that are not kinds, and of every command. */
const OTHER_COMMANDS: readonly string[] = ['trace', 'agent', 'token', 'completion'];
const COMMANDS: readonly string[] = [...CLI_KINDS, ...OTHER_COMMANDS];

/** Runs one command line; returns the exit code. */
export async function main(
  argv: string[],
  out = (s: string) => void process.stdout.write(`${s}\n`),
  errOut = (s: string) => void process.stderr.write(`${s}\n`),
): Promise<number> {
  try {
    await buildCli(argv, out).parseAsync();
    return 0;
  } catch (e) {
    const err = e as Error;
    const usage = e instanceof CliError || !(e instanceof StoreError || e instanceof ConfigError);
    errOut(`midonet-cli: error: ${escapeControls(err.message)}`);
    if (
      !(e instanceof CliError || e instanceof StoreError || e instanceof ConfigError) &&
      process.env.MIDONET_DEBUG
    ) {
      errOut(String(err.stack));
    }
    return usage && !(e instanceof StoreError) ? 2 : 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(hideBin(process.argv));
}
