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
 * Over 450 lines: packet-in decisions and flow-state sharing in one class. To split next: flow-state
 * sharing (shareFlowState, applyFlowState, sweepFlowState), which only calls back into handle().
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { OFPR, type Action, type Match, type Outgoing, type PacketInView } from '../openflow/index.js';
import { FlowMatch } from '../sim/flow-match.js';
import type { Effect, SimDone } from '../sim/result.js';
import { MemoryRuntimeState } from '../sim/runtime-state.js';
import { simulate } from '../sim/simulate.js';
import { Tags, type Tag } from '../sim/tags.js';
import type { Topology } from '../sim/topology.js';
import { objectNamer, portNamer, renderTrace } from '../sim/trace.js';
import type { LearnedEntry } from '../state/store.js';
import { addFlow, deleteByCookie, metered, packetOut, throughTable, type FlowSettings } from './flow-mods.js';
import { PortMeters } from './qos.js';
import { FlowTable, PROACTIVE_COOKIE_BIT, matchHash } from './flow-table.js';
import { Emitter } from './emitter.js';
import { RouterAdverts, advertisers } from './router-adverts.js';
import { canonicalFlow, type FoundFlow } from './flow-adoption.js';
import { fillFromFrame } from './frame-match.js';
import { LearnedSync } from './learned-sync.js';
import { PortLocator, TUNNEL_ZONES_TAG } from './locations.js';
import { RecentFlows } from './recent-flows.js';
import type { PeerMessage } from './peer-codec.js';
import { predictReply } from './reply-flow.js';
import { FlowStateSync } from './flow-state-sync.js';
import type { CtStateEntry, NatStateEntry } from './peer-codec.js';
import { AgentStats } from './stats.js';
import { isTcpEnd, watchesTcpEnd, withTcpEndBits } from './tcp-end.js';
import { matchFromMask, translateActions, unmatchable } from './translate.js';
import { Waits, type NatBlockSource } from './waits.js';

export { TUNNEL_ZONES_TAG, livenessTag, locationTag } from './locations.js';
export { deleteByCookie } from './flow-mods.js';
export type { NatBlockSource } from './waits.js';

/** Where the controller's messages to other agents go (peers.ts; a recorder in tests). */
export interface PeerSender {
  send(hostId: string, msg: PeerMessage): boolean;
  broadcast(msg: PeerMessage): void;
}

const NO_PEERS: PeerSender = { send: () => false, broadcast: () => undefined };

/** Where DHCP client messages go (dhcp-service.ts): answered asynchronously, by PACKET_OUT. */
export interface DhcpSink {
  request(dhcpId: string, portId: string, frame: Uint8Array): void;
}

/**
 * Where the controller asks for topology objects a simulation needs (interest-keeper.ts); absent, a
 * packet that needs one is dropped (the replica is the whole topology).
 */
export interface TopologyDemand {
  /** Loads `ids` in the background; `waits.loaded` is called once they are in. */
  load(ids: readonly string[], now: number): void;
  /** The store is known not to have `id`. */
  absent(id: string, now: number): boolean;
}

/** The effects FlowStateSync.outgoing shares with other hosts. */
function sharesFlowState(e: Effect): boolean {
  return e.kind === 'natCreated' || e.kind === 'conntrackForward';
}

/** No connection entries (one shared empty list, never written). */
const NO_ENTRIES: CtStateEntry[] = [];

/** Loads a packet waits for at most (a walk that meets a missing device after each load). */
const MAX_LOADS = 4;

/** What the controller talks to besides the switch (all optional: tests give what they use). */
export interface ControllerDeps {
  readonly peers?: PeerSender;
  readonly natBlocks?: NatBlockSource;
  readonly dhcp?: DhcpSink;
  readonly demand?: TopologyDemand;
  /** Uniform in [0, 1): the random intervals of router advertisements (default Math.random). */
  readonly random?: () => number;
}

export interface ControllerConfig extends FlowSettings {
  readonly hostId: string;
  readonly macLifetimeMs: number;
  /** Install the predicted reply's flow with the forward one (default true). */
  readonly replyFlows?: boolean;
}

interface TraceRequest {
  remaining: number;
  readonly results: string[];
  readonly done: () => void;
}

