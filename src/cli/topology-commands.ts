/**
 * `midonet-cli <kind> <verb> [ref] [arg] [--field value ...]`: the topology commands, one generic
 * handler driven by the option table (options.ts). Verbs: create, list, show, update, delete for every
 * kind, plus port bind/unbind/link/unlink, tunnel-zone add-member/remove-member, rule add,
 * dhcp add-host/remove-host and port-group add-port/remove-port.
 *
 * Invariant: a command either completes one store transaction or changes nothing; every bad input is
 * a CliError or StoreError whose message names the option or field and the value.
 */
import { quote } from '../quote.js';
import { UNKNOWN_PEER, peerStates, type PeerView } from '../router/peer-state.js';
import {
  CONDITION_OPTIONS,
  CliError,
  KIND_OPTIONS,
  parseCondition,
  parseOption,
  type OptionSpec,
} from './options.js';
import { LIST_COLUMNS, block, nameIndex, scalar, table } from './output.js';
import { normalizeMac } from '../addr.js';
import { KINDS, type Kind, type Obj } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';

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
    kinds: ['rule'],
  },
};

/** Every option flag a kind's command accepts (fields, rule conditions, verb options). */
export function optionFlags(kind: Kind): string[] {
  return [
    ...new Set([
      ...KIND_OPTIONS[kind].map((s) => s.flag),
      ...(kind === 'rule' ? CONDITION_OPTIONS.map((c) => c.flag) : []),
      ...Object.entries(VERB_OPTIONS)
        .filter(([, v]) => !v.kinds || v.kinds.includes(kind))
        .map(([k]) => k),
    ]),
  ];
}

export interface Ctx {
  readonly store: TopologyStore;
  readonly json: boolean;
  readonly print: (text: string) => void;
}

export type Args = Record<string, unknown> & { verb: string; ref?: string; arg?: string };

