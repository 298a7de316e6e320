/**
 * midonet-router, the BGP process beside the agent: it keeps a replica of the topology objects BGP
 * depends on (ports, routers, routes, BGP peers and networks), and for every router port bound to its
 * host that has BGP peers it campaigns for leadership of that port (one leader per port across
 * processes); the leader runs the port's Speaker (namespace + FRR over vtysh), applies configuration
 * changes as differences, and every poll reads FRR's peer state and learned routes and writes the
 * difference into the router as routes with source 'bgp'.
 *
 * Invariants:
 * - All work (reconcile, election events, polls, shutdown) runs one step at a time on one queue, so a
 *   speaker is never created, updated and destroyed concurrently.
 * - Learned routes are written only by the leader of their port, only after the replica has caught up
 *   with the previous write (no duplicate creates), and equal FRR's valid paths from Established peers:
 *   a session that drops withdraws its routes.
 * - A failure on one port (bad peer, vtysh rejecting a command, FRR not starting) is recorded for that
 *   port and logged; the other ports are served on.
 * - Killing the process leaves the datapath (flows, FRR) alone; the next leader recreates the speaker.
 *
 * Over 450 lines: one job, the router process (leadership per uplink, its speaker, route import); FRR text is in frr.ts, speakers in speaker.ts.
 */
