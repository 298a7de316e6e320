/**
 * Completion of a partly typed command line, one engine for the interactive shell (shell.ts) and the
 * bash and zsh scripts (`midonet-cli completion bash|zsh`, which call `midonet-cli __complete WORDS`):
 * first words (kinds and the other commands), verbs, option flags of the kind and verb, option values
 * that name objects (`--bridge <TAB>`), and object names as the REF of a verb.
 *
 * Invariant: completion never writes, and never fails: a store that cannot be read gives no names.
 */
import type { Kind } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';
import { AGENT_VIEWS } from './agent-commands.js';
import { KIND_OPTIONS, CONDITION_OPTIONS } from './options.js';
import { CLI_KINDS, VERB_OPTIONS, optionFlags, verbsOf } from './topology-commands.js';

export const OTHER_COMMANDS = ['show', 'watch', 'trace', 'agent', 'token', 'completion', 'help'] as const;
const GLOBAL_FLAGS = [
  '--store',
  '--api',
  '--token',
  '--json',
  '--wait',
  '--wait-timeout',
  '--config',
  '--log-level',
];

/** Names of objects of `kind` (none when the store cannot be read). */
export type NameSource = (kind: Kind) => Promise<string[]>;

export function storeNames(store: TopologyStore): NameSource {
  return async (kind) => {
    try {
      return (await store.list(kind)).flatMap((o) => (typeof o.name === 'string' ? [o.name] : []));
    } catch {
      return [];
    }
  };
}

/** The kind whose names an option's value takes (`--bridge` -> bridge), if any. */
function refKindOf(kind: Kind | undefined, flag: string): Kind | undefined {
  const spec = kind ? KIND_OPTIONS[kind].find((s) => s.flag === flag) : undefined;
  if (spec && (spec.type.t === 'ref' || spec.type.t === 'refs')) return spec.type.kind;
  const cond = kind === 'rule' ? CONDITION_OPTIONS.find((c) => c.flag === flag) : undefined;
  if (cond && (cond.type.t === 'ref' || cond.type.t === 'refs')) return cond.type.kind;
  if (flag === 'host') return 'host';
  if (flag === 'port' || flag === 'router' || flag === 'bridge') return flag;
  return undefined;
}

/**
 * Candidates for the last word of `words` (the words typed so far; the last is the one being
 * completed, '' after a space). Commands joined with `--` complete each on its own.
 */
export async function complete(words: readonly string[], names: NameSource): Promise<string[]> {
  const cut = words.lastIndexOf('--');
  const w = cut >= 0 ? words.slice(cut + 1) : [...words];
  const cur = w.at(-1) ?? '';
  const before = w.slice(0, -1);
  const prev = before.at(-1);
  const positional = before.filter(
    (x, i) => !x.startsWith('--') && !(before[i - 1]?.startsWith('--') && !isBooleanFlag(before[i - 1]!)),
  );
  const starts = (xs: readonly string[]) => [...new Set(xs)].filter((x) => x.startsWith(cur)).sort();
  const first = positional[0];
  const kind =
    first !== undefined && (CLI_KINDS as readonly string[]).includes(first) ? (first as Kind) : undefined;
  // An option's value.
  if (prev?.startsWith('--') && !isBooleanFlag(prev)) {
    const flag = prev.slice(2);
    if (flag === 'format') return starts(['table', 'json', 'csv']);
    if (flag === 'log-level') return starts(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
    const k = refKindOf(kind, flag);
    return k ? starts(await names(k)) : [];
  }
  if (cur.startsWith('-')) {
    const verb = positional[1];
    const flags = kind
      ? optionFlags(kind).filter(
          (f) => verb === undefined || !VERB_OPTIONS[f] || VERB_OPTIONS[f].verbs.includes(verb),
        )
      : first === 'agent'
        ? ['host', 'port', 'device', 'tag', 'bridge', 'router', 'cookie', 'limit', 'count']
        : [];
    return starts([...flags.map((f) => `--${f}`), ...GLOBAL_FLAGS]);
  }
  if (positional.length === 0) return starts([...CLI_KINDS, ...OTHER_COMMANDS]);
  if (first === 'agent' && positional.length === 1) return starts(AGENT_VIEWS);
  if (first === 'completion' && positional.length === 1) return starts(['bash', 'zsh']);
  if (kind === undefined) return [];
  if (positional.length === 1) return starts(verbsOf(kind));
  if (positional.length === 2 && positional[1] !== 'create') {
    const parentKinds: Partial<Record<Kind, Kind[]>> = {
      port: ['bridge', 'router'],
      rule: ['chain'],
      route: ['router'],
    };
    const k =
      positional[1] === 'list'
        ? (parentKinds[kind] ?? [])
        : [kind === 'rule' && positional[1] === 'add' ? 'chain' : kind];
    return starts((await Promise.all(k.map(names))).flat());
  }
  if (positional.length === 3 && ['link'].includes(positional[1]!)) return starts(await names('port'));
  if (positional.length === 3 && ['add-port', 'remove-port'].includes(positional[1]!))
    return starts(await names('port'));
  return [];
}

/** `midonet-cli __complete WORDS`: candidates for the last word, names read from the selected store. */
export async function completeLine(typed: readonly string[]): Promise<string[]> {
  const ws = typed.length === 0 ? [''] : typed;
  const { openSelected } = await import('./store-access.js');
  const store = await openSelected({}).catch(() => undefined);
  try {
    return await complete(ws, store ? storeNames(store) : () => Promise.resolve([]));
  } finally {
    await store?.close().catch(() => undefined);
  }
}

function isBooleanFlag(f: string): boolean {
  const name = f.slice(2);
  return name === 'json' || name === 'wait' || VERB_OPTIONS[name]?.boolean === true;
}

/** The bash completion script: completes through `midonet-cli __complete`. */
export const BASH_SCRIPT = `# bash completion for midonet-cli (source it, or install it as
# /usr/share/bash-completion/completions/midonet-cli)
_midonet_cli() {
  local cur words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  words=("\${COMP_WORDS[@]:1:COMP_CWORD}")
  local IFS=$'\\n'
  COMPREPLY=($(midonet-cli __complete "\${words[@]}" 2>/dev/null))
}
complete -o default -F _midonet_cli midonet-cli
`;

/** The zsh completion script (#compdef): completes through `midonet-cli __complete`. */
export const ZSH_SCRIPT = `#compdef midonet-cli
# zsh completion for midonet-cli (install it as _midonet-cli in a directory of $fpath,
# e.g. /usr/share/zsh/vendor-completions)
_midonet-cli() {
  local -a candidates
  candidates=("\${(@f)$(midonet-cli __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _midonet-cli "$@"
else
  compdef _midonet-cli midonet-cli
fi
`;
