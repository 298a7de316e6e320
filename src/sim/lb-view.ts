/**
 * The compiled views of the load balancer objects the simulation reads (load-balancer.ts): per router,
 * its balancer with VIPs by address, pools with the members a new connection may choose (admin up,
 * status up, weight above 0) as cumulative weights, and every member by endpoint (address:port).
 *
 * IPv6 VIPs and members sit in maps of their own (keyed by addrKey6/endpointKey6), so the IPv4 path
 * keeps its numeric keys.
 *
 * Rebuilt by the topology per balancer when one of its objects changes. Tags: a VIP, a pool and a
 * member each have one, carried by the flows of the connections through them; `endpointsTag` (one per
 * router) is carried by every packet the balancer looked at, VIP or not, and changes only when the set
 * of VIP or member endpoints changes, so a member's health going up or down invalidates exactly the
 * flows that chose it (the agent invalidates by the member's tag).
 *
 * Invariant: a view is a pure function of the objects; the only mutable field is a pool's round-robin
 * `turn`, which no flow depends on (it is not tagged): the rotation of one agent's new connections.
 */
import { parseIpv4, parseIpv6, type Ipv6Words } from '../addr.js';
import type { Kind, Obj } from '../state/model.js';
import { Tags, type Tag } from './tags.js';

export interface LbMemberView {
  readonly id: string;
  readonly name: string;
  /** The IPv4 address; 0 for an IPv6 member. */
  readonly ip: number;
  /** The IPv6 address; null for an IPv4 member. */
  readonly ip6: Ipv6Words | null;
  readonly port: number;
  readonly weight: number;
  /** Admin up, status up (when its pool has a monitor), weight above 0: new connections may choose it. */
  readonly usable: boolean;
  /** A hash of its id, for source-ip persistence (rendezvous hashing). */
  readonly seed: number;
  readonly tag: Tag;
}

export interface LbPoolView {
  readonly id: string;
  readonly name: string;
  readonly up: boolean;
  readonly hash: boolean;
  /** Usable members, and their cumulative weights (last = total). */
  readonly usable: readonly LbMemberView[];
  readonly cumulative: Float64Array;
  readonly total: number;
  /** Every IPv4 member of the pool by endpoint (ip * 65536 + port). */
  readonly byEndpoint: ReadonlyMap<number, LbMemberView>;
  /** Every IPv6 member of the pool by endpoint (endpointKey6). */
  readonly byEndpoint6: ReadonlyMap<string, LbMemberView>;
  readonly tag: Tag;
  /** Round robin: the next position (0 .. total-1) of this agent's rotation. */
  turn: number;
}

export interface VipView {
  readonly id: string;
  readonly name: string;
  readonly up: boolean;
  readonly proto: number;
  readonly port: number;
  readonly sticky: boolean;
  readonly pool: LbPoolView | undefined;
  readonly tag: Tag;
}

export interface LbView {
  readonly id: string;
  readonly name: string;
  readonly up: boolean;
  /** IPv4 VIPs by address. */
  readonly vips: ReadonlyMap<number, readonly VipView[]>;
  /** IPv6 VIPs by address (addrKey6). */
  readonly vips6: ReadonlyMap<string, readonly VipView[]>;
  /** IPv4 members of every pool by endpoint: replies from them are translated back. */
  readonly members: ReadonlyMap<number, LbMemberView>;
  /** IPv6 members of every pool by endpoint (endpointKey6). */
  readonly members6: ReadonlyMap<string, LbMemberView>;
  readonly endpointsTag: Tag;
}

export const LB_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  'load-balancer',
  'pool',
  'vip',
  'pool-member',
  'health-monitor',
]);

export function endpointKey(ip: number, port: number): number {
  return ip * 65536 + port;
}

/** An IPv6 address as a map key (its four words in decimal; cheaper than its canonical text). */
export function addrKey6(w: Ipv6Words): string {
  return `${w[0]},${w[1]},${w[2]},${w[3]}`;
}

/** An IPv6 endpoint (address and port) as a map key. */
export function endpointKey6(w: Ipv6Words, port: number): string {
  return `${addrKey6(w)}/${port}`;
}

export function seedOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const PROTO = { tcp: 6, udp: 17 } as const;

/** What the views are built from: the topology's raw objects. */
export interface LbSource {
  get<K extends Kind>(kind: K, id: string): Obj<K> | undefined;
  all<K extends Kind>(kind: K): Obj<K>[];
}

export class LoadBalancers {
  private readonly byRouter = new Map<string, LbView>();
  /** Endpoint signature per router, to tell whether endpointsTag must be returned. */
  private readonly signature = new Map<string, string>();

  constructor(private readonly src: LbSource) {}

  of(routerId: string): LbView | undefined {
    return this.byRouter.get(routerId);
  }

  /** The router a changed balancer object belongs to (as far as the objects say), or undefined. */
  routerOf(kind: Kind, o: Obj): string | undefined {
    let lbId: string | undefined;
    switch (kind) {
      case 'load-balancer':
        return (o as Obj<'load-balancer'>).routerId;
      case 'pool':
      case 'vip':
        lbId = (o as Obj<'pool'>).loadBalancerId;
        break;
      case 'pool-member':
      case 'health-monitor':
        lbId = this.src.get('pool', (o as Obj<'pool-member'>).poolId)?.loadBalancerId;
        break;
      default:
        return undefined;
    }
    return lbId === undefined ? undefined : this.src.get('load-balancer', lbId)?.routerId;
  }

