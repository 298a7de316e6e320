/**
 * The agent's controller logic, free of I/O: a packet-in is simulated, the result decided on, and
 * the decision returned as OpenFlow messages (FLOW_MODs + PACKET_OUT, or PACKET_OUT alone); topology
 * and runtime-state changes become exact flow deletions. The daemon sends what these methods return,
 * in order (STYLE habit 7).
 *
 * A packet-in, in order: the ingress port (unknown: ignored); the frame (unparseable: ignored); a
 * flow installed moments ago that covers it (recent-flows.ts: sent on with that flow's actions, no
 * new simulation); else simulate, commit the result's effects (invalidating flows they make stale,
 * asking ARP for unknown next hops, re-simulating packets that waited for a next hop), and decide:
 * install (cacheable, every egress located, mask expressible) or only forward this packet; the
 * first packet of a metered flow goes out through table 0, so its meter polices it too. A DHCP
 * request the simulation consumed goes to the DHCP service (answered later, by PACKET_OUT). An installed
 * forward flow brings its predicted reply's flow along (reply-flow.ts), so a first ping costs one trip
 * through the controller channel, not two.
 *
 * Invariants: a flow is installed only for a cacheable result whose every egress was located and
 * whose mask OpenFlow can express, and it is recorded in the FlowTable under all its tags before its
 * FLOW_MOD is returned, so an invalidation computed afterwards always finds it. Deletions that effects
 * cause come before the FLOW_MOD of the flow that caused them. Generated replies and uncacheable
 * results go out as PACKET_OUT only.
 *
 * The waits (held packets, ARP and SNAT retries, the tick) live in waits.ts and call back into handle().
 *
 * What is shared with other agents (flow state, reply flows asked of the egress host, whose answer
 * the forward packet's PACKET_OUT waits for) lives in flow-sharing.ts.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { OFPR, type Action, type Outgoing, type PacketInView } from '../openflow/index.js';
import { FlowMatch } from '../sim/flow-match.js';
import type { Effect, SimDone } from '../sim/result.js';
import { MemoryRuntimeState } from '../sim/runtime-state.js';
import { simulate } from '../sim/simulate.js';
import { Tags, type Tag } from '../sim/tags.js';
import type { Topology } from '../sim/topology.js';
import { TraceRequests } from './trace-requests.js';
import type { LearnedEntry } from '../state/store.js';
import { addFlow, deleteByCookie, metered, packetOut, throughTable } from './flow-mods.js';
import { PortMeters } from './qos.js';
import { FlowTable, PROACTIVE_COOKIE_BIT, matchHash, type RemovedBy } from './flow-table.js';
import { Emitter } from './emitter.js';
import { RouterAdverts, advertisers } from './router-adverts.js';
import type { FoundFlow } from './flow-adoption.js';
import { fillFromFrame } from './frame-match.js';
import { LearnedSync } from './learned-sync.js';
import { PortLocator } from './locations.js';
import { RecentFlows } from './recent-flows.js';
import { ReplyFlows } from './reply-install.js';
import { planFlow, replanFound } from './flow-plan.js';
import { FlowStateSync } from './flow-state-sync.js';
import { FlowSharing, NO_PEERS } from './flow-sharing.js';
import { AgentStats } from './stats.js';
import { Waits } from './waits.js';

export { TUNNEL_ZONES_TAG, livenessTag, locationTag } from './locations.js';
export { deleteByCookie } from './flow-mods.js';
export type { NatBlockSource } from './waits.js';
export type { Later, PeerSender } from './flow-sharing.js';
export type { ControllerConfig, ControllerDeps, DhcpSink, TopologyDemand } from './controller-types.js';
import type {
  ControllerConfig,
  ControllerDeps,
  Decided,
  DhcpSink,
  PlannedFlow,
  TopologyDemand,
} from './controller-types.js';

/** Loads a packet waits for at most (a walk that meets a missing device after each load). */
const MAX_LOADS = 4;

