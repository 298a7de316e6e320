/**
 * Ports: where a packet enters and leaves devices.
 *
 * Ingress: tag, admin state (down drops), inbound chain, then the owning device. Egress: tag, admin
 * state, outbound chain, then either the packet leaves the virtual topology (an exterior port: an
 * output action) or it enters the peer port of an interior link.
 *
 * Invariant: a port referenced but not loaded is recorded as needed, never guessed; verdicts other than
 * accept end the branch here (reject also emits its reply from the port the current device received on).
 */
import { bridgeIngress } from './bridge.js';
import type { ChainVerdict } from './chain.js';
import { runChain } from './chain.js';
import type { SimContext } from './context.js';
import { IP_DST } from './flow-match.js';
import { rejectReply } from './replies.js';
import { routerIngress } from './router.js';
import type { PortView } from './topology.js';

/** Handles a non-accept verdict: drop, or for reject also the reply. Returns true when the branch ends. */
export function applyVerdict(
  ctx: SimContext,
  v: ChainVerdict,
  where: string,
  replyPort: PortView | undefined,
): boolean {
  switch (v) {
    case 'accept':
      return false;
    case 'drop':
      ctx.drop(`dropped by ${where} chain`);
      return true;
    case 'reject': {
      const m = ctx.m;
      if (replyPort !== undefined && m.isIpv4()) {
        const srcIp = replyPort.ip ?? m.peek(IP_DST);
        const srcMac = replyPort.mac ?? m.peekEthDst();
        ctx.emit(replyPort.id, rejectReply(m, replyPort.id, srcIp, srcMac));
      }
      ctx.drop(`rejected by ${where} chain`);
      return true;
    }
  }
}

/** The packet enters port `portId` (from outside, or from its interior peer). */
export function ingressPort(ctx: SimContext, portId: string): void {
  const port = ctx.topo.port(portId);
  if (port === undefined) {
    ctx.need(portId);
    return;
  }
  ctx.addTag(port.tag);
  if (ctx.tracing) ctx.enter(`port ${port.name} (ingress)`);
  let go = true;
  if (!port.adminStateUp) {
    ctx.drop(`port ${port.name} is down`);
    go = false;
  } else if (port.inboundChainId !== null) {
    ctx.inPortId = port.id;
    ctx.outPortId = null;
    go = !applyVerdict(ctx, runChain(ctx, port.inboundChainId, 'inbound'), `port ${port.name} inbound`, port);
  }
  if (ctx.tracing) ctx.leave();
  if (!go) return;
  switch (port.deviceKind) {
    case 'bridge':
      bridgeIngress(ctx, port);
      break;
    case 'router':
      routerIngress(ctx, port);
      break;
  }
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
    go = !applyVerdict(
      ctx,
      runChain(ctx, port.outboundChainId, 'outbound'),
      `port ${port.name} outbound`,
      replyPort,
    );
  }
  if (go && port.peerId === null) {
    ctx.output(port.id);
    if (ctx.tracing) ctx.line(`output to exterior port ${port.name}`);
  }
  if (ctx.tracing) ctx.leave();
  if (go && port.peerId !== null) ingressPort(ctx, port.peerId);
}
