/**
 * ARP (RFC 826) for Ethernet and IPv4: operation and the sender/target hardware and protocol addresses.
 *
 * Invariant: only htype 1, ptype 0x0800, hlen 6, plen 4 is decoded (anything else is `Malformed`), so
 * the 28-byte body is fully described by the node and builds back to the same bytes.
 */
import { formatIpv4, formatMac, writeIpv4, writeMac } from '../addr.js';
import { put16, u16 } from './bytes.js';
import { malformed, type Decoded } from './malformed.js';

export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

export interface Arp {
  readonly kind: 'arp';
  /** 1 = request, 2 = reply (`ArpOp`). */
  readonly op: number;
  readonly senderMac: string;
  readonly senderIp: string;
  readonly targetMac: string;
  readonly targetIp: string;
}

export const ARP_LENGTH = 28;

export function decodeArp(b: Uint8Array): Decoded<Arp> {
  const bad = (reason: string): Decoded<Arp> => ({ packet: malformed('arp', reason, b), end: b.length });
  if (b.length < 8) return bad(`truncated header: ${b.length} bytes, need at least 8`);
  const htype = u16(b, 0);
  const ptype = u16(b, 2);
  const hlen = b[4] ?? 0;
  const plen = b[5] ?? 0;
  if (htype !== 1 || ptype !== 0x0800 || hlen !== 6 || plen !== 4) {
    return bad(
      `only Ethernet/IPv4 is supported (htype 1, ptype 0x0800, hlen 6, plen 4), got htype ${htype}, ptype 0x${ptype.toString(16).padStart(4, '0')}, hlen ${hlen}, plen ${plen}`,
    );
  }
  if (b.length < ARP_LENGTH) return bad(`truncated: ${b.length} bytes, need ${ARP_LENGTH}`);
  return {
    packet: {
      kind: 'arp',
      op: u16(b, 6),
      senderMac: formatMac(b, 8),
      senderIp: formatIpv4(b, 14),
      targetMac: formatMac(b, 18),
      targetIp: formatIpv4(b, 24),
    },
    end: ARP_LENGTH,
  };
}

export function encodeArp(a: Arp, out: Uint8Array, o: number): number {
  put16(out, o, 1);
  put16(out, o + 2, 0x0800);
  out[o + 4] = 6;
  out[o + 5] = 4;
  put16(out, o + 6, a.op);
  writeMac(a.senderMac, out, o + 8);
  writeIpv4(a.senderIp, out, o + 14);
  writeMac(a.targetMac, out, o + 18);
  writeIpv4(a.targetIp, out, o + 24);
  return ARP_LENGTH;
}
