/**
 * IPv6 neighbour discovery for virtual routers (RFC 4861), the simulation's part: the neighbour cache
 * a router reads (the twin of the ARP cache), and the packets a router port sends: neighbour
 * advertisements answering solicitations for its addresses, router advertisements with the port's
 * prefix (SLAAC: on-link and autonomous flags, RFC 4862), sent when a host solicits one (the agent
 * also sends unsolicited ones every 200-600 s: src/agent/router-adverts.ts).
 *
 * Invariant: cache lookups are pure functions of (contents, key, now), keyed by the canonical text of
 * the address; every read (present or absent) is tagged with Tags.of('nd', router/address) so a
 * learned or failed entry invalidates the flows that read it. Generated packets are plain
 * PacketFields; what they carry beyond the fields (the RA's prefix, the NA's flags) rides in `ndp`.
 */
import { formatIpv6, type Ipv6Words } from '../addr.js';
import { ETH_TYPE_IPV6, PROTO_ICMPV6, VLAN, formatMacNumber, type FlowMatch } from './flow-match.js';
import type { Action } from './result.js';
import { Tags, type Tag } from './tags.js';

export type Emit6 = Action & { kind: 'emit' };

export const ICMP6_UNREACH = 1;
export const ICMP6_TIME_EXCEEDED = 3;
export const ICMP6_ECHO_REQUEST = 128;
export const ICMP6_ECHO_REPLY = 129;
export const ND_ROUTER_SOLICIT = 133;
export const ND_ROUTER_ADVERT = 134;
export const ND_NEIGHBOR_SOLICIT = 135;
export const ND_NEIGHBOR_ADVERT = 136;
export const UNREACH6_NO_ROUTE = 0;
export const UNREACH6_ADMIN = 1;
export const UNREACH6_ADDRESS = 3;

export interface NeighbourEntry {
  /** 'failed': solicitations went unanswered (ICMPv6 address unreachable). */
  readonly state: 'resolved' | 'failed';
  readonly mac: number;
  readonly tag: Tag;
}

export interface NeighbourCache {
  lookup(routerId: string, ip: Ipv6Words, now: number): NeighbourEntry | undefined;
}

/** The tag of a neighbour cache entry (present or absent). */
export function ndTag(routerId: string, ip: Ipv6Words): Tag {
  return Tags.of('nd', `${routerId}/${formatIpv6(ip)}`);
}

interface Timed {
  readonly value: NeighbourEntry;
  readonly at: number;
}

export class MemoryNeighbourCache implements NeighbourCache {
  private readonly entries = new Map<string, Map<string, Timed>>();
  /** @param lifetimeMs an entry not refreshed for this long is absent (reachable time, generous) */
  constructor(readonly lifetimeMs = 300_000) {}
  lookup(routerId: string, ip: Ipv6Words, now: number): NeighbourEntry | undefined {
    const e = this.entries.get(routerId)?.get(formatIpv6(ip));
    return e === undefined || now - e.at >= this.lifetimeMs ? undefined : e.value;
  }
  learn(routerId: string, ip: Ipv6Words, mac: number, now: number): void {
    this.set(routerId, ip, { state: 'resolved', mac, tag: ndTag(routerId, ip) }, now);
  }
  fail(routerId: string, ip: Ipv6Words, now: number): void {
    this.set(routerId, ip, { state: 'failed', mac: 0, tag: ndTag(routerId, ip) }, now);
  }
  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
  }
  /** Forgets a router's neighbours (this host no longer holds it); returns the tags of its entries. */
  forgetRouter(routerId: string): Tag[] {
    const t = this.entries.get(routerId);
    this.entries.delete(routerId);
    return t === undefined ? [] : [...t.values()].map((e) => e.value.tag);
  }
  private set(routerId: string, ip: Ipv6Words, value: NeighbourEntry, now: number): void {
    let t = this.entries.get(routerId);
    if (t === undefined) this.entries.set(routerId, (t = new Map<string, Timed>()));
    t.set(formatIpv6(ip), { value, at: now });
  }
}

