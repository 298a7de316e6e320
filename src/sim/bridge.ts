/**
 * The virtual L2 bridge's step: what it decides for a frame that entered through one of its ports.
 *
 * In order: admin state; frames with a multicast source are dropped; on a bridge with a DHCP subnet, a
 * DHCP client message (UDP 68 -> 67) from an exterior port is consumed for the agent's DHCP server (an
 * effect, never a flow: every request must reach the agent); the VLAN is the ingress port's
 * access VLAN or the frame's tag (kept in ctx.vlan for egress); inbound chain; the source MAC is
 * learned (an effect); a broadcast/multicast destination is an ARP request the bridge may answer
 * itself (ARP suppression: router port and DHCP host addresses) or is flooded; a unicast destination is
 * looked up in the static router-port MACs, then in the MAC table for (bridge, VLAN) — a miss floods;
 * outbound chain; then forward or flood (carried out by port.ts, which pops or pushes the VLAN tag on
 * VLAN-aware bridges).
 *
 * Invariant (mask/tags): the multicast check reads one bit of eth_src; the DHCP check (only on bridges
 * with a DHCP subnet, only at exterior ports) reads eth_type, then ip_proto, then udp dst, then src, so
 * no flow of such a port can cover a DHCP request; learning reads eth_src; the
 * forwarding decision reads eth_dst and, only for broadcast, eth_type/ARP op/target; every MAC table
 * read adds the entry's tag, a miss included, so learning the MAC invalidates the flooded flow. A
 * destination port that is not loaded is needed (the result is notYet), never flooded past; the
 * agent forgets MAC entries of deleted ports, so a needed port is one that exists.
 */
import type { SimContext } from './context.js';
import { FLOOD, STOP, applyChain, consume, drop, type Decision } from './device.js';
import {
  ARP_REQUEST,
  ETH_SRC_HI,
  ETH_TYPE_ARP,
  IP_PROTO,
  IP_SRC,
  PROTO_UDP,
  TP_DST,
  TP_SRC,
  VLAN,
  formatMacNumber,
  isMulticastMac,
} from './flow-match.js';
import { arpReply } from './replies.js';
import { Tags } from './tags.js';
import type { BridgeView, PortView } from './topology.js';

const MULTICAST_SOURCE = drop('multicast source MAC');
const BEHIND_INGRESS = drop('destination is behind the ingress port');
const ARP_SUPPRESSED = consume('answered by ARP suppression');
const DHCP_SERVED = consume('DHCP request: answered by the agent');

export function bridgeStep(ctx: SimContext, b: BridgeView, inPort: PortView): Decision {
  const m = ctx.m;
  if (!b.adminStateUp) return drop(`bridge ${b.name} is down`);
  if (m.read(ETH_SRC_HI, 0x0100) !== 0) return MULTICAST_SOURCE;
  if (b.dhcpId !== null && inPort.peerId === null && isDhcpRequest(ctx)) {
    m.noCache('a DHCP request goes to the agent every time');
    ctx.effects.push({ kind: 'dhcpRequest', dhcpId: b.dhcpId, portId: inPort.id });
    if (ctx.tracing) ctx.line('DHCP request: the agent answers it');
    return DHCP_SERVED;
  }
  const vlan = inPort.vlanId ?? m.readAll(VLAN);
  ctx.vlan = vlan;
  ctx.inPortId = inPort.id;
  ctx.outPortId = null;
  if (applyChain(ctx, b.inboundChainId, 'bridge', b.name, 'inbound', inPort)) return STOP;
  ctx.effects.push({ kind: 'macLearned', bridgeId: b.id, vlan, mac: m.ethSrc, portId: inPort.id });
  const dst = m.ethDst;
  let out: PortView | undefined;
  if (isMulticastMac(dst)) {
    if (m.ethType === ETH_TYPE_ARP && m.readAll(IP_PROTO) === ARP_REQUEST) {
      const tpa = m.ipDst;
      const mac = b.arpTable.get(tpa);
      if (mac !== undefined) {
        if (ctx.tracing) ctx.line('ARP suppression: the bridge knows the target');
        // Answering for a router port: the router learns the asker, as it would answering itself
        // (RFC 826), so its first packet back needs no ARP of its own.
        const routerId = b.arpRouters.get(tpa);
        if (routerId !== undefined)
          ctx.effects.push({ kind: 'arpLearned', routerId, ip: m.peek(IP_SRC), mac: m.peekEthSrc() });
        ctx.emit(inPort.id, arpReply(m, inPort.id, tpa, mac));
        return ARP_SUPPRESSED;
      }
    }
  } else {
    const outId = unicastPort(ctx, b, vlan, dst);
    if (outId !== undefined) {
      if (outId === inPort.id) return BEHIND_INGRESS;
      out = ctx.topo.port(outId);
      if (out === undefined) {
        ctx.need(outId);
        return STOP;
      }
      // An entry naming a port of another device is stale (ports never change device): flood.
      if (out.deviceId !== b.id) out = undefined;
    }
  }
  ctx.outPortId = out === undefined ? null : out.id;
  if (applyChain(ctx, b.outboundChainId, 'bridge', b.name, 'outbound', inPort)) return STOP;
  if (out === undefined) return FLOOD;
  if (ctx.tracing) ctx.line(`forward to port ${out.name}`);
  return out.toPort;
}

/** A DHCP client message: IPv4 UDP from port 68 to port 67 (reads eth_type, ip_proto, tp_dst, tp_src). */
function isDhcpRequest(ctx: SimContext): boolean {
  const m = ctx.m;
  return m.isProto(PROTO_UDP) && m.readAll(TP_DST) === 67 && m.readAll(TP_SRC) === 68;
}

/** The port a unicast MAC is behind: a peered router port's MAC, else the MAC table (tagged). */
function unicastPort(ctx: SimContext, b: BridgeView, vlan: number, dst: number): string | undefined {
  const routerPort = b.routerMacs.get(dst);
  if (routerPort !== undefined) {
    if (ctx.tracing)
      ctx.line(`${formatMacNumber(dst)} is a router port MAC behind port ${ctx.portName(routerPort)}`);
    return routerPort;
  }
  const e = ctx.state.macs.lookup(b.id, vlan, dst, ctx.now);
  if (e !== undefined) {
    ctx.addTag(e.tag);
    if (ctx.tracing)
      ctx.line(`MAC table: ${formatMacNumber(dst)} vlan ${vlan} on port ${ctx.portName(e.portId)}`);
    return e.portId;
  }
  ctx.addTag(Tags.mac(b.id, vlan, dst));
  if (ctx.tracing) ctx.line(`MAC table: ${formatMacNumber(dst)} vlan ${vlan} unknown`);
  return undefined;
}
