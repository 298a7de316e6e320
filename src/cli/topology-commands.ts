/**
 * `midonet-cli <kind> <verb> [ref] [arg] [--field value ...]`: the topology commands, one generic
 * planner driven by the option table (options.ts). Verbs: create, list, show, update, delete for every
 * kind, plus port bind/unbind/link/unlink, tunnel-zone add-member/remove-member, rule add,
 * dhcp add-host/remove-host and port-group add-port/remove-port. `--may-exist` makes a create (or an
 * add/link/bind) that is already done a no-op; `--if-exists` does the same for a delete (or a
 * remove/unlink/unbind) of something that is not there.
 *
 * A command is planned, not run: `planTopologyCommand` reads what it needs and returns the store ops
 * it wants and how to print their results. The executor (executor.ts) commits one command's ops, or
 * the ops of several commands (`--` sequences) in one transaction.
 *
 * Invariant: planning never writes; every bad input is a CliError or StoreError whose message names
 * the option or field and the value.
 */
import { quote } from '../quote.js';
import { KINDS, type Kind, type Obj } from '../state/model.js';
import type { Op, TopologyStore } from '../state/store.js';
import type { OpResult } from '../state/transaction.js';
import { CONDITION_OPTIONS, CliError, KIND_OPTIONS, parseCondition, parseOption } from './options.js';
import { MIRROR_EXCLUDED_CONDITIONS } from './mirror-options.js';
import { scalar } from './output.js';
import { listCommand, showCommand, decorate } from './views.js';
import { planRelation } from './relation-commands.js';

export const BASE_VERBS = ['create', 'list', 'show', 'update', 'delete'] as const;

export const EXTRA_VERBS: Partial<Record<Kind, readonly string[]>> = {
  port: ['bind', 'unbind', 'link', 'unlink'],
  'tunnel-zone': ['add-member', 'remove-member'],
  rule: ['add'],
  dhcp: ['add-host', 'remove-host'],
  'port-group': ['add-port', 'remove-port'],
};

/** Kinds whose objects the system makes itself: people list, show and delete them only. */
const READ_DELETE_KINDS: ReadonlySet<Kind> = new Set<Kind>(['dhcp-lease', 'nat-block']);

export function verbsOf(kind: Kind): string[] {
  if (READ_DELETE_KINDS.has(kind)) return ['list', 'show', 'delete'];
  return [...BASE_VERBS, ...(EXTRA_VERBS[kind] ?? [])];
}

/** Kinds with `midonet-cli KIND VERB` commands (tokens have `midonet-cli token`, which shows secrets once). */
export const CLI_KINDS: readonly Kind[] = KINDS.filter((k) => k !== 'api-token');

/** Verbs that write (the rest only read). */
export const WRITE_VERBS: ReadonlySet<string> = new Set([
  'create',
  'update',
  'delete',
  'add',
  ...Object.values(EXTRA_VERBS).flat(),
]);

/** Verbs `--may-exist` / `--if-exists` apply to. */
export const MAY_EXIST_VERBS = ['create', 'add', 'bind', 'link', 'add-member', 'add-host', 'add-port'];
export const IF_EXISTS_VERBS = ['delete', 'unbind', 'unlink', 'remove-member', 'remove-host', 'remove-port'];

/** Options that belong to particular verbs rather than to a kind's fields. */
export const VERB_OPTIONS: Record<
  string,
  { describe: string; verbs: string[]; kinds?: Kind[]; boolean?: boolean }
