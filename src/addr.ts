/**
 * The one address module: MAC, IPv4 and IPv6 addresses and IPv4/IPv6 prefixes (CIDR), parsed from and
 * formatted to text, and moved between text, numbers and wire bytes. The topology model, the
 * simulation, the packet and OpenFlow codecs, the CLI, the router and the lab all use it; it depends
 * on nothing.
 *
 * Representations:
 * - MAC: text "aa:bb:cc:dd:ee:ff" (lowercase), or a 48-bit number (exact in a double).
 * - IPv4: text dotted quad (no leading zeros), or an unsigned 32-bit number (`>>> 0`).
 * - IPv6: text in any RFC 4291 form on input ("::" compression, an embedded dotted quad as the last
 *   32 bits); RFC 5952 canonical text on output (lowercase, no leading zeros, the longest run of two
 *   or more zero groups -- the first on a tie -- as "::", IPv4-mapped addresses as "::ffff:a.b.c.d").
 *   Zone identifiers ("fe80::1%eth0") are not addresses and are refused. Numerically an IPv6
 *   address is `Ipv6Words`: four unsigned 32-bit words, most significant first. Chosen over a
 *   16-byte array or a bigint because it is the IPv4 representation four times: the same masks
 *   (`prefixMask` per word), the same comparisons, the same trie steps, and four number slots in a
 *   flow match with no allocation per packet; bytes convert with `ipv6FromBytes`/`ipv6ToBytes`.
 * - Wire bytes: `format*(bytes, offset)` reads an address out of a packet buffer, `write*(text,
 *   bytes, offset)` writes one in.
 *
 * Invariants: `parse*` functions are total: they return `undefined` (CIDR parsers: a message saying
 * what is wrong) for text that is not an address, and never throw, so a caller can name the field in
 * its own error. `write*` and `macToNumber` throw a RangeError on bad text (they take values already
 * validated; a bad one is a programming error). `format*` never fails, and formatting what a parser
 * produced from canonical text gives that text back. The per-packet paths (format from bytes, IPv4
 * parse) use no regular expressions.
 */

// ---- MAC ------------------------------------------------------------------------------------------

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Character codes of the lowercase hex digits 0-f. */
const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

