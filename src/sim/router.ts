/**
 * The virtual L3 router's step: what it decides for a packet that entered through one of its ports.
 *
 * In order: admin state; the frame must be addressed to the ingress port's MAC (or broadcast); ARP
 * requests for the port's address are answered (and teach the sender), ARP replies teach the ARP
 * cache; IPv6 goes to router6.ts (so do IPv6 multicast frames: neighbour and router solicitations);
 * only IPv4 goes on; NAT inbound chain (DNAT, reverse SNAT); inbound chain; route lookup
 * (route-table.ts) — no route: ICMP net unreachable; blackhole: drop; reject: ICMP admin prohibited;
 * a local address: ICMP echo reply or drop; TTL <= 1: ICMP time exceeded, else decrement; outbound
 * chain; NAT outbound chain (SNAT, reverse DNAT); next-hop MAC from a peered router port or the ARP
 * cache (a miss asks for an ARP request and is not cached; a failed entry gives ICMP host
 * unreachable); MACs rewritten; the decision is to leave through the next-hop port (port.ts carries
 * it out). Answers (ARP, echo, ICMP errors) are emitted here and end in a `consume` or `drop`.
 *
 * Invariant (mask/tags): the route lookup records the bits it consulted; an on-link next hop reads the
 * whole destination; the ARP entry (present or not) is tagged; TTL is handled by decTtl plus an
 * uncacheable result at expiry (see flow-match.ts) so it is never a mask field.
 */
import { formatIpv4, prefixMask } from '../addr.js';
import type { SimContext } from './context.js';
import { STOP, applyChain, consume, drop, type Decision } from './device.js';
import {
  ARP_REPLY,
  ARP_REQUEST,
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  ICMP_TYPE,
  IP_PROTO,
  IP_SRC,
  IP_TTL,
  PROTO_ICMP,
} from './flow-match.js';
import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  ICMP_UNREACH,
  UNREACH_ADMIN_PROHIBITED,
  UNREACH_HOST,
  UNREACH_NET,
  arpReply,
  icmpReply,
} from './replies.js';
import type { RouteEntry } from './route-table.js';
import { Tags } from './tags.js';
import { lbInbound, lbOutbound } from './load-balancer.js';
import { nextHopPort, peerRouterMac } from './next-hop.js';
import type { PortView, RouterView } from './topology.js';
import { isIpv6MulticastMac } from './ndp.js';
import { routerStep6 } from './router6.js';

const BROADCAST = 0xffffffffffff;

function sameSubnet(a: number, b: number, len: number): boolean {
  return len > 0 && ((a ^ b) & prefixMask(len)) === 0;
}

const NOT_ADDRESSED = drop('frame not addressed to the router port');
const BROADCAST_NOT_ARP = drop('broadcast frame that is not ARP');
const ARP_NOT_OURS = drop("ARP for an address that is not the port's");
const ANSWERED = consume('answered by the router');
const ARP_REPLY_CONSUMED = consume('ARP reply consumed');
const ARP_OP_UNHANDLED = drop('ARP operation not handled');
const NOT_IPV4 = drop('not IPv4');
/** An IPv6-only router port (address6, no address): ARP and IPv4 stop there. */
const NO_IPV4_ADDRESS = drop('router port has no IPv4 address');
const NO_ROUTE = drop('no route');
const TO_ROUTER = consume('addressed to the router');
const BLACKHOLE = drop('blackhole route');
const REJECT_ROUTE = drop('reject route');
const TTL_EXPIRED = drop('TTL expired');

function describeRoute(ctx: SimContext, rt: RouteEntry): string {
  const via = rt.nextHopPortId === null ? '' : ` via port ${ctx.portName(rt.nextHopPortId)}`;
  const gw = rt.gateway === null ? '' : ` gateway ${formatIpv4(rt.gateway)}`;
  const src = rt.srcLen > 0 ? ` from ${formatIpv4(rt.srcAddr)}/${rt.srcLen}` : '';
  return `${rt.kind} ${formatIpv4(rt.dstAddr)}/${rt.dstLen}${src}${via}${gw} weight ${rt.weight}`;
}

