/**
 * The field types of a port's port security (anti-spoofing): its fixed addresses (IPv4 or IPv6) and
 * its allowed address pairs (a MAC, or the port's own, with an address or prefix of either family).
 *
 * Invariant: a value that passes is stored in one canonical form (IPv6 text as RFC 5952, MACs lower
 * case with colons, a single address without a prefix length), so the simulation (sim/port-security.ts)
 * parses every stored value without failing; a value that fails says what is allowed (the store's error
 * names the field and quotes the value): a multicast MAC, a prefix length out of range for its
 * family, host bits set.
 */
import { z } from 'zod';
import {
  canonicalIpv6,
  formatIpv4,
  formatIpv6,
  isMulticastMac,
  macToNumber,
  normalizeMac,
  parseCidr,
  parseIpv4,
  parseIpv6Cidr,
} from '../addr.js';

/** One address, IPv4 (dotted quad) or IPv6 (stored canonical). */
export const ipAddress = z.string().transform((s, ctx) => {
  if (parseIpv4(s) !== undefined) return s;
  const v6 = canonicalIpv6(s);
  if (v6 !== undefined) return v6;
  ctx.addIssue({
    code: 'custom',
    message: 'expected an IPv4 address (192.0.2.10) or an IPv6 address (2001:db8::10)',
  });
  return z.NEVER;
});

/**
 * An address or prefix of either family: "192.0.2.10", "192.0.2.0/28", "2001:db8::/64". A prefix has
 * no host bits set; its length is 0 to 32 (IPv4) or 0 to 128 (IPv6). A full-length prefix is stored
 * as the bare address.
 */
export const addressOrPrefix = z.string().transform((s, ctx) => {
  const fail = (why: string) => {
    ctx.addIssue({ code: 'custom', message: why });
    return z.NEVER;
  };
  const slash = s.indexOf('/');
  const host = slash < 0 ? s : s.slice(0, slash);
  if (parseIpv4(host) !== undefined) {
    if (slash < 0) return s;
    const p = parseCidr(s, true);
    if (typeof p === 'string') return fail(p);
    return p.len === 32 ? formatIpv4(p.addr) : `${formatIpv4(p.addr)}/${p.len}`;
  }
  if (canonicalIpv6(host) !== undefined) {
    if (slash < 0) return canonicalIpv6(host)!;
    const p = parseIpv6Cidr(s, true);
    if (typeof p === 'string') return fail(p);
    return p.len === 128 ? formatIpv6(p.addr) : `${formatIpv6(p.addr)}/${p.len}`;
  }
  return fail(
    'expected an IPv4 or IPv6 address, optionally with a prefix length (192.0.2.0/28, 2001:db8::/64)',
  );
});

/** A unicast MAC (the source of frames a port may send). */
export const unicastMac = z.string().transform((s, ctx) => {
  const m = normalizeMac(s);
  if (m === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a MAC address such as 02:00:00:00:00:01' });
    return z.NEVER;
  }
  if (isMulticastMac(macToNumber(m))) {
    ctx.addIssue({
      code: 'custom',
      message: "is a multicast MAC; a sender's MAC is unicast (lowest bit of the first byte clear)",
    });
    return z.NEVER;
  }
  return m;
});

/** An allowed address pair: frames from `mac` (null: the port's own MAC) with a source in `ipAddress`. */
export const addressPair = z
  .object({
    ipAddress: addressOrPrefix,
    mac: unicastMac.nullable().default(null),
  })
  .strict();

export type AddressPair = z.infer<typeof addressPair>;
