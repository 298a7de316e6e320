/**
 * The virtual router's step for IPv6 (router.ts hands IPv6 frames here).
 *
 * In order: the port needs an IPv6 address; neighbour discovery addressed to the port (NS for its
 * address or link-local address: learn the asker, answer with an NA; NA: learn the target; RS: answer
 * with an RA carrying the port's prefix, so hosts configure themselves by SLAAC); any other multicast
 * frame is dropped (the router joins no groups but its own); inbound chain; route lookup
 * (route-table6.ts) — no route: ICMPv6 destination unreachable (no route); blackhole: drop; reject:
 * ICMPv6 administratively prohibited; a local address (or the port's link-local one): echo reply or
 * drop; link-local destinations are never forwarded; hop limit <= 1: ICMPv6 time exceeded, else
 * decrement; outbound chain; next-hop MAC from a peered router port or the neighbour cache (a miss
 * asks for a solicitation and is not cached; a failed entry gives ICMPv6 address unreachable); MACs
 * rewritten; leave through the next-hop port. A load balancer's IPv6 VIPs (load-balancer.ts) translate
 * before the inbound chain and back after the outbound chain, as in router.ts, and the router answers
 * solicitations for a VIP in the port's subnet; NAT chains' rules are IPv4 only (nat.ts skips IPv6).
 *
 * Invariant (mask/tags): the route lookup records the destination bits it consulted; the on-link next
 * hop reads the whole destination; the neighbour entry (present or not) is tagged; replies and ND make
 * the result uncacheable (context.emit), and the hop limit is handled like the IPv4 TTL (decTtl, the
 * datapath's dec_ttl, never a mask field).
 */
import { formatIpv6, ipv6Equal, ipv6Network, ipv6PrefixContains, type Ipv6Words } from '../addr.js';
import type { SimContext } from './context.js';
import { STOP, applyChain, consume, drop, type Decision } from './device.js';
import { ICMP_TYPE, IP_PROTO, IP_TTL, IPV6_SRC_0, PROTO_ICMPV6 } from './flow-match.js';
import {
  ICMP6_ECHO_REPLY,
  ICMP6_ECHO_REQUEST,
  ICMP6_TIME_EXCEEDED,
  ICMP6_UNREACH,
  ND_NEIGHBOR_ADVERT,
  ND_NEIGHBOR_SOLICIT,
  ND_ROUTER_SOLICIT,
  UNREACH6_ADDRESS,
  UNREACH6_ADMIN,
  UNREACH6_NO_ROUTE,
  icmp6Reply,
  isIpv6MulticastMac,
  ndTag,
  neighbourAdvert,
  routerAdvert,
} from './ndp.js';
import type { Route6Entry } from './route-table6.js';
import { addrKey6 } from './lb-view.js';
import { lbInbound6, lbOutbound6 } from './load-balancer.js';
import { nextHopPort, peerRouterMac } from './next-hop.js';
import type { PortView, RouterView } from './topology.js';

/** MTU advertised in RAs: the VMs' usual 1500 less the tunnel's overhead (as the DHCP default). */
export const RA_MTU = 1450;

const NO_V6 = (name: string) => drop(`router port ${name} has no IPv6 address`);
const ANSWERED = consume('answered by the router');
const ND_CONSUMED = consume('neighbour advertisement consumed');
const NS_NOT_OURS = drop("neighbour solicitation for an address that is not the port's");
const MULTICAST_DROPPED = drop('IPv6 multicast the router does not handle');
const NO_ROUTE = drop('no IPv6 route');
const TO_ROUTER = consume('addressed to the router');
const BLACKHOLE = drop('blackhole route');
const REJECT_ROUTE = drop('reject route');
const LINK_LOCAL = drop('link-local destination is not forwarded');
const HOP_LIMIT_EXPIRED = drop('hop limit expired');

function isLinkLocal(w: Ipv6Words): boolean {
  return w[0] >>> 22 === 0xfe80 >>> 6;
}

function isUnspecified(w: Ipv6Words): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0;
}

