/**
 * midonet-cli: topology edits and inspection from the command line.
 *
 *   midonet-cli <kind> <verb> [ref] [arg] [--field value ...] [-- <kind> <verb> ...] [--wait] [--json]
 *   midonet-cli show | watch | trace | agent ... | token ... | completion bash|zsh
 *   midonet-cli                      (on a terminal: an interactive shell)
 *
 * Start-up is paid per call, so the common case takes a short road: topology commands (KIND VERB ...,
 * alone or several joined by `--` into one transaction) are parsed with yargs-parser (the parser yargs
 * itself uses) and checked against the option table here; everything else (help, the other commands,
 * shell completion) goes through the full yargs definition (full-cli.ts), loaded only then.
 *
 * Invariant: every failure ends as one line on stderr (`midonet-cli: error: ...`) and a non-zero exit:
 * 2 for bad usage, 1 for what the store or configuration refused or could not do; never a stack trace.
 */
import { messageLine, quote } from '../quote.js';
import parser from 'yargs-parser';
import { ConfigError } from '../config.js';
import { StoreError } from '../state/errors.js';
import { isKind } from '../state/model.js';
import type { Command } from './executor.js';
import { CliError } from './options.js';
import { checkArgvBytes } from './argv-bytes.js';
import { waitMs, withStore, type GlobalArgs } from './store-access.js';
import { CLI_KINDS, VERB_OPTIONS, optionFlags, type Args } from './topology-commands.js';

export const VERSION = '0.1.0';
export { withStore, type GlobalArgs };

/** Options of the whole call (any segment may carry them; they must agree). */
export const GLOBAL_OPTIONS: Record<string, { describe: string; boolean?: boolean }> = {
  store: {
    describe: 'store URL (default: $MIDONET_STORE, the config file, or sqlite:/var/lib/midonet/state.db)',
  },
  api: {
    describe:
      'work through midonet-api at this URL instead of the store (default: $MIDONET_API, the config file)',
  },
  token: { describe: 'bearer token for --api (default: $MIDONET_API_TOKEN, the config file)' },
  json: { describe: 'print JSON for programs (same as --format json)', boolean: true },
  'log-level': { describe: 'log level (logs go to stderr)' },
  config: { describe: 'config file (default /etc/midonet/midonet-cli.json if present)' },
  wait: {
    describe:
      'after a write, wait until every live agent has applied it (returns at once when none is alive)',
    boolean: true,
  },
  'wait-timeout': { describe: 'with --wait: give up after this many seconds (default 30)' },
};

const BOOLEANS = [
  ...Object.entries(GLOBAL_OPTIONS)
    .filter(([, o]) => o.boolean)
    .map(([k]) => k),
  ...Object.entries(VERB_OPTIONS)
    .filter(([, o]) => o.boolean)
    .map(([k]) => k),
  'help',
  'version',
];

const PARSER_CONFIG = {
  'camel-case-expansion': false,
  'parse-numbers': false,
  'parse-positional-numbers': false,
  'boolean-negation': false,
  'duplicate-arguments-array': true,
  'dot-notation': false,
  'populate--': false,
} as const;

/** Splits argv at each `--` into the argument lists of the commands of one transaction. */
export function segments(argv: readonly string[]): string[][] {
  const out: string[][] = [[]];
  for (const a of argv) {
    if (a === '--') out.push([]);
    else out.at(-1)!.push(a);
  }
  return out;
}

interface Parsed {
  readonly positional: string[];
  readonly options: Record<string, unknown>;
}

/** One command's arguments as the short road reads them. */
export function parse(seg: readonly string[]): Parsed {
  const r = parser(seg as string[], { boolean: BOOLEANS, configuration: PARSER_CONFIG });
  const { _, ...options } = r;
  return { positional: _.map(String), options };
}

