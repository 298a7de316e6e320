/**
 * The L4 load balancer step of a router (MidoNet's and OVN's distributed load balancer): a DNAT whose
 * target is chosen per connection among a pool's members.
 *
 * Inbound (before the router's NAT chains): a TCP/UDP packet to a VIP (address, protocol, port) of
 * the router's balancer is translated to a member. A connection already bound (the NAT binding under
 * the router's zone, the same `d`/`rd` keys a `dnat` rule uses, nat.ts) keeps its member while that
 * member is usable (admin up, status up, weight above 0); otherwise a member is chosen: with
 * source-ip persistence by weighted rendezvous hashing of the client address (a client keeps its
 * member while that member is usable, whatever happens to the others, on every host alike), else by
 * the pool's algorithm over the cumulative weights, round robin (this agent's rotation) or a hash of
 * the 5-tuple. The choice is a `natCreated` effect, so it is shared with peers and the store exactly
 * as a NAT binding is, and survives host changes and agent restarts.
 * Outbound (after the outbound filter, before the NAT outbound chain): a packet from a member's
 * endpoint whose reverse binding exists gets the VIP back as its source.
 *
 * IPv6 (router6.ts calls lbInbound6/lbOutbound6 at the same points of its step): the same steps over
 * the balancer's IPv6 VIPs and members (a VIP's pool serves the VIP's family: lb-objects.ts), with
 * IPv6 binding keys (natKey6) and bindings that carry the address as `ip6`; `Family` below is the one
 * place where the two differ.
 *
 * Invariant (mask/tags): every IPv4 or IPv6 TCP/UDP packet the balancer looks at reads the whole address it
 * matches on (destination inbound, source outbound) and carries the router's `endpointsTag`; a packet
 * to a VIP reads the whole 5-tuple (the flow is one connection) and carries the VIP's, the pool's, the
 * binding's and the chosen member's tags, so a member going down or away invalidates exactly the flows
 * of the connections that chose it. No allocation besides the binding keys and the effect.
 */
import { formatIpv4, formatIpv6, type Ipv6Words } from '../addr.js';
import type { SimContext } from './context.js';
import {
  IP_DST,
  IP_SRC,
  IPV6_DST_0,
  IPV6_SRC_0,
  PROTO_TCP,
  PROTO_UDP,
  TP_DST,
  TP_SRC,
  type FlowMatch,
} from './flow-match.js';
import {
  addrKey6,
  endpointKey,
  endpointKey6,
  type LbMemberView,
  type LbPoolView,
  type LbView,
  type VipView,
} from './lb-view.js';
import { natKey, natKey6, type NatBinding } from './nat.js';
import { Tags } from './tags.js';

/** What the inbound step did: nothing (not a VIP), translated, or dropped (the reason is recorded). */
export type LbOutcome = 'none' | 'translated' | 'drop';

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193);
}

function tupleHash(proto: number, src: number, sport: number, dst: number, dport: number): number {
  let h = 0x811c9dc5;
  h = mix(mix(mix(mix(mix(h, proto), src), sport), dst), dport);
  return (h ^ (h >>> 13)) >>> 0;
}

/** The member at `position` (0 .. total-1) of the pool's cumulative weights. */
function byWeight(pool: LbPoolView, position: number): LbMemberView {
  const c = pool.cumulative;
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c[mid]! > position) hi = mid;
    else lo = mid + 1;
  }
  return pool.usable[lo]!;
}

/** Weighted rendezvous hashing of the client address: the usable member with the highest score. */
function bySource(pool: LbPoolView, src: number): LbMemberView {
  let best = pool.usable[0]!;
  let bestScore = -1;
  for (let i = 0; i < pool.usable.length; i++) {
    const m = pool.usable[i]!;
    let h = mix(mix(0x811c9dc5, src), m.seed);
    h = (h ^ (h >>> 15)) >>> 0;
    h = Math.imul(h, 0x2c1b3c6d) >>> 0;
    h = (h ^ (h >>> 12)) >>> 0;
    const u = (h + 0.5) / 4294967296;
    const score = -m.weight / Math.log(u);
    if (score > bestScore) {
      bestScore = score;
      best = m;
    }
  }
  return best;
}