/** A flow a result can be (controller.plan). */
interface PlannedFlow {
  readonly mask: readonly number[];
  readonly tags: string[];
  readonly match: Match;
}

interface Planned {
  readonly flow: PlannedFlow | null;
  readonly actions: Action[];
}

/** What one simulation result becomes on this host. */
interface Decided {
  /**
   * The flow to install, or null (forward this packet only); `replaced`: the cookie of a flow with the
   * same match, to delete first (flow-table.ts).
   */
  readonly flow: {
    readonly cookie: number;
    readonly msg: Outgoing;
    readonly replaced: number | undefined;
    /** The mask installed (the result's, widened where the agent watches something). */
    readonly mask: readonly number[];
  } | null;
  /** OpenFlow actions for this packet. */
  readonly actions: Action[];
}

export class FlowController {
  readonly flows = new FlowTable();
  readonly stats = new AgentStats();
  readonly state: MemoryRuntimeState;
  readonly ports: PortLocator;
  readonly learned: LearnedSync;
  private readonly match = new FlowMatch();
  private readonly replyMatch = new FlowMatch();
  private readonly recent = new RecentFlows();
  /** Held packets and what they wait for (ARP, SNAT ports, flow state); the daemon's clock ticks it. */
  readonly waits: Waits;
  private readonly emitter: Emitter;
  /** Periodic router advertisements to local VM ports (router-adverts.ts). */
  private readonly adverts: RouterAdverts;
  private readonly traces = new Map<string, TraceRequest>();
  readonly flowState: FlowStateSync;

  /** Ingress rate limits of local ports (qos.ts): the meter a flow from a port carries. */
  readonly meters: PortMeters;
  private readonly peers: PeerSender;
  private readonly dhcp: DhcpSink | undefined;
  private readonly demand: TopologyDemand | undefined;
  /** Where a port is, for a result with more than one output (one function, not one per packet). */
  private readonly locateFlooding = (portId: string) => this.ports.locate(portId, true);

  constructor(
    public topology: Topology,
    readonly cfg: ControllerConfig,
    private readonly log: Logger,
    deps: ControllerDeps = {},
  ) {
    this.peers = deps.peers ?? NO_PEERS;
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
  }

  // ---- packet-in ---------------------------------------------------------------------------------

  /** Traces the next `count` packets entering `portId`; `done` is called when they are all in. */
  traceNext(portId: string, count: number, done: () => void): string[] {
    const req: TraceRequest = { remaining: count, results: [], done };
    this.traces.set(portId, req);
    return req.results;
  }

  cancelTrace(portId: string): void {
    this.traces.delete(portId);
  }

  /** Handles a packet-in; returns the messages to send, in order (appended to `out`). */
  packetIn(pi: PacketInView, now: number, out: Outgoing[] = []): Outgoing[] {
    this.handle(pi, now, out);
    return out;
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
    const traceReq = this.traces.get(portId);
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
    if (traceReq) {
      traceReq.results.push(renderTrace(res, portNamer(this.topology), objectNamer(this.topology)));
      if (--traceReq.remaining <= 0) {
        this.traces.delete(portId);
        traceReq.done();
      }
    }
    const released = this.commitEffects(res, now, out);
    for (const e of res.effects)
      if (e.kind === 'dhcpRequest') this.dhcp?.request(e.dhcpId, e.portId, Uint8Array.from(pi.data));
      else if (e.kind === 'portSecurityDrop') this.countPortSecurityDrop(e.reason);
    const closing = isTcpEnd(res.packet) ? this.flowState.ended(res.tags, now) : NO_ENTRIES;
    if (closing.length > 0) this.shareFlowState(res, { nat: [], ct: closing });
    const d = this.decide(res, portId, pi.inPort, now, closing.length > 0);
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
      if (this.cfg.replyFlows !== false) this.installReply(res, now, out);
    }
    if (d.actions.length > 0)
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

  private countPortSecurityDrop(reason: string): void {
    const d = this.stats.portSecurityDrops;
    d[reason] = (d[reason] ?? 0) + 1;
  }