> = {
  host: {
    describe: 'host (name or id) to bind to / of the member',
    verbs: ['bind', 'add-member', 'remove-member'],
    kinds: ['port', 'tunnel-zone'],
  },
  interface: { describe: 'interface name on the host', verbs: ['bind'], kinds: ['port'] },
  address: {
    describe: 'underlay address of a member / address of a DHCP host entry',
    verbs: ['add-member', 'add-host'],
    kinds: ['tunnel-zone', 'dhcp'],
  },
  mac: { describe: 'MAC of a static DHCP host entry', verbs: ['add-host', 'remove-host'], kinds: ['dhcp'] },
  'host-name': { describe: 'host name of a static DHCP host entry', verbs: ['add-host'], kinds: ['dhcp'] },
  cascade: {
    describe: 'also delete what depends on it and clear references to it',
    verbs: ['delete'],
    boolean: true,
  },
  'expected-version': {
    describe: 'refuse unless the stored version is this one',
    verbs: ['update', 'delete', 'bind'],
  },
  position: {
    describe: 'rule position in its chain (1 = first)',
    verbs: ['add', 'create', 'update'],
    kinds: ['rule'],
  },
  invert: {
    describe: 'conditions to invert, comma-separated option names (e.g. dst,dst-port)',
    verbs: ['add', 'create', 'update'],
    kinds: ['rule', 'mirror'],
  },
  'may-exist': {
    describe: 'do nothing (and succeed) when it is already there',
    verbs: MAY_EXIST_VERBS,
    boolean: true,
  },
  'if-exists': {
    describe: 'do nothing (and succeed) when it is not there',
    verbs: IF_EXISTS_VERBS,
    boolean: true,
  },
  columns: { describe: 'list/show: the columns (fields) to print, comma-separated', verbs: ['list', 'show'] },
  format: { describe: 'list/show: table (default), json or csv', verbs: ['list', 'show'] },
};

/** The condition flags a kind takes: a rule's, or a mirror's match filter. */
function conditionFlags(kind: Kind): string[] {
  if (kind === 'rule') return CONDITION_OPTIONS.map((c) => c.flag);
  if (kind === 'mirror')
    return CONDITION_OPTIONS.map((c) => c.flag).filter((f) => !MIRROR_EXCLUDED_CONDITIONS.has(f));
  return [];
}

/** Every option flag a kind's command accepts (fields, rule conditions, verb options). */
export function optionFlags(kind: Kind): string[] {
  return [
    ...new Set([
      ...KIND_OPTIONS[kind].map((s) => s.flag),
      ...conditionFlags(kind),
      ...Object.entries(VERB_OPTIONS)
        .filter(([, v]) => !v.kinds || v.kinds.includes(kind))
        .map(([k]) => k),
    ]),
  ];
}

export interface Ctx {
  readonly store: TopologyStore;
  readonly json: boolean;
}

export type Args = Record<string, unknown> & { verb: string; ref?: string; arg?: string };

/** What a planned command commits and prints. */
export interface Planned {
  /** Store ops to commit, in order (none: a read, or nothing to do). */
  readonly ops: Op[];
  /** The command's output, given the results of its ops (same order). */
  readonly output: (results: readonly OpResult[]) => string | undefined;
}

export function given(args: Record<string, unknown>, flag: string): string | undefined {
  const v = args[flag];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new CliError(`--${flag}: given more than once`);
  return typeof v === 'string' ? v : scalar(v);
}

function needRef(kind: Kind, verb: string, args: Args): string {
  if (args.ref === undefined || args.ref === '')
    throw new CliError(`${kind} ${verb}: which ${kind}? give its name or id`);
  return args.ref;
}

export async function collectFields(
  store: TopologyStore,
  kind: Kind,
  args: Args,
  creating: boolean,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const spec of KIND_OPTIONS[kind]) {
    const raw = given(args, spec.flag);
    if (raw === undefined) continue;
    if (spec.field in out)
      throw new CliError(`--${spec.flag}: conflicts with another option setting ${spec.field}`);
    out[spec.field] = await parseOption(store, spec.flag, spec.type, raw);
  }
  if (creating) {
    if (out.name === undefined && args.ref !== undefined && KIND_OPTIONS[kind].some((s) => s.flag === 'name'))
      out.name = args.ref;
    for (const spec of KIND_OPTIONS[kind]) {
      if (spec.required && out[spec.field] === undefined)
        throw new CliError(`${kind} create: --${spec.flag} is required (${spec.describe})`);
    }
    if (kind === 'port' && out.deviceId === undefined)
      throw new CliError('port create: --bridge or --router is required');
    if (kind !== 'route' && kind !== 'rule' && kind !== 'bgp-network' && out.name === undefined) {
      throw new CliError(`${kind} create: a name is required (--name NAME or ${kind} create NAME)`);
    }
  }
  return out;
}

