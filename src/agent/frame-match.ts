/**
 * Fills a simulation FlowMatch straight from an Ethernet frame's bytes (the packet-in hot path, no
 * intermediate objects): MACs, 802.1Q VLAN, ethertype, IPv4 addresses/proto/TOS/TTL/fragment bits,
 * TCP/UDP/SCTP ports, TCP flags and window, ICMP type/code (and an echo's identifier), ARP opcode and addresses (in the IP fields,
 * as OVS does).
 *
 * Invariant: every field not present in the frame is 0, so two frames that agree on the bytes the
 * simulation reads fill identical fields; a frame too short for a header it announces is refused with
 * a reason (it is never half-filled and simulated).
 */
import {
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

/** Fills `m.orig` (and `m.cur`) from `frame`; returns null, or why the frame cannot be simulated. */
export function fillFromFrame(m: FlowMatch, frame: Uint8Array, tunnelId: number): string | null {
  const o = m.orig;
  for (let f = 0; f < NUM_FIELDS; f++) o[f] = 0;
  const n = frame.length;
  if (n < 14) return `frame of ${n} bytes is shorter than an Ethernet header`;
  const dv = new DataView(frame.buffer, frame.byteOffset, n);
  o[ETH_DST_HI] = dv.getUint16(0);
  o[ETH_DST_LO] = dv.getUint32(2);
  o[ETH_SRC_HI] = dv.getUint16(6);
  o[ETH_SRC_LO] = dv.getUint32(8);
  o[TUNNEL_ID] = tunnelId;
  let type = dv.getUint16(12);
  let off = 14;
  if (type === 0x8100) {
    if (n < 18) return 'truncated 802.1Q tag';
    o[VLAN] = dv.getUint16(14) & 0xfff;
    type = dv.getUint16(16);
    off = 18;
  }
  o[ETH_TYPE] = type;
  if (type === 0x0806) {
    if (n < off + 28) return 'truncated ARP packet';
    o[IP_PROTO] = dv.getUint16(off + 6) & 0xff;
    o[IP_SRC] = dv.getUint32(off + 14);
    o[IP_DST] = dv.getUint32(off + 24);
  } else if (type === 0x0800) {
    if (n < off + 20) return 'truncated IPv4 header';
    const ihl = (frame[off]! & 0x0f) * 4;
    if (ihl < 20 || n < off + ihl) return `IPv4 header length ${ihl} is invalid for a ${n}-byte frame`;
    o[IP_TOS] = frame[off + 1]!;
    const frag = dv.getUint16(off + 6);
    const offset = frag & 0x1fff;
    const more = (frag & 0x2000) !== 0;
    o[IP_FRAG] = offset !== 0 ? 3 : more ? 1 : 0;
    o[IP_TTL] = frame[off + 8]!;
    const proto = frame[off + 9]!;
    o[IP_PROTO] = proto;
    o[IP_SRC] = dv.getUint32(off + 12);
    o[IP_DST] = dv.getUint32(off + 16);
    const l4 = off + ihl;
    if (offset === 0) {
      if (proto === 6) {
        if (n < l4 + 20) return 'truncated TCP header';
        o[TP_SRC] = dv.getUint16(l4);
        o[TP_DST] = dv.getUint16(l4 + 2);
        o[TCP_FLAGS] = frame[l4 + 13]!;
        o[TCP_WINDOW] = dv.getUint16(l4 + 14);
      } else if (proto === 17 || proto === 132) {
        if (n < l4 + 8) return 'truncated UDP/SCTP header';
        o[TP_SRC] = dv.getUint16(l4);
        o[TP_DST] = dv.getUint16(l4 + 2);
      } else if (proto === 1) {
        if (n < l4 + 4) return 'truncated ICMP header';
        o[ICMP_TYPE] = frame[l4]!;
        o[ICMP_CODE] = frame[l4 + 1]!;
        const echo = o[ICMP_TYPE] === 0 || o[ICMP_TYPE] === 8;
        if (echo && n >= l4 + 8) o[ICMP_ID] = dv.getUint16(l4 + 4);
      }
    }
  }
  m.resetHeaders();
  return null;
}
