/**
 * ICMPv6 (RFC 4443), basic: type, code, checksum over the IPv6 pseudo-header, and the message body
 * (everything after the checksum) as bytes. Neighbor discovery and echo fields are left to callers.
 *
 * Invariant: the checksum always includes the pseudo-header (next header 58); undefined on build
 * means "compute".
 */
import { put16, u16 } from './bytes.js';
import {
  internetChecksum,
  onesComplementSum,
  pseudoHeaderSum,
  sumIsValid,
  type PseudoHeader,
} from './checksum.js';
import { malformed, type Malformed } from './malformed.js';

export interface Icmpv6 {
  readonly kind: 'icmpv6';
  readonly type: number;
  readonly code: number;
  /** The checksum field; undefined on build means "compute". */
  readonly checksum?: number;
  /** Set by the parser: whether `checksum` matched. Ignored by the builder. */
  readonly checksumOk?: boolean;
  /** Everything after the checksum (for echo: identifier, sequence, data). */
  readonly body: Uint8Array;
}

const PROTO_ICMPV6 = 58;

export function decodeIcmpv6(b: Uint8Array, ph: PseudoHeader): Icmpv6 | Malformed {
  if (b.length < 4) return malformed('icmpv6', `truncated header: ${b.length} bytes, need at least 4`, b);
  return {
    kind: 'icmpv6',
    type: b[0] ?? 0,
    code: b[1] ?? 0,
    checksum: u16(b, 2),
    checksumOk: sumIsValid(onesComplementSum(b, pseudoHeaderSum(ph, PROTO_ICMPV6, b.length))),
    body: b.subarray(4),
  };
}

export function icmpv6Length(m: Icmpv6): number {
  return 4 + m.body.length;
}

export function encodeIcmpv6(m: Icmpv6, out: Uint8Array, o: number, ph: PseudoHeader): number {
  const length = 4 + m.body.length;
  out[o] = m.type;
  out[o + 1] = m.code;
  put16(out, o + 2, 0);
  out.set(m.body, o + 4);
  const checksum =
    m.checksum ?? internetChecksum(out.subarray(o, o + length), pseudoHeaderSum(ph, PROTO_ICMPV6, length));
  put16(out, o + 2, checksum);
  return length;
}
