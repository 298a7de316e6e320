/**
 * What a simulation result becomes on this host, with no side effect (controller.decide records and
 * installs it): the OpenFlow actions for the packet (egress ports located: local, tunnel, or not
 * located) and, when it can be a flow, the flow's mask, tags and match.
 *
 * Invariant: a result is a flow only when it is cacheable, not a connection's end, every egress was
 * located and OpenFlow can express its mask; the flow's tags are the result's plus the locations of
 * its ports, the tunnel zones when it leaves through a tunnel, and the MACs it teaches.
 */
import type { Logger } from '../log.js';
import type { SimDone } from '../sim/result.js';
import { Tags, type Tag } from '../sim/tags.js';
import type { Planned, PlannedFlow } from './controller-types.js';
import { canonicalFlow, type FoundFlow } from './flow-adoption.js';
import type { FlowMatch } from '../sim/flow-match.js';
import type { MemoryRuntimeState } from '../sim/runtime-state.js';
import { simulate } from '../sim/simulate.js';
import type { Topology } from '../sim/topology.js';
import { TUNNEL_ZONES_TAG, type PortLocator } from './locations.js';
import { watchesTcpEnd, withTcpEndBits } from './tcp-end.js';
import { matchFromMask, translateActions, unmatchable } from './translate.js';

/**
 * What the result becomes on this host, with no side effect: the OpenFlow actions for the packet
 * and, when it can be a flow (cacheable, every egress located, mask expressible), the flow's mask,
 * tags and match.
 */
export function planFlow(
  res: SimDone,
  portId: string,
  ofInPort: number,
  ending: boolean,
  ports: PortLocator,
  log: Logger,
): Planned {
  let outputs = 0;
  for (const a of res.actions) if (a.kind === 'output') outputs++;
  const tr = translateActions(
    res.actions,
    res.packet,
    ofInPort,
    outputs > 1 ? ports.locateFlooding : ports.locate,
  );
  const notExpressible = unmatchable(res.mask, res.packet);
  if (!res.cacheable || ending || tr.unresolved.length > 0 || notExpressible !== null) {
    if (tr.unresolved.length > 0)
      log.debug({ port: portId, unresolved: tr.unresolved }, 'egress not located; not caching');
    return { flow: null, actions: tr.actions };
  }
  const extra: string[] = [ports.locationTagOf(portId)];
  for (const a of res.actions) if (a.kind === 'output') extra.push(ports.locationTagOf(a.portId));
  if (tr.remote) extra.push(TUNNEL_ZONES_TAG);
  for (const t of tr.tags) extra.push(t);
  // The MACs this flow's packets teach stay in their tables while it lives (ageMacs).
  for (const e of res.effects)
    if (e.kind === 'macLearned') extra.push(Tags.macSource(e.bridgeId, e.vlan, e.mac));
  // One exact-size array per flow (a pushed-onto array keeps spare capacity).
  const tags: string[] = res.tags.concat(extra as Tag[]);
  // A flow of a tracked TCP connection lets FIN and RST come up, so the agent sees the connection end.
  const mask = watchesTcpEnd(res) ? withTcpEndBits(res.mask) : res.mask;
  return {
    flow: { mask, tags, match: matchFromMask(mask, res.packet, ofInPort) },
    actions: tr.actions,
  };
}

/**
 * The flow a found flow (flow-adoption.ts) would be now, entering local port `portId`: its match's
 * packet simulated (in `scratch`) and planned, and the result compared with it; or why it is not.
 */
export function replanFound(
  f: FoundFlow,
  portId: string,
  scratch: FlowMatch,
  topology: Topology,
  state: MemoryRuntimeState,
  ports: PortLocator,
  log: Logger,
  now: number,
): { flow: PlannedFlow; packet: readonly number[] } | string {
  if (f.packet.length !== scratch.orig.length) return 'malformed packet';
  for (let i = 0; i < f.packet.length; i++) scratch.orig[i] = f.packet[i]! >>> 0;
  scratch.resetHeaders();
  const res = simulate(topology, scratch, portId, now, { state });
  if (res.kind !== 'done') return `simulation needs ${res.need.join(', ')}`;
  const effect = res.effects.find((e) => e.kind !== 'macLearned' && e.kind !== 'portSecurityDrop');
  if (effect !== undefined) return `simulation has an effect: ${effect.kind}`;
  const p = planFlow(res, portId, f.inPort, false, ports, log);
  if (p.flow === null) return 'not a flow now';
  const now2 = canonicalFlow(p.flow.match, p.actions);
  if (now2 !== f.canonical) return `now ${now2}`;
  return { flow: p.flow, packet: res.packet };
}
