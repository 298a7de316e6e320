/**
 * Port security (anti-spoofing): what a port with `portSecurity` on may send, and the check every
 * packet entering such a port passes before any chain.
 *
 * A port's view (`portSecurityView`) lists the source MACs it may use (its own, and those of its
 * allowed address pairs) and, per MAC, the IPv4 and IPv6 sources (its fixed addresses and, when the
 * operator asks for it, its DHCP host entries and active leases go with its own MAC; a pair's address
 * or prefix with the pair's MAC). The check drops, in order:
 * - a frame whose source MAC is not one of them;
 * - IPv4 whose source is not allowed for that MAC; 0.0.0.0 only for a DHCP client message
 *   (UDP 68 -> 67);
 * - IPv4 UDP from port 67 (a DHCP server's OFFER/ACK, or a relay's message);
 * - ARP whose sender MAC is not allowed, or whose sender IP is not allowed for that sender MAC
 *   (0.0.0.0, an RFC 5227 probe, is allowed);
 * - IPv6 whose source is not allowed for that MAC; :: (duplicate address detection) and the link-local
 *   address derived from the MAC (EUI-64) are always allowed;
 * - an ICMPv6 neighbour advertisement whose target is not allowed for that MAC (nor its link-local
 *   address): a VM that claims another's address (ND spoofing).
 * Other ethertypes pass once the MAC is allowed.
 *
 * Invariant (mask): every decision reads, through the tracked getters, the whole of each field it
 * depends on (eth_src, eth_type, ip_src, ip_proto, tp_src/tp_dst, arp_sha, ipv6_src,
 * icmpv6 type, nd_target), so a flow
 * installed for an allowed packet never matches a spoofed one; the mask may be wider than needed
 * (a whole address is read where a pair's prefix would do), never narrower.
 */
import {
  formatIpv4,
  formatIpv6,
  ipv6PrefixContains,
  macToNumber,
  parseCidr,
  parseIpv4,
  parseIpv6,
  parseIpv6Cidr,
  prefixContains,
  type Ipv6Words,
} from '../addr.js';
import type { SimContext } from './context.js';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  ICMP_TYPE,
  IP_PROTO,
  PROTO_ICMPV6,
  PROTO_UDP,
  TP_DST,
  TP_SRC,
  formatMacNumber,
} from './flow-match.js';

interface Prefix<A> {
  readonly addr: A;
  readonly len: number;
}

/** What a port with port security on may send. */
export interface PortSecurityView {
  /** Allowed source MACs. */
  readonly macs: ReadonlySet<number>;
  /** Per source MAC, the IPv4 prefixes (a single address is /32) it may send from. */
  readonly v4: ReadonlyMap<number, readonly Prefix<number>[]>;
  /** Per source MAC, the IPv6 prefixes (a single address is /128) it may send from. */
  readonly v6: ReadonlyMap<number, readonly Prefix<Ipv6Words>[]>;
}

/** The port fields port security reads (model.ts `port`), as stored. */
export interface PortSecurityFields {
  readonly portSecurity: boolean;
  readonly mac: string | null;
  readonly addresses: readonly string[];
  readonly allowedAddressPairs: readonly { readonly ipAddress: string; readonly mac: string | null }[];
  readonly addressesFromDhcp: boolean;
}

/** Why port security dropped a packet (the agent counts drops per reason). */
export type PortSecurityReason = 'mac' | 'ip' | 'arp' | 'nd' | 'dhcp-server';

/**
 * The view of a port, or null when port security is off (or the port has no MAC, which the model
 * refuses). `dhcpAddresses`: the port's DHCP host entries and leases, used when addressesFromDhcp.
 */
export function portSecurityView(
  p: PortSecurityFields,
  dhcpAddresses: readonly string[],
): PortSecurityView | null {
  if (!p.portSecurity || p.mac === null) return null;
  const own = macToNumber(p.mac);
  const macs = new Set<number>([own]);
  const v4 = new Map<number, Prefix<number>[]>();
  const v6 = new Map<number, Prefix<Ipv6Words>[]>();
  const add = (mac: number, text: string): void => {
    macs.add(mac);
    const withLen = text.includes('/') ? text : undefined;
    const a4 = withLen === undefined ? parseIpv4(text) : undefined;
    const p4 =
      a4 !== undefined ? { addr: a4, len: 32 } : withLen !== undefined ? parseCidr(withLen, false) : '';
    if (typeof p4 !== 'string') {
      push(v4, mac, p4);
      return;
    }
    const a6 = withLen === undefined ? parseIpv6(text) : undefined;
    const p6 =
      a6 !== undefined ? { addr: a6, len: 128 } : withLen !== undefined ? parseIpv6Cidr(withLen, false) : '';
    if (typeof p6 !== 'string') push(v6, mac, p6);
  };
  for (const a of p.addresses) add(own, a);
  if (p.addressesFromDhcp) for (const a of dhcpAddresses) add(own, a);
  for (const pair of p.allowedAddressPairs)
    add(pair.mac === null ? own : macToNumber(pair.mac), pair.ipAddress);
  return { macs, v4, v6 };
}

