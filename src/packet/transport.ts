/**
 * The payload of an IP packet: dispatch from the protocol number (IPv4) or next header (IPv6) to the
 * transport decoders, and back from a payload node to its protocol number and encoder.
 *
 * Invariant: the IP headers do not store a protocol field; it is a function of the payload node
 * (`ipProtocolOf`): tcp 6, udp 17, icmp 1, icmpv6 58, a raw payload its own `protocol`, a malformed
 * payload the protocol of its layer. So parse and build cannot disagree about it.
 */
import { type PseudoHeader } from './checksum.js';
import { decodeIcmp, encodeIcmp, icmpLength, type Icmp } from './icmp.js';
import { decodeIcmpv6, encodeIcmpv6, icmpv6Length, type Icmpv6 } from './icmpv6.js';
import { type Malformed } from './malformed.js';
import { decodeTcp, encodeTcp, tcpLength, type Tcp } from './tcp.js';
import { decodeUdp, encodeUdp, udpLength, type Udp } from './udp.js';

export const IpProtocol = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ICMPV6: 58,
} as const;

/** A payload the codec does not decode (other protocols, and non-initial or partial IPv4 fragments). */
export interface RawIpPayload {
  readonly kind: 'raw';
  readonly protocol: number;
  readonly bytes: Uint8Array;
}

export type Ipv4Payload = Tcp | Udp | Icmp | RawIpPayload | Malformed;
export type Ipv6Payload = Tcp | Udp | Icmpv6 | RawIpPayload | Malformed;
export type IpPayload = Ipv4Payload | Ipv6Payload;

export function decodeIpv4Payload(protocol: number, b: Uint8Array, ph: PseudoHeader): Ipv4Payload {
  switch (protocol) {
    case IpProtocol.TCP:
      return decodeTcp(b, ph);
    case IpProtocol.UDP:
      return decodeUdp(b, ph);
    case IpProtocol.ICMP:
      return decodeIcmp(b);
    default:
      return { kind: 'raw', protocol, bytes: b };
  }
}

export function decodeIpv6Payload(nextHeader: number, b: Uint8Array, ph: PseudoHeader): Ipv6Payload {
  switch (nextHeader) {
    case IpProtocol.TCP:
      return decodeTcp(b, ph);
    case IpProtocol.UDP:
      return decodeUdp(b, ph);
    case IpProtocol.ICMPV6:
      return decodeIcmpv6(b, ph);
    default:
      return { kind: 'raw', protocol: nextHeader, bytes: b };
  }
}

/** IP protocol numbers of the transport layers, by layer name (a node or a malformed node's layer). */
const TRANSPORT_PROTOCOL: Readonly<Record<string, number>> = {
  tcp: IpProtocol.TCP,
  udp: IpProtocol.UDP,
  icmp: IpProtocol.ICMP,
  icmpv6: IpProtocol.ICMPV6,
};

/** The IP protocol number of a payload node; undefined for a malformed node of a non-transport layer. */
export function ipProtocolOf(p: IpPayload): number | undefined {
  if (p.kind === 'raw') return p.protocol;
  return TRANSPORT_PROTOCOL[p.kind === 'malformed' ? p.layer : p.kind];
}

/** Like `ipProtocolOf`, for builders: a payload without a protocol number is a programming error. */
export function requireIpProtocol(p: IpPayload): number {
  const protocol = ipProtocolOf(p);
  if (protocol === undefined) {
    throw new RangeError(
      `a malformed ${p.kind === 'malformed' ? p.layer : p.kind} node cannot be an IP payload`,
    );
  }
  return protocol;
}

export function ipPayloadLength(p: IpPayload): number {
  switch (p.kind) {
    case 'tcp':
      return tcpLength(p);
    case 'udp':
      return udpLength(p);
    case 'icmp':
      return icmpLength(p);
    case 'icmpv6':
      return icmpv6Length(p);
    case 'raw':
    case 'malformed':
      return p.bytes.length;
  }
}

export function encodeIpPayload(p: IpPayload, out: Uint8Array, o: number, ph: PseudoHeader): number {
  switch (p.kind) {
    case 'tcp':
      return encodeTcp(p, out, o, ph);
    case 'udp':
      return encodeUdp(p, out, o, ph);
    case 'icmp':
      return encodeIcmp(p, out, o);
    case 'icmpv6':
      return encodeIcmpv6(p, out, o, ph);
    case 'raw':
    case 'malformed':
      out.set(p.bytes, o);
      return p.bytes.length;
  }
}
