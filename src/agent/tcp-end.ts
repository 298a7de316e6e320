/**
 * TCP connection ends as the agent sees them: a FIN or RST ends the tracked connection (and the NAT
 * binding's pin), so the flows of a tracked TCP connection must let FIN and RST up to the agent.
 *
 * Invariant: widening a mask with the FIN/RST bits only narrows the flow (more bits matched), so a
 * flow stays correct for every packet it covers.
 */
import {
  ETH_TYPE,
  ETH_TYPE_IPV4,
  ETH_TYPE_IPV6,
  IP_PROTO,
  PROTO_TCP,
  TCP_FIN,
  TCP_FLAGS,
  TCP_RST,
} from '../sim/flow-match.js';
import type { SimDone } from '../sim/result.js';

/** TCP over IPv4 or IPv6. */
function isTcp(packet: readonly number[]): boolean {
  const et = packet[ETH_TYPE];
  return (et === ETH_TYPE_IPV4 || et === ETH_TYPE_IPV6) && packet[IP_PROTO] === PROTO_TCP;
}

/** A TCP packet (IPv4 or IPv6) that ends its connection (FIN or RST). */
export function isTcpEnd(packet: readonly number[]): boolean {
  return isTcp(packet) && (packet[TCP_FLAGS]! & (TCP_FIN | TCP_RST)) !== 0;
}

/** A TCP flow that read connection state or a NAT binding: its FIN or RST must reach the agent. */
export function watchesTcpEnd(res: SimDone): boolean {
  if (!isTcp(res.packet)) return false;
  for (const t of res.tags) if (t.startsWith('ct:') || t.startsWith('nat:')) return true;
  return false;
}

/** The mask with the FIN and RST bits matched. */
export function withTcpEndBits(mask: readonly number[]): number[] {
  const m = mask.slice();
  m[TCP_FLAGS] = (m[TCP_FLAGS]! | TCP_FIN | TCP_RST) >>> 0;
  m[IP_PROTO] = 0xff;
  m[ETH_TYPE] = 0xffff;
  return m;
}
