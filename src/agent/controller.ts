/**
 * The agent's controller logic, free of I/O: packet-ins become simulations and then OpenFlow messages
 * (FLOW_MOD + PACKET_OUT, or PACKET_OUT alone), topology and runtime-state changes become exact flow
 * deletions, and virtual ports are located (local OpenFlow port or tunnel to another host). The daemon
 * sends what these methods return, in order (STYLE habit 7).
 *
 * Invariants: a flow is installed only for a cacheable result whose every egress was located and
 * whose mask OpenFlow can express, and it is recorded in the FlowTable under all its tags before the
 * FLOW_MOD is returned, so an invalidation computed afterwards always finds it. Generated replies and
 * uncacheable results go out as PACKET_OUT only.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { OFPP, OFPTT, OFPFF, OFPG, OFP_NO_BUFFER, findField, type Message } from '../openflow/index.js';
import { FlowMatch } from '../sim/flow-match.js';
import type { Action as SimAction, Effect, SimDone } from '../sim/result.js';
import { MemoryRuntimeState } from '../sim/runtime-state.js';
import { simulate } from '../sim/simulate.js';
import { Tags, type Tag } from '../sim/tags.js';
import type { Topology } from '../sim/topology.js';
import { portNamer, renderTrace } from '../sim/trace.js';
import { formatIpv4 } from '../state/addr.js';
import type { Obj } from '../state/model.js';
import { FlowTable } from './flow-table.js';
import { fillFromFrame } from './frame-match.js';
import { arpRequest, buildGenerated } from './generated-packets.js';
import { AgentStats } from './stats.js';
import { LearnedSync } from './learned-sync.js';
import type { LearnedChange } from '../state/store.js';
import { matchFromMask, translateActions, unmatchable, type PortLocation } from './translate.js';
import { TUNNEL_PORTS, type TunnelType } from './datapath.js';

type PacketIn = Extract<Message, { type: 'packet_in' }>;

/** Tag carried by every flow that outputs through a tunnel: any tunnel-zone change invalidates it. */
export const TUNNEL_ZONES_TAG = Tags.of('tunnel-zones', 'all');
/** Tag of a host's liveness: flows that skipped its ports while it was down carry it. */
export const livenessTag = (hostId: string): Tag => Tags.of('liveness', hostId);
/** Tag of a port's location (its OpenFlow port number on this host). */
export const locationTag = (portId: string): Tag => Tags.of('location', portId);

export interface ControllerConfig {
  readonly hostId: string;
  readonly idleTimeout: number;
  readonly priority: number;
  readonly macLifetimeMs: number;
}

interface TraceRequest {
  remaining: number;
  readonly results: string[];
  readonly done: () => void;
}

export class FlowController {
  readonly flows = new FlowTable();
  readonly stats = new AgentStats();
  readonly state = new MemoryRuntimeState();
  /** Interface name -> OpenFlow port number on br-int. */
  readonly ifaceOfport = new Map<string, number>();
  /** OpenFlow port -> the local virtual port bound there. */
  private readonly ofportToPort = new Map<number, string>();
  /** Local virtual port -> OpenFlow port. */
  private readonly portToOfport = new Map<string, number>();
  readonly tunnelOfports = new Map<TunnelType, number>();
  /** Remote host -> (underlay address, tunnel type), from the tunnel zones shared with this host. */
  private peers: Map<string, { ip: string; type: TunnelType }> | undefined;
  private readonly match = new FlowMatch();
  private readonly arpAsked = new Map<string, number>();
  private readonly traces = new Map<string, TraceRequest>();
  /** Packets held while their router resolves a next hop: "routerId/ip" -> packets and deadline. */
  private readonly waitingArp = new Map<string, { packets: PacketIn[]; until: number }>();
  /** Held packets whose next hop got resolved, to be simulated again. */
  private released: PacketIn[] = [];
  readonly learned: LearnedSync;

  constructor(
    public topology: Topology,
    readonly cfg: ControllerConfig,
    private readonly log: Logger,
  ) {
    this.learned = new LearnedSync(cfg.hostId, cfg.macLifetimeMs, this.state.arp.lifetimeMs);
  }

  // ---- where ports are -------------------------------------------------------------------------

  /** Hosts known to be down: tunnel-zone membership follows liveness, nothing is flooded to them. */
  private readonly deadHosts = new Set<string>();

