/**
 * UDP datagrams (RFC 768) over IPv4 or IPv6, with the checksum over the pseudo-header. When both ports
 * are DHCP ports (67/68) the payload is decoded as DHCP; otherwise it is raw bytes.
 *
 * Invariant: `length` and `checksum` left undefined are computed on build (a computed checksum of 0 is
 * sent as 0xffff, RFC 768); a parsed datagram keeps both as they were. A zero checksum means "none" and
 * counts as valid over IPv4 only (RFC 8200 §8.1 makes it mandatory over IPv6). Bytes of the IP payload
 * beyond the UDP length are kept as `padding`, so parsing is lossless.
 */
import { put16, u16 } from './bytes.js';
import {
  internetChecksum,
  onesComplementSum,
  pseudoHeaderSum,
  sumIsValid,
  type PseudoHeader,
} from './checksum.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, decodeDhcp, dhcpLength, encodeDhcp, type Dhcp } from './dhcp.js';
import { malformed, type Malformed } from './malformed.js';

/** An undecoded UDP payload. */
export interface RawUdpPayload {
  readonly kind: 'raw';
  readonly bytes: Uint8Array;
}

export type UdpPayload = Dhcp | RawUdpPayload | Malformed;

export interface Udp {
  readonly kind: 'udp';
  readonly srcPort: number;
  readonly dstPort: number;
  /** The length field (header + payload); undefined on build means "compute". */
  readonly length?: number;
  /** The checksum field; undefined on build means "compute", 0 means "none" (IPv4). */
  readonly checksum?: number;
  /** Set by the parser: whether `checksum` matched (or is 0 over IPv4). Ignored by the builder. */
  readonly checksumOk?: boolean;
  readonly payload: UdpPayload;
  /** IP payload bytes after the UDP length, if any. */
  readonly padding?: Uint8Array;
}

const PROTO_UDP = 17;

function isDhcpPort(port: number): boolean {
  return port === DHCP_SERVER_PORT || port === DHCP_CLIENT_PORT;
}

/** Whether a datagram between these ports is parsed as DHCP. */
export function isDhcpPorts(srcPort: number, dstPort: number): boolean {
  return isDhcpPort(srcPort) && isDhcpPort(dstPort);
}

export function decodeUdp(b: Uint8Array, ph: PseudoHeader): Udp | Malformed {
  if (b.length < 8) return malformed('udp', `truncated header: ${b.length} bytes, need at least 8`, b);
  const length = u16(b, 4);
  if (length < 8) return malformed('udp', `length ${length} is below the minimum of 8`, b);
  if (length > b.length) {
    return malformed('udp', `length ${length} runs past the end of the IP payload (${b.length} bytes)`, b);
  }
  const datagram = b.subarray(0, length);
  const srcPort = u16(b, 0);
  const dstPort = u16(b, 2);
  const checksum = u16(b, 6);
  const checksumOk =
    checksum === 0
      ? ph.src.length === 4
      : sumIsValid(onesComplementSum(datagram, pseudoHeaderSum(ph, PROTO_UDP, length)));
  const body = datagram.subarray(8);
  const payload: UdpPayload = isDhcpPorts(srcPort, dstPort) ? decodeDhcp(body) : { kind: 'raw', bytes: body };
  const udp: Udp = { kind: 'udp', srcPort, dstPort, length, checksum, checksumOk, payload };
  return length < b.length ? { ...udp, padding: b.subarray(length) } : udp;
}

function payloadLength(p: UdpPayload): number {
  switch (p.kind) {
    case 'dhcp':
      return dhcpLength(p);
    case 'raw':
    case 'malformed':
      return p.bytes.length;
  }
}

export function udpLength(u: Udp): number {
  return 8 + payloadLength(u.payload) + (u.padding?.length ?? 0);
}

export function encodeUdp(u: Udp, out: Uint8Array, o: number, ph: PseudoHeader): number {
  const p = u.payload;
  let bodyLength: number;
  switch (p.kind) {
    case 'dhcp':
      bodyLength = encodeDhcp(p, out, o + 8);
      break;
    case 'raw':
    case 'malformed':
      out.set(p.bytes, o + 8);
      bodyLength = p.bytes.length;
      break;
  }
  const length = 8 + bodyLength;
  put16(out, o, u.srcPort);
  put16(out, o + 2, u.dstPort);
  put16(out, o + 4, u.length ?? length);
  put16(out, o + 6, 0);
  let checksum = u.checksum;
  if (checksum === undefined) {
    checksum = internetChecksum(out.subarray(o, o + length), pseudoHeaderSum(ph, PROTO_UDP, length));
    if (checksum === 0) checksum = 0xffff;
  }
  put16(out, o + 6, checksum);
  if (u.padding !== undefined) {
    out.set(u.padding, o + length);
    return length + u.padding.length;
  }
  return length;
}
