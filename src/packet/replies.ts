/**
 * ICMP errors a controller sends about a packet it cannot deliver (RFC 792). (ARP and echo replies
 * are built by the simulation, src/sim/replies.ts.)
 *
 * Invariant: a pure function from a parsed packet to a packet to build; lengths and checksums are
 * left undefined so the builder computes them, and `icmpError` gives `undefined` where RFC 1122
 * §3.2.2 forbids sending an error at all.
 */
import { writeIpv4 } from '../addr.js';
import { EMPTY } from './bytes.js';
import { icmpMessageKind } from './icmp.js';
import { IpProtocol } from './transport.js';
import { encodeIpv4, ipv4Length, type Ipv4 } from './ipv4.js';

/** TTL of packets the controller originates. */
export const DEFAULT_TTL = 64;

/** Whether an IPv4 address is one no ICMP error may be sent to or about (RFC 1122 §3.2.2). */
function isNotSingleHost(ip: string): boolean {
  const b = new Uint8Array(4);
  writeIpv4(ip, b, 0);
  const first = b[0] ?? 0;
  return first === 0 || first >= 224 || first === 127;
}

/** The ICMP type of an IPv4 payload that is ICMP (parsed, malformed or a fragment), else undefined. */
function icmpTypeOf(p: Ipv4['payload']): number | undefined {
  switch (p.kind) {
    case 'icmp':
      return p.type;
    case 'raw':
      return p.protocol === IpProtocol.ICMP ? p.bytes[0] : undefined;
    case 'malformed':
      return p.layer === 'icmp' ? p.bytes[0] : undefined;
    case 'tcp':
    case 'udp':
      return undefined;
  }
}

/**
 * An ICMP error (`type`, `code`, e.g. 3/1 host unreachable, 11/0 TTL exceeded) from `fromIp` about
 * `original`, quoting its IP header and the first 8 bytes of its payload (RFC 792). `restOfHeader` is
 * the second ICMP word (the next-hop MTU for 3/4, the gateway for a redirect, the pointer for 12).
 *
 * Undefined where RFC 1122 §3.2.2 says no error may be sent: about an ICMP error message, about a
 * non-initial fragment, or about a packet whose source or destination is not a single host (0/8,
 * 127/8, multicast, broadcast 255.255.255.255; directed broadcasts need subnet knowledge the caller
 * has).
 */
export function icmpError(
  type: number,
  code: number,
  original: Ipv4,
  fromIp: string,
  restOfHeader = 0,
): Ipv4 | undefined {
  const innerIcmpType = icmpTypeOf(original.payload);
  if (innerIcmpType !== undefined && icmpMessageKind(innerIcmpType) === 'error') return undefined;
  if (original.fragmentOffset !== 0) return undefined;
  if (isNotSingleHost(original.src) || isNotSingleHost(original.dst)) return undefined;
  const bytes = new Uint8Array(ipv4Length(original));
  encodeIpv4(original, bytes, 0);
  const quoted = bytes.subarray(0, Math.min(bytes.length, 20 + original.options.length + 8));
  return {
    kind: 'ipv4',
    tos: 0,
    id: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: DEFAULT_TTL,
    src: fromIp,
    dst: original.src,
    options: EMPTY,
    payload: { kind: 'icmp', type, code, message: { kind: 'error', restOfHeader, original: quoted } },
  };
}