export class FlowController {
  readonly flows = new FlowTable();
  readonly stats = new AgentStats();
  readonly state: MemoryRuntimeState;
  readonly ports: PortLocator;
  readonly learned: LearnedSync;
  private readonly match = new FlowMatch();
  /** Flows installed moments ago (recent-flows.ts). */
  readonly recent = new RecentFlows();
  /** Held packets and what they wait for (ARP, SNAT ports, flow state); the daemon's clock ticks it. */
  readonly waits: Waits;
  private readonly emitter: Emitter;
  /** Periodic router advertisements to local VM ports (router-adverts.ts). */
  private readonly adverts: RouterAdverts;
  /** Packets traced for the control API (trace-requests.ts). */
  readonly traces = new TraceRequests();
  readonly flowState: FlowStateSync;
  /** Flow state and reply flows shared with other agents (flow-sharing.ts). */
  readonly sharing: FlowSharing;
  /** Predicted replies' flows (reply-install.ts). */
  readonly replies: ReplyFlows;

  /** Ingress rate limits of local ports (qos.ts): the meter a flow from a port carries. */
  readonly meters: PortMeters;
  private readonly dhcp: DhcpSink | undefined;
  private readonly demand: TopologyDemand | undefined;

  constructor(
    public topology: Topology,
    readonly cfg: ControllerConfig,
    private readonly log: Logger,
    deps: ControllerDeps = {},
  ) {
    this.dhcp = deps.dhcp;
    this.demand = deps.demand;
    this.adverts = new RouterAdverts(deps.random);
    this.state = new MemoryRuntimeState(cfg.macLifetimeMs);
    this.ports = new PortLocator(cfg.hostId, () => this.topology);
    this.meters = new PortMeters(log.child({ component: 'agent.qos' }));
    this.learned = new LearnedSync(
      cfg.hostId,
      { mac: cfg.macLifetimeMs, arp: this.state.arp.lifetimeMs, nd: this.state.nd.lifetimeMs },
      this.stats,
    );
    this.flowState = new FlowStateSync(cfg.hostId, this.state, () => this.topology);
    this.emitter = new Emitter(
      () => this.topology,
      this.state,
      this.ports,
      this.stats,
      (ids, now) => this.demand?.load(ids, now),
    );
    this.waits = new Waits({
      emitter: this.emitter,
      state: this.state,
      stats: this.stats,
      natBlocks: deps.natBlocks,
      rehandle: (pi, now, out, waited, loads) => this.handle(pi, now, out, waited, loads),
      invalidateInto: (tags, out) => this.invalidateInto(tags, out),
    });
    this.sharing = new FlowSharing({
      hostId: cfg.hostId,
      peers: deps.peers ?? NO_PEERS,
      flowState: this.flowState,
      learned: this.learned,
      ports: this.ports,
      waits: this.waits,
      stats: this.stats,
      invalidate: (tags) => this.invalidate(tags),
      later: deps.later,
      waitMs: cfg.replyWaitMs ?? 5,
    });
    this.replies = new ReplyFlows(this);
  }

  // ---- packet-in ---------------------------------------------------------------------------------

  /** Handles a packet-in; returns the messages to send, in order (appended to `out`). */
  packetIn(pi: PacketInView, now: number, out: Outgoing[] = []): Outgoing[] {
    this.handle(pi, now, out);
    return out;
  }

  /**
   * The FLOW_MOD (cookie 0; null: no flow) and actions `decide` would give, nothing recorded (a
   * rehearsal's, rehearsal.ts).
   */
  planOnly(res: SimDone, portId: string, ofInPort: number): { msg: Outgoing | null; actions: Action[] } {
    const p = planFlow(res, portId, ofInPort, false, this.ports, this.log);
    const msg =
      p.flow === null ? null : addFlow(0, p.flow.match, p.actions, this.cfg, this.meters.meterFor(portId));
    return { msg, actions: p.actions };
  }

