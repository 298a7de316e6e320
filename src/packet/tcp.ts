/**
 * TCP segments (RFC 9293): ports, sequence and acknowledgement numbers, the 12 flag bits, window,
 * urgent pointer, options kept as bytes, payload, and the checksum over the IP pseudo-header.
 *
 * Invariant: the data offset is not stored; it is derived from `options.length` (a multiple of 4, at
 * most 40), so a parsed segment builds back to the same bytes. A checksum left undefined is computed;
 * a given one is written as is (so a corrupt segment round-trips too).
 */
import { put16, put32, u16, u32 } from './bytes.js';
import {
  onesComplementSum,
  pseudoHeaderSum,
  sumIsValid,
  internetChecksum,
  type PseudoHeader,
} from './checksum.js';
import { malformed, type Malformed } from './malformed.js';

/** Bits of `Tcp.flags` (the low 12 bits of the offset/flags word: 3 reserved bits, NS, CWR ... FIN). */
export const TcpFlag = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  NS: 0x100,
} as const;

export interface Tcp {
  readonly kind: 'tcp';
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  /** `TcpFlag` bits (12 bits, including the reserved ones as they were on the wire). */
  readonly flags: number;
  readonly window: number;
  /** The checksum field; undefined on build means "compute". */
  readonly checksum?: number;
  /** Set by the parser: whether `checksum` matched. Ignored by the builder. */
  readonly checksumOk?: boolean;
  readonly urgentPointer: number;
  /** Option bytes between the fixed header and the data (a multiple of 4, at most 40). */
  readonly options: Uint8Array;
  readonly payload: Uint8Array;
}

const PROTO_TCP = 6;

export function decodeTcp(b: Uint8Array, ph: PseudoHeader): Tcp | Malformed {
  if (b.length < 20) return malformed('tcp', `truncated header: ${b.length} bytes, need at least 20`, b);
  const offsetFlags = u16(b, 12);
  const dataOffset = offsetFlags >>> 12;
  if (dataOffset < 5) {
    return malformed('tcp', `data offset ${dataOffset} words is below the minimum of 5`, b);
  }
  const headerLength = dataOffset * 4;
  if (headerLength > b.length) {
    return malformed(
      'tcp',
      `data offset ${dataOffset} words (${headerLength} bytes) runs past the end of the segment (${b.length} bytes)`,
      b,
    );
  }
  return {
    kind: 'tcp',
    srcPort: u16(b, 0),
    dstPort: u16(b, 2),
    seq: u32(b, 4),
    ack: u32(b, 8),
    flags: offsetFlags & 0xfff,
    window: u16(b, 14),
    checksum: u16(b, 16),
    checksumOk: sumIsValid(onesComplementSum(b, pseudoHeaderSum(ph, PROTO_TCP, b.length))),
    urgentPointer: u16(b, 18),
    options: b.subarray(20, headerLength),
    payload: b.subarray(headerLength),
  };
}

export function tcpLength(t: Tcp): number {
  return 20 + t.options.length + t.payload.length;
}

/** Writes `t` at `out[o]` (space for `tcpLength(t)` bytes must exist); returns the bytes written. */
export function encodeTcp(t: Tcp, out: Uint8Array, o: number, ph: PseudoHeader): number {
  const optionsLength = t.options.length;
  if (optionsLength % 4 !== 0 || optionsLength > 40) {
    throw new RangeError(`tcp: options are ${optionsLength} bytes; need a multiple of 4, at most 40`);
  }
  const length = 20 + optionsLength + t.payload.length;
  put16(out, o, t.srcPort);
  put16(out, o + 2, t.dstPort);
  put32(out, o + 4, t.seq);
  put32(out, o + 8, t.ack);
  put16(out, o + 12, (((20 + optionsLength) >>> 2) << 12) | (t.flags & 0xfff));
  put16(out, o + 14, t.window);
  put16(out, o + 16, 0);
  put16(out, o + 18, t.urgentPointer);
  out.set(t.options, o + 20);
  out.set(t.payload, o + 20 + optionsLength);
  const checksum =
    t.checksum ?? internetChecksum(out.subarray(o, o + length), pseudoHeaderSum(ph, PROTO_TCP, length));
  put16(out, o + 16, checksum);
  return length;
}
