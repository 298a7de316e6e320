/**
 * Fills a simulation FlowMatch straight from an Ethernet frame's bytes (the packet-in hot path, no
 * intermediate objects): MACs, 802.1Q VLAN, ethertype, IPv4 addresses/proto/TOS/TTL/fragment bits,
 * TCP/UDP/SCTP ports, TCP flags and window, ICMP type/code (and an echo's identifier), ARP opcode and
 * addresses (in the IP fields, as OVS does) and sender MAC, IPv6 addresses, next header, hop limit,
 * ICMPv6 type/code and neighbour discovery target.
 *
 * The fields are the ones Open vSwitch's own flow extraction gives the same frame (`miniflow_extract`
 * in lib/flow.c, with the default `vlan-limit` of 1), because the flow the agent installs is matched
 * against that: a field filled differently would make a flow the datapath never hits, and every such
 * packet would come back to the agent. So, as OVS does:
 * - the IPv4 total length bounds the packet: bytes past it are Ethernet padding, never a transport
 *   header; an IPv4 header that fails OVS's sanity check (shorter than 20 bytes, IHL below 5 or past
 *   the frame, total length below the header or past the frame) leaves every IP field 0;
 * - a TCP header shorter than 20 bytes or whose data offset is below 5 or past the IP payload, a UDP
 *   header shorter than 8, an SCTP header shorter than 12, an ICMP header shorter than 8 leave the L4
 *   fields 0; later fragments have none;
 * - ARP fields are read only for Ethernet/IPv4 ARP (htype 1, ptype 0x0800, hlen 6, plen 4, 28 bytes);
 * - an 802.3 length in the type field is ethertype 0x05ff (OVS's "not an Ethernet type").
 *
 * Where OVS would read a field that the packet codec (src/packet) calls malformed or decodes
 * differently, the codec's view wins and the frame is reported as not simulated, never filled with
 * values the codec refuses nor with zeros the datapath would not match: an IPv4 version other than 4,
 * a UDP length that disagrees with its IP payload (unfragmented), an ARP opcode above 255, an 802.1ad
 * service tag, LLC/SNAP encapsulation, and a frame too short for its Ethernet header or 802.1Q tag.
 * test/unit/agent-frame-match.test.ts holds the codec to this on fuzzed frames, and
 * test/integration/frame-match-ovs.test.ts holds OVS's own extraction (`ovs-ofctl parse-pcap`) to it.
 *
 * Invariant: every field not present in the frame is 0, so two frames that agree on the bytes the
 * simulation reads fill identical fields; a frame is either filled completely or refused with a
 * reason (never half-filled and simulated).
 */
import {
  setArpSha,
  setIpv6Src,
  setWords6,
  IPV6_DST_0,
  ND_TARGET_0,
  PROTO_ICMPV6,
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  ETH_TYPE,
  FlowMatch,
  ICMP_CODE,
  ICMP_ID,
  ICMP_TYPE,
  IP_DST,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_TOS,
  IP_TTL,
  NUM_FIELDS,
  TCP_FLAGS,
  TCP_WINDOW,
  TP_DST,
  TP_SRC,
  TUNNEL_ID,
  VLAN,
} from '../sim/flow-match.js';

/** OVS's ethertype for an 802.3 frame without an LLC/SNAP Ethernet type (FLOW_DL_TYPE_NONE). */
export const DL_TYPE_NONE = 0x05ff;

/** Fills `m.orig` (and `m.cur`) from `frame`; returns null, or why the frame cannot be simulated. */
export function fillFromFrame(m: FlowMatch, frame: Uint8Array, tunnelId: number): string | null {
  const o = m.orig;
  for (let f = 0; f < NUM_FIELDS; f++) o[f] = 0;
  const n = frame.length;
  if (n < 14) return `frame of ${n} bytes is shorter than an Ethernet header`;
  const dv = new DataView(frame.buffer, frame.byteOffset, n);
  let type = dv.getUint16(12);
  let off = 14;
  if (type === 0x88a8) return '802.1ad service tags are not simulated';
  if (type === 0x8100) {
    if (n < 18) return 'truncated 802.1Q tag';
    o[VLAN] = dv.getUint16(14) & 0xfff;
    type = dv.getUint16(16);
    off = 18;
  }
  if (type < 0x600) {
    if (isSnapEthernet(frame, off)) return 'LLC/SNAP-encapsulated frames are not simulated';
    type = DL_TYPE_NONE;
  }
  const why =
    type === 0x0800
      ? fillIpv4(o, frame, dv, off)
      : type === 0x0806
        ? fillArp(o, dv, off)
        : type === 0x86dd
          ? fillIpv6(o, dv, off)
          : null;
  if (why !== null) {
    for (let f = 0; f < NUM_FIELDS; f++) o[f] = 0;
    return why;
  }
  o[ETH_DST_HI] = dv.getUint16(0);
  o[ETH_DST_LO] = dv.getUint32(2);
  o[ETH_SRC_HI] = dv.getUint16(6);
  o[ETH_SRC_LO] = dv.getUint32(8);
  o[TUNNEL_ID] = tunnelId;
  o[ETH_TYPE] = type;
  m.resetHeaders();
  return null;
}