function hex2(v: number | undefined): string {
  return HEX2[(v ?? 0) & 255] ?? '00';
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses "aa:bb:cc:dd:ee:ff" (either case; "-" also accepted as the separator, one kind throughout)
 * into a 48-bit number; undefined when malformed.
 */
export function parseMac(s: string): number | undefined {
  if (s.length !== 17) return undefined;
  const sep = s.charCodeAt(2);
  if (sep !== 58 && sep !== 45) return undefined;
  let n = 0;
  for (let i = 0; i < 6; i++) {
    const hi = hexDigit(s.charCodeAt(i * 3));
    const lo = hexDigit(s.charCodeAt(i * 3 + 1));
    if (hi < 0 || lo < 0 || (i < 5 && s.charCodeAt(i * 3 + 2) !== sep)) return undefined;
    n = n * 256 + ((hi << 4) | lo);
  }
  return n;
}

/** Normalizes a MAC to the lowercase colon form; undefined when malformed. */
export function normalizeMac(s: string): string | undefined {
  const n = parseMac(s);
  return n === undefined ? undefined : formatMac(n);
}

/** A MAC known to be well-formed as its 48-bit number; throws a RangeError otherwise. */
export function macToNumber(mac: string): number {
  const n = parseMac(mac);
  if (n === undefined) throw new RangeError(`not a MAC address: ${JSON.stringify(mac)}`);
  return n;
}

/** Formats a 48-bit MAC number, or the 6 bytes at offset `o` of `b`, as "aa:bb:cc:dd:ee:ff". */
export function formatMac(n: number): string;
export function formatMac(b: Uint8Array, o: number): string;
export function formatMac(x: number | Uint8Array, o = 0): string {
  if (typeof x === 'number') {
    // One flat string from 17 character codes (a template would build it by 11 concatenations).
    const hi = Math.floor(x / 0x100000000) >>> 0;
    const lo = x >>> 0;
    const h = HEX_CODES;
    return String.fromCharCode(
      h[(hi >>> 12) & 15]!,
      h[(hi >>> 8) & 15]!,
      58,
      h[(hi >>> 4) & 15]!,
      h[hi & 15]!,
      58,
      h[lo >>> 28]!,
      h[(lo >>> 24) & 15]!,
      58,
      h[(lo >>> 20) & 15]!,
      h[(lo >>> 16) & 15]!,
      58,
      h[(lo >>> 12) & 15]!,
      h[(lo >>> 8) & 15]!,
      58,
      h[(lo >>> 4) & 15]!,
      h[lo & 15]!,
    );
  }
  return `${hex2(x[o])}:${hex2(x[o + 1])}:${hex2(x[o + 2])}:${hex2(x[o + 3])}:${hex2(x[o + 4])}:${hex2(x[o + 5])}`;
}

/** True for a group (multicast or broadcast) MAC: the least significant bit of its first byte is set. */
export function isMulticastMac(mac: number): boolean {
  return Math.floor(mac / 0x10000000000) % 2 === 1;
}

/** Writes a MAC given as "aa:bb:cc:dd:ee:ff" (either case) as 6 bytes at `o`. */
export function writeMac(s: string, b: Uint8Array, o: number): void {
  const n = s.charCodeAt(2) === 58 ? parseMac(s) : undefined;
  if (n === undefined) throw new RangeError(`not a MAC address: ${JSON.stringify(s)}`);
  const hi = Math.floor(n / 0x100000000);
  b[o] = hi >>> 8;
  b[o + 1] = hi & 255;
  b[o + 2] = (n >>> 24) & 255;
  b[o + 3] = (n >>> 16) & 255;
  b[o + 4] = (n >>> 8) & 255;
  b[o + 5] = n & 255;
}

// ---- IPv4 -----------------------------------------------------------------------------------------

/** Parses a dotted quad into an unsigned 32-bit number; undefined when malformed. */
export function parseIpv4(s: string): number | undefined {
  let parts = 0;
  let value = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || parts === 4) return undefined;
      n = n * 256 + value;
      parts++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined; // a leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? n >>> 0 : undefined;
}

/** Formats an IPv4 number, or the 4 bytes at offset `o` of `b`, as a dotted quad. */
export function formatIpv4(n: number): string;
export function formatIpv4(b: Uint8Array, o: number): string;
export function formatIpv4(x: number | Uint8Array, o = 0): string {
  if (typeof x === 'number') return `${(x >>> 24) & 255}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
  return `${x[o] ?? 0}.${x[o + 1] ?? 0}.${x[o + 2] ?? 0}.${x[o + 3] ?? 0}`;
}

/** Writes a dotted quad as 4 bytes at `o`. */
export function writeIpv4(s: string, b: Uint8Array, o: number): void {
  const n = parseIpv4(s);
  if (n === undefined) throw new RangeError(`not an IPv4 address: ${JSON.stringify(s)}`);
  b[o] = n >>> 24;
  b[o + 1] = (n >>> 16) & 255;
  b[o + 2] = (n >>> 8) & 255;
  b[o + 3] = n & 255;
}

/** Netmask of a prefix length 0..32 as an unsigned 32-bit number. */
export function prefixMask(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

/** True when `ip` lies in the prefix addr/len. */
export function prefixContains(addr: number, len: number, ip: number): boolean {
  const m = prefixMask(len);
  return (ip & m) >>> 0 === (addr & m) >>> 0;
}

/** An IPv4 prefix. */
export interface Ipv4Prefix {
  readonly addr: number;
  readonly len: number;
}

/** What `parsePrefix` needs to know of an address family. */
interface Family<A> {
  readonly bits: number;
  /** An example prefix, for the error on text without a slash. */
  readonly example: string;
  /** What the address part must be, for its error. */
  readonly what: string;
  parse(s: string): A | undefined;
  network(a: A, len: number): A;
  same(a: A, b: A): boolean;
  format(a: A): string;
}

/** Parses "ADDR/LEN" of a family; `strict`: host bits must be zero. A message says what is wrong. */
function parsePrefix<A>(s: string, strict: boolean, f: Family<A>): { addr: A; len: number } | string {
  const slash = s.indexOf('/');
  if (slash < 0) return `expected address/prefix-length, e.g. ${f.example}`;
  const addr = f.parse(s.slice(0, slash));
  if (addr === undefined)
    return f.bits === 32 && parseIpv6(s.slice(0, slash)) !== undefined
      ? `the address part is an IPv6 address; this takes ${f.what} (IPv6 has a field of its own, e.g. a port's address6)`
      : `the address part is not ${f.what}`;
  const lenText = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > f.bits)
    return `the prefix length must be 0 to ${f.bits}`;
  const len = Number(lenText);
  const net = f.network(addr, len);
  if (strict && !f.same(net, addr)) return `host bits are set; did you mean ${f.format(net)}/${len}?`;
  return { addr, len };
}

