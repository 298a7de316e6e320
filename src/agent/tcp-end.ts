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
  IP_PROTO,
  PROTO_TCP,
  TCP_FIN,
  TCP_FLAGS,
  TCP_RST,
} from '../sim/flow-match.js';
import type { SimDone } from '../sim/result.js';

/** A TCP packet that ends its connection (FIN or RST). */
export function isTcpEnd(packet: readonly number[]): boolean {
  return (
    packet[ETH_TYPE] === ETH_TYPE_IPV4 &&
    packet[IP_PROTO] === PROTO_TCP &&
    (packet[TCP_FLAGS]! & (TCP_FIN | TCP_RST)) !== 0
  );
}

/** A TCP flow that read connection state or a NAT binding: its FIN or RST must reach the agent. */
export function watchesTcpEnd(res: SimDone): boolean {
  if (res.packet[IP_PROTO] !== PROTO_TCP || res.packet[ETH_TYPE] !== ETH_TYPE_IPV4) return false;
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
