/**
 * simulate: walks the virtual topology from a port with one packet and returns one result.
 *
 * A pure, synchronous function of (topology, packet, ingress port, now, runtime state): it reads
 * nothing else (no clock, no randomness, no I/O) and changes nothing (effects come back as data). It
 * is not re-entrant (one shared context keeps the hot path allocation-free); it never throws for
 * anything a topology or packet can contain.
 *
 * Invariant: the returned mask, tags and actions obey result.ts; a walk that met an object the
 * topology does not hold returns `notYet` with every such id, and the caller simulates again after
 * loading them.
 */
import { actionsFromDiff } from './actions.js';
import { SimContext } from './context.js';
import { type FlowMatch } from './flow-match.js';
import { packetFieldsOf } from './packet-fields.js';
import { finishMask } from './mask.js';
import { egressPort, ingressPort } from './port.js';
import type { SimResult } from './result.js';
import type { Conntrack } from './flow-state.js';
import type { RuntimeState } from './runtime-state.js';
import type { Topology } from './topology.js';
import { describePacket } from './trace.js';
import { interiorCopies, mirrorCopies, withCopies } from './mirror.js';

export interface SimulateOptions {
  /** MAC tables, ARP caches, conntrack; default: all empty. */
  readonly state?: RuntimeState;
  /** Build a trace tree. */
  readonly trace?: boolean;
  /**
   * 'ingress' (default): the packet enters the topology at the port. 'egress': the packet leaves the
   * port's device through it (how a generated reply is simulated).
   */
  readonly direction?: 'ingress' | 'egress';
  /**
   * A reply that no NAT binding translates back may belong to a connection another host created
   * moments ago, whose flow state is still on its way: wait for it (a `natStateWanted` effect and a
   * drop) instead of letting the next rule decide. The agent sets it for a packet's first simulation.
   */
  readonly waitForFlowState?: boolean;
}

const noConntrack: Conntrack = { state: () => 'new' };
/** Runtime state with nothing learned. */
export const EMPTY_STATE: RuntimeState = {
  macs: { lookup: () => undefined },
  arp: { lookup: () => undefined },
  conntrack: noConntrack,
  nat: { lookup: () => undefined, portBlocks: () => [], exhausted: () => false },
};

const ctx = new SimContext();

export function simulate(
  topology: Topology,
  match: FlowMatch,
  portId: string,
  now: number,
  opts?: SimulateOptions,
): SimResult {
  const tracing = opts?.trace === true;
  ctx.reset(topology, match, opts?.state ?? EMPTY_STATE, now, tracing);
  ctx.waitForFlowState = opts?.waitForFlowState === true;
  match.begin(portId);
  if (tracing) ctx.startTrace(`packet ${describePacket(packetFieldsOf(match))}`);
  if (opts?.direction === 'egress') {
    const p = topology.port(portId);
    if (p === undefined) ctx.need(portId);
    else egressPort(ctx, p, undefined);
  } else {
    ingressPort(ctx, portId);
  }
  const copies = mirrorCopies(ctx, topology.mirrors, portId, opts?.direction !== 'egress');
  if (ctx.needs.length > 0) return { kind: 'notYet', need: ctx.needs };
  return {
    kind: 'done',
    actions: withCopies(
      actionsFromDiff(match.orig, ctx.outputs, ctx.emits, ctx.dropReason, interiorCopies(copies)),
      copies,
    ),
    mask: finishMask(match.mask.slice()),
    packet: match.orig.slice(),
    inPort: portId,
    tags: ctx.tags,
    effects: ctx.effects,
    cacheable: match.uncacheable === null,
    uncacheableReason: match.uncacheable,
    ttlHops: ctx.maxTtlDecrements,
    flooded: ctx.flooded,
    trace: tracing ? ctx.root : null,
  };
}
