/**
 * Network address translation as chain rule actions, the way MidoNet did it: a forward rule (`dnat`,
 * `snat`) translates the first packet of a connection to a target it chooses and records the choice
 * as flow state (an effect), so every later packet of the connection, and its replies, are translated
 * the same way; a reverse rule (`rev-dnat`, `rev-snat`) translates a reply back by looking the
 * connection up; static rules (`static-dnat`, `static-snat`, a floating IP's two halves) rewrite one
 * address to another with no state at all.
 *
 * Keys: a binding is filed under its zone (the device whose chain translated it), its kind and the
 * connection's 5-tuple as the rule saw it. A forward binding `d`/`s` maps the original tuple to the
 * translated address and port; its reverse `rd`/`rs` maps the reply's tuple (the translated one,
 * swapped) back. An ICMP echo's identifier stands for its ports, as in Linux conntrack: a request is
 * (src, id) -> (dst, 0), its reply (src, 0) -> (dst, id). OpenFlow can neither match nor rewrite the
 * identifier, so reading it makes the result uncacheable (every echo through NAT is simulated, as the
 * few packets of a ping can afford) and source NAT keeps it: the public address takes the echo's own
 * identifier, and a second echo with the same identifier to the same destination through the same
 * address is dropped until the first one's binding expires.
 *
 * IPv6: the rules here translate IPv4 only (an IPv6 packet skips them); a load balancer's IPv6
 * bindings use the same tables with keys whose addresses are in brackets (natKey6) and values that
 * carry the address as `ip6`.
 *
 * Choice: a DNAT target is a function of the tuple (a hash), so two hosts simulating the same first
 * packet choose alike; an SNAT port is the first one from the tuple's hash onward, among the port
 * blocks this host leased for the address, whose reply tuple no binding holds, so no (address, port)
 * serves two connections to one destination. No free port in this host's blocks: the packet waits
 * for another block (an effect asks for it); no block left to lease anywhere: an ICMP error and a
 * drop, never a collision.
 *
 * Invariant (mask/tags): a forward or reverse rule reads the whole 5-tuple (the flow is exact on it,
 * as a translation chosen per connection must be) and tags the binding it consulted, present or not,
 * so creating or removing a binding invalidates exactly the flows that saw the other state.
 */
import type { SimContext } from './context.js';
import {
  ICMP_TYPE,
  IP_DST,
  IP_SRC,
  PROTO_ICMP,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_FLAGS,
  TP_DST,
  TP_SRC,
} from './flow-match.js';
import { formatIpv4, parseIpv6, type Ipv6Words } from '../addr.js';
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST } from './replies.js';
import { tupleText, tupleText6 } from './flow-state.js';
import { Tags } from './tags.js';

/** One NAT target: an address range and, optionally, a port range (0-0: keep the port). */
export interface NatTarget {
  readonly addrFrom: number;
  readonly addrTo: number;
  readonly portFrom: number;
  readonly portTo: number;
}

export type NatKind = 'dnat' | 'snat' | 'rev-dnat' | 'rev-snat' | 'static-dnat' | 'static-snat';

/** A binding as the runtime state holds it; an IPv6 one (a load balancer's) has `ip6` and `ip` 0. */
export interface NatBinding {
  readonly ip: number;
  readonly port: number;
  readonly ip6?: Ipv6Words;
}

/** What a simulation may read of the NAT state of this host. */
export interface NatTable {
  /** The binding filed under `key` (natKey), present and not expired. */
  lookup(key: string, now: number): NatBinding | undefined;
  /** Port ranges this host may hand out as SNAT ports for (address, protocol): its leased blocks. */
  portBlocks(ip: number, proto: number): ReadonlyArray<readonly [number, number]>;
  /** True when no further block of (address, protocol) could be leased (every one is held). */
  exhausted(ip: number, proto: number): boolean;
}

