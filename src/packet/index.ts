/**
 * The packet codec's public API: parse and build Ethernet frames and the headers inside them (802.1Q,
 * ARP, IPv4, IPv6, TCP, UDP, ICMP, ICMPv6, DHCP), the Internet checksum, and the replies a controller
 * sends (ICMP errors). Address text forms are in src/addr.ts.
 *
 * Invariants, kept by every module here: parsing never throws -- a layer that cannot be decoded is a
 * `Malformed` node with a reason while the outer layers stay parsed (malformed.ts); parsing is lossless,
 * so `buildEthernet(parseEthernet(b))` equals `b` for any `b`; building fills every length and
 * checksum left undefined and writes given ones as they are; byte fields of parsed packets are views
 * of the input buffer, not copies.
 */
import { type Frame } from './ethernet.js';
import { type Malformed } from './malformed.js';

export { ArpOp, type Arp } from './arp.js';
export {
  foldSum,
  internetChecksum,
  onesComplementSum,
  pseudoHeaderSum,
  type PseudoHeader,
} from './checksum.js';
export {
  buildDhcp,
  dhcpOptionCode,
  parseDhcp,
  DHCP_CLIENT_PORT,
  DHCP_MAGIC_COOKIE,
  DHCP_OPTIONS,
  DHCP_SERVER_PORT,
  DhcpMessageType,
  type ClasslessRoute,
  type Dhcp,
  type DhcpKnownOption,
  type DhcpOption,
  type DhcpOptionName,
  type DhcpOptionValues,
} from './dhcp.js';
export {
  buildEthernet,
  ethernetLength,
  parseEthernet,
  EtherType,
  type Ethernet,
  type EthernetPayload,
  type Frame,
  type RawEtherPayload,
  type Vlan,
} from './ethernet.js';
export { IcmpType, icmpMessageKind, type Icmp, type IcmpMessage } from './icmp.js';
export { type Icmpv6 } from './icmpv6.js';
export { buildIpv4, isFragment, parseIpv4, type Ipv4 } from './ipv4.js';
export { buildIpv6, parseIpv6, type Ipv6 } from './ipv6.js';
export { type Layer, type Malformed } from './malformed.js';
export { icmpError, DEFAULT_TTL } from './replies.js';
export { TcpFlag, type Tcp } from './tcp.js';
export {
  IpProtocol,
  ipProtocolOf,
  type IpPayload,
  type Ipv4Payload,
  type Ipv6Payload,
  type RawIpPayload,
} from './transport.js';
export { isDhcpPorts, type RawUdpPayload, type Udp, type UdpPayload } from './udp.js';

/** The innermost layer of a parsed frame that failed to decode, if any. */
export function findMalformed(frame: Frame): Malformed | undefined {
  if (frame.kind === 'malformed') return frame;
  const l3 = frame.payload;
  if (l3.kind === 'malformed') return l3;
  if (l3.kind !== 'ipv4' && l3.kind !== 'ipv6') return undefined;
  const l4 = l3.payload;
  if (l4.kind === 'malformed') return l4;
  if (l4.kind === 'udp' && l4.payload.kind === 'malformed') return l4.payload;
  return undefined;
}
