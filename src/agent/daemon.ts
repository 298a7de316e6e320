/**
 * midonet-agent, the per-hypervisor daemon: wires the store (store-link.ts: topology replica and
 * change feed, host registration and liveness, learned state), Open vSwitch (br-int set-up and the
 * switch connection, switch-link.ts), the controller logic (controller.ts), peers, timers and the control API.
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
 *   switch-link.ts's; the store's (starting on the local snapshot, learned state never lost) are
 *   store-link.ts's.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Outgoing } from '../openflow/index.js';
import { Topology } from '../sim/topology.js';
import type { Change, Snapshot } from '../state/store.js';
import { StoreLink } from './store-link.js';
import type { AgentConfig } from './config.js';
import { ControlApi } from '../control/control-api.js';
import { AGENT_VERSION, controlRequest } from './control-requests.js';
import { Rehearsal } from './rehearsal.js';
import { PacketInQueue } from './packet-in-queue.js';
import { PacketInAnswerer } from './packet-in-answer.js';
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
export { AGENT_STORE_BUSY_MS } from './store-link.js';

export class AgentDaemon {
  hostId = '';
  private storeLink!: StoreLink;
  private flowStateSweep: NodeJS.Timeout | undefined;
  /** Retries of what held packets wait for (ARP, SNAT ports), and their deadlines. */
  private tick: NodeJS.Timeout | undefined;
  private natBlocks!: NatBlockLeaser;
  private dhcp!: DhcpService;
  private peers!: PeerChannel;
  /** The endpoint other agents reach this one at (null: the channel is off). */
  private peerEndpoint: string | null = null;
  private ctl!: FlowController;
  /** What of the topology the replica holds (all of it, or the interest set: interest-keeper.ts). */
  private keeper!: InterestKeeper;
  /** A resync's snapshot is being cut to the interest set: feed batches wait here meanwhile. */
  private feedBacklog: Change[][] | undefined;
  private datapath!: Datapath;
  private link!: SwitchLink;
  private control: ControlApi | undefined;
  private queue!: PacketInQueue;
  /** Keeps the first-packet path warm while idle (rehearsal.ts; flows.rehearseMs). */
  private rehearsal: Rehearsal | undefined;
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
    this.storeLink = new StoreLink({
      cfg: this.cfg,
      hostId: this.hostId,
      keeper: this.keeper,
      ctl: () => this.ctl,
      natBlocks: () => this.natBlocks,
      send: (msgs) => this.send(msgs),
      onChanges: (cs) => this.onChanges(cs),
      onResync: (s) => this.onResync(s),
      ...(this.keeper.onDemand ? { devices: () => this.heldDevices() } : {}),
      heartbeatInfo: () => ({
        controlSocket: this.controlSocket,
        flows: this.ctl.flows.size,
        lastChangeApplied: this.ctl.stats.lastChangeSeq,
        openflowConnected: this.link.connected,
        ...(this.peerEndpoint !== null
          ? { peerEndpoint: this.peerEndpoint, peerKey: this.peers.publicKey }
          : {}),
      }),
      afterBeat: () => this.refreshPeers(),
      log: this.log.child({ component: 'agent.store' }),
    });
    const snap = await this.storeLink.load();
    const topology = Topology.from(snap.objects as never);
    this.ctlCfg = {
      hostId: this.hostId,
      idleTimeout: this.cfg.flows.idleTimeout,
      priority: this.cfg.flows.priority,
      macLifetimeMs: this.cfg.macLifetimeMs,
      replyWaitMs: this.cfg.flows.replyWaitMs,
    };
    this.peers = new PeerChannel(
      this.hostId,
      loadOrCreateKeys(this.cfg.stateDir),
      (m) => this.onPeerMessage(m),
      this.log.child({ component: 'agent.peers' }),
      () => this.refreshPeers(),
    );
    const answers = new PacketInAnswerer(
      () => this.ctl,
      (m) => this.send(m),
      this.log,
      this.cfg.flows.answerPerTurn,
    );
    this.queue = new PacketInQueue(
      (pi, arrived) => answers.answer(pi, arrived),
      this.cfg.packetInQueue,
      () => this.ctl.stats.queueDrops++,
    );
    this.ctl = new FlowController(topology, this.ctlCfg, this.log.child({ component: 'agent.flows' }), {
      peers: this.peers,
      later: (ms, release) => void setTimeout(() => this.send(release()), ms),
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
    if (this.cfg.flows.rehearseMs > 0) {
      this.rehearsal = new Rehearsal(
        () => this.ctl,
        this.cfg.flows.rehearseMs,
        this.log.child({ component: 'agent.rehearsal' }),
      );
      this.rehearsal.start();
    }
    // Learned MAC/ARP/ND entries of other agents only for the devices held (interest-learned.ts).
    if (this.keeper.onDemand)
      this.ctl.learned.scopeTo((kind, id) => this.ctl.topology.get(kind, id) !== undefined);
    this.ctl.stats.objectsHeld = topology.count();
    this.link = new SwitchLink({
      socket: this.ofSocket,
      ctl: () => this.ctl,
      datapath: () => this.datapath,
      priority: () => this.ctlCfg.priority,
      history: this.history,
      learnedSettled: () => this.storeLink.learnedSettled(),
      onJudged: () => this.storeLink.judged(),
      onPacketIn: (pi, arrived) => {
        this.rehearsal?.noted(pi, arrived);
        this.queue.offer(pi, arrived);
      },
      beforeWrite: () => answers.flushPending(),
      log: this.log.child({ component: 'agent.openflow' }),
    });
    this.dhcp = new DhcpService({
      store: () => this.storeLink.reached(),
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
      () => this.storeLink.reached(),
      this.hostId,
      {
        granted: (ip, proto, ranges) =>
          this.send(this.ctl.waits.natBlocksGranted(ip, proto, ranges, Date.now())),
        exhausted: (ip, proto) => this.send(this.ctl.waits.natExhausted(ip, proto, Date.now())),
        waiting: (ip, proto) => this.ctl.waits.portsWaiting(ip, proto),
      },
      this.log.child({ component: 'agent.nat' }),
    );
    this.ctl.stats.lastChangeSeq = snap.position;
    this.storeLink.saveSnapshot();
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
    await this.storeLink.start(snap.position);
    // Flow state ages with the traffic: aged entries go with their flows each second; state that
    // installed flows use is renewed with the hosts holding copies a few times per lifetime.
    let sweeps = 0;
    this.tick = setInterval(() => this.send(this.ctl.waits.tick(Date.now())), 200);
    this.flowStateSweep = setInterval(() => {
      const renew = ++sweeps % Math.max(1, Math.floor(this.ctl.flowState.idleMs / 3000)) === 0;
      this.send(this.ctl.sharing.sweep(Date.now(), renew));
      this.send(this.ctl.ageMacs(Date.now()));
      this.send(this.ctl.routerAdverts(Date.now())); // unsolicited, every 200-600 s per router port
      this.keeper.expireAsked(Date.now());
    }, 1000);

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
    await this.storeLink.startHeartbeat(snap.position);
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
        storeHead: () => this.storeLink.reached().position(),
      },
      this.log,
    );
    log.info({ openflow: this.ofSocket, control: this.controlSocket }, 'midonet-agent started');
  }

  /**
   * [ops] Reload: the idle timeout, for every reactive flow from the next sweep on (idle-expiry.ts),
   * which comes within the new timeout's sweep period.
   */
  setIdleTimeout(seconds: number): void {
    this.ctlCfg.idleTimeout = seconds;
    this.link.idleTimeoutChanged();
  }

  // ---- liveness and peers ------------------------------------------------------------------------

  /**
   * Reads liveness: tunnel-zone membership follows it (nothing is flooded to a host that is down), and
   * the agents this one talks to directly are every live one that published an endpoint and a key.
   */
  private async refreshPeers(): Promise<void> {
    const store = this.storeLink.current;
    if (store === undefined) return;
    const live = await store.liveness();
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

  /** What another agent sent: learned entries to use at once, or a reply flow to install. */
  private onPeerMessage(m: PeerMessage): void {
    switch (m.kind) {
      case 'learned':
        this.send(this.ctl.applyLearned(m.entries, Date.now()));
        break;
      case 'replyFlow':
        this.send(this.ctl.remoteReply(m.portId, m.packet, Date.now()));
        // Written to the switch: the asking agent may let the forward packet go (flow-sharing.ts).
        if (m.id !== 0) this.peers.send(m.from, { kind: 'replyFlowDone', from: this.hostId, id: m.id });
        break;
      case 'replyFlowDone':
        this.send(this.ctl.sharing.answered(m.from, m.id));
        break;
      case 'flowState':
        this.send(this.ctl.sharing.apply(m.nat, m.ct, Date.now()));
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
    void this.keeper
      .share(snap)
      .catch((e: Error) => {
        // Never left waiting: the whole snapshot is held until the next walk cuts it down.
        this.log.error({ err: e.message, stack: e.stack }, 'cannot cut the snapshot to the interest set');
        return snap;
      })
      .then((mine) => {
        this.afterFeed(applySnapshot(this.ctl, mine, this.history));
        if (this.feedBacklog === backlog) this.feedBacklog = undefined;
        for (const cs of backlog) this.onChanges(cs);
      });
  }

  private afterFeed(r: FeedResult): void {
    this.ctl.stats.objectsHeld = this.ctl.topology.count();
    this.send(r.out);
    if (r.bindings) this.link.bindingsChanged();
    if (r.devicesMoved) this.storeLink.devicesMoved();
  }

  /** The bridges and routers held (whose learned state an agent loading on demand subscribes to). */
  private *heldDevices(): Iterable<string> {
    for (const kind of ['bridge', 'router'] as const) for (const o of this.ctl.topology.all(kind)) yield o.id;
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
    this.storeLink?.stop(); // the local snapshot is written: the next start may find the store away
    this.keeper?.close();
    if (this.flowStateSweep) clearInterval(this.flowStateSweep);
    if (this.tick) clearInterval(this.tick);
    this.control?.close();
    this.peers?.close();
    this.link?.close();
    this.rehearsal?.stop();
    // No goodbye: a stop is as often a restart (systemctl restart, an upgrade), and the datapath goes
    // on forwarding meanwhile; other agents would drop their flows towards this host at once. Its
    // liveness lapses after three heartbeats unless the next run renews it first.
    await this.storeLink?.close();
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