  /**
   * Locates the result's egress ports and, when it can be a flow, records it (tags, cookie) and builds
   * its FLOW_MOD. `ofInPort` is where the packet entered.
   */
  private decide(res: SimDone, portId: string, ofInPort: number, now: number, ending = false): Decided {
    const p = this.plan(res, portId, ofInPort, ending);
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

  /**
   * What the result becomes on this host, with no side effect: the OpenFlow actions for the packet
   * and, when it can be a flow (cacheable, every egress located, mask expressible), the flow's mask,
   * tags and match.
   */
  private plan(res: SimDone, portId: string, ofInPort: number, ending: boolean): Planned {
    let outputs = 0;
    for (const a of res.actions) if (a.kind === 'output') outputs++;
    const tr = translateActions(
      res.actions,
      res.packet,
      ofInPort,
      outputs > 1 ? this.locateFlooding : this.ports.locate,
    );
    const notExpressible = unmatchable(res.mask, res.packet);
    if (!res.cacheable || ending || tr.unresolved.length > 0 || notExpressible !== null) {
      if (tr.unresolved.length > 0)
        this.log.debug({ port: portId, unresolved: tr.unresolved }, 'egress not located; not caching');
      return { flow: null, actions: tr.actions };
    }
    const extra: string[] = [this.ports.locationTagOf(portId)];
    for (const a of res.actions) if (a.kind === 'output') extra.push(this.ports.locationTagOf(a.portId));
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
  adoptFlow(f: FoundFlow, now: number): string | null {
    const portId = this.ports.portAt(f.inPort);
    if (portId === undefined) return `in_port ${f.inPort} is no port of this host`;
    if (f.packet.length !== this.match.orig.length) return 'malformed packet';
    for (let i = 0; i < f.packet.length; i++) this.match.orig[i] = f.packet[i]! >>> 0;
    this.match.resetHeaders();
    const res = simulate(this.topology, this.match, portId, now, { state: this.state });
    if (res.kind !== 'done') return `simulation needs ${res.need.join(', ')}`;
    const effect = res.effects.find((e) => e.kind !== 'macLearned' && e.kind !== 'portSecurityDrop');
    if (effect !== undefined) return `simulation has an effect: ${effect.kind}`;
    const p = this.plan(res, portId, f.inPort, false);
    if (p.flow === null) return 'not a flow now';
    const now2 = canonicalFlow(p.flow.match, p.actions);
    if (now2 !== f.canonical) return `now ${now2}`;
    this.flows.reserve(f.cookie);
    if (this.record(f.cookie, portId, f.inPort, p.flow, res.packet, now) !== undefined)
      return 'a flow with the same match was adopted already';
    this.stats.flowsAdopted++;
    return null;
  }

  /**
   * The predicted reply's flow (reply-flow.ts): installed here when the reply enters at a local port;
   * when it enters on another host, that host's agent is asked to install it (the request is queued
   * to it before this packet goes out, so it usually wins the race with the reply).
   */
  private installReply(fwd: SimDone, now: number, out: Outgoing[]): void {
    const entry = predictReply(fwd, this.replyMatch);
    if (entry === undefined) return;
    const ofport = this.ports.ofportOf(entry);
    if (ofport !== undefined) {
      this.predictedFlow(entry, ofport, now, out);
      return;
    }
    const loc = this.ports.locate(entry);
    if (loc.kind !== 'remote') return;
    const sent = this.peers.send(loc.hostId, {
      kind: 'replyFlow',
      from: this.cfg.hostId,
      portId: entry,
      packet: this.replyMatch.orig,
    });
    if (sent) this.stats.replyFlowRequests++;
  }

  /** Another agent asks for the flow of a reply that will enter at local port `portId`. */
  remoteReply(portId: string, packet: readonly number[], now: number): Outgoing[] {
    const out: Outgoing[] = [];
    const ofport = this.ports.ofportOf(portId);
    if (ofport === undefined || packet.length !== this.replyMatch.orig.length) return out;
    for (let i = 0; i < packet.length; i++) this.replyMatch.orig[i] = packet[i]! >>> 0;
    this.replyMatch.resetHeaders();
    this.predictedFlow(portId, ofport, now, out);
    return out;
  }

  /**
   * Installs the flow of the predicted packet in `replyMatch` entering local port `entry`, when its
   * simulation gives a cacheable flow that forwards it. Its effects are not committed: it is a
   * prediction, and the forward packet's effects (committed first) are what it reads.
   */
  private predictedFlow(entry: string, ofport: number, now: number, out: Outgoing[]): void {
    const res = simulate(this.topology, this.replyMatch, entry, now, { state: this.state });
    if (res.kind !== 'done') return;
    // The reply will need a next hop resolved: ask for it now, while the forward packet travels.
    if (res.effects.some((e) => e.kind === 'arpWanted' || e.kind === 'ndWanted'))
      return this.waits.askArp(res.effects, now, out);
    if (!res.cacheable || !res.actions.some((a) => a.kind === 'output')) return;
    if (res.effects.some((e) => e.kind !== 'macLearned')) return;
    const d = this.decide(res, entry, ofport, now);
    if (d.flow === null) return;
    this.stats.replyFlows++;
    if (d.flow.replaced !== undefined) out.push(deleteByCookie(d.flow.replaced));
    out.push(d.flow.msg);
    this.recent.add(ofport, {
      cookie: d.flow.cookie,
      mask: d.flow.mask,
      packet: res.packet,
      actions: d.actions,
      at: now,
    });
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
    // Only NAT bindings and connections are shared (flow-state-sync.ts): no hosts looked up otherwise.
    const shared = res.effects.some(sharesFlowState)
      ? this.flowState.outgoing(res.effects, this.egressHosts(res), now)
      : undefined;
    if (shared !== undefined) {
      for (const h of shared.to) this.peers.send(h, shared.msg);
      if (shared.msg.kind === 'flowState')
        this.learned.queue(this.flowState.toStore(shared.msg.nat, shared.msg.ct));
    }
    const fresh = this.learned.offer(res.effects, now);
    if (fresh.length > 0) this.peers.broadcast({ kind: 'learned', from: this.cfg.hostId, entries: fresh });
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
    const fs = this.flowState.fromStore(
      includeOwn ? entries : entries.filter((e) => e.origin !== this.cfg.hostId),
    );
    const out = fs.nat.length + fs.ct.length > 0 ? this.applyFlowState(fs.nat, fs.ct, now) : [];
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

  /** Drops a flow's record (and the pins it held on flow state). */
  private forgetFlow(cookie: number, now: number): boolean {
    const f = this.flows.remove(cookie);
    if (f === undefined) return false;
    this.flowState.flowRemoved(f.tags, now);
    return true;
  }

  /** Hosts the result's outputs go to through tunnels. */
  private egressHosts(res: SimDone): string[] {
    const hosts: string[] = [];
    for (const a of res.actions) {
      if (a.kind !== 'output') continue;
      const loc = this.ports.locate(a.portId);
      if (loc.kind === 'remote') hosts.push(loc.hostId);
    }
    return hosts;
  }

  /** Sends flow state (e.g. connections a FIN ended) to the hosts that need it. */
  private shareFlowState(res: SimDone, st: { nat: NatStateEntry[]; ct: CtStateEntry[] }): void {
    for (const h of this.egressHosts(res))
      this.peers.send(h, { kind: 'flowState', from: this.cfg.hostId, nat: st.nat, ct: st.ct });
    this.learned.queue(this.flowState.toStore(st.nat, st.ct));
  }

  /** Applies flow state another agent (or the store) shared; returns deletions of flows it changes. */
  applyFlowState(nat: readonly NatStateEntry[], ct: readonly CtStateEntry[], now: number): Outgoing[] {
    const out = this.invalidate(this.flowState.apply(nat, ct, now));
    this.waits.natStateArrived(
      nat.map((e) => e.key),
      now,
      out,
    );
    return out;
  }

  /**
   * Removes aged NAT bindings and connections (returns deletions of the flows that used them), and
   * renews, with the hosts that hold copies, the state installed flows still use.
   */
  sweepFlowState(now: number, renew: boolean): Outgoing[] {
    if (renew) {
      for (const r of this.flowState.renewals(now)) this.peers.send(r.to, r.msg);
      const live = this.flowState.live(now);
      this.learned.queue(this.flowState.toStore(live.nat, live.ct));
    }
    return this.invalidate(this.flowState.sweep(now));
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
    if (refreshed.length > 0) {
      const fresh = this.learned.offer(
        refreshed.map((r) => ({ kind: 'macLearned' as const, ...r })),
        now,
      );
      if (fresh.length > 0) this.peers.broadcast({ kind: 'learned', from: this.cfg.hostId, entries: fresh });
    }
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