/** A topology command of the short road, or undefined when the full CLI must handle the call. */
function topologyCommand(p: Parsed, seg: readonly string[]): (Command & { globals: GlobalArgs }) | undefined {
  const [kind, verb, ref, arg, ...extra] = p.positional;
  if (kind === undefined || !isKind(kind) || !CLI_KINDS.includes(kind)) return undefined;
  if (p.options.help !== undefined || p.options.version !== undefined || verb === undefined) return undefined;
  if (extra.length > 0) throw new CliError(`${kind} ${verb}: unexpected argument ${quote(extra[0])}`);
  const allowed = new Set([...optionFlags(kind), ...Object.keys(GLOBAL_OPTIONS)]);
  const args: Args = { verb };
  const globals: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.options)) {
    if (!allowed.has(k))
      throw new CliError(
        `${kind} ${verb}: unknown option ${quote(`${k.length === 1 ? '-' : '--'}${k}`)}; see midonet-cli ${kind} --help${k.length === 1 ? " (a value starting with '-' is given as --option=VALUE)" : ''}`,
      );
    if (k in GLOBAL_OPTIONS) globals[k] = v;
    else args[k] = v;
  }
  if (ref !== undefined) args.ref = ref;
  if (arg !== undefined) args.arg = arg;
  return { kind: kind, args, text: seg.join(' '), globals: globals };
}

/** The global options of a sequence: each given once, or the same in every segment that gives it. */
function mergeGlobals(all: readonly GlobalArgs[]): GlobalArgs {
  const out: Record<string, unknown> = {};
  for (const g of all)
    for (const [k, v] of Object.entries(g)) {
      if (k in out && JSON.stringify(out[k]) !== JSON.stringify(v))
        throw new CliError(`--${k}: given with different values in one -- sequence`);
      out[k] = v;
    }
  return out;
}

/**
 * Runs one command line; returns the exit code. `bytes`: the arguments as the bytes they were given
 * (argv-bytes.ts; the entry points pass them), so an argument that is not UTF-8 is refused rather than
 * taken with U+FFFD in place of what was meant.
 */
export async function main(
  argv: string[],
  out = (s: string) => void process.stdout.write(`${s}\n`),
  errOut = (s: string) => void process.stderr.write(`${s}\n`),
  bytes?: readonly Uint8Array[],
): Promise<number> {
  try {
    if (argv.length === 0 && process.stdin.isTTY && process.stdout.isTTY) {
      const { shell } = await import('./shell.js');
      return await shell();
    }
    if (argv[0] === '__complete') {
      // Completion of a partly typed line for the bash and zsh scripts (complete.ts).
      const { completeLine } = await import('./complete.js');
      for (const c of await completeLine(argv.slice(1))) out(c);
      return 0;
    }
    // After completion, which offers what it can for any partly typed line and never refuses it.
    if (bytes !== undefined) checkArgvBytes(argv, bytes);
    const segs = segments(argv);
    const parsed = segs.map(parse);
    const cmds = parsed.map((p, i) => topologyCommand(p, segs[i]!));
    if (segs.length > 1) {
      const bad = cmds.findIndex((c) => c === undefined);
      if (bad >= 0)
        throw new CliError(
          segs[bad]!.length === 0
            ? `command ${bad + 1} of the -- sequence is empty`
            : `command ${bad + 1} of the -- sequence (${segs[bad]!.join(' ')}): only topology commands (KIND VERB ...) can be joined with --`,
        );
    }
    if (cmds[0] === undefined) {
      const { runFull } = await import('./full-cli.js');
      await runFull(argv, out);
      return 0;
    }
    const globals = mergeGlobals(cmds.map((c) => c!.globals));
    const wait = waitMs(globals);
    const { runCommands } = await import('./executor.js');
    await withStore(globals, (store) =>
      runCommands(store, cmds as Command[], {
        json: globals.json === true,
        print: out,
        note: errOut,
        ...(wait !== undefined ? { waitMs: wait } : {}),
      }),
    );
    return 0;
  } catch (e) {
    return reportError(e, errOut);
  }
}

/** Prints a failure as one line; returns the exit code (2 usage, 1 refused or unavailable). */
export function reportError(e: unknown, errOut: (s: string) => void): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const known = e instanceof CliError || e instanceof StoreError || e instanceof ConfigError;
  errOut(`midonet-cli: error: ${messageLine(err.message)}`);
  if (!known && process.env.MIDONET_DEBUG) errOut(String(err.stack));
  return e instanceof StoreError || e instanceof ConfigError ? 1 : e instanceof CliError ? e.exitCode : 2;
}
