/**
 * The read verbs of the topology commands: `KIND list [PARENT]` and `KIND show REF`, with the output
 * controls `--columns a,b` and `--format table|json|csv` (`--json` = `--format json`), `router show`
 * with the router's effective routing table (what the simulation routes by: stored routes, BGP routes,
 * and each port's connected and local routes, marked as such), and `chain show` with its rules as a
 * table.
 *
 * Invariant: reads only; an unknown column is refused with the list of columns; a positional argument
 * of `list` filters by the kind's parent (a port's bridge or router, a rule's chain, ...) or is refused,
 * never ignored.
 */
import { quote } from '../quote.js';
import { formatIpv4 } from '../addr.js';
import type { Kind, Obj } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';
import { CliError, KIND_OPTIONS } from './options.js';
import { HEADER, LIST_COLUMNS, block, csv, nameIndex, renderConditions, table, valueOf } from './output.js';
import { lbTables } from './lb-show.js';
import { collectFields, given, type Args, type Ctx, type Planned } from './topology-commands.js';

/** `KIND list PARENT`: the kinds whose list takes a positional parent, and the field it fills. */
export const LIST_PARENT: Partial<Record<Kind, { field: string; kinds: readonly Kind[] }>> = {
  port: { field: 'deviceId', kinds: ['bridge', 'router'] },
  rule: { field: 'chainId', kinds: ['chain'] },
  route: { field: 'routerId', kinds: ['router'] },
  'bgp-network': { field: 'routerId', kinds: ['router'] },
  'bgp-peer': { field: 'portId', kinds: ['port'] },
  dhcp: { field: 'bridgeId', kinds: ['bridge'] },
  'dhcp-lease': { field: 'dhcpId', kinds: ['dhcp'] },
};

/** Fields `decorate` adds per kind (they can be columns too). */
const DERIVED: Partial<Record<Kind, readonly string[]>> = {
  host: ['alive', 'agentVersion', 'flows', 'lastChangeApplied', 'lastSeen'],
  rule: ['position'],
  'dhcp-lease': ['expires'],
  'bgp-peer': ['state', 'established', 'uptime', 'prefixesReceived', 'prefixesAdvertised', 'servedBy'],
  router: ['bgpPeers'],
};

/** The columns a kind's list and show accept: field names, derived fields, and table header names. */
export function columnsOf(kind: Kind): string[] {
  return [
    ...new Set([
      'id',
      'name',
      'version',
      ...LIST_COLUMNS[kind],
      ...KIND_OPTIONS[kind].map((s) => s.field),
      ...(DERIVED[kind] ?? []),
    ]),
  ];
}

type Format = 'table' | 'json' | 'csv';

function formatOf(ctx: Ctx, args: Args): Format {
  const f = given(args, 'format');
  if (f === undefined) return ctx.json ? 'json' : 'table';
  if (f !== 'table' && f !== 'json' && f !== 'csv')
    throw new CliError(`--format: ${quote(f)} is not valid; allowed: table, json, csv`);
  if (ctx.json && f !== 'json') throw new CliError(`--format ${f} and --json: give one of them`);
  return f;
}

/** The columns asked for (field names; header names are accepted too), or the default ones. */
export function pickColumns(kind: Kind, args: Args, fallback: readonly string[]): readonly string[] {
  const raw = given(args, 'columns');
  if (raw === undefined) return fallback;
  const allowed = columnsOf(kind);
  const byHeader = new Map(Object.entries(HEADER).map(([field, h]) => [h, field]));
  const out: string[] = [];
  for (const c of raw.split(',').map((x) => x.trim())) {
    const field = allowed.includes(c) ? c : byHeader.get(c.toLowerCase());
    if (field === undefined || !allowed.includes(field))
      throw new CliError(`--columns: ${quote(c)} is not a column of ${kind}; columns: ${allowed.join(', ')}`);
    out.push(field);
  }
  if (out.length === 0) throw new CliError(`--columns: give at least one; columns: ${allowed.join(', ')}`);
  return out;
}