/** What differs between the IPv4 and the IPv6 balancer: addresses, their maps, keys and rewrites. */
interface Family<A> {
  /** The destination (inbound) or source (outbound) address, read whole. */
  dst(m: FlowMatch): A;
  src(m: FlowMatch): A;
  vipsAt(lb: LbView, dst: A): readonly VipView[] | undefined;
  /** The member (of any pool) at an endpoint: a reply's source. */
  memberAt(lb: LbView, ip: A, port: number): LbMemberView | undefined;
  /** The member of `pool` a binding names. */
  boundMember(pool: LbPoolView, b: NatBinding): LbMemberView | undefined;
  key(zone: string, kind: 'd' | 'rd', proto: number, src: A, sport: number, dst: A, dport: number): string;
  /** The address folded to 32 bits, for hashing. */
  hash(a: A): number;
  memberAddr(m: LbMemberView): A;
  /** An address as a binding's value. */
  binding(a: A, port: number): NatBinding;
  setDst(m: FlowMatch, member: LbMemberView): void;
  setSrc(m: FlowMatch, b: NatBinding): void;
  format(a: A, port: number): string;
}

const V4: Family<number> = {
  dst: (m) => m.ipDst,
  src: (m) => m.ipSrc,
  vipsAt: (lb, dst) => lb.vips.get(dst),
  memberAt: (lb, ip, port) => lb.members.get(endpointKey(ip, port)),
  boundMember: (pool, b) => pool.byEndpoint.get(endpointKey(b.ip, b.port)),
  key: natKey,
  hash: (a) => a,
  memberAddr: (m) => m.ip,
  binding: (ip, port) => ({ ip, port }),
  setDst(m, member) {
    m.write(IP_DST, member.ip);
    m.write(TP_DST, member.port);
  },
  setSrc(m, b) {
    m.write(IP_SRC, b.ip);
    m.write(TP_SRC, b.port);
  },
  format: (a, port) => `${formatIpv4(a)}:${port}`,
};

const ZERO6: Ipv6Words = [0, 0, 0, 0];

const V6: Family<Ipv6Words> = {
  dst: (m) => m.ipv6Dst(),
  src: (m) => m.ipv6Src(),
  vipsAt: (lb, dst) => (lb.vips6.size === 0 ? undefined : lb.vips6.get(addrKey6(dst))),
  memberAt: (lb, ip, port) => (lb.members6.size === 0 ? undefined : lb.members6.get(endpointKey6(ip, port))),
  boundMember: (pool, b) =>
    b.ip6 === undefined ? undefined : pool.byEndpoint6.get(endpointKey6(b.ip6, b.port)),
  key: natKey6,
  hash: (a) => mix(mix(mix(mix(0x811c9dc5, a[0]), a[1]), a[2]), a[3]) >>> 0,
  memberAddr: (m) => m.ip6 ?? ZERO6,
  binding: (ip6, port) => ({ ip: 0, port, ip6 }),
  setDst(m, member) {
    m.write6(IPV6_DST_0, member.ip6 ?? ZERO6);
    m.write(TP_DST, member.port);
  },
  setSrc(m, b) {
    m.write6(IPV6_SRC_0, b.ip6 ?? ZERO6);
    m.write(TP_SRC, b.port);
  },
  format: (a, port) => `[${formatIpv6(a)}]:${port}`,
};

function findVip(list: readonly VipView[], proto: number, dport: number): VipView | undefined {
  for (let i = 0; i < list.length; i++) {
    const v = list[i]!;
    if (v.proto === proto && v.port === dport) return v;
  }
  return undefined;
}

/** The inbound step for IPv4: a packet to a VIP is translated to a member (see the module comment). */
export function lbInbound(ctx: SimContext, zone: string, lb: LbView): LbOutcome {
  return inbound(ctx, zone, lb, V4);
}

/** The inbound step for IPv6 (router6.ts). */
export function lbInbound6(ctx: SimContext, zone: string, lb: LbView): LbOutcome {
  return inbound(ctx, zone, lb, V6);
}