  /**
   * `waited`: the packet already waited for flow state (it does not wait again); `loads`: how many
   * loads of topology objects it waited for.
   */
  private handle(pi: PacketInView, now: number, out: Outgoing[], waited = false, loads = 0): void {
    this.stats.packetIns++;
    const portId = this.ports.portAt(pi.inPort);
    if (portId === undefined) {
      this.stats.ignored++;
      return;
    }
    const bad = fillFromFrame(this.match, pi.data, pi.tunnelId);
    if (bad !== null) {
      this.stats.ignored++;
      this.log.debug({ port: portId, why: bad }, 'packet-in not simulated');
      return;
    }
    const traceReq = this.traces.at(portId);
    if (pi.reason === OFPR.NO_MATCH && traceReq === undefined) {
      const hit = this.recent.find(pi.inPort, this.match.orig, now);
      if (hit !== undefined && this.flows.has(hit.cookie)) {
        this.stats.duplicates++;
        out.push(packetOut(hit.actions, pi.inPort, pi.bufferId, pi.data));
        return;
      }
    }
    const t0 = performance.now();
    const res = simulate(this.topology, this.match, portId, now, {
      state: this.state,
      trace: traceReq !== undefined,
      waitForFlowState: !waited,
    });
    this.stats.observeSimulation((performance.now() - t0) * 1000);
    if (res.kind === 'notYet') {
      const d = this.demand;
      if (d !== undefined && loads < MAX_LOADS && !res.need.every((id) => d.absent(id, now))) {
        if (this.waits.holdForLoad(res.need, pi, now, loads + 1)) d.load(res.need, now);
        return;
      }
      this.stats.notYetDrops++;
      this.log.warn({ port: portId, need: res.need }, 'packet dropped: topology objects not loaded');
      return;
    }
    if (traceReq) this.traces.traced(traceReq, portId, res, this.topology);
    const released = this.commitEffects(res, now, out);
    for (const e of res.effects)
      if (e.kind === 'dhcpRequest') this.dhcp?.request(e.dhcpId, e.portId, Uint8Array.from(pi.data));
      else if (e.kind === 'portSecurityDrop') this.stats.portSecurityDrop(e.reason);
    const d = this.decide(res, portId, pi.inPort, now, this.sharing.connectionEnd(res, now, out));
    let wait: { id: number; hostId: string } | undefined;
    if (d.flow !== null) {
      if (d.flow.replaced !== undefined) out.push(deleteByCookie(d.flow.replaced));
      out.push(d.flow.msg);
      this.recent.add(pi.inPort, {
        cookie: d.flow.cookie,
        mask: d.flow.mask,
        packet: res.packet,
        actions: d.actions,
        at: now,
      });
      if (this.cfg.replyFlows !== false) wait = this.replies.install(res, now, out);
    }
    // Waiting for another host's reply flow: the packet goes out when it is in (flow-sharing.ts).
    if (d.actions.length > 0 && (wait === undefined || !this.holdFirst(wait, d, pi)))
      out.push(packetOut(this.firstPacketActions(d), pi.inPort, pi.bufferId, pi.data));
    for (const a of res.actions) if (a.kind === 'emit') this.emitter.emit(a, pi.data, now, out);
    if (d.actions.length === 0) this.waits.holdFor(res.effects, pi, now);
    for (const r of released) this.handle(r, now, out);
  }

  /**
   * The PACKET_OUT actions of the packet a decision was made for: its flow's actions, or, when the
   * flow goes through a meter (a rated port, qos.ts), OFPP_TABLE, so the packet meets the flow just
   * installed (the switch applies the FLOW_MOD before the PACKET_OUT that follows it) and its meter
   * polices the first packet like every later one. A PACKET_OUT with the actions themselves would
   * bypass the meter: the meter is an instruction of the flow, not an action.
   */
  private firstPacketActions(d: Decided): Action[] {
    return d.flow !== null && metered(d.flow.msg) ? throughTable() : d.actions;
  }

  /** Holds the first packet's PACKET_OUT (with a copy of its bytes) until reply-flow request `w`'s answer. */
  private holdFirst(w: { id: number; hostId: string }, d: Decided, pi: PacketInView): boolean {
    const data = Buffer.from(pi.data);
    return this.sharing.hold(
      w.id,
      w.hostId,
      packetOut(this.firstPacketActions(d), pi.inPort, pi.bufferId, data),
    );
  }

