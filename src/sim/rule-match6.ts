/**
 * IPv6 prefix conditions of rules (rule-match.ts compiles IPv4 ones): a rule's source or destination
 * prefix given as IPv6 ("2001:db8:a::/64") matches IPv6 packets whose address lies in it, and no
 * IPv4 or ARP packet (just as an IPv4 prefix matches no IPv6 packet). An IP address group holds both
 * families; an IPv6 packet is tested against its IPv6 members (reading the whole address).
 *
 * Invariant (mask): the test reads eth_type and exactly the prefix's bits of the address (readPrefix6),
 * so the installed flow matches ipv6_src/ipv6_dst with the prefix as its mask, no wider.
 */
import { formatIpv6, ipv6Network, parseIpv6Cidr } from '../addr.js';
import { IPV6_SRC_0, type FlowMatch } from './flow-match.js';

const scratch: number[] = [0, 0, 0, 0];

/** The test for an IPv6 prefix in text on the address field starting at `f0`, or null when not IPv6. */
export function prefix6Test(f0: number, text: string): ((m: FlowMatch) => boolean) | null {
  const p = parseIpv6Cidr(text, false);
  if (typeof p === 'string') return null;
  const net = ipv6Network(p.addr, p.len);
  const len = p.len;
  return (m) => {
    if (!m.isIpv6()) return false;
    m.readPrefix6(f0, len, scratch);
    return scratch[0] === net[0] && scratch[1] === net[1] && scratch[2] === net[2] && scratch[3] === net[3];
  };
}

/** True when the IPv6 address field at `f0` (IPV6_SRC_0 or IPV6_DST_0) is an IPv6 member of `g`. */
export function inGroup6(m: FlowMatch, g: { readonly members6?: ReadonlySet<string> }, f0: number): boolean {
  if (g.members6 === undefined || g.members6.size === 0) return false;
  return g.members6.has(formatIpv6(f0 === IPV6_SRC_0 ? m.ipv6Src() : m.ipv6Dst()));
}