/** An 802.2 LLC/SNAP header with the Ethernet OUI carrying an Ethernet type (OVS parses what follows). */
function isSnapEthernet(b: Uint8Array, off: number): boolean {
  if (b.length < off + 8) return false;
  return (
    b[off] === 0xaa &&
    b[off + 1] === 0xaa &&
    b[off + 2] === 0x03 &&
    b[off + 3] === 0 &&
    b[off + 4] === 0 &&
    b[off + 5] === 0 &&
    ((b[off + 6]! << 8) | b[off + 7]!) >= 0x600
  );
}

function fillArp(o: number[], dv: DataView, off: number): string | null {
  if (dv.byteLength < off + 28) return null;
  if (dv.getUint16(off) !== 1 || dv.getUint16(off + 2) !== 0x0800) return null;
  if (dv.getUint8(off + 4) !== 6 || dv.getUint8(off + 5) !== 4) return null;
  const op = dv.getUint16(off + 6);
  if (op > 0xff) return `ARP opcode ${op} does not fit the 8 bits OpenFlow matches`;
  o[IP_PROTO] = op;
  setArpSha(o, dv.getUint16(off + 8) * 0x100000000 + dv.getUint32(off + 10));
  o[IP_SRC] = dv.getUint32(off + 14);
  o[IP_DST] = dv.getUint32(off + 24);
  return null;
}

function fillIpv4(o: number[], b: Uint8Array, dv: DataView, off: number): string | null {
  const avail = b.length - off;
  // The codec's order of checks (src/packet/ipv4.ts), so that both name the same first problem.
  if (avail < 20) return null;
  const version = b[off]! >>> 4;
  if (version !== 4) return `IPv4 header of version ${version}`;
  const ihl = (b[off]! & 0x0f) * 4;
  if (ihl < 20 || ihl > avail) return null;
  const total = dv.getUint16(off + 2);
  if (total < ihl || total > avail) return null;
  const frag = dv.getUint16(off + 6);
  const later = (frag & 0x1fff) !== 0;
  const fragment = later || (frag & 0x2000) !== 0;
  const proto = b[off + 9]!;
  const l4 = off + ihl;
  const l4len = total - ihl;
  if (!later) {
    if (proto === 6) {
      const dataOffset = l4len >= 20 ? (b[l4 + 12]! >>> 4) * 4 : 0;
      if (dataOffset >= 20 && dataOffset <= l4len) {
        o[TP_SRC] = dv.getUint16(l4);
        o[TP_DST] = dv.getUint16(l4 + 2);
        o[TCP_FLAGS] = b[l4 + 13]!;
        o[TCP_WINDOW] = dv.getUint16(l4 + 14);
      }
    } else if (proto === 17) {
      if (l4len >= 8) {
        // A whole datagram's UDP length must be its IP payload's or less; a first fragment's is the
        // whole datagram's, so only unfragmented packets are held to it.
        const udpLength = dv.getUint16(l4 + 4);
        if (!fragment && (udpLength < 8 || udpLength > l4len))
          return `UDP length ${udpLength} disagrees with the ${l4len}-byte IP payload`;
        o[TP_SRC] = dv.getUint16(l4);
        o[TP_DST] = dv.getUint16(l4 + 2);
      }
    } else if (proto === 132) {
      if (l4len >= 12) {
        o[TP_SRC] = dv.getUint16(l4);
        o[TP_DST] = dv.getUint16(l4 + 2);
      }
    } else if (proto === 1) {
      if (l4len >= 8) {
        o[ICMP_TYPE] = b[l4]!;
        o[ICMP_CODE] = b[l4 + 1]!;
        if (o[ICMP_TYPE] === 0 || o[ICMP_TYPE] === 8) o[ICMP_ID] = dv.getUint16(l4 + 4);
      }
    }
  }
  o[IP_TOS] = b[off + 1]!;
  o[IP_FRAG] = later ? 3 : fragment ? 1 : 0;
  o[IP_TTL] = b[off + 8]!;
  o[IP_PROTO] = proto;
  o[IP_SRC] = dv.getUint32(off + 12);
  o[IP_DST] = dv.getUint32(off + 16);
  return null;
}

