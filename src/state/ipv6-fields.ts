/**
 * The IPv6 field types of the model: a router port's IPv6 interface address, and the route fields
 * that take either family (destination and source prefix, gateway).
 *
 * Invariant: a value that passes is stored in one canonical form (RFC 5952 text, the prefix length
 * kept), so the simulation's topology (sim/topology6.ts) parses every stored value without failing; a
 * value that fails says what is allowed (the store's error names the field and quotes the value): a
 * prefix length out of range for its family (over 128 for IPv6), host bits set in a route prefix, a
 * multicast, unspecified or link-local interface address (a router port's link-local address is
 * derived from its MAC).
 */
import { z } from 'zod';
import { formatIpv6, parseCidr, parseIpv4, parseIpv6, parseIpv6Cidr } from '../addr.js';

/** A router port's IPv6 address with its prefix length, e.g. 2001:db8:1::1/64 (stored canonical). */
export const ifaceAddr6 = z.string().transform((s, ctx) => {
  const fail = (why: string) => {
    ctx.addIssue({ code: 'custom', message: why });
    return z.NEVER;
  };
  const p = parseIpv6Cidr(s, false);
  if (typeof p === 'string')
    return fail(`${p} (an IPv6 address with its prefix length, e.g. 2001:db8:1::1/64)`);
  if (p.len === 0 || p.len > 127)
    return fail('the prefix length of an IPv6 interface address must be 1 to 127');
  const hi = p.addr[0] >>> 16;
  if (hi >>> 8 === 0xff) return fail('a multicast address (ff00::/8) cannot be an interface address');
  if ((hi & 0xffc0) === 0xfe80)
    return fail(
      "a link-local address (fe80::/10) is derived from the port's MAC; give a global or unique-local one",
    );
  if (p.addr.every((w) => w === 0)) return fail('the unspecified address :: cannot be an interface address');
  return `${formatIpv6(p.addr)}/${p.len}`;
});

/**
 * A route prefix of either family: "203.0.113.0/24" or "2001:db8:2::/48"; host bits must be zero.
 * IPv4 text is kept as given (the IPv4 route fields always were); IPv6 is stored canonical.
 */
export const routePrefix = z.string().transform((s, ctx) => {
  const slash = s.indexOf('/');
  const host = slash < 0 ? s : s.slice(0, slash);
  const r =
    parseIpv4(host) !== undefined || parseIpv6(host) === undefined
      ? parseCidr(s, true)
      : parseIpv6Cidr(s, true);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return typeof r.addr === 'number' ? s : `${formatIpv6(r.addr)}/${r.len}`;
});

/** The address family of a stored route prefix or address: 6 when it parses as IPv6, else 4. */
export function familyOf(s: string): 4 | 6 {
  const slash = s.indexOf('/');
  return parseIpv6(slash < 0 ? s : s.slice(0, slash)) !== undefined ? 6 : 4;
}

/** The "any source" default of a route; it stands for ::/0 on an IPv6 route. */
export const ANY_SOURCE = '0.0.0.0/0';

/**
 * Why a route mixes address families (a field and its value, for the store's error), or null. The
 * source may stay at its default 0.0.0.0/0 on an IPv6 route (any source).
 */
export function routeFamilyProblem(r: {
  readonly dstPrefix: string;
  readonly srcPrefix: string;
  readonly gateway: string | null;
}): { field: 'srcPrefix' | 'gateway'; value: string; why: string } | null {
  const fam = familyOf(r.dstPrefix);
  if (r.srcPrefix !== ANY_SOURCE && familyOf(r.srcPrefix) !== fam)
    return {
      field: 'srcPrefix',
      value: r.srcPrefix,
      why: `is not IPv${fam} like the destination ${r.dstPrefix}`,
    };
  if (r.gateway !== null && familyOf(r.gateway) !== fam)
    return {
      field: 'gateway',
      value: r.gateway,
      why: `is not IPv${fam} like the destination ${r.dstPrefix}`,
    };
  return null;
}
