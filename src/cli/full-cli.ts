/**
 * The whole midonet-cli as yargs commands: help for every kind and command (`midonet-cli port --help`),
 * the commands beside the topology kinds (show, watch, trace, agent, token, completion, and the
 * hidden __complete the completion scripts call), and the topology kinds themselves for calls the
 * short road of main.ts leaves here (e.g. a kind with no verb, to print its usage).
 *
 * Invariant: every handler ends in one line of error through main.ts's reporter; topology commands
 * run through the same planner and executor as on the short road.
 */
import { quote } from '../quote.js';
import { usageMessage } from '../daemon-args.js';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { LOG_LEVELS } from '../log-levels.js';
import { unknownKindMessage, type Kind } from '../state/model.js';
import { agentCommand } from './agent-commands.js';
import { BASH_SCRIPT, ZSH_SCRIPT } from './complete.js';
import { runCommands } from './executor.js';
import { extraCommands } from './extra-commands.js';
import { GLOBAL_OPTIONS, VERSION, parse } from './main.js';
import { CliError, CONDITION_OPTIONS, KIND_OPTIONS } from './options.js';
import { waitMs, withStore, type GlobalArgs } from './store-access.js';
import { tokenCommand } from './token-commands.js';
import { CLI_KINDS, VERB_OPTIONS, optionFlags, verbsOf, type Args } from './topology-commands.js';

function describeOption(kind: Kind, flag: string): string {
  return (
    KIND_OPTIONS[kind].find((s) => s.flag === flag)?.describe ??
    CONDITION_OPTIONS.find((c) => c.flag === flag)?.describe ??
    VERB_OPTIONS[flag]?.describe ??
    ''
  );
}

function one(g: Record<string, unknown>, flag: string): string | undefined {
  const v = g[flag];
  if (Array.isArray(v)) throw new CliError(`--${flag}: given more than once`);
  return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
}

function showCommand(print: (s: string) => void): CommandModule {
  return {
    command: 'show',
    describe: 'the whole topology as a tree (routers, bridges, their ports, peers, bindings, chains, hosts)',
    handler: async (a) => {
      await withStore(a as GlobalArgs, async (store) => {
        const { overview } = await import('./overview.js');
        print(await overview(store));
      });
    },
  };
}

function watchCommand(print: (s: string) => void): CommandModule {
  return {
    command: 'watch',
    describe: 'follow the change feed: print each change as it commits (Ctrl-C stops)',
    builder: (y: Argv) =>
      y
        .option('from', { type: 'string', describe: 'start after this feed position (default: now)' })
        .option('kind', { type: 'string', describe: 'only changes of this kind' })
        .option('count', { type: 'string', describe: 'stop after this many changes' }),
    handler: async (a) => {
      const g = a as GlobalArgs & Record<string, unknown>;
      const int = (flag: string) => {
        const v = one(g, flag);
        if (v !== undefined && !/^[0-9]+$/.test(v))
          throw new CliError(`--${flag}: ${quote(v)} is not valid: expected a whole number`);
        return v === undefined ? undefined : Number(v);
      };
      const kind = one(g, 'kind');
      if (kind !== undefined && !(CLI_KINDS as readonly string[]).includes(kind))
        throw new CliError(`--kind: ${quote(kind)} is not a kind; allowed: ${CLI_KINDS.join(', ')}`);
      const from = int('from');
      const count = int('count');
      await withStore(g, async (store) => {
        const { watchChanges } = await import('./watch.js');
        await watchChanges(store, {
          json: g.json === true,
          print,
          ...(from !== undefined ? { from } : {}),
          ...(count !== undefined ? { count } : {}),
          ...(kind !== undefined ? { kind: kind as Kind } : {}),
        });
      });
    },
  };
}

function completionCommand(print: (s: string) => void): CommandModule[] {
  return [
    {
      command: 'completion [shell]',
      describe: 'print a completion script: bash (default) or zsh',
      builder: (y: Argv) => y.positional('shell', { choices: ['bash', 'zsh'], type: 'string' }),
      handler: (a) => print(a.shell === 'zsh' ? ZSH_SCRIPT : BASH_SCRIPT),
    },
  ];
}

export function buildCli(argv: string[], print: (s: string) => void): Argv {
  let cli = yargs(argv)
    .scriptName('midonet-cli')
    .usage('$0 <kind> <verb> [ref] [arg] [--field value ...] [-- <kind> <verb> ...]')
    .parserConfiguration({
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'boolean-negation': false,
      'duplicate-arguments-array': true,
    });
  for (const [k, o] of Object.entries(GLOBAL_OPTIONS))
    cli = cli.option(k, {
      type: o.boolean ? 'boolean' : 'string',
      describe: o.describe,
      ...(k === 'log-level' ? { choices: LOG_LEVELS } : {}),
    });
  for (const kind of CLI_KINDS) {
    cli = cli.command(
      `${kind} <verb> [ref] [arg]`,
      `${verbsOf(kind).join('|')} ${kind} objects`,
      (y) => {
        let c = y
          .positional('verb', { choices: verbsOf(kind), type: 'string' })
          .positional('ref', { type: 'string', describe: 'name or id (list: the parent to filter by)' })
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
        const wait = waitMs(g);
        await withStore(g, (store) =>
          runCommands(store, [{ kind, args: g, text: `${kind} ${g.verb}` }], {
            json: g.json === true,
            print,
            note: (s) => void process.stderr.write(`${s}\n`),
            ...(wait !== undefined ? { waitMs: wait } : {}),
          }),
        );
      },
    );
  }
  const others = [
    showCommand(print),
    watchCommand(print),
    ...extraCommands(print),
    agentCommand(print),
    tokenCommand(print),
    ...completionCommand(print),
  ];
  for (const cmd of others) cli = cli.command(cmd);
  return cli
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
      if (verb) throw new CliError(`unknown verb ${quote(verb[1])}; allowed: ${verb[2]!.replace(/"/g, '')}`);
      const meant = /^Did you mean (.*)\?$/.exec(line);
      const typed = parse(argv).positional[0];
      if (meant && typed !== undefined)
        throw new CliError(
          `unknown kind or command ${quote(typed)}; did you mean ${meant[1]!}? kinds are: ${CLI_KINDS.join(', ')}; other commands: ${OTHER_COMMANDS.join(', ')}`,
        );
      throw new CliError(usageMessage(msg));
    });
}

const OTHER_COMMANDS: readonly string[] = ['show', 'watch', 'trace', 'agent', 'token', 'completion'];
const COMMANDS: readonly string[] = [...CLI_KINDS, ...OTHER_COMMANDS];

/** Runs a call the short road does not take. */
export async function runFull(argv: string[], print: (s: string) => void): Promise<void> {
  await buildCli(argv, print).parseAsync();
}