function push<A>(m: Map<number, Prefix<A>[]>, mac: number, p: Prefix<A>): void {
  const list = m.get(mac);
  if (list === undefined) m.set(mac, [p]);
  else list.push(p);
}

function allowed4(sec: PortSecurityView, mac: number, ip: number): boolean {
  for (const p of sec.v4.get(mac) ?? []) if (prefixContains(p.addr, p.len, ip)) return true;
  return false;
}

function allowed6(sec: PortSecurityView, mac: number, ip: Ipv6Words): boolean {
  for (const p of sec.v6.get(mac) ?? []) if (ipv6PrefixContains(p.addr, p.len, ip)) return true;
  return false;
}

/** fe80::/64 with the modified EUI-64 interface identifier of `mac` (RFC 4291 appendix A). */
export function linkLocalOf(mac: number): Ipv6Words {
  const hi = Math.floor(mac / 0x1000000) ^ 0x020000; // first three bytes, universal/local bit flipped
  const lo = mac % 0x1000000;
  return [0xfe800000, 0, ((hi << 8) | 0xff) >>> 0, (0xfe000000 | lo) >>> 0];
}

function isZero6(w: Ipv6Words): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0;
}

/**
 * Runs the check of a port with port security on (`sec`). Returns true when the packet was dropped
 * (the drop reason and a `portSecurityDrop` effect recorded in the context).
 */
export function portSecurityDrops(
  ctx: SimContext,
  sec: PortSecurityView,
  portId: string,
  portName: string,
): boolean {
  const m = ctx.m;
  const mac = m.ethSrc;
  if (!sec.macs.has(mac)) return refuse(ctx, portId, portName, 'mac', `source MAC ${formatMacNumber(mac)}`);
  const type = m.ethType;
  if (type === ETH_TYPE_IPV4) {
    const src = m.ipSrc;
    const proto = m.readAll(IP_PROTO);
    if (src === 0) {
      const dhcpClient = proto === PROTO_UDP && m.readAll(TP_SRC) === 68 && m.readAll(TP_DST) === 67;
      if (!dhcpClient)
        return refuse(
          ctx,
          portId,
          portName,
          'ip',
          'source IP 0.0.0.0 (only DHCP client messages may use it)',
        );
    } else if (!allowed4(sec, mac, src)) {
      return refuse(ctx, portId, portName, 'ip', `source IP ${formatIpv4(src)}`);
    }
    if (proto === PROTO_UDP && m.readAll(TP_SRC) === 67)
      return refuse(ctx, portId, portName, 'dhcp-server', 'a DHCP server message (UDP source port 67)');
  } else if (type === ETH_TYPE_ARP) {
    const sha = m.arpSha;
    if (!sec.macs.has(sha))
      return refuse(ctx, portId, portName, 'arp', `ARP sender MAC ${formatMacNumber(sha)}`);
    const spa = m.ipSrc;
    if (spa !== 0 && !allowed4(sec, sha, spa))
      return refuse(ctx, portId, portName, 'arp', `ARP sender IP ${formatIpv4(spa)}`);
  } else if (type === ETH_TYPE_IPV6) {
    const src = m.ipv6Src();
    if (!isZero6(src) && !allowed6(sec, mac, src)) {
      const ll = linkLocalOf(mac);
      if (!(src[0] === ll[0] && src[1] === ll[1] && src[2] === ll[2] && src[3] === ll[3]))
        return refuse(ctx, portId, portName, 'ip', `source IP ${formatIpv6(src)}`);
    }
    // A neighbour advertisement may only claim the port's own addresses (or its link-local one).
    if (m.readAll(IP_PROTO) === PROTO_ICMPV6 && m.readAll(ICMP_TYPE) === 136) {
      const target = m.ndTarget();
      const ll = linkLocalOf(mac);
      const own = ll[0] === target[0] && ll[1] === target[1] && ll[2] === target[2] && ll[3] === target[3];
      if (!own && !allowed6(sec, mac, target))
        return refuse(ctx, portId, portName, 'nd', `neighbour advertisement for ${formatIpv6(target)}`);
    }
  }
  if (ctx.tracing) ctx.line('port security: source allowed');
  return false;
}

function refuse(
  ctx: SimContext,
  portId: string,
  portName: string,
  reason: PortSecurityReason,
  what: string,
): true {
  ctx.effects.push({ kind: 'portSecurityDrop', portId, reason });
  ctx.drop(`dropped by port security: ${what} not allowed on port ${portName}`);
  return true;
}