  /**
   * Takes the store's liveness view (host -> alive; hosts without a record count as alive) and
   * returns the deletions of flows made under the other view of a host whose state changed.
   */
  setLiveness(alive: ReadonlyMap<string, boolean>, xid: () => number): Message[] {
    const changed: Tag[] = [];
    for (const [host, up] of alive) {
      if (host === this.cfg.hostId) continue;
      if (!up && !this.deadHosts.has(host)) {
        this.deadHosts.add(host);
        changed.push(livenessTag(host));
      } else if (up && this.deadHosts.delete(host)) {
        changed.push(livenessTag(host));
      }
    }
    // A host that went down: flows that output to it are tagged with its tunnel zone, not its liveness.
    return changed.length > 0 ? this.invalidate([...changed, TUNNEL_ZONES_TAG], xid) : [];
  }

  /** Forgets tunnel-zone derived locations (call after a tunnel-zone change). */
  tunnelZonesChanged(): void {
    this.peers = undefined;
  }

  private peerOf(hostId: string): { ip: string; type: TunnelType } | undefined {
    if (this.peers === undefined) {
      this.peers = new Map();
      for (const tz of this.topology.all('tunnel-zone')) {
        if (!tz.members.some((m) => m.hostId === this.cfg.hostId)) continue;
        for (const m of tz.members)
          if (m.hostId !== this.cfg.hostId && !this.peers.has(m.hostId))
            this.peers.set(m.hostId, { ip: m.address, type: tz.type });
      }
    }
    return this.peers.get(hostId);
  }

  /** This host's underlay address in its first tunnel zone, if any. */
  localTunnelIp(): string | null {
    for (const tz of this.topology.all('tunnel-zone')) {
      const me = tz.members.find((m) => m.hostId === this.cfg.hostId);
      if (me) return me.address;
    }
    return null;
  }

  /** Where a port is; with `flooding`, a port on a host that is down is skipped ('down'). */
  locate = (portId: string, flooding = false): PortLocation => {
    const local = this.portToOfport.get(portId);
    if (local !== undefined) return { kind: 'local', ofport: local };
    const p = this.topology.get('port', portId);
    if (p === undefined) return { kind: 'unknown', why: 'no such port' };
    if (p.hostId === null) return { kind: 'unknown', why: 'not bound to a host' };
    if (p.hostId === this.cfg.hostId)
      return { kind: 'unknown', why: `interface ${p.interfaceName} is not on the bridge` };
    if (flooding && this.deadHosts.has(p.hostId)) return { kind: 'down', tag: livenessTag(p.hostId) };
    const peer = this.peerOf(p.hostId);
    if (peer === undefined)
      return { kind: 'unknown', why: `host ${p.hostId} shares no tunnel zone with this host` };
    const tunnelPort = this.tunnelOfports.get(peer.type);
    if (tunnelPort === undefined) return { kind: 'unknown', why: `no ${peer.type} tunnel port` };
    return { kind: 'remote', tunnelPort, remoteIp: peer.ip, tunnelKey: p.tunnelKey };
  };

  /** Ports bound to this host, by interface name. */
  localBindings(): Map<string, Obj<'port'>> {
    const out = new Map<string, Obj<'port'>>();
    for (const p of this.topology.all('port')) {
      if (p.hostId === this.cfg.hostId && p.interfaceName !== null) out.set(p.interfaceName, p);
    }
    return out;
  }

  /**
   * Recomputes which local virtual port sits on which OpenFlow port. Returns the tunnel deliveries
   * (tunnel key -> OpenFlow port) for the proactive flows, and the tags of ports whose location changed.
   */
  refreshBindings(): { deliveries: Map<number, number>; moved: Tag[] } {
    this.tunnelOfports.clear();
    for (const [type, name] of Object.entries(TUNNEL_PORTS)) {
      const n = this.ifaceOfport.get(name);
      if (n !== undefined) this.tunnelOfports.set(type as TunnelType, n);
    }
    const deliveries = new Map<number, number>();
    const next = new Map<string, number>();
    for (const [iface, p] of this.localBindings()) {
      const ofport = this.ifaceOfport.get(iface);
      if (ofport === undefined) continue;
      next.set(p.id, ofport);
      deliveries.set(p.tunnelKey, ofport);
    }
    const moved: Tag[] = [];
    for (const [id, of] of this.portToOfport) if (next.get(id) !== of) moved.push(locationTag(id));
    for (const [id, of] of next) if (this.portToOfport.get(id) !== of) moved.push(locationTag(id));
    this.portToOfport.clear();
    this.ofportToPort.clear();
    for (const [id, of] of next) {
      this.portToOfport.set(id, of);
      this.ofportToPort.set(of, id);
    }
    return { deliveries, moved };
  }

