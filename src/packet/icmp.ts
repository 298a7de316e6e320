/**
 * ICMP for IPv4 (RFC 792): echo request/reply with identifier, sequence and data; the error messages
 * (destination unreachable, source quench, redirect, time exceeded, parameter problem) carrying the
 * second header word and the original datagram; any other type kept as its bytes after the checksum.
 *
 * Invariant: which `message` shape a parsed ICMP gets depends on `type` only (`icmpMessageKind`), so a
 * builder that follows the same rule round-trips. The checksum covers the whole ICMP message (no
 * pseudo-header); undefined on build means "compute".
 */
import { put16, put32, u16, u32 } from './bytes.js';
import { internetChecksum, onesComplementSum, sumIsValid } from './checksum.js';
import { malformed, type Malformed } from './malformed.js';

export const IcmpType = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAMETER_PROBLEM: 12,
} as const;

export type IcmpMessage =
  | {
      readonly kind: 'echo';
      readonly id: number;
      readonly seq: number;
      readonly data: Uint8Array;
    }
  | {
      readonly kind: 'error';
      /** The second header word: unused (0), next-hop MTU (type 3 code 4), gateway, or pointer. */
      readonly restOfHeader: number;
      /** The original datagram's IP header and leading payload bytes. */
      readonly original: Uint8Array;
    }
  | {
      readonly kind: 'other';
      /** Everything after the checksum. */
      readonly body: Uint8Array;
    };

export interface Icmp {
  readonly kind: 'icmp';
  readonly type: number;
  readonly code: number;
  /** The checksum field; undefined on build means "compute". */
  readonly checksum?: number;
  /** Set by the parser: whether `checksum` matched. Ignored by the builder. */
  readonly checksumOk?: boolean;
  readonly message: IcmpMessage;
}

/** The message shape the parser uses for an ICMP type. */
export function icmpMessageKind(type: number): IcmpMessage['kind'] {
  switch (type) {
    case IcmpType.ECHO_REPLY:
    case IcmpType.ECHO_REQUEST:
      return 'echo';
    case IcmpType.DEST_UNREACHABLE:
    case IcmpType.SOURCE_QUENCH:
    case IcmpType.REDIRECT:
    case IcmpType.TIME_EXCEEDED:
    case IcmpType.PARAMETER_PROBLEM:
      return 'error';
    default:
      return 'other';
  }
}

export function decodeIcmp(b: Uint8Array): Icmp | Malformed {
  if (b.length < 8) return malformed('icmp', `truncated header: ${b.length} bytes, need at least 8`, b);
  const type = b[0] ?? 0;
  let message: IcmpMessage;
  switch (icmpMessageKind(type)) {
    case 'echo':
      message = { kind: 'echo', id: u16(b, 4), seq: u16(b, 6), data: b.subarray(8) };
      break;
    case 'error':
      message = { kind: 'error', restOfHeader: u32(b, 4), original: b.subarray(8) };
      break;
    case 'other':
      message = { kind: 'other', body: b.subarray(4) };
      break;
  }
  return {
    kind: 'icmp',
    type,
    code: b[1] ?? 0,
    checksum: u16(b, 2),
    checksumOk: sumIsValid(onesComplementSum(b)),
    message,
  };
}

export function icmpLength(m: Icmp): number {
  switch (m.message.kind) {
    case 'echo':
      return 8 + m.message.data.length;
    case 'error':
      return 8 + m.message.original.length;
    case 'other':
      return 4 + m.message.body.length;
  }
}

export function encodeIcmp(m: Icmp, out: Uint8Array, o: number): number {
  out[o] = m.type;
  out[o + 1] = m.code;
  put16(out, o + 2, 0);
  const msg = m.message;
  switch (msg.kind) {
    case 'echo':
      put16(out, o + 4, msg.id);
      put16(out, o + 6, msg.seq);
      out.set(msg.data, o + 8);
      break;
    case 'error':
      put32(out, o + 4, msg.restOfHeader);
      out.set(msg.original, o + 8);
      break;
    case 'other':
      out.set(msg.body, o + 4);
      break;
  }
  const length = icmpLength(m);
  put16(out, o + 2, m.checksum ?? internetChecksum(out.subarray(o, o + length)));
  return length;
}
