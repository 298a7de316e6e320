/**
 * Where bytes someone gave stop being UTF-8. Node turns bytes into strings by replacing every
 * malformed sequence with U+FFFD, silently: a name given as bytes that are not UTF-8 would be stored
 * as a different name than the one meant. The front ends check the bytes first (midonet-api a request
 * body, midonet-cli its command line) and refuse what is not UTF-8, naming the byte and where it is.
 *
 * Invariant: `utf8Problem` is undefined exactly when Node's own `isUtf8` accepts the bytes (well-formed
 * UTF-8 as the Unicode standard defines it: no overlong forms, no surrogates, nothing above U+10FFFF);
 * its words show only the offending byte in hex, never the bytes around it.
 */
import { isUtf8 } from 'node:buffer';

/**
 * The offset of the first byte that starts no well-formed UTF-8 sequence (a stray continuation byte,
 * a byte never used in UTF-8, or a lead byte not followed by what it needs); the length when none.
 */
function firstBadByte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return b.length;
}

/**
 * Where the bytes stop being UTF-8 ("byte 0xff at offset 3"), or undefined when they are UTF-8.
 */
export function utf8Problem(b: Uint8Array): string | undefined {
  if (isUtf8(b)) return undefined;
  const at = firstBadByte(b);
  // isUtf8 and firstBadByte read the same standard; should they ever differ, the refusal still stands.
  if (at >= b.length) return `${b.length} bytes`;
  return `byte 0x${b[at]!.toString(16).padStart(2, '0')} at offset ${at}`;
}