async function collectConditions(
  store: TopologyStore,
  args: Args,
  existing: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  const inv = given(args, 'invert');
  const inverted = new Set(inv ? inv.split(',').map((x) => x.trim()) : []);
  for (const f of inverted) {
    if (!CONDITION_OPTIONS.some((c) => c.flag === f)) {
      throw new CliError(
        `--invert: ${quote(f)} is not a condition; allowed: ${CONDITION_OPTIONS.map((c) => c.flag).join(', ')}`,
      );
    }
  }
  const out: Record<string, unknown> = { ...existing };
  let touched = false;
  for (const spec of CONDITION_OPTIONS) {
    const raw = given(args, spec.flag);
    if (raw === undefined) {
      if (inverted.has(spec.flag)) {
        const cur = out[spec.cond] as { invert: boolean } | undefined;
        if (!cur) throw new CliError(`--invert ${spec.flag}: the rule has no ${spec.flag} condition`);
        out[spec.cond] = { ...cur, invert: true };
        touched = true;
      }
      continue;
    }
    touched = true;
    if (raw === 'none') {
      delete out[spec.cond];
      continue;
    }
    const v = await parseCondition(store, spec, raw);
    const invert = inverted.has(spec.flag);
    out[spec.cond] =
      spec.cond === 'srcMac' || spec.cond === 'dstMac' ? { ...(v as object), invert } : { value: v, invert };
  }
  return touched ? out : undefined;
}

function parseIntArg(args: Args, flag: string, min: number): number | undefined {
  const raw = given(args, flag);
  if (raw === undefined) return undefined;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min)
    throw new CliError(`--${flag}: ${quote(raw)} is not valid: expected a whole number from ${min}`);
  return Number(raw);
}

/** Refuses options that do not apply to this kind and verb, naming them. */
function checkApplicable(kind: Kind, verb: string, args: Args): void {
  const fieldFlags = new Set([...KIND_OPTIONS[kind].map((s) => s.flag), ...conditionFlags(kind)]);
  const takesFields = verb === 'create' || verb === 'update' || verb === 'add' || verb === 'list';
  for (const k of optionFlags(kind)) {
    if (args[k] === undefined || args[k] === false) continue;
    if (fieldFlags.has(k)) {
      if (!takesFields) throw new CliError(`--${k}: does not apply to '${kind} ${verb}'`);
      if (verb === 'list' && kind === 'rule' && k !== 'chain')
        throw new CliError(`--${k}: 'rule list' filters by --chain only`);
      continue;
    }
    if (!VERB_OPTIONS[k]!.verbs.includes(verb))
      throw new CliError(`--${k}: does not apply to '${kind} ${verb}'`);
  }
  const unnamed = kind === 'route' || kind === 'rule' || kind === 'bgp-network' || args.ref === undefined;
  if (
    args['may-exist'] === true &&
    (verb === 'create' || verb === 'add') &&
    unnamed &&
    args.name === undefined
  )
    throw new CliError(`--may-exist: needs the name to look for (--name NAME); ${kind} create has none`);
}

export const nothing = (): Planned => ({ ops: [], output: () => undefined });
const label = (kind: Kind, o: { id: string; name?: unknown }) =>
  `${kind} ${typeof o.name === 'string' ? `${quote(o.name)}` : o.id}`;

/** Finds by name or id; undefined (instead of an error) when it is not there. */
export async function find<K extends Kind>(
  store: TopologyStore,
  kind: K,
  ref: string,
): Promise<Obj<K> | undefined> {
  try {
    return await store.resolve(kind, ref);
  } catch (e) {
    if ((e as { code?: string }).code === 'not-found') return undefined;
    throw e;
  }
}