function describe(ctx: SimContext, rt: Route6Entry): string {
  const via = rt.nextHopPortId === null ? '' : ` via port ${ctx.portName(rt.nextHopPortId)}`;
  const gw = rt.gateway === null ? '' : ` gateway ${formatIpv6(rt.gateway)}`;
  const src = rt.srcLen > 0 ? ` from ${formatIpv6(rt.srcAddr)}/${rt.srcLen}` : '';
  return `${rt.kind} ${formatIpv6(rt.dstAddr)}/${rt.dstLen}${src}${via}${gw} weight ${rt.weight}`;
}

/** Neighbour discovery addressed to the port (NS, NA, RS); null when the packet is not ND. */
function neighbourDiscovery(
  ctx: SimContext,
  r: RouterView,
  inPort: PortView,
  ip6: Ipv6Words,
): Decision | null {
  const m = ctx.m;
  if (m.readAll(IP_PROTO) !== PROTO_ICMPV6) return null;
  const type = m.readAll(ICMP_TYPE);
  const mac = inPort.mac!;
  if (type === ND_NEIGHBOR_SOLICIT) {
    const target = m.ndTarget();
    const ll = inPort.linkLocal6;
    if (!ipv6Equal(target, ip6) && (ll === null || !ipv6Equal(target, ll)) && !isVip(ctx, r, inPort, target))
      return NS_NOT_OURS;
    const asker = m.peek6(IPV6_SRC_0);
    if (!isUnspecified(asker))
      ctx.effects.push({ kind: 'ndLearned', routerId: r.id, ip: formatIpv6(asker), mac: m.peekEthSrc() });
    ctx.emit(inPort.id, neighbourAdvert(m, inPort.id, target, mac));
    return ANSWERED;
  }
  if (type === ND_NEIGHBOR_ADVERT) {
    const target = m.ndTarget();
    ctx.effects.push({ kind: 'ndLearned', routerId: r.id, ip: formatIpv6(target), mac: m.peekEthSrc() });
    m.noCache('neighbour advertisement consumed by the router');
    return ND_CONSUMED;
  }
  if (type === ND_ROUTER_SOLICIT) {
    if (inPort.linkLocal6 === null) return NO_V6(inPort.name);
    const prefix = ipv6Network(ip6, inPort.ip6Len);
    ctx.emit(inPort.id, routerAdvert(m, inPort.id, inPort.linkLocal6, mac, prefix, inPort.ip6Len, RA_MTU));
    return ANSWERED;
  }
  return null;
}

/** A VIP of the router's balancer in the port's subnet: the router answers solicitations for it. */
function isVip(ctx: SimContext, r: RouterView, inPort: PortView, target: Ipv6Words): boolean {
  const lb = ctx.topo.loadBalancer(r.id);
  return (
    lb !== undefined &&
    lb.vips6.has(addrKey6(target)) &&
    inPort.ip6 !== null &&
    ipv6PrefixContains(inPort.ip6, inPort.ip6Len, target)
  );
}

