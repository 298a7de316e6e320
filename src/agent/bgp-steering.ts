/**
 * Steering of BGP speaker traffic on br-int (pure): for every router port bound to this host that has
 * BGP peers, midonet-router plugs a speaker veth (`speakerInterface(port)`) into br-int; these flows
 * carry the speaker's own traffic between that veth and the uplink interface, so FRR talks to the peer
 * with the router port's address and MAC while everything else on the uplink is routed by the virtual
 * router as usual:
 *   priority 200  in_port=SPEAKER -> output:UPLINK                       (all the speaker sends)
 *   priority 200  tcp, in_port=UPLINK, nw_src=PEER, nw_dst=PORT_IP, tp_dst=179 or tp_src=179 -> SPEAKER
 *   priority 200  icmp, in_port=UPLINK, nw_src=PEER, nw_dst=PORT_IP -> SPEAKER
 *   priority 200  arp, in_port=UPLINK, arp_spa=PEER, arp_tpa=PORT_IP -> SPEAKER and CONTROLLER
 *                 (the virtual router learns the peer's MAC from the same replies)
 *
 * Invariant: the lines are a function of the topology and the OpenFlow port numbers only; a port whose
 * uplink or speaker interface is not on the bridge gets no line, and every line's cookie carries the
 * proactive bit plus BGP_COOKIE_TAG, so it is replaced with the other proactive flows and never
 * collides with a tunnel-delivery cookie (those use bits 0-47).
 */
import { PROACTIVE_COOKIE_BIT } from './flow-table.js';
import type { Obj } from '../state/model.js';

export const BGP_STEERING_PRIORITY = 200;
/** Bits 48-55 of a steering flow's cookie. */
export const BGP_COOKIE_TAG = 0xb9n << 48n;

/** The host-side name of the speaker veth of a router port (at most 15 characters). */
export function speakerInterface(port: Pick<Obj<'port'>, 'tunnelKey'>): string {
  return `mnbgp${port.tunnelKey.toString(16)}`;
}

/** What the steering needs to read from the topology. */
export interface SteeringTopology {
  all(kind: 'port'): Obj<'port'>[];
  all(kind: 'bgp-peer'): Obj<'bgp-peer'>[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Steering flow lines (ovs-ofctl syntax, without `add`) by key, for the ports bound to `hostId`. */
export function bgpSteeringFlows(
  topo: SteeringTopology,
  hostId: string,
  ifaceOfport: ReadonlyMap<string, number>,
): Map<string, string> {
  const out = new Map<string, string>();
  const peersByPort = new Map<string, Obj<'bgp-peer'>[]>();
  for (const p of topo.all('bgp-peer')) {
    let l = peersByPort.get(p.portId);
    if (l === undefined) peersByPort.set(p.portId, (l = []));
    l.push(p);
  }
  for (const port of topo.all('port')) {
    const peers = peersByPort.get(port.id);
    if (!peers || port.hostId !== hostId || port.interfaceName === null || port.address === null) continue;
    const uplink = ifaceOfport.get(port.interfaceName);
    const speaker = ifaceOfport.get(speakerInterface(port));
    if (uplink === undefined || speaker === undefined) continue;
    const ip = port.address.split('/')[0]!;
    let n = 0n;
    const cookie = () =>
      `0x${(PROACTIVE_COOKIE_BIT | BGP_COOKIE_TAG | (BigInt(port.tunnelKey) << 16n) | n++).toString(16)}`;
    const head = `table=0,priority=${BGP_STEERING_PRIORITY}`;
    out.set(`bgp:${port.id}:out`, `cookie=${cookie()},${head},in_port=${speaker},actions=output:${uplink}`);
    for (const peer of [...peers].sort((a, b) => a.peerAddress.localeCompare(b.peerAddress))) {
      if (!IPV4.test(peer.peerAddress)) continue;
      const g = peer.peerAddress;
      const k = `bgp:${port.id}:${g}`;
      const fromPeer = `in_port=${uplink},nw_src=${g},nw_dst=${ip}`;
      out.set(
        `${k}:bgp-d`,
        `cookie=${cookie()},${head},tcp,${fromPeer},tp_dst=179,actions=output:${speaker}`,
      );
      out.set(
        `${k}:bgp-s`,
        `cookie=${cookie()},${head},tcp,${fromPeer},tp_src=179,actions=output:${speaker}`,
      );
      out.set(`${k}:icmp`, `cookie=${cookie()},${head},icmp,${fromPeer},actions=output:${speaker}`);
      out.set(
        `${k}:arp`,
        `cookie=${cookie()},${head},arp,in_port=${uplink},arp_spa=${g},arp_tpa=${ip},actions=output:${speaker},CONTROLLER:65535`,
      );
    }
  }
  return out;
}