  /** One shared location-tag string per port (100,000 flows must not hold 100,000 copies). */
  private readonly locationTags = new Map<string, Tag>();
  private locationTagOf(portId: string): Tag {
    let t = this.locationTags.get(portId);
    if (t === undefined) this.locationTags.set(portId, (t = locationTag(portId)));
    return t;
  }

  /** How many local virtual ports are bound to an OpenFlow port of the bridge. */
  get boundPorts(): number {
    return this.portToOfport.size;
  }

  // ---- packet-in -------------------------------------------------------------------------------

  /** Traces the next `count` packets entering `portId`; `done` is called when they are all in. */
  traceNext(portId: string, count: number, done: () => void): string[] {
    const req: TraceRequest = { remaining: count, results: [], done };
    this.traces.set(portId, req);
    return req.results;
  }

  cancelTrace(portId: string): void {
    this.traces.delete(portId);
  }

  handlePacketIn(pi: PacketIn, now: number, xid: () => number): Message[] {
    this.stats.packetIns++;
    const inField = findField(pi.match, 'in_port');
    const inPort = inField ? Number(inField.value) : -1;
    const portId = this.ofportToPort.get(inPort);
    if (portId === undefined) {
      this.stats.ignored++;
      return [];
    }
    const tun = findField(pi.match, 'tunnel_id');
    const bad = fillFromFrame(this.match, pi.data, tun ? Number(tun.value) : 0);
    if (bad !== null) {
      this.stats.ignored++;
      this.log.debug({ port: portId, why: bad }, 'packet-in not simulated');
      return [];
    }
    const traceReq = this.traces.get(portId);
    const t0 = performance.now();
    const res = simulate(this.topology, this.match, portId, now, {
      state: this.state,
      trace: traceReq !== undefined,
    });
    this.stats.observeSimulation((performance.now() - t0) * 1000);
    if (res.kind === 'notYet') {
      this.stats.notYetDrops++;
      this.log.warn({ port: portId, need: res.need }, 'packet dropped: topology objects not loaded');
      return [];
    }
    if (traceReq) {
      traceReq.results.push(renderTrace(res, portNamer(this.topology)));
      if (--traceReq.remaining <= 0) {
        this.traces.delete(portId);
        traceReq.done();
      }
    }
    const out: Message[] = [];
    out.push(...this.commitEffects(res, now, xid));
    let outputs = 0;
    for (const a of res.actions) if (a.kind === 'output') outputs++;
    const tr = translateActions(res.actions, res.packet, inPort, (id) => this.locate(id, outputs > 1));
    const notExpressible = unmatchable(res.mask, res.packet);
    if (res.cacheable && tr.unresolved.length === 0 && notExpressible === null) {
      const cookie = this.flows.cookie();
      const match = matchFromMask(res.mask, res.packet, inPort);
      const tags: string[] = [...res.tags, this.locationTagOf(portId)];
      for (const a of res.actions) if (a.kind === 'output') tags.push(this.locationTagOf(a.portId));
      if (tr.remote) tags.push(TUNNEL_ZONES_TAG);
      tags.push(...tr.tags);
      this.flows.add({
        cookie,
        inPort: portId,
        tags,
        installedAt: now,
      });
      this.stats.flowsInstalled++;
      out.push({
        type: 'flow_mod',
        xid: xid(),
        cookie,
        cookieMask: 0n,
        tableId: 0,
        command: 'add',
        idleTimeout: this.cfg.idleTimeout,
        hardTimeout: 0,
        priority: this.cfg.priority,
        bufferId: OFP_NO_BUFFER,
        outPort: OFPP.ANY,
        outGroup: OFPG.ANY,
        flags: OFPFF.SEND_FLOW_REM,
        match,
        instructions: tr.actions.length > 0 ? [{ type: 'apply_actions', actions: tr.actions }] : [],
      });
    } else {
      this.stats.uncacheable++;
      if (tr.unresolved.length > 0)
        this.log.debug({ port: portId, unresolved: tr.unresolved }, 'egress not located; not caching');
    }
    if (tr.actions.length > 0) {
      out.push({
        type: 'packet_out',
        xid: xid(),
        bufferId: pi.bufferId,
        inPort,
        actions: tr.actions,
        data: pi.bufferId === OFP_NO_BUFFER ? pi.data : Buffer.alloc(0),
      });
    }
    for (const a of res.actions) if (a.kind === 'emit') out.push(...this.emit(a, pi.data, now, xid));
    for (const e of res.effects)
      if (e.kind === 'arpWanted' && tr.actions.length === 0) this.hold(`${e.routerId}/${e.ip}`, pi, now);
    return out;
  }

