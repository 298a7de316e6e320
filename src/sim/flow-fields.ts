/**
 * The packet fields a FlowMatch holds (flow-match.ts): one index per field, as OpenFlow/OVS name and
 * match them, with the word helpers of the wide fields (IPv6 addresses, ND target, ARP sender MAC), the
 * names, the all-bits mask and the ethertype/protocol numbers the simulation compares against.
 *
 * Invariant: NUM_FIELDS counts every index, FIELD_NAMES and FULL have one entry per index, and each
 * field's value fits a uint32 (a MAC is split into a 16-bit high and a 32-bit low word).
 */
export const IN_PORT = 0;
export const ETH_SRC_HI = 1;
export const ETH_SRC_LO = 2;
export const ETH_DST_HI = 3;
export const ETH_DST_LO = 4;
/** 0 = untagged, else the 12-bit VLAN id. */
export const VLAN = 5;
export const ETH_TYPE = 6;
export const IP_SRC = 7;
export const IP_DST = 8;
export const IP_PROTO = 9;
export const IP_TOS = 10;
/** Never masked (see header). */
export const IP_TTL = 11;
export const TP_SRC = 12;
export const TP_DST = 13;
export const TCP_FLAGS = 14;
/** TCP flag bits as TCP_FLAGS holds them. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;
export const ICMP_TYPE = 15;
export const ICMP_CODE = 16;
/** OVS nw_frag encoding: bit 0 = is a fragment, bit 1 = is a later (non-first) fragment. */
export const IP_FRAG = 17;
export const TUNNEL_ID = 18;
/** Not matchable by the datapath (see header). */
export const TCP_WINDOW = 19;
/** The identifier of an ICMP echo request or reply; not matchable by the datapath (see header). */
export const ICMP_ID = 20;
/** ARP sender hardware address (arp_sha), split like the Ethernet MACs; 0 for other frames. */
export const ARP_SHA_HI = 21;
export const ARP_SHA_LO = 22;
/** IPv6 source address (ipv6_src), four words most significant first (addr.ts Ipv6Words); 0 unless IPv6. */
export const IPV6_SRC_0 = 23;
export const IPV6_SRC_1 = 24;
export const IPV6_SRC_2 = 25;
export const IPV6_SRC_3 = 26;
/** IPv6 destination address (ipv6_dst), four words like the source; 0 unless IPv6. */
export const IPV6_DST_0 = 27;
export const IPV6_DST_1 = 28;
export const IPV6_DST_2 = 29;
export const IPV6_DST_3 = 30;
/** Target address of an ICMPv6 neighbour solicitation or advertisement (nd_target); 0 otherwise. */
export const ND_TARGET_0 = 31;
export const ND_TARGET_1 = 32;
export const ND_TARGET_2 = 33;
export const ND_TARGET_3 = 34;
export const NUM_FIELDS = 35;

/** The four words of an IPv6 address field starting at `f0` (IPV6_SRC_0, IPV6_DST_0, ND_TARGET_0). */
export function words6(v: readonly number[], f0: number): [number, number, number, number] {
  return [v[f0]!, v[f0 + 1]!, v[f0 + 2]!, v[f0 + 3]!];
}

/** Writes the four words of an IPv6 address field starting at `f0` into `v` (a packet's fields). */
export function setWords6(v: number[], f0: number, w: readonly [number, number, number, number]): void {
  [v[f0], v[f0 + 1], v[f0 + 2], v[f0 + 3]] = w;
}

/** Non-zero when any bit of the IPv6 address field starting at `f0` is in the mask. */
export function bits6(mask: readonly number[], f0: number): number {
  return mask[f0]! | mask[f0 + 1]! | mask[f0 + 2]! | mask[f0 + 3]!;
}

/** The IPv6 source words of `v` (a packet's fields or a mask). */
export function ipv6SrcOf(v: readonly number[]): [number, number, number, number] {
  return [v[IPV6_SRC_0]!, v[IPV6_SRC_1]!, v[IPV6_SRC_2]!, v[IPV6_SRC_3]!];
}

/** Writes IPv6 source words into `v` (a packet's fields). */
export function setIpv6Src(v: number[], w: readonly [number, number, number, number]): void {
  [v[IPV6_SRC_0], v[IPV6_SRC_1], v[IPV6_SRC_2], v[IPV6_SRC_3]] = w;
}

/** Non-zero when any bit of the IPv6 source is in the mask. */
export function ipv6SrcBits(mask: readonly number[]): number {
  return mask[IPV6_SRC_0]! | mask[IPV6_SRC_1]! | mask[IPV6_SRC_2]! | mask[IPV6_SRC_3]!;
}

/** The ARP sender MAC of `v` (a packet's fields). */
export function arpShaOf(v: readonly number[]): number {
  return v[ARP_SHA_HI]! * 0x100000000 + v[ARP_SHA_LO]!;
}

/** Writes the ARP sender MAC into `v` (a packet's fields). */
export function setArpSha(v: number[], mac: number): void {
  v[ARP_SHA_HI] = Math.floor(mac / 0x100000000);
  v[ARP_SHA_LO] = mac % 0x100000000;
}

/** Names as OpenFlow/OVS would print them, per field index. */
export const FIELD_NAMES: readonly string[] = [
  'in_port',
  'eth_src_hi',
  'eth_src_lo',
  'eth_dst_hi',
  'eth_dst_lo',
  'vlan_vid',
  'eth_type',
  'ip_src',
  'ip_dst',
  'ip_proto',
  'ip_tos',
  'ip_ttl',
  'tp_src',
  'tp_dst',
  'tcp_flags',
  'icmp_type',
  'icmp_code',
  'ip_frag',
  'tunnel_id',
  'tcp_window',
  'icmp_id',
  'arp_sha_hi',
  'arp_sha_lo',
  'ipv6_src_0',
  'ipv6_src_1',
  'ipv6_src_2',
  'ipv6_src_3',
  'ipv6_dst_0',
  'ipv6_dst_1',
  'ipv6_dst_2',
  'ipv6_dst_3',
  'nd_target_0',
  'nd_target_1',
  'nd_target_2',
  'nd_target_3',
];

/** All bits of each field. */
export const FULL: readonly number[] = [
  0xffffffff, 0xffff, 0xffffffff, 0xffff, 0xffffffff, 0xfff, 0xffff, 0xffffffff, 0xffffffff, 0xff, 0xff, 0xff,
  0xffff, 0xffff, 0xff, 0xff, 0xff, 0x3, 0xffffff, 0xffff, 0xffff, 0xffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
  0xffffffff,
];

export const ETH_TYPE_IPV4 = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_IPV6 = 0x86dd;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_SCTP = 132;
export const PROTO_ICMPV6 = 58;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
