/**
 * FlowMask: the wildcard mask of a simulation result, and its OpenFlow form.
 *
 * A mask is one uint32 word per FlowMatch field (see flow-match.ts). A set bit means the flow must
 * match that bit of the packet; a clear bit is wildcarded. Extra bits are safe, missing bits are bugs.
 *
 * Invariant: `finishMask` only ever ADDS bits (OpenFlow prerequisites: an IP field needs eth_type, an
 * L4 field needs ip_proto), so a finished mask is always expressible as an OpenFlow 1.3 match with
 * per-field bitmasks (TTL and TCP window are never in it: see flow-match.ts).
 */
import { formatIpv4, formatIpv6, type Ipv6Words } from '../addr.js';
import {
  ARP_SHA_HI,
  ARP_SHA_LO,
  bits6,
  ipv6SrcBits,
  words6,
  IPV6_DST_0,
  IPV6_SRC_0,
  ND_TARGET_0,
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  ETH_TYPE_ARP,
  FULL,
  ICMP_CODE,
  ICMP_TYPE,
  IN_PORT,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  NUM_FIELDS,
  TCP_FLAGS,
  TP_DST,
  TP_SRC,
  TUNNEL_ID,
  VLAN,
  formatMacNumber,
} from './flow-match.js';

/** One uint32 mask word per field (index as in flow-match.ts). */
export type FlowMask = number[];

/** Adds OpenFlow prerequisite bits to a mask in place and returns it. */
export function finishMask(mask: FlowMask): FlowMask {
  // nd_target needs icmpv6_type (135 or 136) and icmpv6_code 0 matched (OVS's prerequisite).
  if (bits6(mask, ND_TARGET_0) !== 0) {
    mask[ICMP_TYPE] = 0xff;
    mask[ICMP_CODE] = 0xff;
  }
  if ((mask[TP_SRC]! | mask[TP_DST]! | mask[TCP_FLAGS]! | mask[ICMP_TYPE]! | mask[ICMP_CODE]!) !== 0)
    mask[IP_PROTO] = 0xff;
  if ((mask[IP_SRC]! | mask[IP_DST]! | mask[IP_PROTO]! | mask[IP_TOS]! | mask[IP_FRAG]!) !== 0)
    mask[ETH_TYPE] = 0xffff;
  if ((mask[ARP_SHA_HI]! | mask[ARP_SHA_LO]! | ipv6SrcBits(mask) | bits6(mask, IPV6_DST_0)) !== 0)
    mask[ETH_TYPE] = 0xffff;
  return mask;
}

/** True when packets a and b agree on every bit of the mask (field values as uint32 words). */
export function agreesOnMask(mask: readonly number[], a: readonly number[], b: readonly number[]): boolean {
  for (let f = 1; f < NUM_FIELDS; f++) if (((a[f]! ^ b[f]!) & mask[f]!) !== 0) return false;
  return true;
}

/** One OpenFlow match field of a mask: name, the packet's value under the mask, and the mask. */
export interface MaskField {
  readonly field: string;
  /** The bits of the packet the flow matches, formatted (MAC, dotted quad or number). */
  readonly value: string;
  /** Formatted mask; 'exact' when every bit of the field is matched. */
  readonly mask: string;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * The mask as OpenFlow fields, in OXM order, with the packet's values under it. `packet` is the
 * original headers (FlowMatch.orig); `inPort` the ingress port id.
 */
export function maskFields(mask: readonly number[], packet: readonly number[], inPort: string): MaskField[] {
  const out: MaskField[] = [];
  const exact = (f: number) => mask[f] === FULL[f];
  if (mask[IN_PORT]) out.push({ field: 'in_port', value: inPort, mask: 'exact' });
  if (mask[TUNNEL_ID])
    out.push({
      field: 'tunnel_id',
      value: String(packet[TUNNEL_ID]! & mask[TUNNEL_ID]),
      mask: exact(TUNNEL_ID) ? 'exact' : hex(mask[TUNNEL_ID]),
    });
  const mac = (name: string, hi: number, lo: number) => {
    if (!mask[hi] && !mask[lo]) return;
    const m = mask[hi]! * 0x100000000 + mask[lo]!;
    const v = (packet[hi]! & mask[hi]!) * 0x100000000 + ((packet[lo]! & mask[lo]!) >>> 0);
    out.push({
      field: name,
      value: formatMacNumber(v),
      mask: exact(hi) && exact(lo) ? 'exact' : formatMacNumber(m),
    });
  };
  mac('eth_src', ETH_SRC_HI, ETH_SRC_LO);
  mac('eth_dst', ETH_DST_HI, ETH_DST_LO);
  const num = (name: string, f: number, fmt: (n: number) => string = String) => {
    if (!mask[f]) return;
    out.push({
      field: name,
      value: fmt((packet[f]! & mask[f]) >>> 0),
      mask: exact(f) ? 'exact' : fmt(mask[f]),
    });
  };
  num('vlan_vid', VLAN);
  num('eth_type', ETH_TYPE, hex);
  mac('arp_sha', ARP_SHA_HI, ARP_SHA_LO);
  const v6 = (name: string, f0: number) => {
    if (bits6(mask, f0) === 0) return;
    const m = words6(mask, f0);
    const all = m.every((w) => w === 0xffffffff);
    const v = words6(packet, f0).map((w, i) => (w & m[i]!) >>> 0) as unknown as Ipv6Words;
    out.push({ field: name, value: formatIpv6(v), mask: all ? 'exact' : formatIpv6(m) });
  };
  v6('ipv6_src', IPV6_SRC_0);
  v6('ipv6_dst', IPV6_DST_0);
  v6('nd_target', ND_TARGET_0);
  // ARP carries its addresses and opcode in the IP fields (flow-match.ts); OpenFlow names them apart.
  const arp = (mask[ETH_TYPE]! & 0xffff) === 0xffff && packet[ETH_TYPE] === ETH_TYPE_ARP;
  num(arp ? 'arp_spa' : 'ip_src', IP_SRC, formatIpv4);
  num(arp ? 'arp_tpa' : 'ip_dst', IP_DST, formatIpv4);
  num(arp ? 'arp_op' : 'ip_proto', IP_PROTO);
  num('ip_tos', IP_TOS);
  num('ip_frag', IP_FRAG, hex);
  num('tp_src', TP_SRC);
  num('tp_dst', TP_DST);
  num('tcp_flags', TCP_FLAGS, hex);
  num('icmp_type', ICMP_TYPE);
  num('icmp_code', ICMP_CODE);
  return out;
}

/** One line: `in_port=P eth_dst=02:..:01 ip_dst=192.0.2.0/255.255.255.0 ...`. */
export function formatMask(mask: readonly number[], packet: readonly number[], inPort: string): string {
  const fields = maskFields(mask, packet, inPort);
  if (fields.length === 0) return '(none)';
  return fields
    .map((f) => (f.mask === 'exact' ? `${f.field}=${f.value}` : `${f.field}=${f.value}/${f.mask}`))
    .join(' ');
}
