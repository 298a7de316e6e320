/**
 * IPv6 packets (RFC 8200), base header only: traffic class, flow label, payload length, next header,
 * hop limit, addresses. Extension headers are not walked: a next header other than TCP, UDP or
 * ICMPv6 gives a raw payload.
 *
 * Invariant: `payloadLength` left undefined is computed on build; the next header is a function of
 * the payload node (see transport.ts). Parsing is lossless.
 */
import { formatIpv6, writeIpv6 } from '../addr.js';
import { plainView, put16, put32, u16, u32 } from './bytes.js';
import { type PseudoHeader } from './checksum.js';
import { malformed, type Decoded, type Malformed } from './malformed.js';
import {
  decodeIpv6Payload,
  encodeIpPayload,
  ipPayloadLength,
  requireIpProtocol,
  type Ipv6Payload,
} from './transport.js';

export interface Ipv6 {
  readonly kind: 'ipv6';
  readonly trafficClass: number;
  /** 20 bits. */
  readonly flowLabel: number;
  /** Bytes after the 40-byte header; undefined on build means "compute". */
  readonly payloadLength?: number;
  readonly hopLimit: number;
  readonly src: string;
  readonly dst: string;
  readonly payload: Ipv6Payload;
}

export function decodeIpv6(b: Uint8Array): Decoded<Ipv6> {
  const bad = (reason: string): Decoded<Ipv6> => ({ packet: malformed('ipv6', reason, b), end: b.length });
  if (b.length < 40) return bad(`truncated header: ${b.length} bytes, need at least 40`);
  const first = u32(b, 0);
  const version = Math.floor(first / 0x10000000);
  if (version !== 6) return bad(`version ${version} is not 6`);
  const payloadLength = u16(b, 4);
  if (40 + payloadLength > b.length) {
    return bad(
      `payload length ${payloadLength} runs past the end of the buffer (${b.length - 40} bytes after the header)`,
    );
  }
  const end = 40 + payloadLength;
  const ph: PseudoHeader = { src: b.subarray(8, 24), dst: b.subarray(24, 40) };
  const packet: Ipv6 = {
    kind: 'ipv6',
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
    hopLimit: b[7] ?? 0,
    src: formatIpv6(b, 8),
    dst: formatIpv6(b, 24),
    payload: decodeIpv6Payload(b[6] ?? 0, b.subarray(40, end), ph),
  };
  return { packet, end };
}

export function ipv6Length(ip: Ipv6): number {
  return 40 + ipPayloadLength(ip.payload);
}

export function encodeIpv6(ip: Ipv6, out: Uint8Array, o: number): number {
  writeIpv6(ip.src, out, o + 8);
  writeIpv6(ip.dst, out, o + 24);
  const ph: PseudoHeader = { src: out.subarray(o + 8, o + 24), dst: out.subarray(o + 24, o + 40) };
  const payloadLength = encodeIpPayload(ip.payload, out, o + 40, ph);
  put32(out, o, (0x60000000 | ((ip.trafficClass & 0xff) << 20) | (ip.flowLabel & 0xfffff)) >>> 0);
  put16(out, o + 4, ip.payloadLength ?? payloadLength);
  out[o + 6] = requireIpProtocol(ip.payload);
  out[o + 7] = ip.hopLimit;
  return 40 + payloadLength;
}

/** Parses an IPv6 packet (bytes past its payload length are ignored). */
export function parseIpv6(b: Uint8Array): Ipv6 | Malformed {
  return decodeIpv6(plainView(b)).packet;
}

/** Builds an IPv6 packet, computing lengths and checksums left undefined. */
export function buildIpv6(ip: Ipv6): Uint8Array {
  const out = new Uint8Array(ipv6Length(ip));
  encodeIpv6(ip, out, 0);
  return out;
}