  /**
   * Locates the result's egress ports and, when it can be a flow, records it (tags, cookie) and builds
   * its FLOW_MOD. `ofInPort` is where the packet entered.
   */
  decide(res: SimDone, portId: string, ofInPort: number, now: number, ending = false): Decided {
    const p = planFlow(res, portId, ofInPort, ending, this.ports, this.log);
    if (p.flow === null) {
      this.stats.uncacheable++;
      return { flow: null, actions: p.actions };
    }
    const cookie = this.flows.cookie();
    const replaced = this.record(cookie, portId, ofInPort, p.flow, res.packet, now);
    this.stats.flowsInstalled++;
    const msg = addFlow(cookie, p.flow.match, p.actions, this.cfg, this.meters.meterFor(portId));
    return { flow: { cookie, msg, replaced, mask: p.flow.mask }, actions: p.actions };
  }

  /** Records a flow under `cookie`; returns the cookie of the flow with the same match it replaces. */
  private record(
    cookie: number,
    portId: string,
    ofInPort: number,
    flow: PlannedFlow,
    packet: readonly number[],
    now: number,
  ): number | undefined {
    const replaced = this.flows.add({
      cookie,
      inPort: portId,
      tags: flow.tags,
      installedAt: now,
      matchHash: matchHash(ofInPort, flow.mask, packet),
    });
    if (replaced !== undefined) this.flowState.flowRemoved(replaced.tags, now);
    this.flowState.flowInstalled(flow.tags, now);
    return replaced?.cookie;
  }

  /**
   * Judges a flow an earlier run of the agent left in the switch (flow-adoption.ts): kept, under its
   * cookie, when simulating the packet its match describes gives that very flow again, with no effect
   * but MAC learning (null); otherwise why not (the caller deletes it).
   */
  adoptFlow(f: FoundFlow, now: number, displaced: (cookie: number) => void): string | null {
    const portId = this.ports.portAt(f.inPort);
    if (portId === undefined) return `in_port ${f.inPort} is no port of this host`;
    const r = replanFound(f, portId, this.match, this.topology, this.state, this.ports, this.log, now);
    if (typeof r === 'string') return r;
    this.flows.reserve(f.cookie);
    const old = this.record(f.cookie, portId, f.inPort, r.flow, r.packet, now);
    if (old !== undefined) {
      this.stats.flowsAdopted--;
      displaced(old);
    }
    this.stats.flowsAdopted++;
    return null;
  }

  /**
   * Another agent asks for the flow of a reply that will enter at local port `portId` (the caller
   * answers it once the messages returned are written).
   */
  remoteReply(portId: string, packet: readonly number[], now: number): Outgoing[] {
    return this.replies.remote(portId, packet, now);
  }

  /**
   * The periodic router advertisements due at `now` (router-adverts.ts), each to the local ports of
   * its bridge only; the agent's clock calls this (once a second).
   */
  routerAdverts(now: number): Outgoing[] {
    const out: Outgoing[] = [];
    const current = advertisers(this.topology, this.ports.localPortIds());
    for (const a of this.adverts.due(now, current, this.topology))
      this.emitter.sendFromPort(a.routerPortId, a.frame, now, out, new Set(a.localPortIds));
    return out;
  }

  /** Simulates `frame` leaving the device through `portId` and adds the PACKET_OUT that carries it. */
  sendFromPort(portId: string, frame: Uint8Array, now: number, out: Outgoing[]): void {
    this.emitter.sendFromPort(portId, frame, now, out);
  }

  /**
   * Commits a final result's effects: deletions of flows they invalidate and ARP requests go to `out`;
   * returns the held packets they release (to be simulated again after this one).
   */
  private commitEffects(res: SimDone, now: number, out: Outgoing[]): PacketInView[] {
    if (res.effects.length === 0) return [];
    this.stats.lbConnections.count(res.effects);
    const changed = this.state.commit(res.effects, now);
    this.sharing.committed(res, now);
    this.invalidateInto(changed, out);
    this.waits.askArp(res.effects, now, out);
    this.waits.askPorts(res.effects);
    return this.waits.resolvedBy(res.effects);
  }

