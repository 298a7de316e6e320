/**
 * The IPv6 part of an OXM match (translate.ts does the rest): source and destination with their
 * prefix masks, next header, ICMPv6 type and code, a neighbour discovery target, TCP/UDP ports.
 *
 * Invariant, as in translate.ts: the match is never less specific than the mask. An address mask
 * that is not a whole prefix is still expressed bit for bit (OpenFlow takes arbitrary IPv6 masks);
 * the ND target, which OpenFlow matches only exactly, is matched whole when any bit of it was read.
 */
import { formatIpv6, type Ipv6Words } from '../addr.js';
import type { OxmField } from '../openflow/index.js';
import {
  FULL,
  ICMP_CODE,
  ICMP_TYPE,
  IPV6_DST_0,
  IPV6_SRC_0,
  IP_PROTO,
  ND_TARGET_0,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  TCP_FLAGS,
  TP_DST,
  TP_SRC,
  bits6,
  words6,
} from '../sim/flow-match.js';

function masked(v: Ipv6Words, m: Ipv6Words): Ipv6Words {
  return [(v[0] & m[0]) >>> 0, (v[1] & m[1]) >>> 0, (v[2] & m[2]) >>> 0, (v[3] & m[3]) >>> 0];
}

/** Appends the IPv6 fields of `mask` over the packet `pkt` to `m` (eth_type 0x86dd already in it). */
export function matchIpv6(m: OxmField[], mask: readonly number[], pkt: readonly number[]): OxmField[] {
  const addr = (field: 'ipv6_src' | 'ipv6_dst', f0: number) => {
    if (bits6(mask, f0) === 0) return;
    const k = words6(mask, f0);
    const v = words6(pkt, f0);
    if (k.every((w, i) => w === FULL[f0 + i])) m.push({ field, value: formatIpv6(v) });
    else m.push({ field, value: formatIpv6(masked(v, k)), mask: formatIpv6(k) });
  };
  addr('ipv6_src', IPV6_SRC_0);
  addr('ipv6_dst', IPV6_DST_0);
  if (!mask[IP_PROTO]) return m;
  const proto = pkt[IP_PROTO]!;
  m.push({ field: 'ip_proto', value: proto });
  if (proto === PROTO_TCP || proto === PROTO_UDP) {
    const l4 = proto === PROTO_TCP ? 'tcp' : 'udp';
    if (mask[TP_SRC]) m.push({ field: `${l4}_src`, value: pkt[TP_SRC]! });
    if (mask[TP_DST]) m.push({ field: `${l4}_dst`, value: pkt[TP_DST]! });
    if (l4 === 'tcp' && mask[TCP_FLAGS])
      m.push({ field: 'tcp_flags', value: pkt[TCP_FLAGS]! & mask[TCP_FLAGS], mask: mask[TCP_FLAGS] });
  }
  if (proto === PROTO_ICMPV6) {
    if (mask[ICMP_TYPE]) m.push({ field: 'icmpv6_type', value: pkt[ICMP_TYPE]! });
    if (mask[ICMP_CODE]) m.push({ field: 'icmpv6_code', value: pkt[ICMP_CODE]! });
    const t = pkt[ICMP_TYPE];
    if (bits6(mask, ND_TARGET_0) !== 0 && (t === 135 || t === 136))
      m.push({ field: 'ipv6_nd_target', value: formatIpv6(words6(pkt, ND_TARGET_0)) });
  }
  return m;
}