export function routerStep6(ctx: SimContext, r: RouterView, inPort: PortView, multicast: boolean): Decision {
  const m = ctx.m;
  const ip6 = inPort.ip6;
  if (ip6 === null || inPort.mac === null) return NO_V6(inPort.name);
  const nd = neighbourDiscovery(ctx, r, inPort, ip6);
  if (nd !== null) return nd;
  if (multicast || isIpv6MulticastMac(m.peekEthDst())) return MULTICAST_DROPPED;
  ctx.inPortId = inPort.id;
  ctx.outPortId = null;
  // A VIP's connections to a member (load-balancer.ts), then the filter: it sees the member.
  const lb = ctx.topo.loadBalancer(r.id);
  if (lb !== undefined && lbInbound6(ctx, r.id, lb) === 'drop') return STOP;
  if (applyChain(ctx, r.inboundChainId, 'router', r.name, 'inbound', inPort)) return STOP;
  const dst = m.ipv6Dst();
  const replyFrom = (src: Ipv6Words, type: number, code: number, why: string) =>
    ctx.emit(inPort.id, icmp6Reply(m, inPort.id, src, inPort.mac!, type, code, why));
  if (isLinkLocal(dst)) {
    if (inPort.linkLocal6 === null || !ipv6Equal(dst, inPort.linkLocal6)) return LINK_LOCAL;
    return local(ctx, inPort.linkLocal6, replyFrom);
  }
  ctx.addTag(r.routesTag);
  const rt = r.table6.lookup(m);
  if (rt === null) {
    if (ctx.tracing) ctx.line('IPv6 route lookup: no route');
    replyFrom(ip6, ICMP6_UNREACH, UNREACH6_NO_ROUTE, 'ICMPv6 no route to destination');
    return NO_ROUTE;
  }
  if (ctx.tracing) ctx.line(`IPv6 route lookup: ${describe(ctx, rt)}`);
  switch (rt.kind) {
    case 'local':
      return local(ctx, rt.dstAddr, replyFrom);
    case 'blackhole':
      return BLACKHOLE;
    case 'reject':
      replyFrom(ip6, ICMP6_UNREACH, UNREACH6_ADMIN, 'ICMPv6 administratively prohibited');
      return REJECT_ROUTE;
    case 'normal':
      break;
  }
  const hop = nextHopPort(ctx, r, rt.nextHopPortId);
  if (hop.kind !== 'toPort') return hop;
  const outPort = hop.port;
  if (m.peek(IP_TTL) <= 1) {
    replyFrom(ip6, ICMP6_TIME_EXCEEDED, 0, 'ICMPv6 hop limit exceeded');
    return HOP_LIMIT_EXPIRED;
  }
  m.decTtl();
  if (m.ttlDecrements > ctx.maxTtlDecrements) ctx.maxTtlDecrements = m.ttlDecrements;
  ctx.outPortId = outPort.id;
  if (applyChain(ctx, r.outboundChainId, 'router', r.name, 'outbound', inPort)) return STOP;
  // A member's reply gets its VIP back after the filter (which saw the member's address).
  if (lb !== undefined) lbOutbound6(ctx, r.id, lb);
  const nextHop = rt.gateway ?? dst;
  let mac = peerRouterMac(ctx, outPort);
  if (mac === null) {
    const e = ctx.state.nd?.lookup(r.id, nextHop, ctx.now);
    if (e === undefined) {
      ctx.addTag(ndTag(r.id, nextHop));
      ctx.effects.push({ kind: 'ndWanted', routerId: r.id, portId: outPort.id, ip: formatIpv6(nextHop) });
      m.noCache('next hop MAC unknown (neighbour solicitation sent)');
      return drop(`neighbour cache miss for ${formatIpv6(nextHop)}`);
    }
    ctx.addTag(e.tag);
    if (e.state === 'failed') {
      replyFrom(ip6, ICMP6_UNREACH, UNREACH6_ADDRESS, 'ICMPv6 address unreachable');
      return drop(`${formatIpv6(nextHop)} does not answer neighbour solicitations`);
    }
    mac = e.mac;
  }
  if (ctx.tracing) ctx.line(`next hop ${formatIpv6(nextHop)}, rewrite MACs`);
  m.setEthSrc(outPort.mac ?? 0);
  m.setEthDst(mac);
  return outPort.toPort;
}

/** A packet for one of the router's own addresses: an echo request is answered, the rest consumed. */
function local(
  ctx: SimContext,
  addr: Ipv6Words,
  replyFrom: (src: Ipv6Words, type: number, code: number, why: string) => void,
): Decision {
  const m = ctx.m;
  if (m.readAll(IP_PROTO) === PROTO_ICMPV6 && m.readAll(ICMP_TYPE) === ICMP6_ECHO_REQUEST) {
    replyFrom(addr, ICMP6_ECHO_REPLY, 0, 'ICMPv6 echo reply');
    return ANSWERED;
  }
  return TO_ROUTER;
}
