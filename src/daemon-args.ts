/**
 * The command line of the daemons (midonet-agent, midonet-router, midonet-api): `--config FILE` and
 * `--log-level LEVEL`, `--help`, `--version`; and `usageMessage`, the words of a yargs refusal made
 * into one line that names the option, the value and what is allowed (the CLI and the lab use it too).
 *
 * Invariant: a bad command line is a UsageError whose message is one escaped line, never yargs' usage
 * dump nor a raw echo of what was typed; an option given without its value (`--config` alone) is
 * refused, never replaced by its default.
 */
import yargs from 'yargs';
import type { z } from 'zod';
import { ConfigError, loadConfig } from './config.js';
import { LOG_LEVELS, type LogLevel } from './log-levels.js';
import { messageLine, quote } from './quote.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** yargs' message (it may span lines and echo what was typed raw) as one line in this project's words. */
export function usageMessage(msg: string): string {
  const line = msg.replace(/\s*\n\s*/g, ' ').trim();
  const unknown = /^Unknown arguments?: (.*)$/s.exec(line);
  if (unknown)
    return messageLine(
      `unknown option or argument ${unknown[1]!
        .split(', ')
        .map((a) => quote(a))
        .join(', ')}; see --help`,
    );
  const noValue = /^Not enough arguments following: (.*)$/s.exec(line);
  if (noValue) return messageLine(`--${noValue[1]!}: needs a value`);
  const invalid = /^Invalid values: Argument: (.*?), Given: (.*), Choices: (.*)$/s.exec(line);
  if (invalid) {
    let given: unknown = invalid[2]!;
    try {
      given = JSON.parse(invalid[2]!);
    } catch {
      // not JSON: shown as it came
    }
    return messageLine(
      `--${invalid[1]!}: ${quote(given)} is not allowed; allowed: ${invalid[3]!.replace(/"/g, '')}`,
    );
  }
  return messageLine(line);
}

export interface DaemonArgs {
  /** The configuration file. */
  readonly config: string;
  /** `--log-level`, overriding the file's logLevel. */
  readonly logLevel: LogLevel | undefined;
}

/**
 * Parses a daemon's command line. `--help` and `--version` print and exit 0 as yargs does; anything
 * else wrong is a UsageError.
 */
export async function parseDaemonArgs(
  name: string,
  argv: readonly string[],
  defaults: { readonly config: string; readonly version: string },
): Promise<DaemonArgs> {
  const a = await yargs([...argv])
    .scriptName(name)
    .option('config', {
      type: 'string',
      default: defaults.config,
      requiresArg: true,
      describe: 'configuration file',
    })
    .option('log-level', {
      choices: LOG_LEVELS,
      requiresArg: true,
      describe: 'overrides logLevel of the file',
    })
    .strict()
    .version(defaults.version)
    .help()
    .fail((msg, err) => {
      throw new UsageError(usageMessage(err?.message ?? msg));
    })
    .parseAsync();
  if (a._.length > 0) throw new UsageError(`unexpected argument ${quote(String(a._[0]))}; see --help`);
  if (Array.isArray(a.config)) throw new UsageError('--config: given more than once');
  if (a.config === '') throw new UsageError('--config: needs a file');
  return { config: a.config, logLevel: a['log-level'] };
}

/**
 * A daemon's start: its command line, then its configuration file (loadConfig). On either refusal
 * prints `NAME: <one line>` on stderr and gives the exit status (2 for the command line, 1 for the
 * file); else the arguments and the configuration.
 */
export async function daemonSetup<S extends z.ZodTypeAny>(
  name: string,
  argv: readonly string[],
  defaults: { readonly config: string; readonly version: string },
  schema: S,
): Promise<{ args: DaemonArgs; cfg: z.output<S> } | number> {
  try {
    const args = await parseDaemonArgs(name, argv, defaults);
    const cfg = loadConfig(args.config, schema, { optional: args.config === defaults.config });
    return { args, cfg };
  } catch (e) {
    process.stderr.write(`${name}: ${messageLine((e as Error).message)}\n`);
    return e instanceof UsageError ? 2 : e instanceof ConfigError ? 1 : 2;
  }
}