const IPV4: Family<number> = {
  bits: 32,
  example: '192.0.2.0/24',
  what: 'a dotted-quad IPv4 address',
  parse: parseIpv4,
  network: (a, len) => (a & prefixMask(len)) >>> 0,
  same: (a, b) => a === b,
  format: (a) => formatIpv4(a),
};

/**
 * Parses "a.b.c.d/len". With `strict`, host bits must be zero (a route destination); without it the
 * address is kept as given (an interface address such as a router port's "192.0.2.1/24").
 */
export function parseCidr(s: string, strict: boolean): Ipv4Prefix | string {
  return parsePrefix(s, strict, IPV4);
}

// ---- IPv6 -----------------------------------------------------------------------------------------

/** An IPv6 address as four unsigned 32-bit words, most significant first (see the header). */
export type Ipv6Words = readonly [number, number, number, number];

/** Parses the colon-separated hex groups of one side of "::" into `out`; false when malformed. */
function parseGroups(s: string, out: number[], v4Tail: boolean): boolean {
  if (s.length === 0) return true;
  let start = 0;
  for (;;) {
    let end = s.indexOf(':', start);
    if (end < 0) end = s.length;
    const last = end === s.length;
    if (last && v4Tail && s.indexOf('.', start) >= 0) {
      const v4 = parseIpv4(s.slice(start));
      if (v4 === undefined) return false;
      out.push(v4 >>> 16, v4 & 0xffff);
      return true;
    }
    const n = end - start;
    if (n === 0 || n > 4) return false;
    let v = 0;
    for (let i = start; i < end; i++) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) return false;
      v = (v << 4) | d;
    }
    out.push(v);
    if (last) return true;
    start = end + 1;
  }
}

function wordsOfGroups(g: readonly number[]): Ipv6Words {
  const w = (i: number) => (((g[i] ?? 0) << 16) | (g[i + 1] ?? 0)) >>> 0;
  return [w(0), w(2), w(4), w(6)];
}

/** Parses IPv6 text in any RFC 4291 form; undefined when malformed (zone ids included). */
export function parseIpv6(s: string): Ipv6Words | undefined {
  const gap = s.indexOf('::');
  const head: number[] = [];
  if (gap < 0) {
    if (!parseGroups(s, head, true) || head.length !== 8) return undefined;
    return wordsOfGroups(head);
  }
  if (s.indexOf('::', gap + 1) >= 0) return undefined;
  const tail: number[] = [];
  if (!parseGroups(s.slice(0, gap), head, false) || !parseGroups(s.slice(gap + 2), tail, true))
    return undefined;
  if (head.length + tail.length > 7) return undefined;
  return wordsOfGroups(head.concat(new Array<number>(8 - head.length - tail.length).fill(0), tail));
}

/** The eight 16-bit groups of an address. */
function groupsOf(w: Ipv6Words): number[] {
  return [
    w[0] >>> 16,
    w[0] & 0xffff,
    w[1] >>> 16,
    w[1] & 0xffff,
    w[2] >>> 16,
    w[2] & 0xffff,
    w[3] >>> 16,
    w[3] & 0xffff,
  ];
}

