/**
 * Ports, and the walk between devices: where a packet enters and leaves devices, and where a device's
 * decision (device.ts) is carried out.
 *
 * Ingress: tag, admin state (down drops), port security (port-security.ts: a spoofed source drops),
 * inbound chain, then the owning device: its step decides,
 * and the decision is carried out inside the device's trace node (forward: egress through one port;
 * flood: egress through every other port of the bridge on the packet's VLAN, each branch from the
 * same headers). Egress: tag, admin state, outbound chain, then either the packet leaves the virtual
 * topology (an exterior port: an output) or it enters the peer port of an interior link. An interior
 * port a mirror names records the crossing (in when the packet reaches it, out when the outbound chain
 * let it go), with the headers there, for mirror.ts.
 *
 * Invariant: a port or device referenced but not loaded is recorded as needed, never guessed or
 * skipped (a flood over a bridge with a port that is not loaded is a `notYet` result, not a flood
 * to fewer ports); verdicts other than accept end the branch here.
 */
import { bridgeStep } from './bridge.js';
import type { SimContext } from './context.js';
import { applyChain, endBranch, enterDevice, leaveDevice, type Decision } from './device.js';
import { VLAN } from './flow-match.js';
import { portSecurityDrops } from './port-security.js';
import { routerStep } from './router.js';
import type { BridgeView, PortView } from './topology.js';

/** The packet enters port `portId` (from outside, or from its interior peer). */
export function ingressPort(ctx: SimContext, portId: string): void {
  const port = ctx.topo.port(portId);
  if (port === undefined) {
    ctx.need(portId);
    return;
  }
  ctx.addTag(port.tag);
  if (port.peerId !== null) ctx.crossed(port.id, 'in');
  if (ctx.tracing) ctx.enter(`port ${port.name} (ingress)`);
  let go = true;
  if (!port.adminStateUp) {
    ctx.drop(`port ${port.name} is down`);
    go = false;
  } else if (port.security !== null && portSecurityDrops(ctx, port.security, port.id, port.name)) {
    go = false;
  } else if (port.inboundChainId !== null) {
    ctx.inPortId = port.id;
    ctx.outPortId = null;
    ctx.zone = port.deviceId;
    go = !applyChain(ctx, port.inboundChainId, 'port', port.name, 'inbound', port);
  }
  if (ctx.tracing) ctx.leave();
  if (!go) return;
  if (port.deviceKind === 'bridge') bridgeIngress(ctx, port);
  else routerIngress(ctx, port);
}

function bridgeIngress(ctx: SimContext, inPort: PortView): void {
  const b = ctx.topo.bridge(inPort.deviceId);
  if (b === undefined) return ctx.need(inPort.deviceId);
  if (!enterDevice(ctx, 'bridge', b.id, b.name, b.tag)) return;
  const d = bridgeStep(ctx, b, inPort);
  switch (d.kind) {
    case 'toPort':
      bridgeEgress(ctx, b, d.port, inPort);
      break;
    case 'flood':
      flood(ctx, b, inPort);
      break;
    default:
      endBranch(ctx, d);
  }
  leaveDevice(ctx);
}

function routerIngress(ctx: SimContext, inPort: PortView): void {
  const r = ctx.topo.router(inPort.deviceId);
  if (r === undefined) return ctx.need(inPort.deviceId);
  if (!enterDevice(ctx, 'router', r.id, r.name, r.tag)) return;
  const d: Decision = routerStep(ctx, r, inPort);
  if (d.kind === 'toPort') egressPort(ctx, d.port, inPort);
  else if (d.kind === 'flood') ctx.drop('a router does not flood');
  else endBranch(ctx, d);
  leaveDevice(ctx);
}

/** Every other port of the bridge on the packet's VLAN, each from the same headers. */
function flood(ctx: SimContext, b: BridgeView, inPort: PortView): void {
  if (ctx.tracing) ctx.line('flood');
  ctx.flooded = true;
  const vlan = ctx.vlan;
  let any = false;
  for (const pid of b.portIds) {
    if (pid === inPort.id) continue;
    const p = ctx.topo.port(pid);
    if (p === undefined) {
      ctx.need(pid);
      continue;
    }
    if (b.vlanAware && p.vlanId !== null && p.vlanId !== vlan) continue;
    any = true;
    const saved = ctx.m.save();
    bridgeEgress(ctx, b, p, inPort);
    ctx.m.restore(saved);
    ctx.vlan = vlan;
    ctx.inPortId = inPort.id;
  }
  if (!any) ctx.drop('flood: no other port');
}

/** VLAN-aware bridges pop the tag on access ports and push the packet's VLAN on trunks. */
function bridgeEgress(ctx: SimContext, b: BridgeView, port: PortView, inPort: PortView): void {
  if (b.vlanAware) ctx.m.write(VLAN, port.vlanId !== null ? 0 : ctx.vlan);
  ctx.outPortId = port.id;
  egressPort(ctx, port, inPort);
}

/** The packet leaves its device through `port`. `replyPort`: where a reject reply would go. */
export function egressPort(ctx: SimContext, port: PortView, replyPort: PortView | undefined): void {
  ctx.addTag(port.tag);
  if (ctx.tracing) ctx.enter(`port ${port.name} (egress)`);
  let go = true;
  if (!port.adminStateUp) {
    ctx.drop(`port ${port.name} is down`);
    go = false;
  } else if (port.outboundChainId !== null) {
    ctx.outPortId = port.id;
    ctx.zone = port.deviceId;
    go = !applyChain(ctx, port.outboundChainId, 'port', port.name, 'outbound', replyPort);
  }
  if (go && port.peerId === null) {
    ctx.output(port.id);
    if (ctx.tracing) ctx.line(`output to exterior port ${port.name}`);
  }
  if (ctx.tracing) ctx.leave();
  if (go && port.peerId !== null) {
    ctx.crossed(port.id, 'out');
    ingressPort(ctx, port.peerId);
  }
}