function given(args: Args, flag: string): string | undefined {
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

/** The options a kind's fields accept, minus those not meaningful for the verb. */
function fieldOptions(kind: Kind): readonly OptionSpec[] {
  return KIND_OPTIONS[kind];
}

async function collectFields(
  ctx: Ctx,
  kind: Kind,
  args: Args,
  creating: boolean,
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const spec of fieldOptions(kind)) {
    const raw = given(args, spec.flag);
    if (raw === undefined) continue;
    if (spec.field in out)
      throw new CliError(`--${spec.flag}: conflicts with another option setting ${spec.field}`);
    out[spec.field] = await parseOption(ctx.store, spec.flag, spec.type, raw);
  }
  if (creating) {
    if (out.name === undefined && args.ref !== undefined && KIND_OPTIONS[kind].some((s) => s.flag === 'name'))
      out.name = args.ref;
    for (const spec of fieldOptions(kind)) {
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
  ctx: Ctx,
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
    const v = await parseCondition(ctx.store, spec, raw);
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
  const fieldFlags = new Set([
    ...KIND_OPTIONS[kind].map((s) => s.flag),
    ...(kind === 'rule' ? CONDITION_OPTIONS.map((c) => c.flag) : []),
  ]);
  const takesFields = verb === 'create' || verb === 'update' || verb === 'add' || verb === 'list';
  for (const k of optionFlags(kind)) {
    if (args[k] === undefined || args[k] === false) continue;
    if (fieldFlags.has(k)) {
      if (!takesFields) throw new CliError(`--${k}: does not apply to ${quote(`${kind} ${verb}`)}`);
      if (verb === 'list' && kind === 'rule' && k !== 'chain')
        throw new CliError(`--${k}: 'rule list' filters by --chain only`);
      continue;
    }
    if (!VERB_OPTIONS[k]!.verbs.includes(verb))
      throw new CliError(`--${k}: does not apply to ${quote(`${kind} ${verb}`)}`);
  }
}

export async function runTopologyCommand(ctx: Ctx, kind: Kind, args: Args): Promise<void> {
  const { store } = ctx;
  const verb = args.verb;
  if (!verbsOf(kind).includes(verb)) {
    throw new CliError(`${kind}: unknown verb ${quote(verb)}; allowed: ${verbsOf(kind).join(', ')}`);
  }
  checkApplicable(kind, verb, args);
  const names = async () => nameIndex((await store.snapshot()).objects.map((o) => o.object));
  const emit = async (obj: Obj, verbDone: string) => {
    if (ctx.json) ctx.print(JSON.stringify(await decorate(store, kind, obj), null, 2));
    else if (verbDone === 'created') ctx.print(obj.id);
    else
      ctx.print(
        `${verbDone} ${kind} ${typeof obj.name === 'string' ? `${quote(obj.name)}` : obj.id} (version ${obj.version})`,
      );
  };
  const expectedVersion = parseIntArg(args, 'expected-version', 1);

  switch (verb) {
    case 'create':
    case 'add': {
      if (verb === 'add' && kind === 'rule' && args.ref !== undefined && args.chain === undefined)
        args.chain = args.ref;
      if (kind === 'rule') args.ref = undefined;
      const fields = await collectFields(ctx, kind, args, true);
      if (kind === 'rule') {
        const conditions = await collectConditions(ctx, args, {});
        if (conditions) fields.conditions = conditions;
      }
      const position = parseIntArg(args, 'position', 1);
      const obj = await store.create(kind, fields, position !== undefined ? { position } : {});
      return emit(obj, 'created');
    }
    case 'list': {
      let objs: Obj[];
      const filters = await collectFields(ctx, kind, args, false);
      const refFilter = Object.entries(filters).find(([f]) => f.endsWith('Id') && f !== 'id');
      objs = refFilter
        ? await store.list(kind, { refersTo: refFilter[1] as string })
        : await store.list(kind);
      for (const [f, v] of Object.entries(filters)) {
        objs = objs.filter(
          (o) => JSON.stringify((o as unknown as Record<string, unknown>)[f]) === JSON.stringify(v),
        );
      }
      if (kind === 'rule' && refFilter) {
        const chain = await store.get('chain', refFilter[1] as string);
        const order = new Map(chain?.ruleIds.map((id, i) => [id, i]) ?? []);
        objs.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
      }
      const rows = await Promise.all(objs.map((o) => decorate(store, kind, o)));
      if (ctx.json) return ctx.print(JSON.stringify(rows, null, 2));
      return ctx.print(
        rows.length === 0 ? `no ${kind} objects` : table(rows, LIST_COLUMNS[kind], await names()),
      );
    }
    case 'show': {
      const obj = await store.resolve(kind, needRef(kind, verb, args));
      const d = await decorate(store, kind, obj);
      return ctx.print(ctx.json ? JSON.stringify(d, null, 2) : block(d, await names()));
    }
    case 'update': {
      const cur = await store.resolve(kind, needRef(kind, verb, args));
      const set = await collectFields(ctx, kind, args, false);
      if (kind === 'rule') {
        const conditions = await collectConditions(ctx, args, (cur as Obj<'rule'>).conditions);
        if (conditions) set.conditions = conditions;
      }
      const position = parseIntArg(args, 'position', 1);
      if (Object.keys(set).length === 0 && position === undefined)
        throw new CliError(`${kind} update: nothing to change; give at least one --field value`);
      const obj = await store.update(kind, cur.id, set, {
        ...(expectedVersion !== undefined ? { expectedVersion } : {}),
        ...(position !== undefined ? { position } : {}),
      });
      return emit(obj, 'updated');
    }
    case 'delete': {
      const cur = await store.resolve(kind, needRef(kind, verb, args));
      const deleted = await store.delete(kind, cur.id, {
        cascade: args.cascade === true,
        ...(expectedVersion !== undefined ? { expectedVersion } : {}),
      });
      if (ctx.json) return ctx.print(JSON.stringify({ deleted }, null, 2));
      return ctx.print(
        deleted.map((d) => `deleted ${d.kind} ${d.name !== null ? `${quote(d.name)}` : d.id}`).join('\n'),
      );
    }
    case 'bind': {
      const port = await store.resolve('port', needRef(kind, verb, args));
      const hostRef = given(args, 'host');
      const iface = given(args, 'interface');
      if (!hostRef || !iface) throw new CliError('port bind: --host and --interface are required');
      const host = await store.resolve('host', hostRef);
      return emit(
        await store.update(
          'port',
          port.id,
          { hostId: host.id, interfaceName: iface },
          expectedVersion ? { expectedVersion } : {},
        ),
        'bound',
      );
    }
    case 'unbind': {
      const port = await store.resolve('port', needRef(kind, verb, args));
      return emit(await store.update('port', port.id, { hostId: null, interfaceName: null }), 'unbound');
    }
    case 'link': {
      const port = await store.resolve('port', needRef(kind, verb, args));
      if (!args.arg) throw new CliError('port link: give the peer port: port link PORT PEER');
      const peer = await store.resolve('port', args.arg);
      return emit(await store.update('port', port.id, { peerId: peer.id }), 'linked');
    }
    case 'unlink': {
      const port = await store.resolve('port', needRef(kind, verb, args));
      return emit(await store.update('port', port.id, { peerId: null }), 'unlinked');
    }
    case 'add-member':
    case 'remove-member': {
      const tz = await store.resolve('tunnel-zone', needRef(kind, verb, args));
      const hostRef = given(args, 'host');
      if (!hostRef) throw new CliError(`tunnel-zone ${verb}: --host is required`);
      const host = await store.resolve('host', hostRef);
      const others = tz.members.filter((m) => m.hostId !== host.id);
      if (verb === 'remove-member') {
        if (others.length === tz.members.length)
          throw new CliError(
            `tunnel-zone ${verb}: host ${quote(host.name)} is not a member of ${quote(tz.name)}`,
          );
        return emit(
          await store.update('tunnel-zone', tz.id, { members: others }, { expectedVersion: tz.version }),
          'updated',
        );
      }
      const address = given(args, 'address') ?? host.addresses[0];
      if (!address)
        throw new CliError(
          `tunnel-zone add-member: --address is required (host ${quote(host.name)} has no address)`,
        );
      if (others.length !== tz.members.length)
        throw new CliError(
          `tunnel-zone add-member: host ${quote(host.name)} is already a member of ${quote(tz.name)}`,
        );
      return emit(
        await store.update(
          'tunnel-zone',
          tz.id,
          { members: [...tz.members, { hostId: host.id, address }] },
          { expectedVersion: tz.version },
        ),
        'updated',
      );
    }
    case 'add-host':
    case 'remove-host': {
      const d = await store.resolve('dhcp', needRef(kind, verb, args));
      const macRaw = given(args, 'mac');
      if (!macRaw) throw new CliError(`dhcp ${verb}: --mac is required`);
      const mac = normalizeMac(macRaw);
      if (!mac)
        throw new CliError(`--mac: ${quote(macRaw)} is not valid: expected a MAC such as 02:00:00:00:00:01`);
      const others = d.hosts.filter((h) => h.mac !== mac);
      if (verb === 'remove-host') {
        if (others.length === d.hosts.length)
          throw new CliError(`dhcp remove-host: no host entry with MAC ${mac} in ${quote(d.name)}`);
        return emit(
          await store.update('dhcp', d.id, { hosts: others }, { expectedVersion: d.version }),
          'updated',
        );
      }
      const address = given(args, 'address');
      if (!address) throw new CliError('dhcp add-host: --address is required');
      const hostName = given(args, 'host-name');
      const entry = { mac, address, ...(hostName ? { name: hostName } : {}) };
      return emit(
        await store.update('dhcp', d.id, { hosts: [...others, entry] }, { expectedVersion: d.version }),
        'updated',
      );
    }
    case 'add-port':
    case 'remove-port': {
      const pg = await store.resolve('port-group', needRef(kind, verb, args));
      if (!args.arg) throw new CliError(`port-group ${verb}: give the port: port-group ${verb} GROUP PORT`);
      const port = await store.resolve('port', args.arg);
      const others = pg.portIds.filter((id) => id !== port.id);
      if (verb === 'add-port' && others.length !== pg.portIds.length)
        throw new CliError(`port-group add-port: port ${quote(port.name)} is already in ${quote(pg.name)}`);
      if (verb === 'remove-port' && others.length === pg.portIds.length)
        throw new CliError(`port-group remove-port: port ${quote(port.name)} is not in ${quote(pg.name)}`);
      const portIds = verb === 'add-port' ? [...pg.portIds, port.id] : others;
      return emit(
        await store.update('port-group', pg.id, { portIds }, { expectedVersion: pg.version }),
        'updated',
      );
    }
    default:
      throw new CliError(`${kind}: unknown verb ${quote(verb)}`);
  }
}

/** Adds derived, read-only fields for display: a host's liveness, a rule's position. */
const bgpStateCache = new WeakMap<TopologyStore, Promise<Map<string, PeerView>>>();
/** BGP peer states, read once per command. */
function bgpStates(store: TopologyStore): Promise<Map<string, PeerView>> {
  let p = bgpStateCache.get(store);
  if (p === undefined) bgpStateCache.set(store, (p = peerStates(store)));
  return p;
}

async function decorate(store: TopologyStore, kind: Kind, obj: Obj): Promise<Record<string, unknown>> {
  if (kind === 'host') {
    const l = (await store.liveness()).find((x) => x.hostId === obj.id);
    return {
      ...obj,
      alive: l?.alive ?? false,
      agentVersion: l?.info.agentVersion ?? null,
      flows: l?.alive ? (l.info.flows ?? null) : null,
      lastChangeApplied: l?.info.lastChangeApplied ?? null,
      lastSeen: l ? new Date(l.renewedAt).toISOString() : null,
    };
  }
  if (kind === 'bgp-peer') {
    // Live session state from the midonet-router serving the peer (router/peer-state.ts).
    const st = (await bgpStates(store)).get(obj.id) ?? UNKNOWN_PEER;
    return { ...obj, ...st };
  }
  if (kind === 'router') {
    const peers = await store.list('bgp-peer');
    const ports = new Set((await store.list('port')).filter((p) => p.deviceId === obj.id).map((p) => p.id));
    const states = await bgpStates(store);
    const bgp = peers
      .filter((p) => ports.has(p.portId))
      .map((p) => ({
        peer: p.name,
        peerAddress: p.peerAddress,
        peerAs: p.peerAs,
        ...(states.get(p.id) ?? UNKNOWN_PEER),
      }));
    return bgp.length > 0 ? { ...obj, bgpPeers: bgp } : (obj as unknown as Record<string, unknown>);
  }
  if (kind === 'rule') {
    const chain = await store.get('chain', (obj as Obj<'rule'>).chainId);
    return { ...obj, position: (chain?.ruleIds.indexOf(obj.id) ?? -1) + 1 };
  }
  if (kind === 'dhcp-lease')
    return { ...obj, expires: new Date((obj as Obj<'dhcp-lease'>).expiresAt).toISOString() };
  return obj as unknown as Record<string, unknown>;
}