  // ---- changes -----------------------------------------------------------------------------------

  /**
   * Commits what other agents learned: the deletions of flows it invalidates, then the messages of
   * held packets it lets go on. With `includeOwn` (start-up: what an earlier run of this host learned
   * and wrote to the store) this host's own entries too.
   */
  applyLearned(entries: readonly LearnedEntry[], now: number, includeOwn = false): Outgoing[] {
    const out = this.sharing.applyFromStore(entries, now, includeOwn);
    const effects: Effect[] = this.learned.effectsOf(entries, now, includeOwn);
    if (effects.length === 0) return out;
    this.invalidateInto(this.state.commit(effects, now), out);
    for (const pi of this.waits.resolvedBy(effects)) this.handle(pi, now, out);
    return out;
  }

  /** Applies the liveness view of the store; returns deletions of flows made under the other view. */
  setLiveness(alive: ReadonlyMap<string, boolean>): Outgoing[] {
    return this.invalidate(this.ports.setLiveness(alive));
  }

  /** Deletes (by cookie) every flow tagged with any of `tags`. */
  invalidate(tags: Iterable<string>): Outgoing[] {
    const out: Outgoing[] = [];
    this.invalidateInto(tags, out);
    return out;
  }

  private invalidateInto(tags: Iterable<string>, out: Outgoing[]): void {
    const now = Date.now();
    const fs = this.flowState;
    const cookies = this.flows.removeTagged(tags, fs.pinning ? (t) => fs.tagReleased(t, now) : undefined);
    if (cookies.size === 0) return;
    this.stats.invalidations++;
    this.stats.flowsInvalidated += cookies.size;
    for (const c of cookies) out.push(deleteByCookie(c));
  }

  /** Drops a flow's record (and the pins it held on flow state); false when it was not recorded. */
  forgetFlow(cookie: number, now: number, why?: RemovedBy): boolean {
    const f = this.flows.remove(cookie, why);
    if (f === undefined) return false;
    this.flowState.flowRemoved(f.tags, now);
    return true;
  }

  /**
   * MAC aging: an entry no installed flow learns from expires macLifetimeMs after it was last learned,
   * and the flows that unicast to it go (the next packet to it floods); entries flows still learn
   * from are refreshed here and with the peers.
   */
  ageMacs(now: number): Outgoing[] {
    const { expired, refreshed } = this.state.macs.age(now, (b, vlan, mac) =>
      this.flows.carries(Tags.macSource(b, vlan, mac)),
    );
    if (refreshed.length > 0)
      this.sharing.offerLearned(
        refreshed.map((r) => ({ kind: 'macLearned' as const, ...r })),
        now,
      );
    return this.invalidate(expired);
  }

  /** Forgets the MAC entries of deleted ports; returns the tags of the entries forgotten. */
  portsDeleted(portIds: readonly string[]): Tag[] {
    const tags: Tag[] = [];
    for (const id of portIds) tags.push(...this.state.macs.forgetPort(id));
    return tags;
  }

  flowRemoved(cookie: number, now = Date.now()): void {
    if (this.forgetFlow(cookie, now)) this.stats.flowsRemoved++;
  }

  /** Forgets every reactive flow (the switch's were all deleted). */
  forgetFlows(): void {
    this.flows.clear();
    this.recent.clear();
  }

  /**
   * Forgets everything learned at run time (MAC, ARP and neighbour tables, connections, held packets, ARP
   * requests asked) and every reactive flow: this host then behaves as if it had never seen a packet.
   * Returns the deletion of every reactive flow in the switch.
   */
  forgetLearned(): Outgoing[] {
    this.state.macs.clear();
    this.state.arp.clear();
    this.state.nd.clear();
    this.state.conntrack.clear();
    this.learned.reset();
    this.waits.clear();
    this.emitter.clear();
    this.forgetFlows();
    return [deleteByCookie(0, PROACTIVE_COOKIE_BIT)];
  }
}