const pick = (o: Record<string, unknown>, cols: readonly string[]) =>
  Object.fromEntries(cols.map((c) => [c, o[c] ?? null]));

export async function listCommand(ctx: Ctx, kind: Kind, args: Args): Promise<Planned> {
  const { store } = ctx;
  const format = formatOf(ctx, args);
  const cols = pickColumns(kind, args, LIST_COLUMNS[kind]);
  const filters = await collectFields(store, kind, args, false);
  if (args.ref !== undefined) {
    const parent = LIST_PARENT[kind];
    if (parent === undefined)
      throw new CliError(
        `${kind} list: takes no positional argument (got ${quote(args.ref)}); filter with --field value`,
      );
    if (filters[parent.field] !== undefined)
      throw new CliError(`${kind} list: give the ${parent.kinds.join(' or ')} once (positional or option)`);
    filters[parent.field] = await resolveAny(store, parent.kinds, args.ref);
  }
  const refFilter = Object.entries(filters).find(([f]) => f.endsWith('Id') && f !== 'id');
  let objs: Obj[] = refFilter
    ? await store.list(kind, { refersTo: refFilter[1] as string })
    : await store.list(kind);
  for (const [f, v] of Object.entries(filters))
    objs = objs.filter(
      (o) => JSON.stringify((o as unknown as Record<string, unknown>)[f]) === JSON.stringify(v),
    );
  if (kind === 'rule' && refFilter) {
    const chain = await store.get('chain', refFilter[1] as string);
    const order = new Map(chain?.ruleIds.map((id, i) => [id, i]) ?? []);
    objs.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  }
  const rows = await Promise.all(objs.map((o) => decorate(store, kind, o)));
  const explicit = given(args, 'columns') !== undefined;
  if (format === 'json') {
    const out = JSON.stringify(explicit ? rows.map((r) => pick(r, cols)) : rows, null, 2);
    return { ops: [], output: () => out };
  }
  const names = await nameMap(store);
  const text =
    format === 'csv'
      ? csv(rows, cols, names)
      : rows.length === 0
        ? `no ${kind} objects`
        : table(rows, cols, names);
  return { ops: [], output: () => text };
}

async function resolveAny(store: TopologyStore, kinds: readonly Kind[], ref: string): Promise<string> {
  for (const k of kinds) {
    try {
      return (await store.resolve(k, ref)).id;
    } catch (e) {
      if ((e as { code?: string }).code !== 'not-found') throw e;
    }
  }
  throw new CliError(`no ${kinds.join(' or ')} named or with id ${quote(ref)}`);
}

async function nameMap(store: TopologyStore): Promise<Map<string, string>> {
  return nameIndex((await store.snapshot()).objects.map((o) => o.object));
}

export async function showCommand(ctx: Ctx, kind: Kind, obj: Obj, args: Args): Promise<Planned> {
  const { store } = ctx;
  const format = formatOf(ctx, args);
  const d = await decorate(store, kind, obj);
  const explicit = given(args, 'columns') !== undefined;
  const cols = pickColumns(kind, args, Object.keys(d));
  const shown = explicit ? pick(d, cols) : d;
  if (format === 'json') {
    const out = JSON.stringify(shown, null, 2);
    return { ops: [], output: () => out };
  }
  const names = await nameMap(store);
  if (format === 'csv') {
    const out = csv([d], cols, names);
    return { ops: [], output: () => out };
  }
  const parts = [block(shown, names)];
  if (!explicit && kind === 'router') parts.push(await routesTable(store, obj.id, names));
  if (!explicit && kind === 'chain') parts.push(await rulesTable(store, obj as Obj<'chain'>, names));
  if (!explicit && kind === 'load-balancer') parts.push(await lbTables(store, obj.id, names));
  const text = parts.join('\n\n');
  return { ops: [], output: () => text };
}

