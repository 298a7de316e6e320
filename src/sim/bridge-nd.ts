/**
 * Neighbour discovery suppression on a bridge, the IPv6 twin of ARP suppression (bridge.ts): a VM's
 * neighbour solicitation for an address the bridge knows (a peered router port's global or link-local
 * address, a port's fixed IPv6 address) is answered by the bridge with a neighbour advertisement
 * instead of being flooded; for a router's address the router learns the asker, as if it had answered.
 *
 * Invariant (mask): only multicast frames from exterior ports get here; the check reads eth_type, the
 * next header, the ICMPv6 type and the ND target, and an answer makes the result uncacheable
 * (context.emit), so no flow of a solicitation for an unknown address ever covers a known one.
 */
import { formatIpv6 } from '../addr.js';
import type { SimContext } from './context.js';
import { consume, type Decision } from './device.js';
import { ETH_TYPE_IPV6, ICMP_TYPE, IP_PROTO, IPV6_SRC_0, PROTO_ICMPV6 } from './flow-match.js';
import { ND_NEIGHBOR_SOLICIT, neighbourAdvert } from './ndp.js';
import type { BridgeView, PortView } from './topology.js';

const ND_SUPPRESSED = consume('answered by neighbour discovery suppression');

/** The bridge's answer to a VM's solicitation for a known address, or null (flood it). */
export function ndSuppression(ctx: SimContext, b: BridgeView, inPort: PortView): Decision | null {
  const m = ctx.m;
  if (m.ethType !== ETH_TYPE_IPV6 || m.readAll(IP_PROTO) !== PROTO_ICMPV6) return null;
  if (m.readAll(ICMP_TYPE) !== ND_NEIGHBOR_SOLICIT) return null;
  const target = m.ndTarget();
  const known = b.ndTable.get(formatIpv6(target));
  if (known === undefined) return null;
  if (ctx.tracing) ctx.line('ND suppression: the bridge knows the target');
  const asker = m.peek6(IPV6_SRC_0);
  if (known.routerId !== null && (asker[0] | asker[1] | asker[2] | asker[3]) !== 0)
    ctx.effects.push({
      kind: 'ndLearned',
      routerId: known.routerId,
      ip: formatIpv6(asker),
      mac: m.peekEthSrc(),
    });
  ctx.emit(inPort.id, neighbourAdvert(m, inPort.id, target, known.mac, known.routerId !== null));
  return ND_SUPPRESSED;
}