export async function planTopologyCommand(ctx: Ctx, kind: Kind, args: Args): Promise<Planned> {
  const { store } = ctx;
  const verb = args.verb;
  if (!verbsOf(kind).includes(verb)) {
    throw new CliError(`${kind}: unknown verb ${quote(verb)}; allowed: ${verbsOf(kind).join(', ')}`);
  }
  checkApplicable(kind, verb, args);
  const mayExist = args['may-exist'] === true;
  const ifExists = args['if-exists'] === true;
  /** One write whose result is printed as `VERBED kind 'name' (version N)`, or as JSON. */
  const write = (op: Op, done: string): Planned => ({
    ops: [op],
    output: ([r]) => {
      const obj = r as Obj;
      if (ctx.json) return JSON.stringify(obj, null, 2);
      return done === 'created' ? obj.id : `${done} ${label(kind, obj)} (version ${obj.version})`;
    },
  });
  /** Already done (--may-exist): print what a successful write would have printed. */
  const already = (obj: Obj, done: string): Planned => ({
    ops: [],
    output: () =>
      ctx.json
        ? JSON.stringify(obj, null, 2)
        : done === 'created'
          ? obj.id
          : `${label(kind, obj)} is already ${done} (version ${obj.version})`,
  });
  const expectedVersion = parseIntArg(args, 'expected-version', 1);
  const ev = expectedVersion !== undefined ? { expectedVersion } : {};

  switch (verb) {
    case 'create':
    case 'add': {
      if (verb === 'add' && kind === 'rule' && args.ref !== undefined && args.chain === undefined)
        args.chain = args.ref;
      if (kind === 'rule') args.ref = undefined;
      const fields = await collectFields(store, kind, args, true);
      if (mayExist && typeof fields.name === 'string') {
        const cur = await find(store, kind, fields.name);
        if (cur) return already(cur, 'created');
      }
      if (kind === 'rule' || kind === 'mirror') {
        const conditions = await collectConditions(store, args, {});
        if (conditions) fields.conditions = conditions;
      }
      const position = parseIntArg(args, 'position', 1);
      return write(
        { op: 'create', kind, fields, ...(position !== undefined ? { position } : {}) },
        'created',
      );
    }
    case 'list':
      return listCommand(ctx, kind, args);
    case 'show':
      return showCommand(ctx, kind, await store.resolve(kind, needRef(kind, verb, args)), args);
    case 'update': {
      const cur = await store.resolve(kind, needRef(kind, verb, args));
      const set = await collectFields(store, kind, args, false);
      if (kind === 'rule' || kind === 'mirror') {
        const conditions = await collectConditions(store, args, (cur as Obj<'rule'>).conditions);
        if (conditions) set.conditions = conditions;
      }
      const position = parseIntArg(args, 'position', 1);
      if (Object.keys(set).length === 0 && position === undefined)
        throw new CliError(`${kind} update: nothing to change; give at least one --field value`);
      return write(
        { op: 'update', kind, id: cur.id, set, ...ev, ...(position !== undefined ? { position } : {}) },
        'updated',
      );
    }
    case 'delete': {
      const ref = needRef(kind, verb, args);
      const cur = ifExists ? await find(store, kind, ref) : await store.resolve(kind, ref);
      if (cur === undefined)
        return { ops: [], output: () => (ctx.json ? JSON.stringify({ deleted: [] }, null, 2) : undefined) };
      return {
        ops: [{ op: 'delete', kind, id: cur.id, cascade: args.cascade === true, ...ev }],
        output: ([r]) => {
          const deleted = (r as { deleted: Array<{ kind: Kind; id: string; name: string | null }> }).deleted;
          if (ctx.json) return JSON.stringify({ deleted }, null, 2);
          return deleted
            .map((d) => `deleted ${d.kind} ${d.name !== null ? `${quote(d.name)}` : d.id}`)
            .join('\n');
        },
      };
    }
    default:
      return planRelation(ctx, kind, verb, args, { write, already, ev, mayExist, ifExists, needRef });
  }
}

export { decorate };
