/**
 * The Internet checksum (RFC 1071) and the TCP/UDP/ICMPv6 pseudo-header sums.
 *
 * Invariant: sums are kept unfolded (plain JS numbers, exact up to 2^53, i.e. far beyond any frame)
 * and folded to 16 bits only once, at the end. A region whose stored checksum is right sums, together
 * with its pseudo-header, to 0xffff after folding; that is how every decoder verifies.
 */

/** The unfolded one's-complement sum of `b` as big-endian 16-bit words (an odd tail byte is padded). */
export function onesComplementSum(b: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = b.length;
  let i = 0;
  for (; i + 1 < n; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  if (i < n) sum += (b[i] ?? 0) << 8;
  return sum;
}

/** Folds carries back in until the sum fits 16 bits. */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return s;
}

/** The Internet checksum of `b`: the complement of the folded one's-complement sum (plus `initial`). */
export function internetChecksum(b: Uint8Array, initial = 0): number {
  return ~foldSum(onesComplementSum(b, initial)) & 0xffff;
}

/** Source and destination address bytes (4 for IPv4, 16 for IPv6) of the enclosing IP header. */
export interface PseudoHeader {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
}

/**
 * The unfolded sum of the pseudo-header for an upper-layer message of `length` bytes: RFC 793/768 for
 * IPv4 (zero, protocol, 16-bit length), RFC 8200 §8.1 for IPv6 (32-bit length, zeros, next header).
 * Both place the protocol in the low byte of a word, so one formula serves both.
 */
export function pseudoHeaderSum(ph: PseudoHeader, protocol: number, length: number): number {
  return (
    onesComplementSum(ph.dst, onesComplementSum(ph.src)) + protocol + (length >>> 16) + (length & 0xffff)
  );
}

/** True when a region (with its pseudo-header sum) carries a correct checksum. */
export function sumIsValid(sum: number): boolean {
  return foldSum(sum) === 0xffff;
}