import { daemonRegistry, startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { registerBgpMetrics, type BgpSessionSample } from '../metrics/bgp-metrics.js';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { ControlApi } from '../control/control-api.js';
import { Ovs } from '../ovs/ovs.js';
import type { Kind, Obj } from '../state/model.js';
import { openStore } from '../state/open.js';
import type { Campaign, Change, Op, TopologyStore, Watch } from '../state/store.js';
import type { RouterConfig } from './config.js';
import { desiredSpeakers, type Problem, type SpeakerSpec, type TopologyView } from './desired.js';
import { routeOps } from './routes.js';
import { Speaker, type PeerState } from './speaker.js';

export const ROUTER_VERSION = '0.1.0';
/** Role written in this process's liveness record, for the CLI to find it. */
export const ROUTER_ROLE = 'midonet-router';
const KINDS_OF_INTEREST: ReadonlySet<Kind> = new Set<Kind>([
  'host',
  'port',
  'router',
  'route',
  'bgp-peer',
  'bgp-network',
]);

/** The objects midonet-router reads, kept in step with the change feed. */
class Replica implements TopologyView {
  private readonly objs = new Map<Kind, Map<string, Obj>>();
  position = 0;

  /** Replaces everything held with `objects`, the state at `position`. */
  load(objects: ReadonlyArray<{ kind: Kind; object: Obj }>, position: number): void {
    this.objs.clear();
    for (const o of objects) if (KINDS_OF_INTEREST.has(o.kind)) this.map(o.kind).set(o.object.id, o.object);
    this.position = position;
  }

  private map(kind: Kind): Map<string, Obj> {
    let m = this.objs.get(kind);
    if (m === undefined) this.objs.set(kind, (m = new Map<string, Obj>()));
    return m;
  }

  /** Applies changes; true when one of them may change a speaker (anything but a BGP route). */
  apply(changes: readonly Change[]): boolean {
    let relevant = false;
    for (const c of changes) {
      if (!KINDS_OF_INTEREST.has(c.kind)) continue;
      if (c.op === 'delete') this.map(c.kind).delete(c.id);
      else this.map(c.kind).set(c.id, c.object);
      if (!(c.kind === 'route' && (c.object as Obj<'route'>).source === 'bgp')) relevant = true;
    }
    if (changes.length > 0) this.position = changes.at(-1)!.seq;
    return relevant;
  }

  all<K extends Kind>(kind: K): Obj<K>[] {
    return [...(this.objs.get(kind)?.values() ?? [])] as Obj<K>[];
  }

  get<K extends Kind>(kind: K, id: string): Obj<K> | undefined {
    return this.objs.get(kind)?.get(id);
  }
}

/** What the process does for one port. */
interface PortService {
  spec: SpeakerSpec;
  campaign: Campaign | undefined;
  leading: boolean;
  speaker: Speaker | undefined;
  states: Map<string, PeerState>;
  learnedRoutes: number;
  capped: Map<string, number>;
  error: string | undefined;
  lastPollAt: number;
}

/** Per-peer state as published to the CLI. */
export interface PublishedPeer {
  readonly peerId: string;
  readonly peerName: string;
  readonly peerAddress: string;
  readonly portId: string;
  readonly portName: string;
  readonly leader: boolean;
  readonly state: string;
  readonly established: boolean;
  readonly uptimeMs: number | null;
  readonly prefixesReceived: number | null;
  readonly prefixesAdvertised: number | null;
  readonly routesImported: number | null;
  readonly error: string | null;
  readonly readAt: number;
}

export class RouterDaemon {
  hostId = '';
  private store!: TopologyStore;
  private readonly replica = new Replica();
  private watch: Watch | undefined;
  private control: ControlApi | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private readonly ports = new Map<string, PortService>();
  private problems: Problem[] = [];
  private queue: Promise<void> = Promise.resolve();
  private pollQueued = false;
  private reconcileQueued = false;
  private stopped = false;
  private readonly candidate = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly ovs: Ovs;
  readonly controlSocket: string;
  private metrics: MetricsServer | undefined;
  private readonly replicaWaiters: Array<{ position: number; resolve: () => void }> = [];

  constructor(
    readonly cfg: RouterConfig,
    private readonly log: Logger,
  ) {
    this.controlSocket = join(cfg.runDir, 'router-control.sock');
    this.ovs = new Ovs({ dbSock: cfg.ovs.dbSock, runDir: cfg.ovs.runDir });
  }

  get livenessId(): string {
    return `${ROUTER_ROLE}:${this.hostId}:${this.candidate}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.cfg.runDir, { recursive: true });
    // On the distributed backend the router stands by to lead the commit relay while no API server
    // does (writers then still share grouped commits); the store URL's `relay=` overrides it.
    this.store = await openStore(this.cfg.store, {
      relay: 'standby',
      logger: this.log.child({ component: 'router.store' }),
    });
    this.hostId = await this.findHost();
    const snap = await this.store.snapshot();
    this.replica.load(snap.objects, snap.position);
    const caughtUp = () => {
      for (let i = this.replicaWaiters.length - 1; i >= 0; i--) {
        const w = this.replicaWaiters[i]!;
        if (this.replica.position >= w.position) {
          this.replicaWaiters.splice(i, 1);
          w.resolve();
        }
      }
    };
    this.watch = this.store.watch(snap.position, {
      onChanges: (cs) => {
        const relevant = this.replica.apply(cs);
        caughtUp();
        if (relevant) this.scheduleReconcile();
      },
      // The watch fell behind the compacted change log: take the whole state and reconcile from it.
      onResync: (s) => {
        this.replica.load(s.objects, s.position);
        caughtUp();
        this.scheduleReconcile();
      },
      onError: (e) => this.log.error({ err: e.message }, 'store watch failed'),
    });
    this.control = new ControlApi(
      this.controlSocket,
      (req) => this.controlRequest(req),
      this.log.child({ component: 'router.control' }),
    );
    await this.control.start();
    this.scheduleReconcile();
    await this.queue;
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), this.cfg.heartbeatMs);
    this.poller = setInterval(() => this.schedulePoll(), this.cfg.pollMs);
    if (this.cfg.metrics.listen !== null) {
      const registry = daemonRegistry();
      registerBgpMetrics(registry, () => this.sessionSamples());
      this.metrics = await startMetricsServer({
        listen: this.cfg.metrics.listen,
        registry,
        health: () => Promise.resolve({ ok: !this.stopped, store: this.store.url, ports: this.ports.size }),
        log: this.log,
      });
    }
    this.log.info({ hostId: this.hostId, control: this.controlSocket }, 'midonet-router started');
  }

  /** The id of this host as the agent registered it (waits for the agent, up to 60 s). */
  private async findHost(): Promise<string> {
    const deadline = Date.now() + 60000;
    for (;;) {
      const h = (await this.store.list('host')).find((x) => x.name === this.cfg.hostName);
      if (h) return h.id;
      if (Date.now() > deadline)
        throw new Error(
          `no host named '${this.cfg.hostName}' in the store (is the agent of this host running?)`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private enqueue(what: string, step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(async () => {
      if (this.stopped && what !== 'stop') return;
      try {
        await step();
      } catch (e) {
        this.log.error({ err: (e as Error).message, step: what }, 'step failed');
      }
    });
    return this.queue;
  }

  private scheduleReconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    void this.enqueue('reconcile', async () => {
      this.reconcileQueued = false;
      await this.reconcile();
    });
  }

  private schedulePoll(): void {
    if (this.pollQueued) return;
    this.pollQueued = true;
    void this.enqueue('poll', async () => {
      this.pollQueued = false;
      await this.poll();
    });
  }

  // ---- what runs where ---------------------------------------------------------------------------

  private async reconcile(): Promise<void> {
    const { speakers, problems } = desiredSpeakers(this.replica, this.hostId);
    const key = (p: Problem) => `${p.object}: ${p.message}`;
    const known = new Set(this.problems.map(key));
    for (const p of problems) if (!known.has(key(p))) this.log.error({ object: p.object }, p.message);
    this.problems = problems;
    const want = new Map(speakers.map((s) => [s.portId, s]));
    for (const [portId, svc] of this.ports) {
      if (want.has(portId)) continue;
      this.ports.delete(portId);
      await svc.campaign?.resign();
      if (svc.leading) await this.retire(svc, true);
    }
    for (const spec of speakers) {
      const svc = this.ports.get(spec.portId);
      if (svc === undefined) {
        const s: PortService = {
          spec,
          campaign: undefined,
          leading: false,
          speaker: undefined,
          states: new Map(),
          learnedRoutes: 0,
          capped: new Map(),
          error: undefined,
          lastPollAt: 0,
        };
        this.ports.set(spec.portId, s);
        s.campaign = await this.store.campaign(
          `bgp-uplink/${spec.portId}`,
          `${this.hostId}/${this.candidate}`,
          {
            onElected: () => void this.enqueue('elected', () => this.elected(s)),
            onDeposed: () => void this.enqueue('deposed', () => this.deposed(s)),
          },
        );
        continue;
      }
      const changed = JSON.stringify(svc.spec) !== JSON.stringify(spec);
      svc.spec = spec;
      if (changed && svc.leading && svc.speaker) {
        if (
          svc.speaker.spec.tunnelKey !== spec.tunnelKey ||
          svc.speaker.spec.address !== spec.address ||
          svc.speaker.spec.mac !== spec.mac
        ) {
          await this.retire(svc, false);
          await this.elected(svc);
        } else {
          await this.guard(svc, () => svc.speaker!.update(spec));
        }
      }
    }
  }

  private async guard(svc: PortService, f: () => Promise<void>): Promise<void> {
    try {
      await f();
      svc.error = svc.speaker?.problems.map((p) => p.message).join('; ') || undefined;
    } catch (e) {
      svc.error = (e as Error).message;
      this.log.error({ port: svc.spec.portName, err: svc.error }, 'speaker step failed');
    }
  }

  private async elected(svc: PortService): Promise<void> {
    if (this.ports.get(svc.spec.portId) !== svc) return;
    svc.leading = true;
    this.log.info({ port: svc.spec.portName }, 'leading the port: creating its BGP speaker');
    const sp = new Speaker(svc.spec, {
      namespacePrefix: this.cfg.namespacePrefix,
      hostNetns: this.cfg.hostNetns,
      ovs: this.ovs,
      bridge: this.cfg.ovs.bridge,
      log: this.log.child({ component: 'router.speaker' }),
    });
    svc.speaker = sp;
    await this.guard(svc, () => sp.create());
  }

  private async deposed(svc: PortService): Promise<void> {
    this.log.warn({ port: svc.spec.portName }, 'no longer leading the port: stopping its speaker');
    await this.retire(svc, false);
  }

  /** Stops the speaker; with `withdraw`, removes the port's learned routes too. */
  private async retire(svc: PortService, withdraw: boolean): Promise<void> {
    svc.leading = false;
    const sp = svc.speaker;
    svc.speaker = undefined;
    svc.states = new Map();
    if (sp)
      await sp.destroy().catch((e: Error) => this.log.warn({ err: e.message }, 'speaker clean-up failed'));
    if (withdraw) await this.writeRoutes(svc, new Map());
  }

  // ---- polling -----------------------------------------------------------------------------------

  private async poll(): Promise<void> {
    for (const svc of this.ports.values()) {
      if (!svc.leading || !svc.speaker) continue;
      const sp = svc.speaker;
      try {
        if (!sp.frr.running()) {
          this.log.warn({ port: svc.spec.portName }, 'FRR is not running: re-creating the speaker');
          await this.guard(svc, () => sp.create());
        }
        svc.states = await sp.peerStates();
        svc.lastPollAt = Date.now();
        const up = svc.spec.peers
          .filter((p) => svc.states.get(p.address)?.established === true)
          .map((p) => p.address);
        const learned = await sp.learned(up);
        await this.writeRoutes(svc, learned);
      } catch (e) {
        svc.error = (e as Error).message;
        this.log.error({ port: svc.spec.portName, err: svc.error }, 'poll failed');
      }
    }
  }

  private waitReplica(position: number): Promise<void> {
    if (this.replica.position >= position) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { position, resolve };
      this.replicaWaiters.push(w);
      setTimeout(() => {
        const i = this.replicaWaiters.indexOf(w);
        if (i >= 0) this.replicaWaiters.splice(i, 1);
        resolve();
      }, 10000);
    });
  }

  /** Makes the port's BGP routes equal `learned`, in batched transactions. */
  private async writeRoutes(
    svc: PortService,
    learned: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<void> {
    const existing = this.replica
      .all('route')
      .filter((r) => r.nextHopPortId === svc.spec.portId && r.source === 'bgp');
    const diff = routeOps(existing, learned, {
      routerId: svc.spec.routerId,
      portId: svc.spec.portId,
      cap: this.cfg.maxRoutesPerPeer,
      skip: new Set(svc.spec.config.networks.map((n) => n.prefix)),
    });
    for (const [peer, n] of diff.capped)
      if (svc.capped.get(peer) !== n)
        this.log.warn(
          { port: svc.spec.portName, peer, leftOut: n, cap: this.cfg.maxRoutesPerPeer },
          'learned routes over the cap',
        );
    svc.capped = diff.capped;
    let n = 0;
    for (const l of learned.values()) n += l.size;
    svc.learnedRoutes = existing.length - diff.deleted + diff.created;
    if (diff.ops.length === 0) return;
    let position = 0;
    for (let i = 0; i < diff.ops.length; i += this.cfg.routeBatch) {
      const batch: Op[] = diff.ops.slice(i, i + this.cfg.routeBatch);
      position = (await this.store.transact(batch)).position;
    }
    this.log.info(
      { port: svc.spec.portName, created: diff.created, deleted: diff.deleted, learned: n },
      'learned routes written',
    );
    await this.waitReplica(position);
  }

  // ---- publishing --------------------------------------------------------------------------------

  /** Every peer this process knows for its host, with live state where it leads. */
  peers(): PublishedPeer[] {
    const out: PublishedPeer[] = [];
    for (const svc of this.ports.values()) {
      for (const p of svc.spec.peers) {
        const st = svc.states.get(p.address);
        out.push({
          peerId: p.id,
          peerName: p.name,
          peerAddress: p.address,
          portId: svc.spec.portId,
          portName: svc.spec.portName,
          leader: svc.leading,
          state: svc.leading ? (st?.state ?? (svc.error ? 'Error' : 'Idle')) : 'standby',
          established: st?.established ?? false,
          uptimeMs: st ? st.uptimeMs : null,
          prefixesReceived: st ? st.prefixesReceived : null,
          prefixesAdvertised: st ? st.prefixesAdvertised : null,
          routesImported: svc.leading ? svc.learnedRoutes : null,
          error: svc.error ?? null,
          readAt: svc.lastPollAt,
        });
      }
    }
    for (const pr of this.problems) {
      if (!pr.object.startsWith('bgp-peer')) continue;
      const peer = this.replica.get('bgp-peer', pr.objectId);
      if (!peer) continue;
      out.push({
        peerId: peer.id,
        peerName: peer.name,
        peerAddress: peer.peerAddress,
        portId: peer.portId,
        portName: this.replica.get('port', peer.portId)?.name ?? peer.portId,
        leader: false,
        state: 'Invalid',
        established: false,
        uptimeMs: null,
        prefixesReceived: null,
        prefixesAdvertised: null,
        routesImported: null,
        error: pr.message,
        readAt: Date.now(),
      });
    }
    return out;
  }

  private async beat(): Promise<void> {
    try {
      await this.store.heartbeat(this.livenessId, this.cfg.heartbeatMs * 3, {
        role: ROUTER_ROLE,
        routerVersion: ROUTER_VERSION,
        hostId: this.hostId,
        hostName: this.cfg.hostName,
        pid: process.pid,
        controlSocket: this.controlSocket,
        peers: this.peers(),
      });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'heartbeat failed');
    }
  }

  private async controlRequest(req: Record<string, unknown>): Promise<unknown> {
    switch (req.cmd) {
      case 'peers': {
        // Live: read FRR now for the ports this process leads.
        await this.enqueue('peers', async () => {
          for (const svc of this.ports.values()) {
            if (!svc.leading || !svc.speaker) continue;
            try {
              svc.states = await svc.speaker.peerStates();
              svc.lastPollAt = Date.now();
            } catch (e) {
              svc.error = (e as Error).message;
            }
          }
        });
        return this.peers();
      }
      case 'stats':
        return {
          hostId: this.hostId,
          pid: process.pid,
          ports: [...this.ports.values()].map((s) => ({
            portId: s.spec.portId,
            portName: s.spec.portName,
            leading: s.leading,
            namespace: s.speaker?.netns ?? null,
            routesImported: s.learnedRoutes,
            error: s.error ?? null,
          })),
          problems: this.problems,
        };
      default:
        throw new Error(`unknown command ${JSON.stringify(req.cmd)}; allowed: peers, stats`);
    }
  }

  /** The sessions as last read from FRR, for the metrics endpoint. */
  private sessionSamples(): BgpSessionSample[] {
    const out: BgpSessionSample[] = [];
    for (const svc of this.ports.values()) {
      for (const [address, st] of svc.states) {
        const peer = svc.spec.peers.find((p) => p.address === address);
        out.push({
          peer: peer?.name ?? address,
          uplink: svc.spec.portName,
          state: st.state,
          prefixesReceived: st.prefixesReceived,
          prefixesAdvertised: st.prefixesAdvertised,
        });
      }
    }
    return out;
  }

  // ---- shutdown ----------------------------------------------------------------------------------

  /** Stops FRR instances, removes their namespaces and learned routes, leaves the elections. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.poller) clearInterval(this.poller);
    this.watch?.close();
    await this.enqueue('stop', async () => {
      for (const svc of this.ports.values()) {
        // Withdraw while still leading, then leave: a standby never sees its routes deleted by us.
        if (svc.leading) await this.retire(svc, true).catch(() => undefined);
        await svc.campaign?.resign().catch(() => undefined);
      }
      this.ports.clear();
    });
    this.control?.close();
    await this.metrics?.close();
    if (this.store) {
      await this.store.goodbye(this.livenessId).catch(() => undefined);
      await this.store.close();
    }
  }
}