export function routerStep(ctx: SimContext, r: RouterView, inPort: PortView): Decision {
  const m = ctx.m;
  if (!r.adminStateUp) return drop(`router ${r.name} is down`);
  if (inPort.mac === null || (inPort.ip === null && inPort.ip6 === null))
    return drop(`router port ${inPort.name} has no address`);
  const dstMac = m.ethDst;
  if (dstMac !== inPort.mac && dstMac !== BROADCAST) {
    // IPv6 multicast (neighbour and router solicitations) is for the router too (router6.ts).
    if (isIpv6MulticastMac(dstMac) && m.ethType === ETH_TYPE_IPV6) return routerStep6(ctx, r, inPort, true);
    return NOT_ADDRESSED;
  }
  const et = m.ethType;
  if (dstMac === BROADCAST && et !== ETH_TYPE_ARP) return BROADCAST_NOT_ARP;
  if (et === ETH_TYPE_ARP) {
    if (inPort.ip === null) return NO_IPV4_ADDRESS;
    const op = m.readAll(IP_PROTO);
    const tpa = m.ipDst;
    // Its own address, or a public NAT address (floating IP, port forward) in this port's subnet.
    const ours =
      tpa === inPort.ip ||
      ((r.natAddresses.has(tpa) || ctx.topo.loadBalancer(r.id)?.vips.has(tpa) === true) &&
        sameSubnet(tpa, inPort.ip, inPort.ipLen));
    if (!ours) return ARP_NOT_OURS;
    if (op === ARP_REQUEST) {
      ctx.effects.push({ kind: 'arpLearned', routerId: r.id, ip: m.peek(IP_SRC), mac: m.peekEthSrc() });
      ctx.emit(inPort.id, arpReply(m, inPort.id, tpa, inPort.mac));
      return ANSWERED;
    }
    if (op === ARP_REPLY) {
      ctx.effects.push({ kind: 'arpLearned', routerId: r.id, ip: m.peek(IP_SRC), mac: m.peekEthSrc() });
      m.noCache('ARP reply consumed by the router');
      return ARP_REPLY_CONSUMED;
    }
    return ARP_OP_UNHANDLED;
  }
  if (et === ETH_TYPE_IPV6) return routerStep6(ctx, r, inPort, false);
  if (et !== ETH_TYPE_IPV4) return NOT_IPV4;
  if (inPort.ip === null) return NO_IPV4_ADDRESS;
  ctx.inPortId = inPort.id;
  ctx.outPortId = null;
  // A VIP's connections to a member (load-balancer.ts), NAT before routing (DNAT, reverse SNAT), then
  // the filter: it sees the translated destination.
  const lb = ctx.topo.loadBalancer(r.id);
  if (lb !== undefined && lbInbound(ctx, r.id, lb) === 'drop') return STOP;
  if (applyChain(ctx, r.natInboundChainId, 'router', r.name, 'nat inbound', inPort)) return STOP;
  if (applyChain(ctx, r.inboundChainId, 'router', r.name, 'inbound', inPort)) return STOP;
  ctx.addTag(r.routesTag);
  const rt = r.table.lookup(m);
  if (rt === null) {
    if (ctx.tracing) ctx.line('route lookup: no route');
    ctx.emit(
      inPort.id,
      icmpReply(m, inPort.id, inPort.ip, inPort.mac, ICMP_UNREACH, UNREACH_NET, 'ICMP net unreachable'),
    );
    return NO_ROUTE;
  }
  if (ctx.tracing) ctx.line(`route lookup: ${describeRoute(ctx, rt)}`);
  switch (rt.kind) {
    case 'local':
      if (m.isProto(PROTO_ICMP) && m.read(ICMP_TYPE, 0xff) === ICMP_ECHO_REQUEST) {
        ctx.emit(
          inPort.id,
          icmpReply(m, inPort.id, rt.dstAddr, inPort.mac, ICMP_ECHO_REPLY, 0, 'ICMP echo reply'),
        );
        return ANSWERED;
      }
      return TO_ROUTER;
    case 'blackhole':
      return BLACKHOLE;
    case 'reject':
      ctx.emit(
        inPort.id,
        icmpReply(
          m,
          inPort.id,
          inPort.ip,
          inPort.mac,
          ICMP_UNREACH,
          UNREACH_ADMIN_PROHIBITED,
          'ICMP admin prohibited',
        ),
      );
      return REJECT_ROUTE;
    case 'normal':
      break;
  }
  const hop = nextHopPort(ctx, r, rt.nextHopPortId);
  if (hop.kind !== 'toPort') return hop;
  const outPort = hop.port;
  const ttl = m.peek(IP_TTL);
  if (ttl <= 1) {
    ctx.emit(
      inPort.id,
      icmpReply(m, inPort.id, inPort.ip, inPort.mac, ICMP_TIME_EXCEEDED, 0, 'ICMP time exceeded'),
    );
    return TTL_EXPIRED;
  }
  m.decTtl();
  if (m.ttlDecrements > ctx.maxTtlDecrements) ctx.maxTtlDecrements = m.ttlDecrements;
  ctx.outPortId = outPort.id;
  if (applyChain(ctx, r.outboundChainId, 'router', r.name, 'outbound', inPort)) return STOP;
  // A member's reply gets its VIP back; NAT after routing and filtering (SNAT, reverse DNAT): the
  // filter saw the original source.
  if (lb !== undefined) lbOutbound(ctx, r.id, lb);
  if (applyChain(ctx, r.natOutboundChainId, 'router', r.name, 'nat outbound', inPort)) return STOP;
  const nextHop = rt.gateway ?? m.ipDst;
  let mac = peerRouterMac(ctx, outPort);
  if (mac === null) {
    const e = ctx.state.arp.lookup(r.id, nextHop, ctx.now);
    if (e === undefined) {
      ctx.addTag(Tags.arp(r.id, nextHop));
      ctx.effects.push({ kind: 'arpWanted', routerId: r.id, portId: outPort.id, ip: nextHop });
      m.noCache('next hop MAC unknown (ARP request sent)');
      return drop(`ARP cache miss for ${formatIpv4(nextHop)}`);
    }
    ctx.addTag(e.tag);
    if (e.state === 'failed') {
      ctx.emit(
        inPort.id,
        icmpReply(m, inPort.id, inPort.ip, inPort.mac, ICMP_UNREACH, UNREACH_HOST, 'ICMP host unreachable'),
      );
      return drop(`${formatIpv4(nextHop)} does not answer ARP`);
    }
    mac = e.mac;
  }
  if (ctx.tracing) ctx.line(`next hop ${formatIpv4(nextHop)}, rewrite MACs`);
  m.setEthSrc(outPort.mac ?? 0);
  m.setEthDst(mac);
  return outPort.toPort;
}