  /** The tag a change of this object touches (besides the router's endpoints tag). */
  static tagOf(kind: Kind, id: string): Tag | undefined {
    if (kind === 'vip') return Tags.of('vip', id);
    if (kind === 'pool') return Tags.of('lb-pool', id);
    if (kind === 'pool-member') return Tags.of('lb-member', id);
    return undefined;
  }

  /**
   * Rebuilds the view of a router's balancer; returns its endpoints tag when the endpoints changed, and
   * the router's tag when the balancer is new: flows through the router simulated before it existed
   * read no balancer and carry no endpoints tag (a member's reply flow would keep its source).
   */
  rebuild(routerId: string): Tag[] {
    const lb = this.src.all('load-balancer').find((x) => x.routerId === routerId);
    const tag = Tags.of('lb-endpoints', routerId);
    const isNew = lb !== undefined && !this.byRouter.has(routerId);
    if (lb === undefined) {
      const had = this.byRouter.delete(routerId);
      this.signature.delete(routerId);
      return had ? [tag] : [];
    }
    const pools = new Map<string, LbPoolView>();
    const members = new Map<number, LbMemberView>();
    const members6 = new Map<string, LbMemberView>();
    const sig: string[] = [];
    const allMembers = this.src.all('pool-member');
    const monitors = this.src.all('health-monitor');
    for (const p of this.src.all('pool')) {
      if (p.loadBalancerId !== lb.id) continue;
      const mine = allMembers.filter((m) => m.poolId === p.id).sort((a, b) => (a.id < b.id ? -1 : 1));
      // A member's status counts while its pool has an enabled monitor (which writes it); without one,
      // a status left by a removed monitor does not keep the member out.
      const monitored = monitors.some((h) => h.poolId === p.id && h.adminStateUp);
      const byEndpoint = new Map<number, LbMemberView>();
      const byEndpoint6 = new Map<string, LbMemberView>();
      const usable: LbMemberView[] = [];
      for (const m of mine) {
        const ip6 = parseIpv4(m.address) === undefined ? (parseIpv6(m.address) ?? null) : null;
        const v: LbMemberView = {
          id: m.id,
          name: m.name,
          ip: parseIpv4(m.address) ?? 0,
          ip6,
          port: m.port,
          weight: m.weight,
          usable: m.adminStateUp && (m.status === 'up' || !monitored) && m.weight > 0,
          seed: seedOf(m.id),
          tag: Tags.of('lb-member', m.id),
        };
        if (ip6 === null) {
          const k = endpointKey(v.ip, v.port);
          byEndpoint.set(k, v);
          if (!members.has(k)) members.set(k, v);
          sig.push(`m${k}`);
        } else {
          const k = endpointKey6(ip6, v.port);
          byEndpoint6.set(k, v);
          if (!members6.has(k)) members6.set(k, v);
          sig.push(`m6:${k}`);
        }
        if (v.usable) usable.push(v);
      }
      const cumulative = new Float64Array(usable.length);
      let total = 0;
      usable.forEach((m, i) => (cumulative[i] = total += m.weight));
      const old = this.byRouter.get(routerId);
      pools.set(p.id, {
        id: p.id,
        name: p.name,
        up: p.adminStateUp,
        hash: p.algorithm === 'hash',
        usable,
        cumulative,
        total,
        byEndpoint,
        byEndpoint6,
        tag: Tags.of('lb-pool', p.id),
        turn: findTurn(old, p.id),
      });
    }
    const vips = new Map<number, VipView[]>();
    const vips6 = new Map<string, VipView[]>();
    for (const v of this.src.all('vip')) {
      if (v.loadBalancerId !== lb.id) continue;
      const ip4 = parseIpv4(v.address);
      const ip6 = ip4 === undefined ? parseIpv6(v.address) : undefined;
      const view: VipView = {
        id: v.id,
        name: v.name,
        up: v.adminStateUp,
        proto: PROTO[v.protocol],
        port: v.port,
        sticky: v.sessionPersistence === 'source-ip',
        pool: pools.get(v.poolId),
        tag: Tags.of('vip', v.id),
      };
      if (ip6 !== undefined) {
        const k = addrKey6(ip6);
        let list6 = vips6.get(k);
        if (list6 === undefined) vips6.set(k, (list6 = []));
        list6.push(view);
        sig.push(`v6:${k}/${view.proto}/${view.port}`);
        continue;
      }
      const ip = ip4 ?? 0;
      let list = vips.get(ip);
      if (list === undefined) vips.set(ip, (list = []));
      list.push(view);
      sig.push(`v${ip}/${view.proto}/${view.port}`);
    }
    this.byRouter.set(routerId, {
      id: lb.id,
      name: lb.name,
      up: lb.adminStateUp,
      vips,
      vips6,
      members,
      members6,
      endpointsTag: tag,
    });
    const s = `${lb.adminStateUp}|${sig.sort().join(',')}`;
    const changed = this.signature.get(routerId) !== s;
    this.signature.set(routerId, s);
    if (isNew) return [tag, Tags.router(routerId)];
    return changed ? [tag] : [];
  }
}

function findTurn(old: LbView | undefined, poolId: string): number {
  if (old === undefined) return 0;
  for (const list of [...old.vips.values(), ...old.vips6.values()])
    for (const v of list) if (v.pool?.id === poolId) return v.pool.turn;
  return 0;
}
