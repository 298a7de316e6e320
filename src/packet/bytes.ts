/**
 * Big-endian reads and writes on byte views, the one place the codec touches raw offsets.
 *
 * Invariant: readers never throw and never read past the view they are given (a missing byte reads as
 * 0, but every caller checks lengths first, so that only guards the type checker); writers store the
 * low bits of the value (Uint8Array assignment is modulo 256). Parsed fields that hold bytes are
 * `subarray` views of the caller's buffer, never copies.
 */

/** A shared empty byte view for absent options and payloads. */
export const EMPTY: Uint8Array = new Uint8Array(0);

export function u16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

export function u32(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) * 0x1000000 + (((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0));
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/**
 * A plain Uint8Array view over the same memory (no copy). A Node Buffer is a Uint8Array subclass; the
 * parser re-views it once so that every byte field it returns is a plain Uint8Array.
 */
export function plainView(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype
    ? b
    : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Bytes as Latin-1 text (one char per byte), for DHCP strings. */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] ?? 0);
  return s;
}

/** Writes Latin-1 text (one byte per char, low 8 bits); returns the number of bytes written. */
export function putLatin1(b: Uint8Array, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
  return s.length;
}
