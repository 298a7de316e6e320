/**
 * Ethernet II frames, with an optional 802.1Q tag and an optional 802.1ad (QinQ, TPID 0x88a8) service
 * tag in front of it, and the entry points of the codec: `parseEthernet` and `buildEthernet`.
 *
 * Parsing never throws (see malformed.ts for the policy): a frame shorter than its Ethernet header and
 * tags is a `Malformed` node; a payload that fails to decode is a `Malformed` payload under a parsed
 * Ethernet header. Building throws a RangeError only for values no wire format can hold (a bad address
 * string, options of the wrong size, a non-network-layer malformed node as payload).
 *
 * Invariant: `buildEthernet(parseEthernet(bytes))` equals `bytes` for every input. The EtherType is
 * a function of the payload node (arp 0x0806, ipv4 0x0800, ipv6 0x86dd, raw its own `ethertype`,
 * malformed that of its layer); bytes after the network-layer packet are kept as `padding`.
 */
import { formatMac, writeMac } from '../addr.js';
import { decodeArp, encodeArp, ARP_LENGTH, type Arp } from './arp.js';
import { plainView, put16, u16 } from './bytes.js';
import { decodeIpv4, encodeIpv4, ipv4Length, type Ipv4 } from './ipv4.js';
import { decodeIpv6, encodeIpv6, ipv6Length, type Ipv6 } from './ipv6.js';
import { malformed, type Decoded, type Malformed } from './malformed.js';

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  QINQ: 0x88a8,
  IPV6: 0x86dd,
} as const;

/** An 802.1Q / 802.1ad tag control word. */
export interface Vlan {
  /** Priority code point, 3 bits. */
  readonly pcp: number;
  /** Drop eligible indicator. */
  readonly dei: boolean;
  /** VLAN id, 12 bits. */
  readonly vid: number;
}

/** A payload with an EtherType the codec does not decode (including 802.3 length values). */
export interface RawEtherPayload {
  readonly kind: 'raw';
  readonly ethertype: number;
  readonly bytes: Uint8Array;
}

export type EthernetPayload = Arp | Ipv4 | Ipv6 | RawEtherPayload | Malformed;

export interface Ethernet {
  readonly kind: 'ethernet';
  readonly dst: string;
  readonly src: string;
  /** Outer 802.1ad service tag (TPID 0x88a8), when present. */
  readonly svlan?: Vlan;
  /** 802.1Q tag (TPID 0x8100), when present. */
  readonly vlan?: Vlan;
  readonly payload: EthernetPayload;
  /** Bytes after the network-layer packet (minimum-frame padding); absent when there are none. */
  readonly padding?: Uint8Array;
}

/** What `parseEthernet` returns: a frame, or a `Malformed` node when even the Ethernet header is short. */
export type Frame = Ethernet | Malformed;

function decodeTci(b: Uint8Array, o: number): Vlan {
  const tci = u16(b, o);
  return { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff };
}

function tci(v: Vlan): number {
  return ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.vid & 0x0fff);
}

function decodePayload(ethertype: number, b: Uint8Array): Decoded<EthernetPayload> {
  switch (ethertype) {
    case EtherType.IPV4:
      return decodeIpv4(b);
    case EtherType.IPV6:
      return decodeIpv6(b);
    case EtherType.ARP:
      return decodeArp(b);
    default:
      return { packet: { kind: 'raw', ethertype, bytes: b }, end: b.length };
  }
}

