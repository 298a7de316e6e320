/**
 * IPv4 packets (RFC 791): header with options kept as bytes, fragmentation fields, and the header
 * checksum, which is computed on build and verified on parse (a mismatch is `checksumOk: false`, not a
 * malformation). The payload is decoded by protocol unless the packet is a fragment (MF set or a
 * non-zero offset): fragments carry their payload as raw bytes, since a transport header and checksum
 * cannot be read from part of a datagram.
 *
 * Invariant: IHL is derived from `options.length` (a multiple of 4, at most 40); `totalLength` and
 * `checksum` left undefined are computed, given ones are written as is. Decoding keeps every header
 * bit (including the reserved flag), so a parsed packet builds back to the same bytes.
 */
import { formatIpv4, writeIpv4 } from '../addr.js';
import { plainView, put16, u16 } from './bytes.js';
import { internetChecksum, onesComplementSum, sumIsValid, type PseudoHeader } from './checksum.js';
import { malformed, type Decoded, type Malformed } from './malformed.js';
import {
  decodeIpv4Payload,
  encodeIpPayload,
  ipPayloadLength,
  requireIpProtocol,
  type Ipv4Payload,
} from './transport.js';

export interface Ipv4 {
  readonly kind: 'ipv4';
  /** Type of service byte: DSCP (high 6 bits) and ECN (low 2 bits). */
  readonly tos: number;
  /** Header plus payload bytes; undefined on build means "compute". */
  readonly totalLength?: number;
  readonly id: number;
  /** The reserved flag bit (must be zero, RFC 791); present only when set. */
  readonly reservedFlag?: boolean;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** Fragment offset in 8-byte units, as on the wire. */
  readonly fragmentOffset: number;
  readonly ttl: number;
  /** The header checksum field; undefined on build means "compute". */
  readonly checksum?: number;
  /** Set by the parser: whether `checksum` matched. Ignored by the builder. */
  readonly checksumOk?: boolean;
  readonly src: string;
  readonly dst: string;
  /** Option bytes (a multiple of 4, at most 40). */
  readonly options: Uint8Array;
  readonly payload: Ipv4Payload;
}

/** Whether the packet is a fragment (its payload is then raw bytes). */
export function isFragment(ip: Pick<Ipv4, 'moreFragments' | 'fragmentOffset'>): boolean {
  return ip.moreFragments || ip.fragmentOffset !== 0;
}

export function decodeIpv4(b: Uint8Array): Decoded<Ipv4> {
  const bad = (reason: string): Decoded<Ipv4> => ({ packet: malformed('ipv4', reason, b), end: b.length });
  if (b.length < 20) return bad(`truncated header: ${b.length} bytes, need at least 20`);
  const version = (b[0] ?? 0) >>> 4;
  if (version !== 4) return bad(`version ${version} is not 4`);
  const ihl = (b[0] ?? 0) & 0x0f;
  if (ihl < 5) return bad(`header length ${ihl} words is below the minimum of 5`);
  const headerLength = ihl * 4;
  if (headerLength > b.length) {
    return bad(
      `header length ${ihl} words (${headerLength} bytes) runs past the end of the buffer (${b.length} bytes)`,
    );
  }
  const totalLength = u16(b, 2);
  if (totalLength < headerLength) {
    return bad(`total length ${totalLength} is shorter than the header (${headerLength} bytes)`);
  }
  if (totalLength > b.length) {
    return bad(`total length ${totalLength} runs past the end of the buffer (${b.length} bytes)`);
  }
  const flagsOffset = u16(b, 6);
  const moreFragments = (flagsOffset & 0x2000) !== 0;
  const fragmentOffset = flagsOffset & 0x1fff;
  const protocol = b[9] ?? 0;
  const body = b.subarray(headerLength, totalLength);
  const ph: PseudoHeader = { src: b.subarray(12, 16), dst: b.subarray(16, 20) };
  const ip: Ipv4 = {
    kind: 'ipv4',
    tos: b[1] ?? 0,
    totalLength,
    id: u16(b, 4),
    dontFragment: (flagsOffset & 0x4000) !== 0,
    moreFragments,
    fragmentOffset,
    ttl: b[8] ?? 0,
    checksum: u16(b, 10),
    checksumOk: sumIsValid(onesComplementSum(b.subarray(0, headerLength))),
    src: formatIpv4(b, 12),
    dst: formatIpv4(b, 16),
    options: b.subarray(20, headerLength),
    payload:
      moreFragments || fragmentOffset !== 0
        ? { kind: 'raw', protocol, bytes: body }
        : decodeIpv4Payload(protocol, body, ph),
  };
  return { packet: (flagsOffset & 0x8000) !== 0 ? { ...ip, reservedFlag: true } : ip, end: totalLength };
}

export function ipv4Length(ip: Ipv4): number {
  return 20 + ip.options.length + ipPayloadLength(ip.payload);
}

export function encodeIpv4(ip: Ipv4, out: Uint8Array, o: number): number {
  const optionsLength = ip.options.length;
  if (optionsLength % 4 !== 0 || optionsLength > 40) {
    throw new RangeError(`ipv4: options are ${optionsLength} bytes; need a multiple of 4, at most 40`);
  }
  const headerLength = 20 + optionsLength;
  writeIpv4(ip.src, out, o + 12);
  writeIpv4(ip.dst, out, o + 16);
  const ph: PseudoHeader = { src: out.subarray(o + 12, o + 16), dst: out.subarray(o + 16, o + 20) };
  const length = headerLength + encodeIpPayload(ip.payload, out, o + headerLength, ph);
  out[o] = 0x40 | (headerLength >>> 2);
  out[o + 1] = ip.tos;
  put16(out, o + 2, ip.totalLength ?? length);
  put16(out, o + 4, ip.id);
  put16(
    out,
    o + 6,
    (ip.reservedFlag === true ? 0x8000 : 0) |
      (ip.dontFragment ? 0x4000 : 0) |
      (ip.moreFragments ? 0x2000 : 0) |
      (ip.fragmentOffset & 0x1fff),
  );
  out[o + 8] = ip.ttl;
  out[o + 9] = requireIpProtocol(ip.payload);
  put16(out, o + 10, 0);
  out.set(ip.options, o + 20);
  put16(out, o + 10, ip.checksum ?? internetChecksum(out.subarray(o, o + headerLength)));
  return length;
}

/** Parses an IPv4 packet (bytes past its total length are ignored). */
export function parseIpv4(b: Uint8Array): Ipv4 | Malformed {
  return decodeIpv4(plainView(b)).packet;
}

/** Builds an IPv4 packet, computing lengths and checksums left undefined. */
export function buildIpv4(ip: Ipv4): Uint8Array {
  const out = new Uint8Array(ipv4Length(ip));
  encodeIpv4(ip, out, 0);
  return out;
}
