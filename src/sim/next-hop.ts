/**
 * What both router steps (router.ts for IPv4, router6.ts for IPv6) do with a normal route before and
 * after their family's own checks: find the route's next-hop port, and the MAC of a peered router
 * port that needs no neighbour resolution.
 *
 * Invariant: a next-hop port that is not loaded yet is asked for (ctx.need) and the branch stops, so
 * the simulation is retried once it is there; a port of another device is never used.
 */
import type { SimContext } from './context.js';
import { STOP, drop, type Decision } from './device.js';
import type { PortView, RouterView } from './topology.js';

const NO_NEXT_HOP_PORT = drop('route has no next hop port');
const FOREIGN_NEXT_HOP_PORT = drop('next hop port is not on this router');

/**
 * "Leave through the route's next-hop port" (the port's shared toPort decision, so nothing is
 * allocated), or the decision that ends the branch when there is no such port on router `r`.
 */
export function nextHopPort(ctx: SimContext, r: RouterView, portId: string | null): Decision {
  if (portId === null) return NO_NEXT_HOP_PORT;
  const port = ctx.topo.port(portId);
  if (port === undefined) {
    ctx.need(portId);
    return STOP;
  }
  if (port.deviceId !== r.id) return FOREIGN_NEXT_HOP_PORT;
  return port.toPort;
}

/** The MAC of the router port peered with `outPort`, or null when the next hop must be resolved. */
export function peerRouterMac(ctx: SimContext, outPort: PortView): number | null {
  const peer = outPort.peerId === null ? undefined : ctx.topo.port(outPort.peerId);
  return peer !== undefined && peer.deviceKind === 'router' ? peer.mac : null;
}
