/**
 * The PACKET_IN fast path: reads the few things a controller needs from a PACKET_IN frame (buffer id,
 * reason, table, in_port and tunnel_id from the pipeline match, the packet bytes) straight from the
 * bytes, without building the generic decoder's objects. A controller receives one per new flow, so
 * this is the hottest decoding in the suite.
 *
 * Invariant: for every frame the table-driven decoder (messages.ts) accepts as a packet_in, this
 * reader returns the same values (a property test holds it to that). It checks the structure it walks
 * (lengths, match type, padding) and returns a reason for a frame that breaks it, never throws; it
 * does not judge match fields it skips. `data` is a view of the frame (no copy).
 */
import { OFP_HEADER_LEN, OXM_CLASS } from './constants.js';

export interface PacketInView {
  readonly xid: number;
  readonly bufferId: number;
  readonly totalLen: number;
  /** OFPR_* */
  readonly reason: number;
  readonly tableId: number;
  /** The OpenFlow port the packet entered on (0 when the match has no in_port). */
  readonly inPort: number;
  /** The tunnel id (VNI/GRE key) it arrived with; 0 when none. Exact up to 2^53. */
  readonly tunnelId: number;
  readonly data: Buffer;
}

/** OFPT_PACKET_IN */
export const PACKET_IN_CODE = 10;
/** Fixed part of a packet_in after the header, up to the match. */
const FIXED = 16;
const OFB_IN_PORT = 0;
const OFB_TUNNEL_ID = 38;

/** Reads a PACKET_IN frame (header included); a string says why it is not a valid one. */
export function readPacketIn(frame: Buffer): PacketInView | string {
  const n = frame.length;
  if (n < OFP_HEADER_LEN + FIXED + 4) return `packet_in of ${n} bytes is truncated`;
  if (frame[1] !== PACKET_IN_CODE) return `not a packet_in (type ${frame[1]})`;
  if (frame.readUInt16BE(2) !== n) return 'packet_in length disagrees with its header';
  const xid = frame.readUInt32BE(4);
  const bufferId = frame.readUInt32BE(8);
  const totalLen = frame.readUInt16BE(12);
  const reason = frame[14]!;
  const tableId = frame[15]!;
  const m = OFP_HEADER_LEN + FIXED; // ofp_match
  if (frame.readUInt16BE(m) !== 1) return 'packet_in match is not an OXM match';
  const matchLen = frame.readUInt16BE(m + 2);
  if (matchLen < 4) return `packet_in match length ${matchLen} is too short`;
  const padded = (matchLen + 7) & ~7;
  const dataAt = m + padded + 2;
  if (dataAt > n) return 'packet_in match runs past the frame';
  let inPort = 0;
  let tunnelId = 0;
  let p = m + 4;
  const end = m + matchLen;
  while (p < end) {
    if (p + 4 > end) return 'truncated OXM header in packet_in match';
    const cls = frame.readUInt16BE(p);
    const fieldByte = frame[p + 2]!;
    const len = frame[p + 3]!;
    const v = p + 4;
    if (v + len > end) return 'OXM TLV runs past the packet_in match';
    if (cls === OXM_CLASS.OPENFLOW_BASIC) {
      const field = fieldByte >> 1;
      const hasMask = (fieldByte & 1) !== 0;
      if (field === OFB_IN_PORT && !hasMask && len === 4) inPort = frame.readUInt32BE(v);
      else if (field === OFB_TUNNEL_ID && len === (hasMask ? 16 : 8))
        tunnelId = frame.readUInt32BE(v) * 0x100000000 + frame.readUInt32BE(v + 4);
    }
    p = v + len;
  }
  for (let i = m + matchLen; i < dataAt; i++) if (frame[i] !== 0) return 'non-zero padding in packet_in';
  return { xid, bufferId, totalLen, reason, tableId, inPort, tunnelId, data: frame.subarray(dataAt) };
}
