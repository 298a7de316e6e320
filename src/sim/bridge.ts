/**
 * The virtual L2 bridge.
 *
 * In order: admin state; frames with a multicast source are dropped; the VLAN is the ingress port's
 * access VLAN or the frame's tag; inbound chain; the source MAC is learned (an effect); a
 * broadcast/multicast destination is an ARP request the bridge may answer itself (ARP suppression:
 * router port and DHCP host addresses) or is flooded; a unicast destination is looked up in the
 * static router-port MACs, then in the MAC table for (bridge, VLAN) — a miss floods; outbound chain;
 * egress (VLAN-aware bridges pop the tag on access ports and push it on trunks).
 *
 * Invariant (mask/tags): the multicast check reads one bit of eth_src; learning reads eth_src; the
 * forwarding decision reads eth_dst and, only for broadcast, eth_type/ARP op/target; every MAC table
 * read adds the entry's tag, a miss included, so learning the MAC invalidates the flooded flow.
 */
import { applyVerdict, egressPort } from './port.js';
import { runChain } from './chain.js';
import { MAX_DEVICE_HOPS, type SimContext } from './context.js';
import {
  ARP_REQUEST,
  ETH_SRC_HI,
  ETH_TYPE_ARP,
  IP_PROTO,
  VLAN,
  formatMacNumber,
  isMulticastMac,
} from './flow-match.js';
import { arpReply } from './replies.js';
import { Tags } from './tags.js';
import type { BridgeView, PortView } from './topology.js';

export function bridgeIngress(ctx: SimContext, inPort: PortView): void {
  const b = ctx.topo.bridge(inPort.deviceId);
  if (b === undefined) {
    ctx.need(inPort.deviceId);
    return;
  }
  if (++ctx.hops > MAX_DEVICE_HOPS) {
    ctx.drop('loop guard: too many devices traversed');
    return;
  }
  ctx.addTag(b.tag);
  if (ctx.tracing) ctx.enter(`bridge ${b.name}`);
  bridgeBody(ctx, b, inPort);
  if (ctx.tracing) ctx.leave();
}

function bridgeBody(ctx: SimContext, b: BridgeView, inPort: PortView): void {
  const m = ctx.m;
  if (!b.adminStateUp) return ctx.drop(`bridge ${b.name} is down`);
  if (m.read(ETH_SRC_HI, 0x0100) !== 0) return ctx.drop('multicast source MAC');
  const vlan = inPort.vlanId ?? m.readAll(VLAN);
  ctx.inPortId = inPort.id;
  ctx.outPortId = null;
  if (
    b.inboundChainId !== null &&
    applyVerdict(ctx, runChain(ctx, b.inboundChainId, 'bridge inbound'), `bridge ${b.name} inbound`, inPort)
  )
    return;
  const src = m.ethSrc;
  ctx.effects.push({ kind: 'macLearned', bridgeId: b.id, vlan, mac: src, portId: inPort.id });
  const dst = m.ethDst;
  let out: PortView | undefined;
  if (isMulticastMac(dst)) {
    if (m.ethType === ETH_TYPE_ARP && m.readAll(IP_PROTO) === ARP_REQUEST) {
      const tpa = m.ipDst;
      const mac = b.arpTable.get(tpa);
      if (mac !== undefined) {
        if (ctx.tracing) ctx.line('ARP suppression: the bridge knows the target');
        ctx.emit(inPort.id, arpReply(m, inPort.id, tpa, mac));
        return ctx.drop('answered by ARP suppression');
      }
    }
  } else {
    let outId = b.routerMacs.get(dst);
    if (outId !== undefined) {
      if (ctx.tracing)
        ctx.line(`${formatMacNumber(dst)} is a router port MAC behind port ${ctx.portName(outId)}`);
    } else {
      const e = ctx.state.macs.lookup(b.id, vlan, dst, ctx.now);
      if (e !== undefined) {
        ctx.addTag(e.tag);
        outId = e.portId;
        if (ctx.tracing)
          ctx.line(`MAC table: ${formatMacNumber(dst)} vlan ${vlan} on port ${ctx.portName(outId)}`);
      } else {
        ctx.addTag(Tags.mac(b.id, vlan, dst));
        if (ctx.tracing) ctx.line(`MAC table: ${formatMacNumber(dst)} vlan ${vlan} unknown`);
      }
    }
    if (outId !== undefined) {
      if (outId === inPort.id) return ctx.drop('destination is behind the ingress port');
      out = b.portIds.includes(outId) ? ctx.topo.port(outId) : undefined;
    }
  }
  ctx.outPortId = out === undefined ? null : out.id;
  if (
    b.outboundChainId !== null &&
    applyVerdict(
      ctx,
      runChain(ctx, b.outboundChainId, 'bridge outbound'),
      `bridge ${b.name} outbound`,
      inPort,
    )
  )
    return;
  if (out !== undefined) {
    if (ctx.tracing) ctx.line(`forward to port ${out.name}`);
    bridgeEgress(ctx, b, out, vlan, inPort);
    return;
  }
  if (ctx.tracing) ctx.line('flood');
  let any = false;
  for (const pid of b.portIds) {
    if (pid === inPort.id) continue;
    const p = ctx.topo.port(pid);
    if (p === undefined) continue;
    if (b.vlanAware && p.vlanId !== null && p.vlanId !== vlan) continue;
    any = true;
    const saved = ctx.save();
    bridgeEgress(ctx, b, p, vlan, inPort);
    ctx.restore(saved);
    ctx.inPortId = inPort.id;
  }
  if (!any) ctx.drop('flood: no other port');
}

function bridgeEgress(ctx: SimContext, b: BridgeView, port: PortView, vlan: number, inPort: PortView): void {
  if (b.vlanAware) ctx.m.write(VLAN, port.vlanId !== null ? 0 : vlan);
  ctx.outPortId = port.id;
  egressPort(ctx, port, inPort);
}
