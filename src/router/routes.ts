/**
 * Learned routes (pure): FRR's `show bgp ipv4 unicast json` read into the prefixes each peer gave us,
 * and the store operations that make a router port's BGP routes exactly those: one route per
 * (prefix, peer) with source 'bgp', next hop the uplink port, gateway the peer, equal weight (so
 * several uplinks learning one prefix give ECMP routes), created and deleted in batches.
 *
 * Invariant: `routeOps` touches only routes with source 'bgp' and this port as next hop, never
 * rewrites a route that is already right, removes duplicates, and keeps at most `cap` routes per peer
 * (the lowest prefixes in a stable order), reporting how many it left out.
 */
import { parseCidr } from '../addr.js';
import type { Obj } from '../state/model.js';
import type { Op } from '../state/store.js';

/** Weight of every learned route: equal, so the router spreads flows over uplinks (ECMP). */
export const BGP_ROUTE_WEIGHT = 100;

interface FrrPath {
  readonly valid?: boolean;
  readonly peerId?: string;
  readonly network?: string;
  readonly prefix?: string;
  readonly prefixLen?: number;
}

/** Prefixes received (valid paths) from each of `peers`, from `show bgp ipv4 unicast json` output. */
export function learnedFromJson(json: unknown, peers: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>(peers.map((p) => [p, new Set<string>()]));
  const routes = (json as { routes?: Record<string, FrrPath[]> } | null)?.routes;
  if (routes === undefined || routes === null || typeof routes !== 'object') return out;
  for (const [key, paths] of Object.entries(routes)) {
    if (!Array.isArray(paths)) continue;
    for (const p of paths) {
      if (p.valid !== true || typeof p.peerId !== 'string') continue;
      const set = out.get(p.peerId);
      if (set === undefined) continue;
      const prefix = p.network ?? (p.prefix !== undefined ? `${p.prefix}/${p.prefixLen}` : key);
      if (typeof parseCidr(prefix, true) === 'string') continue;
      set.add(prefix);
    }
  }
  return out;
}

/** Orders prefixes by address, then length (stable, so the cap keeps the same ones every time). */
function comparePrefix(a: string, b: string): number {
  const [x, y] = [parseCidr(a, false), parseCidr(b, false)];
  if (typeof x === 'string' || typeof y === 'string') return a.localeCompare(b);
  return x.addr - y.addr || x.len - y.len;
}

export interface RouteDiff {
  readonly ops: Op[];
  readonly created: number;
  readonly deleted: number;
  /** Per peer: prefixes left out because of the cap. */
  readonly capped: Map<string, number>;
}

/**
 * Operations that make the BGP routes of `portId` on `routerId` equal to `learned` (peer -> prefixes),
 * given the routes the router has now.
 */
export function routeOps(
  existing: readonly Obj<'route'>[],
  learned: ReadonlyMap<string, ReadonlySet<string>>,
  ctx: {
    readonly routerId: string;
    readonly portId: string;
    readonly cap: number;
    readonly skip?: ReadonlySet<string>;
  },
): RouteDiff {
  const want = new Set<string>();
  const capped = new Map<string, number>();
  for (const [peer, prefixes] of learned) {
    let list = [...prefixes].filter((p) => !ctx.skip?.has(p));
    if (list.length > ctx.cap) {
      list.sort(comparePrefix);
      capped.set(peer, list.length - ctx.cap);
      list = list.slice(0, ctx.cap);
    }
    for (const p of list) want.add(`${p} ${peer}`);
  }
  const ops: Op[] = [];
  const have = new Set<string>();
  for (const r of existing) {
    if (r.source !== 'bgp' || r.nextHopPortId !== ctx.portId || r.routerId !== ctx.routerId) continue;
    const key = `${r.dstPrefix} ${r.gateway ?? ''}`;
    const right =
      want.has(key) &&
      !have.has(key) &&
      r.type === 'normal' &&
      r.weight === BGP_ROUTE_WEIGHT &&
      r.srcPrefix === '0.0.0.0/0';
    if (right) have.add(key);
    else ops.push({ op: 'delete', kind: 'route', id: r.id });
  }
  const deleted = ops.length;
  for (const key of want) {
    if (have.has(key)) continue;
    const [dstPrefix, gateway] = key.split(' ') as [string, string];
    ops.push({
      op: 'create',
      kind: 'route',
      fields: {
        routerId: ctx.routerId,
        dstPrefix,
        nextHopPortId: ctx.portId,
        gateway,
        weight: BGP_ROUTE_WEIGHT,
        source: 'bgp',
      },
    });
  }
  return { ops, created: ops.length - deleted, deleted, capped };
}
