/**
 * The flow-counts fast path: reads each entry's cookie and packet count from a FLOW multipart reply
 * straight from the bytes, without decoding matches and instructions. The agent's idle expiry reads
 * every reactive flow's count this way (agent/idle-expiry.ts): at 100,000 flows a reply of some 20 MB
 * per sweep, which the generic decoder would turn into millions of objects.
 *
 * Invariant: for every reply the table-driven decoder (messages.ts) accepts as a FLOW multipart
 * reply, the entries seen here are its entries, in order, with the same cookie and packet count (a
 * unit test holds it to that), except entries whose cookie or count is 2^53 or more, which are
 * skipped (no reactive cookie is that large). It checks the lengths it walks and returns a reason for
 * a frame that breaks them, never throws; entries before the break have been seen.
 */
import { OFP_HEADER_LEN } from './constants.js';

/** OFPT_MULTIPART_REPLY */
export const MULTIPART_REPLY_CODE = 19;
/** OFPMP_FLOW */
const MP_FLOW = 1;
/** Multipart header after the OpenFlow header: type, flags, pad. */
const MP_FIXED = 8;
/** ofp_flow_stats up to its match, and the match's own 4-byte header. */
const ENTRY_MIN = 48 + 4;
const TWO_32 = 2 ** 32;
/** High words at or over this make a u64 of 2^53 or more. */
const SAFE_HI = 2 ** 21;

/** The multipart reply's flags (OFPMPF_MORE) of a MULTIPART_REPLY frame of at least 12 bytes. */
export function multipartFlags(frame: Buffer): number {
  return frame.readUInt16BE(OFP_HEADER_LEN + 2);
}

/**
 * Calls `each(cookie, packets)` for every entry of a FLOW multipart reply frame (header included);
 * returns undefined, or why the frame is not one.
 */
export function scanFlowCounts(
  frame: Buffer,
  each: (cookie: number, packets: number) => void,
): string | undefined {
  const n = frame.length;
  if (n < OFP_HEADER_LEN + MP_FIXED) return `multipart reply of ${n} bytes is truncated`;
  if (frame[1] !== MULTIPART_REPLY_CODE) return `not a multipart reply (type ${frame[1]})`;
  if (frame.readUInt16BE(2) !== n) return 'multipart reply length disagrees with its header';
  const type = frame.readUInt16BE(OFP_HEADER_LEN);
  if (type !== MP_FLOW) return `multipart reply of type ${type}, not FLOW`;
  let off = OFP_HEADER_LEN + MP_FIXED;
  while (off < n) {
    if (n - off < ENTRY_MIN) return `flow entry at byte ${off} is truncated`;
    const len = frame.readUInt16BE(off);
    if (len < ENTRY_MIN || off + len > n) return `flow entry at byte ${off} has length ${len}`;
    const cookieHi = frame.readUInt32BE(off + 24);
    const packetsHi = frame.readUInt32BE(off + 32);
    if (cookieHi < SAFE_HI && packetsHi < SAFE_HI)
      each(
        cookieHi * TWO_32 + frame.readUInt32BE(off + 28),
        packetsHi * TWO_32 + frame.readUInt32BE(off + 36),
      );
    off += len;
  }
  return undefined;
}
