/**
 * What a device step decides, and the steps every device shares around it.
 *
 * A device (bridge, router) is a function from (context, device view, ingress port) to a `Decision`:
 * forward through one of its ports, flood, drop with a reason, consume the packet (it answered it
 * itself), or stop (a chain already ended the branch, or an object it needed is not loaded, both
 * recorded in the context). The walker (port.ts) carries the decision out. Devices read the packet and
 * add tags, effects and generated replies through the context, but never egress a packet themselves,
 * so a device's signature says what it can decide (MidoNet's `Bridge.scala`/`Router.scala` results).
 *
 * `enterDevice` is the prologue every device has (loop guard, tag, trace node); `applyChain` runs a
 * chain and turns a non-accept verdict into the end of the branch (reject also emits its reply).
 *
 * Invariant: decisions are immutable; the ones without data are shared constants, and `toPort`
 * decisions are precomputed per port view (PortView.toPort), so the hot path allocates none.
 */
import { runChain } from './chain.js';
import { MAX_DEVICE_HOPS, type SimContext } from './context.js';
import { IP_DST } from './flow-match.js';
import { rejectReply } from './replies.js';
import type { Tag } from './tags.js';
import type { PortView } from './topology.js';

export type Decision =
  /** Leave the device through `port` (then its outbound chain, then the peer or the exterior). */
  | { readonly kind: 'toPort'; readonly port: PortView }
  /** Send to every other port of the bridge on the packet's VLAN. */
  | { readonly kind: 'flood' }
  /** Nothing leaves; `reason` is recorded as the branch's drop reason. */
  | { readonly kind: 'drop'; readonly reason: string }
  /** The device answered the packet itself (a reply was emitted or state was learned); nothing leaves. */
  | { readonly kind: 'consume'; readonly reason: string }
  /** The branch already ended: a chain dropped or rejected it, or a needed object is not loaded. */
  | { readonly kind: 'stop' };

export const FLOOD: Decision = { kind: 'flood' };
export const STOP: Decision = { kind: 'stop' };

export function drop(reason: string): Decision {
  return { kind: 'drop', reason };
}
export function consume(reason: string): Decision {
  return { kind: 'consume', reason };
}

/**
 * Enters a device: the loop guard, its tag, its trace node. Returns false (nothing entered, the
 * branch dropped) when the packet has traversed too many devices.
 */
export function enterDevice(ctx: SimContext, what: string, id: string, name: string, tag: Tag): boolean {
  if (++ctx.hops > MAX_DEVICE_HOPS) {
    ctx.drop('loop guard: too many devices traversed');
    return false;
  }
  ctx.zone = id;
  ctx.addTag(tag);
  if (ctx.tracing) ctx.enter(`${what} ${name}`);
  return true;
}

/** Leaves the device entered last (closes its trace node). */
export function leaveDevice(ctx: SimContext): void {
  if (ctx.tracing) ctx.leave();
}

/** Records a decision that ends the branch inside the device (drop and consume reasons). */
export function endBranch(ctx: SimContext, d: Decision): void {
  if (d.kind === 'drop' || d.kind === 'consume') ctx.drop(d.reason);
}

const CHAIN_LABELS = {
  port: {
    inbound: 'inbound',
    outbound: 'outbound',
    'nat inbound': 'NAT inbound',
    'nat outbound': 'NAT outbound',
  },
  bridge: {
    inbound: 'bridge inbound',
    outbound: 'bridge outbound',
    'nat inbound': 'bridge NAT inbound',
    'nat outbound': 'bridge NAT outbound',
  },
  router: {
    inbound: 'router inbound',
    outbound: 'router outbound',
    'nat inbound': 'router NAT inbound',
    'nat outbound': 'router NAT outbound',
  },
} as const;

export type ChainDirection = 'inbound' | 'outbound' | 'nat inbound' | 'nat outbound';

/**
 * Runs the `direction` chain `chainId` (null: none, accept) of the port, bridge or router `name`.
 * Returns true when the branch ends: drop, or reject (whose reply, for IPv4, goes back out of
 * `replyPort`). Strings for the trace and the drop reason are built only when used.
 */
export function applyChain(
  ctx: SimContext,
  chainId: string | null,
  owner: 'port' | 'bridge' | 'router',
  name: string,
  direction: ChainDirection,
  replyPort: PortView | undefined,
): boolean {
  if (chainId === null) return false;
  const v = runChain(ctx, chainId, CHAIN_LABELS[owner][direction]);
  switch (v) {
    case 'accept':
      return false;
    case 'drop':
      ctx.drop(`dropped by ${owner} ${name} ${direction} chain`);
      return true;
    case 'reject': {
      const m = ctx.m;
      if (replyPort !== undefined && m.isIpv4()) {
        const srcIp = replyPort.ip ?? m.peek(IP_DST);
        const srcMac = replyPort.mac ?? m.peekEthDst();
        ctx.emit(replyPort.id, rejectReply(m, replyPort.id, srcIp, srcMac));
      }
      ctx.drop(`rejected by ${owner} ${name} ${direction} chain`);
      return true;
    }
  }
}