/**
 * IPv6: addresses, traffic class, hop limit and the next header of the base header, and what follows
 * when the next header is TCP, UDP or ICMPv6 (ports and TCP flags; ICMPv6 type and code from 8 bytes
 * on, as OVS reads them, and the target of a neighbour solicitation or advertisement). A packet with
 * an extension header OVS walks (hop-by-hop, routing, fragment, AH, destination options) is refused:
 * the simulation does not walk them, and a flow with the header's number as protocol would never match
 * what OVS extracts (the protocol after the chain). A header the
 * codec calls malformed (shorter than 40 bytes, a version other than 6, a payload length past the
 * frame) is refused, as OVS's own sanity check leaves such a frame without IPv6 fields.
 */
function fillIpv6(o: number[], dv: DataView, off: number): string | null {
  const n = dv.byteLength - off;
  if (n < 40) return `IPv6 header of ${n} bytes is shorter than 40`;
  const first = dv.getUint32(off);
  const version = first >>> 28;
  if (version !== 6) return `IPv6 version ${version} is not 6`;
  const plen = dv.getUint16(off + 4);
  if (40 + plen > n) return `IPv6 payload length ${plen} runs past the frame`;
  const word = (at: number): [number, number, number, number] => [
    dv.getUint32(at),
    dv.getUint32(at + 4),
    dv.getUint32(at + 8),
    dv.getUint32(at + 12),
  ];
  setIpv6Src(o, word(off + 8));
  setWords6(o, IPV6_DST_0, word(off + 24));
  const proto = dv.getUint8(off + 6);
  if (IPV6_EXTENSION_HEADERS.has(proto)) return `IPv6 extension header ${proto} is not simulated`;
  o[IP_TOS] = (first >>> 20) & 0xff;
  o[IP_TTL] = dv.getUint8(off + 7);
  o[IP_PROTO] = proto;
  const l4 = off + 40;
  if (proto === 6) {
    const dataOffset = plen >= 20 ? (dv.getUint8(l4 + 12) >>> 4) * 4 : 0;
    if (dataOffset >= 20 && dataOffset <= plen) {
      o[TP_SRC] = dv.getUint16(l4);
      o[TP_DST] = dv.getUint16(l4 + 2);
      o[TCP_FLAGS] = dv.getUint8(l4 + 13);
      o[TCP_WINDOW] = dv.getUint16(l4 + 14);
    }
  } else if (proto === 17) {
    if (plen >= 8) {
      const udpLength = dv.getUint16(l4 + 4);
      if (udpLength < 8 || udpLength > plen)
        return `UDP length ${udpLength} disagrees with the ${plen}-byte IPv6 payload`;
      o[TP_SRC] = dv.getUint16(l4);
      o[TP_DST] = dv.getUint16(l4 + 2);
    }
  } else if (proto === PROTO_ICMPV6 && plen >= 8) {
    const type = dv.getUint8(l4);
    o[ICMP_TYPE] = type;
    o[ICMP_CODE] = dv.getUint8(l4 + 1);
    if (
      (type === 135 || type === 136) &&
      o[ICMP_CODE] === 0 &&
      plen >= 24 &&
      ndOptionsOk(dv, l4 + 24, l4 + plen)
    )
      setWords6(o, ND_TARGET_0, word(l4 + 8));
  }
  return null;
}

/** Extension headers OVS's flow extraction walks past (lib/flow.c parse_ipv6_ext_hdrs). */
export const IPV6_EXTENSION_HEADERS: ReadonlySet<number> = new Set([0, 43, 44, 51, 60]);

/** ND options from `at` to `end` as OVS accepts them (each a non-zero number of 8-byte units that fits). */
function ndOptionsOk(dv: DataView, at: number, end: number): boolean {
  while (end - at >= 8) {
    const len = dv.getUint8(at + 1) * 8;
    if (len === 0 || len > end - at) return false;
    at += len;
  }
  return true;
}
