/**
 * Address text forms used by the domain types: MAC as lowercase "aa:bb:cc:dd:ee:ff", IPv4 as dotted
 * quad, IPv6 in the RFC 5952 canonical form (lowercase, no leading zeros, the longest run of two or
 * more zero groups -- the first on a tie -- as "::", IPv4-mapped addresses as "::ffff:a.b.c.d").
 *
 * Invariant: `format*` of the bytes that `write*` produced from a canonical string gives that string
 * back. Formatting never fails; writing throws a RangeError on text that is not an address (builders
 * take domain values, so a bad string is a programming error, not a malformed packet). No regular
 * expressions: these run for every parsed packet.
 */

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex2(v: number | undefined): string {
  return HEX2[v ?? 0] ?? '00';
}

/** Formats the 6 bytes at `o` as a MAC. */
export function formatMac(b: Uint8Array, o: number): string {
  return `${hex2(b[o])}:${hex2(b[o + 1])}:${hex2(b[o + 2])}:${hex2(b[o + 3])}:${hex2(b[o + 4])}:${hex2(b[o + 5])}`;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Writes a "aa:bb:cc:dd:ee:ff" MAC (either case) as 6 bytes at `o`. */
export function writeMac(s: string, b: Uint8Array, o: number): void {
  if (s.length !== 17) throw new RangeError(`not a MAC address: ${JSON.stringify(s)}`);
  for (let i = 0; i < 6; i++) {
    const hi = hexDigit(s.charCodeAt(i * 3));
    const lo = hexDigit(s.charCodeAt(i * 3 + 1));
    if (hi < 0 || lo < 0 || (i < 5 && s.charCodeAt(i * 3 + 2) !== 58)) {
      throw new RangeError(`not a MAC address: ${JSON.stringify(s)}`);
    }
    b[o + i] = (hi << 4) | lo;
  }
}

/** Formats the 4 bytes at `o` as a dotted quad. */
export function formatIpv4(b: Uint8Array, o: number): string {
  return `${b[o] ?? 0}.${b[o + 1] ?? 0}.${b[o + 2] ?? 0}.${b[o + 3] ?? 0}`;
}

/**
 * Parses a dotted quad into `b` at `o`; returns false (writing nothing useful) when `s` is not one.
 * Octets are 1-3 decimal digits without leading zeros, 0..255.
 */
function tryWriteIpv4(s: string, b: Uint8Array, o: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      b[o + part] = value;
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** Writes a dotted-quad IPv4 address as 4 bytes at `o`. */
export function writeIpv4(s: string, b: Uint8Array, o: number): void {
  if (!tryWriteIpv4(s, b, o)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
}

/** Formats the 16 bytes at `o` as a canonical (RFC 5952) IPv6 address. */
export function formatIpv6(b: Uint8Array, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[o + 2 * i] ?? 0) << 8) | (b[o + 2 * i + 1] ?? 0));
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIpv4(b, o + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += (g[i] ?? 0).toString(16);
  }
  return s;
}

/** Parses colon-separated hex groups (the part of an IPv6 address on one side of "::"). */
function parseGroups(s: string, out: number[], allowIpv4Tail: boolean): boolean {
  if (s.length === 0) return true;
  const parts = s.split(':');
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p] ?? '';
    if (allowIpv4Tail && p === parts.length - 1 && part.includes('.')) {
      const v4 = new Uint8Array(4);
      if (!tryWriteIpv4(part, v4, 0)) return false;
      out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (part.length === 0 || part.length > 4) return false;
    let v = 0;
    for (let i = 0; i < part.length; i++) {
      const d = hexDigit(part.charCodeAt(i));
      if (d < 0) return false;
      v = (v << 4) | d;
    }
    out.push(v);
  }
  return true;
}

/** Writes an IPv6 address in any RFC 4291 text form as 16 bytes at `o`. */
export function writeIpv6(s: string, b: Uint8Array, o: number): void {
  const bad = (): never => {
    throw new RangeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  };
  const gap = s.indexOf('::');
  const head: number[] = [];
  const tail: number[] = [];
  if (gap < 0) {
    if (!parseGroups(s, head, true) || head.length !== 8) bad();
  } else {
    if (s.indexOf('::', gap + 1) >= 0) bad();
    if (!parseGroups(s.slice(0, gap), head, false) || !parseGroups(s.slice(gap + 2), tail, true)) bad();
    if (head.length + tail.length > 7) bad();
  }
  const groups = head.concat(new Array<number>(8 - head.length - tail.length).fill(0), tail);
  for (let i = 0; i < 8; i++) {
    const v = groups[i] ?? 0;
    b[o + 2 * i] = v >>> 8;
    b[o + 2 * i + 1] = v;
  }
}

/** The 16 bytes of an IPv6 address given as text. */
export function ipv6Bytes(s: string): Uint8Array {
  const b = new Uint8Array(16);
  writeIpv6(s, b, 0);
  return b;
}

/** Canonical text of an IPv6 address given in any valid form. */
export function canonicalIpv6(s: string): string {
  return formatIpv6(ipv6Bytes(s), 0);
}