function inbound<A>(ctx: SimContext, zone: string, lb: LbView, f: Family<A>): LbOutcome {
  const m = ctx.m;
  ctx.addTag(lb.endpointsTag);
  const dst = f.dst(m);
  const list = f.vipsAt(lb, dst);
  if (list === undefined) return 'none';
  const proto = m.ipProto;
  if (proto !== PROTO_TCP && proto !== PROTO_UDP) return 'none';
  const dport = m.tpDst;
  const vip = findVip(list, proto, dport);
  if (vip === undefined) return 'none';
  ctx.addTag(vip.tag);
  const pool = vip.pool;
  const what = ctx.tracing ? `load balancer ${lb.name}: VIP ${vip.name} ${f.format(dst, dport)}` : '';
  if (!lb.up || !vip.up || pool === undefined || !pool.up) {
    ctx.drop(`VIP ${vip.name}: the load balancer, the VIP or its pool is down`);
    return 'drop';
  }
  ctx.addTag(pool.tag);
  const src = f.src(m);
  const sport = m.tpSrc;
  const fwdKey = f.key(zone, 'd', proto, src, sport, dst, dport);
  ctx.addTag(Tags.nat(fwdKey));
  const known = ctx.state.nat.lookup(fwdKey, ctx.now);
  if (known !== undefined) {
    const member = f.boundMember(pool, known);
    if (member !== undefined && member.usable) {
      ctx.addTag(member.tag);
      // Both bindings again: the reverse one may have aged out here or on the member's host (its reply
      // flow went first) while a client reuses the tuple; an unchanged binding invalidates nothing.
      bind(ctx, zone, f, fwdKey, member, proto, src, sport, dst, dport, false);
      f.setDst(m, member);
      if (ctx.tracing) ctx.line(`${what}: connection known, member ${member.name} ${endpoint(f, member)}`);
      return 'translated';
    }
    if (ctx.tracing) ctx.line(`${what}: the connection's member is no longer usable; choosing again`);
  }
  if (pool.total === 0) {
    // Not a flow: no member's tag is on it, so nothing would remove it when one comes back.
    m.noCache('the pool has no usable member');
    ctx.drop(`VIP ${vip.name}: pool ${pool.name} has no healthy member`);
    return 'drop';
  }
  let member: LbMemberView;
  let how: string;
  if (vip.sticky) {
    member = bySource(pool, f.hash(src));
    how = 'source-ip persistence';
  } else if (pool.hash) {
    member = byWeight(pool, tupleHash(proto, f.hash(src), sport, f.hash(dst), dport) % pool.total);
    how = '5-tuple hash';
  } else {
    member = byWeight(pool, pool.turn % pool.total);
    // A trace only shows the choice; it does not move the rotation.
    if (!ctx.tracing) pool.turn = (pool.turn + 1) % pool.total;
    how = 'round robin';
  }
  ctx.addTag(member.tag);
  bind(ctx, zone, f, fwdKey, member, proto, src, sport, dst, dport, true);
  f.setDst(m, member);
  if (ctx.tracing)
    ctx.line(`${what}: new connection, member ${member.name} ${endpoint(f, member)} by ${how}`);
  return 'translated';
}

/**
 * Records the connection's member as a NAT binding pair (shared with peers and the store); `chosen`:
 * a new choice, which the effect names (`lbMember`) so the agent counts connections per member.
 */
function bind<A>(
  ctx: SimContext,
  zone: string,
  f: Family<A>,
  fwdKey: string,
  member: LbMemberView,
  proto: number,
  src: A,
  sport: number,
  dst: A,
  dport: number,
  chosen: boolean,
): void {
  const ip = f.memberAddr(member);
  ctx.effects.push({
    kind: 'natCreated',
    zone,
    forwardKey: fwdKey,
    forward: f.binding(ip, member.port),
    reverseKey: f.key(zone, 'rd', proto, ip, member.port, src, sport),
    reverse: f.binding(dst, dport),
    ...(chosen ? { lbMember: member.id } : {}),
  });
}

/** The outbound step (IPv4): a member's reply to a balanced connection leaves with the VIP as its source. */
export function lbOutbound(ctx: SimContext, zone: string, lb: LbView): void {
  outbound(ctx, zone, lb, V4);
}

/** The outbound step for IPv6 (router6.ts). */
export function lbOutbound6(ctx: SimContext, zone: string, lb: LbView): void {
  outbound(ctx, zone, lb, V6);
}

function outbound<A>(ctx: SimContext, zone: string, lb: LbView, f: Family<A>): void {
  const m = ctx.m;
  ctx.addTag(lb.endpointsTag);
  const proto = m.ipProto;
  if (proto !== PROTO_TCP && proto !== PROTO_UDP) return;
  const member = f.memberAt(lb, f.src(m), m.tpSrc);
  if (member === undefined) return;
  const revKey = f.key(zone, 'rd', proto, f.memberAddr(member), member.port, f.dst(m), m.tpDst);
  ctx.addTag(Tags.nat(revKey));
  const b = ctx.state.nat.lookup(revKey, ctx.now);
  if (b === undefined) return;
  ctx.addTag(member.tag);
  f.setSrc(m, b);
  if (ctx.tracing)
    ctx.line(
      `load balancer ${lb.name}: reply from member ${member.name}, source back to ${b.ip6 === undefined ? formatIpv4(b.ip) : formatIpv6(b.ip6)}:${b.port}`,
    );
}

function endpoint<A>(f: Family<A>, m: LbMemberView): string {
  return f.format(f.memberAddr(m), m.port);
}