/** The key of a binding: zone, kind ('d', 's', 'rd', 'rs') and 5-tuple, as one flat string. */
export function natKey(
  zone: string,
  kind: 'd' | 's' | 'rd' | 'rs',
  proto: number,
  src: number,
  sport: number,
  dst: number,
  dport: number,
): string {
  return `${zone}/${kind}/${tupleText(proto, src, sport, dst, dport)}`;
}

/** The key of an IPv6 binding: like natKey, the addresses in brackets (tupleText6). */
export function natKey6(
  zone: string,
  kind: 'd' | 's' | 'rd' | 'rs',
  proto: number,
  src: Ipv6Words,
  sport: number,
  dst: Ipv6Words,
  dport: number,
): string {
  return `${zone}/${kind}/${tupleText6(proto, src, sport, dst, dport)}`;
}

const FORWARD6 = /^(.*)\/(d|s)\/(\d+)\/\[([0-9a-f:.]+)\]:(\d+)>\[([0-9a-f:.]+)\]:(\d+)$/;

/**
 * The reverse key of a forward binding (`d` or `s` key translated to `b`): the key its replies are
 * filed under. undefined for a key that is not a forward one.
 */
export function reverseOfForward(key: string, b: NatBinding): string | undefined {
  const m6 = b.ip6 === undefined ? null : FORWARD6.exec(key);
  if (m6 !== null && b.ip6 !== undefined) {
    const [, zone = '', kind, proto = '0', srcText = '', sport = '0', dstText = '', dport = '0'] = m6;
    const src = parseIpv6(srcText);
    const dst = parseIpv6(dstText);
    if (src === undefined || dst === undefined) return undefined;
    const p = Number(proto);
    return kind === 'd'
      ? natKey6(zone, 'rd', p, b.ip6, b.port, src, Number(sport))
      : natKey6(zone, 'rs', p, dst, Number(dport), b.ip6, b.port);
  }
  const m = /^(.*)\/(d|s)\/(\d+)\/(\d+):(\d+)>(\d+):(\d+)$/.exec(key);
  if (m === null) return undefined;
  const [, zone = '', kind, proto = '0', src = '0', sport = '0', dst = '0', dport = '0'] = m;
  const p = Number(proto);
  return kind === 'd'
    ? natKey(zone, 'rd', p, b.ip, b.port, Number(src), Number(sport))
    : natKey(zone, 'rs', p, Number(dst), Number(dport), b.ip, b.port);
}

/**
 * Reads the whole 5-tuple (the caller checked the packet is IPv4); an ICMP echo's identifier stands
 * for its source port (a request) or destination port (a reply).
 */
function tuple(ctx: SimContext): [number, number, number, number, number] {
  const m = ctx.m;
  const proto = m.ipProto;
  const ports = proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP;
  if (ports) return [proto, m.ipSrc, m.tpSrc, m.ipDst, m.tpDst];
  if (proto === PROTO_ICMP) {
    const type = m.read(ICMP_TYPE, 0xff);
    if (type === ICMP_ECHO_REQUEST) return [proto, m.ipSrc, m.icmpId, m.ipDst, 0];
    if (type === ICMP_ECHO_REPLY) return [proto, m.ipSrc, 0, m.ipDst, m.icmpId];
  }
  return [proto, m.ipSrc, 0, m.ipDst, 0];
}

function hash(t: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const v of t) h = Math.imul(h ^ v, 0x01000193);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * How a NAT rule ended: translated (the chain accepts), not applicable (the next rule decides),
 * dropped while SNAT ports are leased, or exhausted (rejected: the sender gets an ICMP error).
 */
export type NatOutcome = 'translated' | 'skip' | 'drop' | 'exhausted';

/**
 * Applies a NAT rule of `kind` with `targets` to the packet in `ctx`, in zone `zone` (the device).
 * Writes the translated headers; records a new binding as an effect.
 */