/** The router's effective routing table, as the simulation builds it (sim/topology.ts). */
async function routesTable(
  store: TopologyStore,
  routerId: string,
  names: Map<string, string>,
): Promise<string> {
  const { Topology } = await import('../sim/topology.js');
  const snap = await store.snapshot();
  const view = Topology.from(snap.objects as never).router(routerId);
  if (view === undefined) return 'Routes: (none)';
  const stored = new Map(
    snap.objects.filter((o) => o.kind === 'route').map((o) => [o.object.id, o.object as Obj<'route'>]),
  );
  const rows = [...view.routes]
    .sort((a, b) => b.dstLen - a.dstLen || a.dstAddr - b.dstAddr || a.weight - b.weight)
    .map((r) => {
      const src = r.id.startsWith('port:')
        ? 'connected'
        : r.id.startsWith('local:')
          ? 'local'
          : (stored.get(r.id)?.source ?? 'static');
      return {
        dst: `${formatIpv4(r.dstAddr)}/${r.dstLen}`,
        src: r.srcLen === 0 ? '-' : `${formatIpv4(r.srcAddr)}/${r.srcLen}`,
        via: r.gateway === null ? (r.kind === 'local' ? 'this router' : 'on-link') : formatIpv4(r.gateway),
        port: r.nextHopPortId === null ? '-' : (names.get(r.nextHopPortId) ?? r.nextHopPortId),
        type: r.kind,
        weight: r.weight,
        origin: src,
        id: r.id.includes(':') ? '-' : r.id,
      };
    });
  const cols = ['dst', 'src', 'via', 'port', 'type', 'weight', 'origin', 'id'];
  return `Routes (effective; connected and local routes come from the router's ports):\n${table(rows, cols, names)}`;
}

/** A chain's rules in order: position, id, conditions, action. */
async function rulesTable(
  store: TopologyStore,
  chain: Obj<'chain'>,
  names: Map<string, string>,
): Promise<string> {
  const rules = new Map((await store.list('rule', { refersTo: chain.id })).map((r) => [r.id, r]));
  const rows = chain.ruleIds.map((id, i) => {
    const r = rules.get(id);
    return {
      position: i + 1,
      id,
      name: r?.name ?? null,
      conditions: r ? renderConditions(r.conditions, names) : '(not found)',
      action: r
        ? r.action === 'jump'
          ? `jump ${names.get(r.jumpChainId ?? '') ?? r.jumpChainId}`
          : r.action
        : '-',
    };
  });
  if (rows.length === 0) return 'Rules: (none: every packet is accepted)';
  return `Rules:\n${table(rows, ['position', 'id', 'name', 'conditions', 'action'], names)}`;
}

/** Adds derived, read-only fields for display: a host's liveness, a rule's position, BGP state. */
export async function decorate(store: TopologyStore, kind: Kind, obj: Obj): Promise<Record<string, unknown>> {
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
  if (kind === 'bgp-peer' || kind === 'router') {
    // Live session state from the midonet-router serving the peer (loaded only when needed).
    const { UNKNOWN_PEER, peerStates } = await import('../router/peer-state.js');
    const states = await bgpStates(store, peerStates);
    if (kind === 'bgp-peer') return { ...obj, ...(states.get(obj.id) ?? UNKNOWN_PEER) };
    const peers = await store.list('bgp-peer');
    if (peers.length === 0) return obj as unknown as Record<string, unknown>;
    const ports = new Set((await store.list('port')).filter((p) => p.deviceId === obj.id).map((p) => p.id));
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

type PeerStates = typeof import('../router/peer-state.js').peerStates;
const bgpStateCache = new WeakMap<TopologyStore, Promise<Awaited<ReturnType<PeerStates>>>>();
/** BGP peer states, read once per command. */
function bgpStates(store: TopologyStore, peerStates: PeerStates): ReturnType<PeerStates> {
  let p = bgpStateCache.get(store);
  if (p === undefined) bgpStateCache.set(store, (p = peerStates(store)));
  return p;
}

export { valueOf };
