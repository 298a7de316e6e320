/**
 * midonet-agent, the per-hypervisor daemon: wires the store (topology replica and change feed, host
 * registration and liveness, learned state), Open vSwitch (br-int set-up and the switch connection,
 * switch-link.ts), the controller logic (controller.ts), peers, timers and the control API.
 *
 * Invariants:
 * - A packet-in is answered in the socket callback that delivered it (no wait on the event loop);
 *   beyond a batch per callback, packet-ins wait in a bounded queue, drained in batches between which
 *   store changes are applied; when the queue is full new packet-ins are dropped and counted.
 * - Store changes are applied to the replica in commit order, and the flows their tags name are
 *   deleted in the same turn, before any later packet-in is simulated. What the replica holds (the
 *   whole topology, or the interest set loaded on demand) is interest-keeper.ts's: the feed goes
 *   through its filter, and the feed position moves on with every batch, applied or not.
 * - The switch connection's own invariants (socket mode, flows judged on reconnection) are
 *   switch-link.ts's.
 * - Starting without the store: when it cannot be reached within STORE_START_MS and a local snapshot
 *   exists (local-snapshot.ts, written when the topology moved on and at stop), the agent starts on
 *   the snapshot and follows the store from the snapshot's position once it answers; it never
 *   creates an empty SQLite store in place of a missing file it ran on before.
 *
 * Over 450 lines: the wiring of five sources (store, switch, peers, timers, control). To split next:
 * the store's side (loadTopology, follow, reachLater, the heartbeat) into a store-link module like
 * switch-link.ts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Outgoing } from '../openflow/index.js';
import { Topology } from '../sim/topology.js';
import { StoreError } from '../state/errors.js';
import { openStore } from '../state/open.js';
import { readLocalSnapshot, writeLocalSnapshot } from './local-snapshot.js';
import type { Change, Snapshot, TopologyStore, Watch } from '../state/store.js';
import type { AgentConfig } from './config.js';
import { ControlApi } from '../control/control-api.js';
import { AGENT_VERSION, controlRequest } from './control-requests.js';
import { PacketInQueue } from './packet-in-queue.js';
import { answerPacketIn } from './packet-in-answer.js';
import { FlowController, type ControllerConfig } from './controller.js';
import type { PeerMessage } from './peer-codec.js';
import { loadOrCreateKeys } from './peer-keys.js';
import { PeerChannel } from './peers.js';
import { NatBlockLeaser } from './nat-blocks.js';
import { DhcpService } from './dhcp-service.js';
import { Datapath } from './datapath.js';
import { stableHostId } from './host-id.js';
import { SwitchLink } from './switch-link.js';
import { applyChanges, applySnapshot, type FeedResult } from './topology-feed.js';
import { InterestKeeper } from './interest-keeper.js';
import { Ovs } from '../ovs/ovs.js';
import { startAgentMetrics } from './metrics.js';
import { FlowHistory } from './flow-history.js'; // [ops]
import type { MetricsServer } from '../metrics/server.js';

export { AGENT_VERSION, matchText } from './control-requests.js';

/** How long an agent's write to a SQLite store waits for another process's write lock (ms). */
export const AGENT_STORE_BUSY_MS = 100;

/** How long start-up waits for the store before it starts on the local snapshot (when there is one). */
const STORE_START_MS = 10000;
/** How often the local snapshot is written when the topology changed. */
const LOCAL_SNAPSHOT_MS = 5000;
const LOCAL_SNAPSHOT_FILE = 'topology-snapshot.json';