export function applyNat(
  ctx: SimContext,
  zone: string,
  kind: NatKind,
  targets: readonly NatTarget[],
): NatOutcome {
  const m = ctx.m;
  if (!m.isIpv4()) return 'skip';
  switch (kind) {
    case 'static-dnat':
    case 'static-snat': {
      const t = targets[0];
      if (t === undefined) return 'skip';
      m.write(kind === 'static-dnat' ? IP_DST : IP_SRC, t.addrFrom);
      if (ctx.tracing)
        ctx.line(
          `${kind}: ${kind === 'static-dnat' ? 'destination' : 'source'} -> ${formatIpv4(t.addrFrom)}`,
        );
      return 'translated';
    }
    case 'rev-dnat':
    case 'rev-snat': {
      const [proto, src, sport, dst, dport] = tuple(ctx);
      const key = natKey(zone, kind === 'rev-dnat' ? 'rd' : 'rs', proto, src, sport, dst, dport);
      ctx.addTag(Tags.nat(key));
      const b = ctx.state.nat.lookup(key, ctx.now);
      if (b === undefined) {
        if (ctx.waitForFlowState && replyLike(ctx, proto)) {
          ctx.effects.push({ kind: 'natStateWanted', key });
          ctx.m.noCache('waiting for the flow state of its connection');
          ctx.drop(`${kind}: no connection to translate back yet; waiting for its flow state`);
          return 'drop';
        }
        if (ctx.tracing) ctx.line(`${kind}: no connection to translate back`);
        return 'skip';
      }
      writeAddr(ctx, kind === 'rev-dnat' ? 'src' : 'dst', proto, b);
      if (ctx.tracing)
        ctx.line(
          `${kind}: ${kind === 'rev-dnat' ? 'source' : 'destination'} back to ${formatIpv4(b.ip)}:${b.port}`,
        );
      return 'translated';
    }
    case 'dnat':
    case 'snat':
      return forward(ctx, zone, kind, targets);
  }
}

/**
 * A packet that can only be a reply (a TCP segment with ACK, any UDP datagram, an ICMP echo reply):
 * worth waiting for flow state; a SYN or an echo request starts something and never waits.
 */
function replyLike(ctx: SimContext, proto: number): boolean {
  if (proto === PROTO_UDP) return true;
  if (proto === PROTO_TCP) return (ctx.m.read(TCP_FLAGS, TCP_ACK) & TCP_ACK) !== 0;
  if (proto === PROTO_ICMP) return ctx.m.read(ICMP_TYPE, 0xff) === ICMP_ECHO_REPLY;
  return false;
}

function writeAddr(ctx: SimContext, which: 'src' | 'dst', proto: number, b: NatBinding): void {
  const m = ctx.m;
  m.write(which === 'src' ? IP_SRC : IP_DST, b.ip);
  if (proto !== PROTO_ICMP && (proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP))
    m.write(which === 'src' ? TP_SRC : TP_DST, b.port);
}