  /** Holds a packet (at most 8 per next hop, for 2 s) until its next hop's MAC is known. */
  private hold(key: string, pi: PacketIn, now: number): void {
    let w = this.waitingArp.get(key);
    if (w === undefined || w.until < now) this.waitingArp.set(key, (w = { packets: [], until: now + 2000 }));
    if (w.packets.length < 8) w.packets.push(pi);
  }

  /** Releases packets held for next hops that just became known. */
  private release(effects: readonly Effect[], now: number): void {
    for (const e of effects) {
      if (e.kind !== 'arpLearned') continue;
      const key = `${e.routerId}/${e.ip}`;
      const w = this.waitingArp.get(key);
      if (w === undefined) continue;
      this.waitingArp.delete(key);
      if (w.until >= now) this.released.push(...w.packets);
    }
  }

  /** Packets to simulate again (their next hop is now resolved); empties the list. */
  takeReleased(): PacketIn[] {
    const r = this.released;
    this.released = [];
    return r;
  }

  /** Sends a generated packet: simulated leaving its port, then PACKET_OUT from the controller. */
  private emit(
    a: Extract<SimAction, { kind: 'emit' }>,
    original: Uint8Array,
    now: number,
    xid: () => number,
  ): Message[] {
    const bytes = buildGenerated(a.packet, original);
    if (bytes === undefined) return [];
    return this.sendFromPort(a.fromPortId, bytes, now, xid);
  }

  /** Simulates `frame` leaving the device through `portId` and returns the PACKET_OUT that carries it. */
  sendFromPort(portId: string, frame: Uint8Array, now: number, xid: () => number): Message[] {
    const m = new FlowMatch();
    if (fillFromFrame(m, frame, 0) !== null) return [];
    const res = simulate(this.topology, m, portId, now, { state: this.state, direction: 'egress' });
    if (res.kind !== 'done') return [];
    const tr = translateActions(res.actions, res.packet, OFPP.CONTROLLER, this.locate);
    if (tr.actions.length === 0) return [];
    this.stats.generated++;
    return [
      {
        type: 'packet_out',
        xid: xid(),
        bufferId: OFP_NO_BUFFER,
        inPort: OFPP.CONTROLLER,
        actions: tr.actions,
        data: Buffer.from(frame),
      },
    ];
  }

  /** Commits a final result's effects; returns deletions of flows they invalidate and ARP requests. */
  private commitEffects(res: SimDone, now: number, xid: () => number): Message[] {
    if (res.effects.length === 0) return [];
    const changed = this.state.commit(res.effects, now);
    this.learned.offer(res.effects, now);
    this.release(res.effects, now);
    const out = this.invalidate(changed, xid);
    for (const e of res.effects) {
      if (e.kind !== 'arpWanted') continue;
      const key = `${e.routerId}/${e.ip}`;
      if ((this.arpAsked.get(key) ?? -Infinity) > now - 1000) continue; // at most one request a second
      this.arpAsked.set(key, now);
      const port = this.topology.get('port', e.portId);
      if (!port?.address || !port.mac) continue;
      const frame = arpRequest(port.mac, port.address.split('/')[0]!, formatIpv4(e.ip));
      out.push(...this.sendFromPort(e.portId, frame, now, xid));
    }
    return out;
  }

  // ---- invalidation ----------------------------------------------------------------------------

  /** Commits what other agents learned; returns the deletions of flows it invalidates. */
  applyLearned(entries: readonly LearnedChange[], now: number, xid: () => number): Message[] {
    const effects = this.learned.effectsOf(entries, now);
    if (effects.length === 0) return [];
    this.release(effects, now);
    return this.invalidate(this.state.commit(effects, now), xid);
  }

  /** Deletes (by cookie) every flow tagged with any of `tags`. */
  invalidate(tags: Iterable<string>, xid: () => number): Message[] {
    const cookies = this.flows.cookiesFor(tags);
    if (cookies.size === 0) return [];
    this.stats.invalidations++;
    const out: Message[] = [];
    for (const c of cookies) {
      this.flows.remove(c);
      this.stats.flowsInvalidated++;
      out.push(deleteByCookie(c, xid()));
    }
    return out;
  }

  flowRemoved(cookie: bigint): void {
    if (this.flows.remove(cookie)) this.stats.flowsRemoved++;
  }
}

/** FLOW_MOD deleting the flow(s) with exactly this cookie, in every table. */
export function deleteByCookie(cookie: bigint, xid: number, mask = 0xffffffffffffffffn): Message {
  return {
    type: 'flow_mod',
    xid,
    cookie,
    cookieMask: mask,
    tableId: OFPTT.ALL,
    command: 'delete',
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 0,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [],
    instructions: [],
  };
}