/** The solicited-node multicast address of `ip` (ff02::1:ffXX:XXXX). */
export function solicitedNode(ip: Ipv6Words): Ipv6Words {
  return [0xff020000, 0, 1, (0xff000000 | (ip[3] & 0xffffff)) >>> 0];
}

/** The Ethernet multicast MAC of an IPv6 multicast address (33:33 and its last 32 bits). */
export function multicastMac(ip: Ipv6Words): number {
  return 0x3333 * 0x100000000 + ip[3];
}

/** True for a 33:33:xx:xx:xx:xx destination (IPv6 multicast). */
export function isIpv6MulticastMac(mac: number): boolean {
  return Math.floor(mac / 0x100000000) === 0x3333;
}

function vlanOf(m: FlowMatch): { vlan?: number } {
  const v = m.peek(VLAN);
  return v === 0 ? {} : { vlan: v };
}

function emit6(
  m: FlowMatch,
  fromPortId: string,
  src: Ipv6Words,
  srcMac: number,
  dst: Ipv6Words,
  dstMac: number,
  type: number,
  code: number,
  why: string,
  extra: Partial<Emit6> = {},
  ndTarget?: Ipv6Words,
): Emit6 {
  return {
    kind: 'emit',
    fromPortId,
    packet: {
      srcMac: formatMacNumber(srcMac),
      dstMac: formatMacNumber(dstMac),
      ...vlanOf(m),
      ethertype: ETH_TYPE_IPV6,
      srcIp6: formatIpv6(src),
      dstIp6: formatIpv6(dst),
      proto: PROTO_ICMPV6,
      icmpType: type,
      icmpCode: code,
      ttl: 255,
      ...(ndTarget === undefined ? {} : { ndTarget: formatIpv6(ndTarget) }),
    },
    why,
    ...extra,
  };
}

/** ICMPv6 error or echo reply from `src`/`srcMac` back to the packet's sender. */
export function icmp6Reply(
  m: FlowMatch,
  fromPortId: string,
  src: Ipv6Words,
  srcMac: number,
  type: number,
  code: number,
  why: string,
): Emit6 {
  return emit6(m, fromPortId, src, srcMac, m.peek6(23), m.peekEthSrc(), type, code, why);
}

/** A solicited neighbour advertisement: `target` is at `mac` (router flag as `router`, override). */
export function neighbourAdvert(
  m: FlowMatch,
  fromPortId: string,
  target: Ipv6Words,
  mac: number,
  router = true,
): Emit6 {
  const asker = m.peek6(23);
  const dad = asker[0] === 0 && asker[1] === 0 && asker[2] === 0 && asker[3] === 0;
  // An NS from :: (duplicate address detection) is answered to all nodes, unsolicited.
  const dst: Ipv6Words = dad ? [0xff020000, 0, 0, 1] : asker;
  return emit6(
    m,
    fromPortId,
    target,
    mac,
    dst,
    dad ? multicastMac(dst) : m.peekEthSrc(),
    ND_NEIGHBOR_ADVERT,
    0,
    `neighbour advertisement ${formatIpv6(target)} is-at ${formatMacNumber(mac)}`,
    { ndp: { kind: 'na', solicited: !dad, router } },
    target,
  );
}

/** A router advertisement from the port's link-local address with its prefix, to the solicitor. */
export function routerAdvert(
  m: FlowMatch,
  fromPortId: string,
  linkLocal: Ipv6Words,
  mac: number,
  prefix: Ipv6Words,
  prefixLen: number,
  mtu: number,
): Emit6 {
  const asker = m.peek6(23);
  const unspecified = asker[0] === 0 && asker[1] === 0 && asker[2] === 0 && asker[3] === 0;
  const dst: Ipv6Words = unspecified ? [0xff020000, 0, 0, 1] : asker;
  return emit6(
    m,
    fromPortId,
    linkLocal,
    mac,
    dst,
    unspecified ? multicastMac(dst) : m.peekEthSrc(),
    ND_ROUTER_ADVERT,
    0,
    `router advertisement ${formatIpv6(prefix)}/${prefixLen}`,
    { ndp: { kind: 'ra', prefix: formatIpv6(prefix), prefixLen, mtu } },
  );
}