/** Formats an address (its words, or the 16 bytes at offset `o` of `b`) in RFC 5952 canonical form. */
export function formatIpv6(w: Ipv6Words): string;
export function formatIpv6(b: Uint8Array, o: number): string;
export function formatIpv6(x: Ipv6Words | Uint8Array, o = 0): string {
  const w = x instanceof Uint8Array ? ipv6FromBytes(x, o) : x;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return `::ffff:${formatIpv4(w[3])}`;
  const g = groupsOf(w);
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
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((v) => v.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Canonical (RFC 5952) text of IPv6 text given in any valid form; undefined when malformed. */
export function canonicalIpv6(s: string): string | undefined {
  const w = parseIpv6(s);
  return w === undefined ? undefined : formatIpv6(w);
}

/** The address in the 16 bytes at offset `o` of `b`. */
export function ipv6FromBytes(b: Uint8Array, o: number): Ipv6Words {
  const word = (i: number) =>
    (((b[o + i] ?? 0) << 24) |
      ((b[o + i + 1] ?? 0) << 16) |
      ((b[o + i + 2] ?? 0) << 8) |
      (b[o + i + 3] ?? 0)) >>>
    0;
  return [word(0), word(4), word(8), word(12)];
}

/** Writes an address as 16 bytes at offset `o` of `b`. */
export function ipv6ToBytes(w: Ipv6Words, b: Uint8Array, o: number): void {
  for (let i = 0; i < 4; i++) {
    const v = w[i as 0 | 1 | 2 | 3];
    b[o + 4 * i] = v >>> 24;
    b[o + 4 * i + 1] = (v >>> 16) & 255;
    b[o + 4 * i + 2] = (v >>> 8) & 255;
    b[o + 4 * i + 3] = v & 255;
  }
}

/** Writes IPv6 text (any RFC 4291 form) as 16 bytes at `o`. */
export function writeIpv6(s: string, b: Uint8Array, o: number): void {
  const w = parseIpv6(s);
  if (w === undefined) throw new RangeError(`not an IPv6 address: ${JSON.stringify(s)}`);
  ipv6ToBytes(w, b, o);
}

/** Netmask of a prefix length 0..128, as words. */
export function ipv6PrefixMask(len: number): Ipv6Words {
  const m = (i: number) => prefixMask(Math.min(32, Math.max(0, len - 32 * i)));
  return [m(0), m(1), m(2), m(3)];
}

/** The address with every bit past the first `len` cleared. */
export function ipv6Network(w: Ipv6Words, len: number): Ipv6Words {
  const m = ipv6PrefixMask(len);
  return [(w[0] & m[0]) >>> 0, (w[1] & m[1]) >>> 0, (w[2] & m[2]) >>> 0, (w[3] & m[3]) >>> 0];
}

/** True when the two addresses are equal. */
export function ipv6Equal(a: Ipv6Words, b: Ipv6Words): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** True when `ip` lies in the prefix addr/len. */
export function ipv6PrefixContains(addr: Ipv6Words, len: number, ip: Ipv6Words): boolean {
  return ipv6Equal(ipv6Network(addr, len), ipv6Network(ip, len));
}

/** An IPv6 prefix. */
export interface Ipv6Prefix {
  readonly addr: Ipv6Words;
  readonly len: number;
}

const IPV6: Family<Ipv6Words> = {
  bits: 128,
  example: '2001:db8::/32',
  what: 'an IPv6 address',
  parse: parseIpv6,
  network: ipv6Network,
  same: ipv6Equal,
  format: (a) => formatIpv6(a),
};

/** Parses "ADDR/len" for IPv6; `strict` as for `parseCidr`. */
export function parseIpv6Cidr(s: string, strict: boolean): Ipv6Prefix | string {
  return parsePrefix(s, strict, IPV6);
}

/** An address (either family, as text) and a port as one endpoint: 192.0.2.1:80, [2001:db8::1]:80. */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