function forward(
  ctx: SimContext,
  zone: string,
  kind: 'dnat' | 'snat',
  targets: readonly NatTarget[],
): NatOutcome {
  const t5 = tuple(ctx);
  const [proto, src, sport, dst, dport] = t5;
  const fwdKey = natKey(zone, kind === 'dnat' ? 'd' : 's', proto, src, sport, dst, dport);
  ctx.addTag(Tags.nat(fwdKey));
  const known = ctx.state.nat.lookup(fwdKey, ctx.now);
  const which = kind === 'dnat' ? 'dst' : 'src';
  if (known !== undefined) {
    writeAddr(ctx, which, proto, known);
    if (ctx.tracing) ctx.line(`${kind}: connection known, ${which} -> ${formatIpv4(known.ip)}:${known.port}`);
    return 'translated';
  }
  if (targets.length === 0) return 'skip';
  const h = hash(t5);
  const target = targets[h % targets.length]!;
  const span = target.addrTo - target.addrFrom + 1;
  const ip = (target.addrFrom + (span > 0 ? Math.floor(h / targets.length) % span : 0)) >>> 0;
  const hasPorts = proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTO_SCTP;
  let port = kind === 'dnat' ? dport : sport;
  const echoId = proto === PROTO_ICMP ? sport : 0;
  if (kind === 'snat' && proto === PROTO_ICMP) {
    // The identifier cannot be rewritten: the echo keeps it, unless another holds it already.
    if (ctx.state.nat.lookup(natKey(zone, 'rs', proto, dst, 0, ip, echoId), ctx.now) !== undefined) {
      ctx.drop(`ICMP echo identifier ${echoId} to ${formatIpv4(dst)} is in use through ${formatIpv4(ip)}`);
      return 'drop';
    }
  } else if (kind === 'dnat') {
    if (hasPorts && target.portFrom !== 0)
      port = target.portFrom + (h % (target.portTo - target.portFrom + 1));
  } else if (hasPorts && target.portFrom !== 0) {
    const chosen = snatPort(ctx, zone, proto, ip, dst, dport, target, h);
    if (chosen === 'wait') {
      ctx.effects.push({
        kind: 'natPortsWanted',
        ip,
        proto,
        portFrom: target.portFrom,
        portTo: target.portTo,
      });
      ctx.m.noCache('waiting for a block of SNAT ports');
      ctx.drop(`no SNAT ports leased yet for ${formatIpv4(ip)}`);
      return 'drop';
    }
    if (chosen === 'exhausted') {
      ctx.effects.push({ kind: 'natExhausted', ip, proto, portFrom: target.portFrom, portTo: target.portTo });
      ctx.drop(`every SNAT port of ${formatIpv4(ip)} is in use`);
      return 'exhausted';
    }
    port = chosen;
  }
  // The reply comes back with the translated tuple swapped; its reverse binding maps it to the original.
  const revKey =
    kind === 'dnat'
      ? natKey(zone, 'rd', proto, ip, hasPorts ? port : 0, src, sport)
      : natKey(zone, 'rs', proto, dst, dport, ip, hasPorts ? port : echoId);
  ctx.effects.push({
    kind: 'natCreated',
    zone,
    forwardKey: fwdKey,
    forward: { ip, port: hasPorts ? port : 0 },
    reverseKey: revKey,
    reverse: kind === 'dnat' ? { ip: dst, port: dport } : { ip: src, port: sport },
  });
  writeAddr(ctx, which, proto, { ip, port });
  if (ctx.tracing) ctx.line(`${kind}: new connection, ${which} -> ${formatIpv4(ip)}:${port}`);
  return 'translated';
}

/**
 * The first SNAT port from the tuple's hash onward, in this host's leased blocks for (ip, proto),
 * whose reply tuple (dst:dport -> ip:port) no binding holds.
 */
function snatPort(
  ctx: SimContext,
  zone: string,
  proto: number,
  ip: number,
  dst: number,
  dport: number,
  target: NatTarget,
  h: number,
): number | 'wait' | 'exhausted' {
  const blocks = ctx.state.nat.portBlocks(ip, proto);
  const usable: Array<readonly [number, number]> = [];
  for (const [a, b] of blocks) {
    const lo = Math.max(a, target.portFrom);
    const hi = Math.min(b, target.portTo);
    if (lo <= hi) usable.push([lo, hi]);
  }
  const none = () => (ctx.state.nat.exhausted(ip, proto) ? 'exhausted' : 'wait');
  if (usable.length === 0) return none();
  let total = 0;
  for (const [a, b] of usable) total += b - a + 1;
  for (let i = 0; i < total; i++) {
    let n = (h + i) % total;
    let port = 0;
    for (const [a, b] of usable) {
      const size = b - a + 1;
      if (n < size) {
        port = a + n;
        break;
      }
      n -= size;
    }
    if (ctx.state.nat.lookup(natKey(zone, 'rs', proto, dst, dport, ip, port), ctx.now) === undefined)
      return port;
  }
  return none();
}
