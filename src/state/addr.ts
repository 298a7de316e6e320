/**
 * Address parsing shared by the topology model, the simulation and the CLI: IPv4 addresses and
 * prefixes, MAC addresses, UUIDs, L4 port ranges.
 *
 * Invariant: every parser is total. It returns `undefined` (or a message) for input it does not
 * accept and never throws, so callers can turn a bad value into an error that names the field.
 * IPv4 addresses are carried as unsigned 32-bit numbers (`>>> 0`) wherever arithmetic is done.
 */

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** Parses dotted-quad IPv4 into an unsigned 32-bit number; undefined when malformed. */
export function parseIpv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n >>> 0;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Netmask for a prefix length 0..32 as an unsigned 32-bit number. */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export interface Ipv4Prefix {
  /** Network address with host bits cleared. */
  readonly addr: number;
  readonly len: number;
}

/**
 * Parses "a.b.c.d/len". With `strict`, host bits must be zero (a route destination); without it the
 * address part is kept as given (an interface address such as a router port's "192.0.2.1/24").
 */
export function parseCidr(s: string, strict: boolean): { addr: number; len: number } | string {
  const slash = s.indexOf('/');
  if (slash < 0) return 'expected address/prefix-length, e.g. 192.0.2.0/24';
  const addr = parseIpv4(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (addr === undefined) return 'the address part is not a dotted-quad IPv4 address';
  if (!/^(0|[1-9][0-9]?)$/.test(lenText) || Number(lenText) > 32) return 'the prefix length must be 0 to 32';
  const len = Number(lenText);
  if (strict && (addr & ~prefixMask(len)) >>> 0 !== 0) {
    return `host bits are set; did you mean ${formatIpv4((addr & prefixMask(len)) >>> 0)}/${len}?`;
  }
  return { addr, len };
}

/** True when `ip` lies in the prefix (addr/len). */
export function prefixContains(addr: number, len: number, ip: number): boolean {
  const m = prefixMask(len);
  return (ip & m) >>> 0 === (addr & m) >>> 0;
}

export const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Normalizes a MAC to lowercase colon form; undefined when malformed. */
export function normalizeMac(s: string): string | undefined {
  const lower = s.toLowerCase().replace(/-/g, ':');
  return MAC_RE.test(lower) ? lower : undefined;
}

/** MAC as a 48-bit number (fits a double exactly). */
export function macToNumber(mac: string): number {
  return parseInt(mac.replace(/:/g, ''), 16);
}

export function numberToMac(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return hex.replace(/(..)(?!$)/g, '$1:');
}

/** Parses "N" or "N-M" (0..65535, N <= M). */
export function parsePortRange(s: string): { start: number; end: number } | string {
  const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(s.trim());
  if (!m) return 'expected a port or a range such as 1000-2000';
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535) return 'ports are 0 to 65535';
  if (start > end) return 'the range start is above its end';
  return { start, end };
}