/** `p`, or a rejection after `ms` (p itself goes on). */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class AgentDaemon {
  hostId = '';
  /** Undefined until the store is first reached (the agent may start on its local snapshot). */
  private store: TopologyStore | undefined;
  private snapshotSaver: NodeJS.Timeout | undefined;
  /** The change-feed position of the last local snapshot written. */
  private savedPosition = -1;
  private watch: Watch | undefined;
  private learnedWatch: Watch | undefined;
  /** When the learned-state watch began, and when it last delivered entries (learnedSettled). */
  private learnedSince = 0;
  private learnedAt = 0;
  /** The first connection's judging of an earlier run's flows is done (its own learned state used). */
  private flowsJudged = false;
  private flowStateSweep: NodeJS.Timeout | undefined;
  /** Retries of what held packets wait for (ARP, SNAT ports), and their deadlines. */
  private tick: NodeJS.Timeout | undefined;
  private natBlocks!: NatBlockLeaser;
  private dhcp!: DhcpService;
  private natRenew: NodeJS.Timeout | undefined;
  private peers!: PeerChannel;
  /** The endpoint other agents reach this one at (null: the channel is off). */
  private peerEndpoint: string | null = null;
  private learnedFlush: NodeJS.Timeout | undefined;
  /** The last publication of learned state failed (logged once per outage). */
  private publishFailing = false;
  private ctl!: FlowController;
  /** What of the topology the replica holds (all of it, or the interest set: interest-keeper.ts). */
  private keeper!: InterestKeeper;
  /** A resync's snapshot is being cut to the interest set: feed batches wait here meanwhile. */
  private feedBacklog: Change[][] | undefined;
  private datapath!: Datapath;
  private link!: SwitchLink;
  private control: ControlApi | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private queue!: PacketInQueue;
  private stopped = false;
  // [ops] The controller's configuration, kept mutable here so a reload can change what may change live.
  private ctlCfg!: { -readonly [K in keyof ControllerConfig]: ControllerConfig[K] };
  // [ops] The /metrics and /health endpoint (undefined when metrics.listen is null).
  private metrics: MetricsServer | undefined;
  // [ops] Why recent flows were removed (flow-history.ts), for `midonet-cli agent flow-history`.
  readonly history = new FlowHistory();
  readonly ofSocket: string;
  readonly controlSocket: string;

  constructor(
    readonly cfg: AgentConfig,
    private readonly log: Logger,
  ) {
    // OVS connects only to controller sockets inside its own run directory.
    this.ofSocket = join(cfg.ovs.runDir, `${cfg.ovs.bridge}.midonet-agent.sock`);
    this.controlSocket = join(cfg.runDir, 'agent-control.sock');
  }

  get controller(): FlowController {
    return this.ctl;
  }

  async start(): Promise<void> {
    const log = this.log.child({ component: 'agent' });
    mkdirSync(this.cfg.runDir, { recursive: true });
    this.hostId = stableHostId(this.cfg.stateDir);
    this.keeper = new InterestKeeper({
      mode: this.cfg.topology.load,
      hostId: this.hostId,
      topology: () => this.ctl.topology,
      apply: (changes) => this.afterFeed(applyChanges(this.ctl, changes, this.history, true)),
      keepAskedMs: this.cfg.topology.keepAskedMs,
      log: this.log.child({ component: 'agent.interest' }),
    });
    const snap = await this.loadTopology(log);
    const topology = Topology.from(snap.objects as never);
    this.ctlCfg = {
      hostId: this.hostId,
      idleTimeout: this.cfg.flows.idleTimeout,
      priority: this.cfg.flows.priority,
      macLifetimeMs: this.cfg.macLifetimeMs,
    };
    this.peers = new PeerChannel(
      this.hostId,
      loadOrCreateKeys(this.cfg.stateDir),
      (m) => this.onPeerMessage(m),
      this.log.child({ component: 'agent.peers' }),
      () => this.refreshPeers(),
    );
    this.queue = new PacketInQueue(
      (pi, arrived) => answerPacketIn(this.ctl, (m) => this.send(m), this.log, pi, arrived),
      this.cfg.packetInQueue,
      () => this.ctl.stats.queueDrops++,
    );
    this.ctl = new FlowController(topology, this.ctlCfg, this.log.child({ component: 'agent.flows' }), {
      peers: this.peers,
      natBlocks: { want: (ip, proto, from, to) => void this.natBlocks.want(ip, proto, from, to) },
      dhcp: { request: (dhcpId, portId, frame) => void this.dhcp.request(dhcpId, portId, frame) },
      ...(this.keeper.onDemand
        ? {
            demand: {
              load: (ids, now) =>
                this.keeper.demand(ids, now, () =>
                  this.send(this.ctl.waits.loaded((id) => this.keeper.settled(id, Date.now()), Date.now())),
                ),
              absent: (id, now) => this.keeper.absent(id, now),
            },
          }
        : {}),
    });
    this.keeper.counters = this.ctl.stats;
    this.ctl.stats.objectsHeld = topology.count();
    this.link = new SwitchLink({
      socket: this.ofSocket,
      ctl: () => this.ctl,
      datapath: () => this.datapath,
      priority: () => this.ctlCfg.priority,
      history: this.history,
      learnedSettled: () => this.learnedSettled(),
      onJudged: () => (this.flowsJudged = true),
      onPacketIn: (pi, arrived) => this.queue.offer(pi, arrived),
      log: this.log.child({ component: 'agent.openflow' }),
    });
    this.dhcp = new DhcpService({
      store: () => this.reachedStore(),
      topology: () => this.ctl.topology,
      hostId: this.hostId,
      mtu: this.cfg.dhcp.mtu,
      send: (portId, frame) => {
        const out: Outgoing[] = [];
        this.ctl.sendFromPort(portId, frame, Date.now(), out);
        this.send(out);
      },
      log: this.log.child({ component: 'agent.dhcp' }),
      stats: this.ctl.stats.dhcp,
    });
    this.natBlocks = new NatBlockLeaser(
      () => this.reachedStore(),
      this.hostId,
      (ip, proto, ranges) => this.send(this.ctl.waits.natBlocksGranted(ip, proto, ranges, Date.now())),
      (ip, proto) => this.send(this.ctl.waits.natExhausted(ip, proto, Date.now())),
      this.log.child({ component: 'agent.nat' }),
    );
    this.ctl.stats.lastChangeSeq = snap.position;
    this.saveSnapshot();
    this.history.attach(this.ctl.flows); // [ops]
    log.info(
      {
        hostId: this.hostId,
        objects: snap.objects.length,
        position: snap.position,
        load: this.cfg.topology.load,
      },
      'topology loaded',
    );
    this.learnedSince = Date.now();
    if (this.store !== undefined) await this.follow(this.store, snap.position, log);
    this.learnedFlush = setInterval(() => void this.flushLearned(), 20);
    // Flow state ages with the traffic: aged entries go with their flows each second; state that
    // installed flows use is renewed with the hosts holding copies a few times per lifetime.
    let sweeps = 0;
    this.tick = setInterval(() => this.send(this.ctl.waits.tick(Date.now())), 200);
    this.flowStateSweep = setInterval(() => {
      const renew = ++sweeps % Math.max(1, Math.floor(this.ctl.flowState.idleMs / 3000)) === 0;
      this.send(this.ctl.sweepFlowState(Date.now(), renew));
      this.send(this.ctl.ageMacs(Date.now()));
      this.keeper.expireAsked(Date.now());
    }, 1000);
    this.snapshotSaver = setInterval(() => this.saveSnapshot(), LOCAL_SNAPSHOT_MS);

    const ovs = new Ovs({ dbSock: this.cfg.ovs.dbSock, runDir: this.cfg.ovs.runDir });
    this.datapath = new Datapath(
      ovs,
      {
        bridge: this.cfg.ovs.bridge,
        datapathType: this.cfg.ovs.datapathType,
        controllerSocket: this.ofSocket,
        controllerRateLimit: this.cfg.ovs.controllerRateLimit,
        controllerBurstLimit: this.cfg.ovs.controllerBurstLimit,
      },
      this.log.child({ component: 'agent.datapath' }),
    );
    if (this.cfg.peers.listen !== null) {
      await this.peers.listen(this.cfg.peers.listen);
      this.peerEndpoint = advertisedEndpoint(
        this.cfg.peers.advertise,
        this.peers.endpoint ?? this.cfg.peers.listen,
        this.cfg.tunnel.localIp ?? this.ctl.ports.localTunnelIp(),
      );
    }
    await this.link.listen();
    await this.datapath.ensureBridge();
    await this.datapath.ensureTunnels(this.cfg.tunnel.localIp ?? this.ctl.ports.localTunnelIp());
    await this.link.bindInterfaces();

    this.control = new ControlApi(
      this.controlSocket,
      (req) => this.controlRequest(req),
      this.log.child({ component: 'agent.control' }),
    );
    await this.control.start();
    if (this.store !== undefined) await this.startHeartbeat();
    else void this.reachLater(snap.position, log);
    // [ops] Metrics and health, read from the controller's counters at scrape time.
    this.metrics = await startAgentMetrics(
      this.cfg.metrics.listen,
      {
        hostId: this.hostId,
        version: AGENT_VERSION,
        stats: () => this.ctl.stats,
        liveFlows: () => this.ctl.flows.size,
        queueLength: () => this.queue.length,
        openflowConnected: () => this.link.connected,
        storeHead: () => this.reachedStore().position(),
      },
      this.log,
    );
    log.info({ openflow: this.ofSocket, control: this.controlSocket }, 'midonet-agent started');
  }

  /** [ops] Reload: flows installed from now on get this idle timeout (installed ones keep theirs). */
  setIdleTimeout(seconds: number): void {
    this.ctlCfg.idleTimeout = seconds;
  }

  // ---- the store, and starting without it ---------------------------------------------------------

  /**
   * Opens the store, registers this host and reads the topology. When the store cannot be reached
   * within STORE_START_MS and a local snapshot exists, the agent starts on the snapshot instead
   * (forwarding and simulating on what it last knew) and reaches the store in the background.
   */
  private async loadTopology(log: Logger): Promise<Snapshot> {
    const saved = readLocalSnapshot(this.snapshotPath);
    const reach = async (): Promise<{ store: TopologyStore; snap: Snapshot }> => {
      const store = await this.openStore(typeof saved !== 'string');
      try {
        await this.register(store);
        return { store, snap: await this.keeper.initial(store) };
      } catch (e) {
        await store.close().catch(() => undefined);
        throw e;
      }
    };
    if (typeof saved === 'string') {
      const { store, snap } = await reach(); // nothing to fall back on: wait for the store as ever
      this.store = store;
      this.keeper.setStore(store);
      this.savedPosition = -1;
      return snap;
    }
    const attempt = reach();
    try {
      const { store, snap } = await withDeadline(attempt, STORE_START_MS);
      this.store = store;
      this.keeper.setStore(store);
      return snap;
    } catch (e) {
      // A store reached after the deadline is closed; reachLater opens its own.
      attempt.then((r) => void r.store.close().catch(() => undefined)).catch(() => undefined);
      log.warn(
        {
          err: (e as Error).message,
          position: saved.position,
          savedAt: new Date(saved.savedAt).toISOString(),
          objects: saved.objects.length,
        },
        'store unreachable: starting on the local snapshot; the store is reached in the background',
      );
      this.savedPosition = saved.position;
      return saved;
    }
  }

  /** Follows the store from `position`: NAT blocks, learned state, the change feed. */
  private async follow(store: TopologyStore, position: number, log: Logger): Promise<void> {
    await this.natBlocks.recover();
    this.learnedWatch = store.watchLearned(0, {
      onEntries: (es) => {
        this.learnedAt = Date.now();
        // Until the switch's flows are judged, what an earlier run of this host learned counts too.
        this.send(this.ctl.applyLearned(es, Date.now(), !this.flowsJudged));
      },
      onError: (e) => log.error({ err: e.message }, 'learned-state watch failed'),
    });
    this.natRenew = setInterval(() => void this.natBlocks.renew(), this.natBlocks.leaseMs / 3);
    // From the snapshot's position: a position the log no longer holds is a resync (topology-feed.ts
    // applies only the difference).
    this.watch = store.watch(position, {
      onChanges: (cs) => this.onChanges(cs),
      onResync: (s) => this.onResync(s),
      onError: (e) => log.error({ err: e.message }, 'store watch failed'),
    });
  }

  private async startHeartbeat(): Promise<void> {
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), this.cfg.heartbeatMs);
  }

  /** Started on the local snapshot: tries the store every few seconds until it answers. */
  private async reachLater(position: number, log: Logger): Promise<void> {
    for (let delay = 1000; !this.stopped; delay = Math.min(delay * 2, 10000)) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.stopped) return;
      let store: TopologyStore | undefined;
      try {
        store = await this.openStore(true);
        await this.register(store);
        if (this.stopped) return void (await store.close());
        this.store = store;
        this.keeper.setStore(store);
        await this.follow(store, position, log);
        void this.keeper.recompute(); // what the local snapshot held may have moved on
      } catch (e) {
        this.store = undefined;
        this.keeper.setStore(undefined);
        this.closeFollowers();
        await store?.close().catch(() => undefined);
        log.debug({ err: (e as Error).message }, 'store still unreachable');
        continue;
      }
      await this.startHeartbeat();
      log.info({ from: position }, 'store reached: catching up from the local snapshot');
      return;
    }
  }

  /**
   * Opens the store. `mustExist`: this agent ran on it before (it has a local snapshot), so a missing
   * SQLite file is the store gone, not a new one to create empty.
   */
  private openStore(mustExist: boolean): Promise<TopologyStore> {
    // A locked SQLite file must not stop the event loop (packet-ins) for long: writes fail fast and
    // are retried (learned state, heartbeats, leases).
    return openStore(this.cfg.store, { busyTimeoutMs: AGENT_STORE_BUSY_MS, mustExist });
  }

  private closeFollowers(): void {
    this.watch?.close();
    this.learnedWatch?.close();
    if (this.natRenew) clearInterval(this.natRenew);
    this.watch = this.learnedWatch = this.natRenew = undefined;
  }

  /** The store, or an 'unavailable' error while it has not been reached since the agent started. */
  private reachedStore(): TopologyStore {
    if (this.store === undefined)
      throw new StoreError('unavailable', 'the store has not been reached since the agent started');
    return this.store;
  }

  private get snapshotPath(): string {
    return join(this.cfg.stateDir, LOCAL_SNAPSHOT_FILE);
  }

  /** Writes the local snapshot when the topology moved on since the last one. */
  private saveSnapshot(): void {
    const position = this.ctl.stats.lastChangeSeq;
    if (position === this.savedPosition || this.store === undefined) return;
    try {
      writeLocalSnapshot(this.snapshotPath, { position, objects: this.ctl.topology.objects() }, Date.now());
      this.savedPosition = position;
    } catch (e) {
      this.log.warn(
        { err: (e as Error).message, path: this.snapshotPath },
        'cannot write the local snapshot',
      );
    }
  }

  /** Registers this host in the store (by its stable id) if it is not there yet. */
  private async register(store: TopologyStore): Promise<void> {
    const mine = await store.get('host', this.hostId);
    if (mine) return;
    try {
      await store.create('host', { name: this.cfg.hostName }, { id: this.hostId });
    } catch (e) {
      if (e instanceof StoreError && e.code === 'exists') {
        const other = await store.resolve('host', this.cfg.hostName);
        throw new Error(
          `host name '${this.cfg.hostName}' is registered with id ${other.id}, but this machine's id is ${this.hostId} (${join(this.cfg.stateDir, 'host_uuid')}); put that id in the file or choose another hostName`,
        );
      }
      throw e;
    }
  }

  private async beat(): Promise<void> {
    try {
      await this.reachedStore().heartbeat(this.hostId, this.cfg.heartbeatMs * 3, {
        agentVersion: AGENT_VERSION,
        pid: process.pid,
        controlSocket: this.controlSocket,
        flows: this.ctl.flows.size,
        lastChangeApplied: this.ctl.stats.lastChangeSeq,
        openflowConnected: this.link.connected,
        ...(this.peerEndpoint !== null
          ? { peerEndpoint: this.peerEndpoint, peerKey: this.peers.publicKey }
          : {}),
      });
      await this.refreshPeers();
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'heartbeat failed');
    }
  }

  /**
   * Reads liveness: tunnel-zone membership follows it (nothing is flooded to a host that is down), and
   * the agents this one talks to directly are every live one that published an endpoint and a key.
   */
  private async refreshPeers(): Promise<void> {
    if (this.store === undefined) return;
    const live = await this.store.liveness();
    this.send(this.ctl.setLiveness(new Map(live.map((l) => [l.hostId, l.alive]))));
    this.peers.setPeers(
      live.flatMap((l) =>
        l.alive && typeof l.info.peerEndpoint === 'string' && typeof l.info.peerKey === 'string'
          ? [{ hostId: l.hostId, endpoint: l.info.peerEndpoint, key: l.info.peerKey }]
          : [],
      ),
    );
  }

  // ---- the switch ---------------------------------------------------------------------------------

  /**
   * Waits, at start-up, until the store's learned state (MAC and ARP tables, NAT bindings, tracked
   * connections) has come in: no new entry for 200 ms, at most 3 s after the watch began. Flows of an
   * earlier run are judged on it.
   */
  private async learnedSettled(): Promise<void> {
    for (;;) {
      const now = Date.now();
      if (now - this.learnedSince >= 3000) return;
      if (now - this.learnedSince >= 300 && now - this.learnedAt >= 200) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** What another agent sent: learned entries to use at once, or a reply flow to install. */
  private onPeerMessage(m: PeerMessage): void {
    switch (m.kind) {
      case 'learned':
        this.send(this.ctl.applyLearned(m.entries, Date.now()));
        break;
      case 'replyFlow':
        this.send(this.ctl.remoteReply(m.portId, m.packet, Date.now()));
        break;
      case 'flowState':
        this.send(this.ctl.applyFlowState(m.nat, m.ct, Date.now()));
        break;
    }
  }

  private send(msgs: readonly Outgoing[]): void {
    this.link.send(msgs);
  }

  // ---- topology changes (topology-feed.ts) -------------------------------------------------------

  /** A batch of the feed: what concerns the replica is applied; the position moves on in any case. */
  private onChanges(changes: readonly Change[]): void {
    if (this.feedBacklog !== undefined) return void this.feedBacklog.push([...changes]);
    const mine = this.keeper.filter(changes);
    if (mine.length > 0) this.afterFeed(applyChanges(this.ctl, mine, this.history));
    this.ctl.stats.lastChangeSeq = changes.at(-1)!.seq;
  }

  private onResync(snap: Snapshot): void {
    this.log.warn(
      { position: snap.position },
      'store watch fell behind the change log: reloading the topology',
    );
    // Batches that come while the snapshot is cut to the interest set are applied after it, in order.
    const backlog: Change[][] = (this.feedBacklog ??= []);
    void this.keeper.share(snap).then((mine) => {
      this.afterFeed(applySnapshot(this.ctl, mine, this.history));
      if (this.feedBacklog === backlog) this.feedBacklog = undefined;
      for (const cs of backlog) this.onChanges(cs);
    });
  }

  private afterFeed(r: FeedResult): void {
    this.ctl.stats.objectsHeld = this.ctl.topology.count();
    this.send(r.out);
    if (r.bindings) this.link.bindingsChanged();
  }

  /**
   * Publishes what the controller learned (learned-sync.ts): one publication at a time; a failed one
   * keeps its entries and is tried again after a back-off, so nothing learned during a store outage is
   * lost. Logged once when publications start failing and once when they succeed again.
   */
  private async flushLearned(): Promise<void> {
    const store = this.store;
    if (store === undefined) return; // kept until the store is reached
    const learned = this.ctl.learned;
    const entries = learned.take(Date.now());
    if (entries === undefined) return;
    let err: Error | undefined;
    try {
      await store.learn(entries);
    } catch (e) {
      err = e as Error;
    }
    if (learned.settle(entries, err === undefined, Date.now()))
      this.log.info({ waiting: learned.unpublished }, 'learned state published again');
    else if (err !== undefined && !this.publishFailing)
      this.log.warn(
        { err: err.message, waiting: learned.unpublished },
        'cannot publish learned state: kept, and tried again until the store takes it',
      );
    this.publishFailing = err !== undefined;
  }

  // ---- control API -------------------------------------------------------------------------------

  private controlRequest(req: Record<string, unknown>): Promise<unknown> {
    return controlRequest(
      {
        hostId: this.hostId,
        ctl: this.ctl,
        conn: this.link.conn,
        peers: () => ({
          endpoint: this.peerEndpoint,
          connected: this.peers.peerIds.length,
          ...this.peers.stats,
        }),
        send: (msgs) => this.send(msgs),
        history: this.history, // [ops]
      },
      req,
    );
  }

  // ---- shutdown ----------------------------------------------------------------------------------

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.metrics?.close(); // [ops]
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.closeFollowers();
    this.keeper?.close();
    if (this.learnedFlush) clearInterval(this.learnedFlush);
    if (this.flowStateSweep) clearInterval(this.flowStateSweep);
    if (this.tick) clearInterval(this.tick);
    if (this.snapshotSaver) clearInterval(this.snapshotSaver);
    if (this.snapshotSaver) this.saveSnapshot(); // the next start may find the store away
    this.control?.close();
    this.peers?.close();
    this.link?.close();
    // No goodbye: a stop is as often a restart (systemctl restart, an upgrade), and the datapath goes
    // on forwarding meanwhile; other agents would drop their flows towards this host at once. Its
    // liveness lapses after three heartbeats unless the next run renews it first.
    await this.store?.close();
  }
}

/**
 * The endpoint other agents connect to: the configured one, else the bound endpoint with a wildcard
 * host replaced by this host's tunnel address.
 */
export function advertisedEndpoint(advertise: string | null, bound: string, tunnelIp: string | null): string {
  if (advertise !== null) return advertise;
  const m = /^tcp:\/\/(.+):(\d+)$/.exec(bound);
  if (m === null) return bound;
  const host = m[1] === '0.0.0.0' || m[1] === '*' ? (tunnelIp ?? '127.0.0.1') : m[1]!;
  return `tcp://${host}:${m[2]}`;
}