/** Parses an Ethernet frame (without FCS). Never throws. */
export function parseEthernet(buf: Uint8Array): Frame {
  const b = plainView(buf);
  if (b.length < 14) return malformed('ethernet', `truncated header: ${b.length} bytes, need at least 14`, b);
  let o = 12;
  let ethertype = u16(b, o);
  let svlan: Vlan | undefined;
  let vlan: Vlan | undefined;
  if (ethertype === EtherType.QINQ) {
    if (b.length < o + 6)
      return malformed('ethernet', `truncated 802.1ad tag: ${b.length} bytes, need ${o + 6}`, b);
    svlan = decodeTci(b, o + 2);
    o += 4;
    ethertype = u16(b, o);
  }
  if (ethertype === EtherType.VLAN) {
    if (b.length < o + 6)
      return malformed('ethernet', `truncated 802.1Q tag: ${b.length} bytes, need ${o + 6}`, b);
    vlan = decodeTci(b, o + 2);
    o += 4;
    ethertype = u16(b, o);
  }
  const body = b.subarray(o + 2);
  const { packet, end } = decodePayload(ethertype, body);
  return {
    kind: 'ethernet',
    dst: formatMac(b, 0),
    src: formatMac(b, 6),
    ...(svlan !== undefined && { svlan }),
    ...(vlan !== undefined && { vlan }),
    payload: packet,
    ...(end < body.length && { padding: body.subarray(end) }),
  };
}

function ethertypeOf(p: EthernetPayload): number {
  switch (p.kind) {
    case 'arp':
      return EtherType.ARP;
    case 'ipv4':
      return EtherType.IPV4;
    case 'ipv6':
      return EtherType.IPV6;
    case 'raw':
      return p.ethertype;
    case 'malformed':
      switch (p.layer) {
        case 'arp':
          return EtherType.ARP;
        case 'ipv4':
          return EtherType.IPV4;
        case 'ipv6':
          return EtherType.IPV6;
        case 'ethernet':
        case 'tcp':
        case 'udp':
        case 'icmp':
        case 'icmpv6':
        case 'dhcp':
          throw new RangeError(`a malformed ${p.layer} node cannot be an Ethernet payload`);
      }
  }
}

function payloadLength(p: EthernetPayload): number {
  switch (p.kind) {
    case 'arp':
      return ARP_LENGTH;
    case 'ipv4':
      return ipv4Length(p);
    case 'ipv6':
      return ipv6Length(p);
    case 'raw':
    case 'malformed':
      return p.bytes.length;
  }
}

function encodePayload(p: EthernetPayload, out: Uint8Array, o: number): number {
  switch (p.kind) {
    case 'arp':
      return encodeArp(p, out, o);
    case 'ipv4':
      return encodeIpv4(p, out, o);
    case 'ipv6':
      return encodeIpv6(p, out, o);
    case 'raw':
    case 'malformed':
      out.set(p.bytes, o);
      return p.bytes.length;
  }
}

/** The number of bytes `buildEthernet(frame)` produces. */
export function ethernetLength(frame: Frame): number {
  if (frame.kind === 'malformed') return frame.bytes.length;
  return (
    14 +
    (frame.svlan !== undefined ? 4 : 0) +
    (frame.vlan !== undefined ? 4 : 0) +
    payloadLength(frame.payload) +
    (frame.padding?.length ?? 0)
  );
}

/**
 * Builds a frame (without FCS), computing every length and checksum left undefined. No minimum-size
 * padding is added unless given as `padding`.
 */
export function buildEthernet(frame: Frame): Uint8Array {
  const out = new Uint8Array(ethernetLength(frame));
  if (frame.kind === 'malformed') {
    out.set(frame.bytes);
    return out;
  }
  writeMac(frame.dst, out, 0);
  writeMac(frame.src, out, 6);
  let o = 12;
  if (frame.svlan !== undefined) {
    put16(out, o, EtherType.QINQ);
    put16(out, o + 2, tci(frame.svlan));
    o += 4;
  }
  if (frame.vlan !== undefined) {
    put16(out, o, EtherType.VLAN);
    put16(out, o + 2, tci(frame.vlan));
    o += 4;
  }
  put16(out, o, ethertypeOf(frame.payload));
  o += 2;
  o += encodePayload(frame.payload, out, o);
  if (frame.padding !== undefined) out.set(frame.padding, o);
  return out;
}
