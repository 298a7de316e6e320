/**
 * midonet-agent, the per-hypervisor daemon: wires the store (topology replica and change feed, host
 * registration and liveness), Open vSwitch (br-int set-up, proactive flows with ovs-ofctl, the
 * OpenFlow 1.3 channel on a unix socket) and the controller logic (controller.ts), plus the control API.
 *
 * Invariants:
 * - The OpenFlow socket (in OVS's run directory, the only place OVS accepts a unix controller) listens
 *   before br-int is pointed at it, and is mode 0600.
 * - On every (re)connection of OVS the agent deletes all reactive flows (it cannot vouch for flows it
 *   did not install in this run) and replaces all proactive flows in one bundle: no stale flow
 *   survives a restart, and tunnel delivery has no gap.
 * - A packet-in is answered in the socket callback that delivered it (no wait on the event loop);
 *   beyond a batch per callback, packet-ins wait in a bounded queue, drained in batches between which
 *   store changes are applied; when the queue is full new packet-ins are dropped and counted.
 * - Store changes are applied to the replica in commit order, and the flows their tags name are
 *   deleted in the same turn, before any later packet-in is simulated.
 *
 * Over 450 lines: the daemon's wiring (store, switch connection and its reconciliation, peers, timers, control). To split next: the switch connection (onSwitch, reconcile, bindings) into a module of its own.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { performance } from 'node:perf_hooks';
import { OFPCML, type Outgoing, type PacketInView } from '../openflow/index.js';
import { Topology } from '../sim/topology.js';
import type { Tag } from '../sim/tags.js';
import { StoreError } from '../state/errors.js';
import type { Obj } from '../state/model.js';
import { openStore } from '../state/open.js';
import type { Change, Snapshot, TopologyStore, Watch } from '../state/store.js';
import type { AgentConfig } from './config.js';
import { ControlApi } from '../control/control-api.js';
import { bgpSteeringFlows } from './bgp-steering.js';
import { AGENT_VERSION, controlRequest } from './control-requests.js';
import { PacketInQueue } from './packet-in-queue.js';
import { FlowController, TUNNEL_ZONES_TAG, type ControllerConfig } from './controller.js';
import { deleteByCookie } from './flow-mods.js';
import type { PeerMessage } from './peer-codec.js';
import { loadOrCreateKeys } from './peer-keys.js';
import { PeerChannel } from './peers.js';
import { NatBlockLeaser } from './nat-blocks.js';
import { DhcpService } from './dhcp-service.js';
import { Datapath } from './datapath.js';
import { PROACTIVE_COOKIE_BIT } from './flow-table.js';
import { adoptFlows } from './flow-adoption.js';
import { stableHostId } from './host-id.js';
import { OpenFlowConnection } from './of-connection.js';
import { Ovs } from '../ovs/ovs.js';
import { startAgentMetrics } from './metrics.js';
import { FlowHistory } from './flow-history.js'; // [ops]
import type { MetricsServer } from '../metrics/server.js';

export { AGENT_VERSION, matchText } from './control-requests.js';

export class AgentDaemon {
  hostId = '';
  private store!: TopologyStore;
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
  private ctl!: FlowController;
  private datapath!: Datapath;
  private server: Server | undefined;
  private conn: OpenFlowConnection | undefined;
  private control: ControlApi | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private queue!: PacketInQueue;
  private bindingsDirty = false;
  private syncing: Promise<void> = Promise.resolve();
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
    this.store = await openStore(this.cfg.store);
    await this.register();
    const snap = await this.store.snapshot();
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
      (pi, arrived) => this.handleOne(pi, arrived),
      this.cfg.packetInQueue,
      () => this.ctl.stats.queueDrops++,
    );
    this.ctl = new FlowController(topology, this.ctlCfg, this.log.child({ component: 'agent.flows' }), {
      peers: this.peers,
      natBlocks: { want: (ip, proto, from, to) => void this.natBlocks.want(ip, proto, from, to) },
      dhcp: { request: (dhcpId, portId, frame) => void this.dhcp.request(dhcpId, portId, frame) },
    });
    this.dhcp = new DhcpService({
      store: () => this.store,
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
      () => this.store,
      this.hostId,
      (ip, proto, ranges) => this.send(this.ctl.natBlocksGranted(ip, proto, ranges, Date.now())),
      (ip, proto) => this.send(this.ctl.natExhausted(ip, proto, Date.now())),
      this.log.child({ component: 'agent.nat' }),
    );
    await this.natBlocks.recover();
    this.ctl.stats.lastChangeSeq = snap.position;
    this.history.attach(this.ctl.flows); // [ops]
    log.info(
      { hostId: this.hostId, objects: snap.objects.length, position: snap.position },
      'topology loaded',
    );
    this.learnedSince = Date.now();
    this.learnedWatch = this.store.watchLearned(0, {
      onEntries: (es) => {
        this.learnedAt = Date.now();
        // Until the switch's flows are judged, what an earlier run of this host learned counts too.
        this.send(this.ctl.applyLearned(es, Date.now(), !this.flowsJudged));
      },
      onError: (e) => log.error({ err: e.message }, 'learned-state watch failed'),
    });
    this.learnedFlush = setInterval(() => void this.flushLearned(), 20);
    // Flow state ages with the traffic: aged entries go with their flows each second; state that
    // installed flows use is renewed with the hosts holding copies a few times per lifetime.
    let sweeps = 0;
    this.tick = setInterval(() => this.send(this.ctl.tick(Date.now())), 200);
    this.natRenew = setInterval(() => void this.natBlocks.renew(), this.natBlocks.leaseMs / 3);
    this.flowStateSweep = setInterval(() => {
      const renew = ++sweeps % Math.max(1, Math.floor(this.ctl.flowState.idleMs / 3000)) === 0;
      this.send(this.ctl.sweepFlowState(Date.now(), renew));
    }, 1000);
    this.watch = this.store.watch(snap.position, {
      onChanges: (cs) => this.onChanges(cs),
      onResync: (s) => this.onResync(s),
      onError: (e) => log.error({ err: e.message }, 'store watch failed'),
    });

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
    await this.listen();
    await this.datapath.ensureBridge();
    await this.datapath.ensureTunnels(this.cfg.tunnel.localIp ?? this.ctl.ports.localTunnelIp());
    await this.bindInterfaces();

    this.control = new ControlApi(
      this.controlSocket,
      (req) => this.controlRequest(req),
      this.log.child({ component: 'agent.control' }),
    );
    await this.control.start();
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), this.cfg.heartbeatMs);
    // [ops] Metrics and health, read from the controller's counters at scrape time.
    this.metrics = await startAgentMetrics(
      this.cfg.metrics.listen,
      {
        hostId: this.hostId,
        version: AGENT_VERSION,
        stats: () => this.ctl.stats,
        liveFlows: () => this.ctl.flows.size,
        queueLength: () => this.queue.length,
        openflowConnected: () => this.conn !== undefined && !this.conn.closed,
        storeHead: () => this.store.position(),
      },
      this.log,
    );
    log.info({ openflow: this.ofSocket, control: this.controlSocket }, 'midonet-agent started');
  }

  /** [ops] Reload: flows installed from now on get this idle timeout (installed ones keep theirs). */
  setIdleTimeout(seconds: number): void {
    this.ctlCfg.idleTimeout = seconds;
  }

  /** Registers this host in the store (by its stable id) if it is not there yet. */
  private async register(): Promise<void> {
    const mine = await this.store.get('host', this.hostId);
    if (mine) return;
    try {
      await this.store.create('host', { name: this.cfg.hostName }, { id: this.hostId });
    } catch (e) {
      if (e instanceof StoreError && e.code === 'exists') {
        const other = await this.store.resolve('host', this.cfg.hostName);
        throw new Error(
          `host name '${this.cfg.hostName}' is registered with id ${other.id}, but this machine's id is ${this.hostId} (${join(this.cfg.stateDir, 'host_uuid')}); put that id in the file or choose another hostName`,
        );
      }
      throw e;
    }
  }

  private async beat(): Promise<void> {
    try {
      await this.store.heartbeat(this.hostId, this.cfg.heartbeatMs * 3, {
        agentVersion: AGENT_VERSION,
        pid: process.pid,
        controlSocket: this.controlSocket,
        flows: this.ctl.flows.size,
        lastChangeApplied: this.ctl.stats.lastChangeSeq,
        openflowConnected: this.conn !== undefined && !this.conn.closed,
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

  // ---- OpenFlow ----------------------------------------------------------------------------------

  private listen(): Promise<void> {
    rmSync(this.ofSocket, { force: true });
    this.server = createServer((s) => void this.onSwitch(s));
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.ofSocket, () => {
        chmodSync(this.ofSocket, 0o600);
        resolve();
      });
    });
  }

  private async onSwitch(socket: Socket): Promise<void> {
    const log = this.log.child({ component: 'agent.openflow' });
    const conn = new OpenFlowConnection(socket, log);
    // Port changes may arrive at any time from here on; none may be missed.
    const ifaces = this.ctl.ports.ifaceOfport;
    conn.on('portStatus', (ps) => {
      if (ps.reason === 'delete') ifaces.delete(ps.port.name);
      else ifaces.set(ps.port.name, ps.port.portNo);
      if (this.conn === conn) this.scheduleBindingSync();
    });
    conn.on('ofError', (e) => log.warn({ err: e }, 'switch reported an error'));
    conn.on('close', () => {
      if (this.conn === conn) this.conn = undefined;
      if (!this.stopped) log.warn('switch disconnected');
    });
    try {
      const dpid = await conn.handshake();
      this.conn?.close();
      ifaces.clear();
      // Packet-ins on miss, action and invalid TTL (dec_nw_ttl expiring a packet: the agent answers
      // ICMP time exceeded); every port status; every flow removal.
      conn.setAsync(0b111, 0b111, 0b1111);
      conn.send({ type: 'set_config', flags: 0, missSendLen: OFPCML.NO_BUFFER });
      const ports = await conn.portDescriptions();
      for (const p of ports) ifaces.set(p.name, p.portNo);
      // Reconcile: the reactive flows of an earlier run that are still right are kept, the others
      // deleted (flow-adoption.ts), judged on the state learned so far; all proactive flows are replaced.
      this.history.reset('the switch (re)connected: flows of the earlier run judged again'); // [ops]
      this.ctl.forgetFlows();
      this.ctl.ports.refreshBindings(); // which OpenFlow port is which virtual port, for the judging
      await this.learnedSettled();
      const found = await conn.flowStats(0n, PROACTIVE_COOKIE_BIT);
      const judged = adoptFlows(this.ctl, found, this.ctlCfg.priority, Date.now());
      this.ctl.stats.flowsDiscarded += judged.dropped;
      conn.sendAll(judged.out);
      this.flowsJudged = true;
      log.info(
        { kept: judged.kept, deleted: judged.dropped, firstDeleted: judged.why },
        'flows of an earlier run judged',
      );
      this.conn = conn;
      conn.on('packetIn', (pi, arrived) => this.queue.offer(pi, arrived));
      conn.on('flowRemoved', (fr) => {
        this.history.fromSwitch(fr); // [ops]
        this.ctl.flowRemoved(Number(fr.cookie));
      });
      await conn.barrier();
      await this.syncBindings(true);
      log.info({ datapathId: `0x${dpid.toString(16)}`, ports: ports.length }, 'switch connected');
    } catch (e) {
      log.error({ err: (e as Error).message }, 'switch handshake failed');
      conn.close();
    }
  }

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
    this.conn?.sendAll(msgs);
  }

  private handleOne(pi: PacketInView, arrived: number): void {
    try {
      this.send(this.ctl.packetIn(pi, Date.now()));
    } catch (e) {
      this.ctl.stats.ignored++;
      this.log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'packet-in handling failed');
    }
    this.ctl.stats.packetInLatency.observe((performance.now() - arrived) * 1000);
  }

  // ---- topology changes --------------------------------------------------------------------------

  private onChanges(changes: readonly Change[]): void {
    const ctl = this.ctl;
    this.history.changes(changes); // [ops]
    let tunnelZones = false;
    let bindings = false;
    for (const c of changes) {
      if (c.kind === 'tunnel-zone') tunnelZones = true;
      if (c.kind === 'bgp-peer') bindings = true; // BGP steering flows follow the peers (bgp-steering.ts)
      if (c.kind === 'port') {
        const before = ctl.topology.get('port', c.id);
        const after = c.op === 'delete' ? undefined : (c.object as Obj<'port'>);
        if (before?.hostId === this.hostId || after?.hostId === this.hostId) bindings = true;
      }
    }
    const deletedPorts = changes.filter((c) => c.kind === 'port' && c.op === 'delete').map((c) => c.id);
    const tags: Tag[] = ctl.topology.apply(changes);
    if (deletedPorts.length > 0) tags.push(...ctl.portsDeleted(deletedPorts));
    ctl.stats.changesApplied += changes.length;
    ctl.stats.lastChangeSeq = changes.at(-1)!.seq;
    const extra: string[] = [];
    if (tunnelZones) {
      ctl.ports.tunnelZonesChanged();
      extra.push(TUNNEL_ZONES_TAG);
    }
    this.send(ctl.invalidate([...tags, ...extra]));
    if (bindings) {
      this.bindingsDirty = true;
      void this.bindInterfaces().then(() => this.scheduleBindingSync());
    }
  }

  // ---- store resync --------------------------------------------------------------------------------
  // [state] The smallest correct handling of a resync (the watch fell behind the compacted change log,
  // store.ts): the replica is rebuilt from the snapshot and every reactive flow is invalidated, since
  // no tag can say what changed meanwhile; bindings and proactive flows are redone. To be refined
  // (e.g. diff the snapshot against the replica and invalidate only what differs).
  private onResync(snap: Snapshot): void {
    const ctl = this.ctl;
    this.log.warn(
      { position: snap.position },
      'store watch fell behind the change log: reloading the topology',
    );
    const kept = new Set(snap.objects.filter((o) => o.kind === 'port').map((o) => o.object.id));
    const gone = ctl.topology
      .all('port')
      .filter((p) => !kept.has(p.id))
      .map((p) => p.id);
    ctl.topology = Topology.from(snap.objects as never);
    ctl.portsDeleted(gone);
    ctl.stats.lastChangeSeq = snap.position;
    ctl.ports.tunnelZonesChanged();
    this.history.reset(
      'the store watch fell behind the change log and resynced: every reactive flow dropped',
    ); // [ops]
    ctl.forgetFlows();
    this.send([deleteByCookie(0n, PROACTIVE_COOKIE_BIT)]);
    this.bindingsDirty = true;
    void this.bindInterfaces().then(() => this.scheduleBindingSync());
  }

  /** Adds every locally bound interface to br-int with its iface-id (idempotent). */
  private async bindInterfaces(): Promise<void> {
    for (const [iface, p] of this.ctl.ports.localBindings()) {
      try {
        await this.datapath.bindInterface(iface, p.id);
      } catch (e) {
        this.log.warn(
          { err: (e as Error).message, iface, port: p.name },
          'cannot add bound interface to the bridge',
        );
      }
    }
  }

  private scheduleBindingSync(): void {
    this.bindingsDirty = true;
    this.syncing = this.syncing.then(() => (this.bindingsDirty ? this.syncBindings(false) : undefined));
  }

  private async syncBindings(replaceAll: boolean): Promise<void> {
    this.bindingsDirty = false;
    const { deliveries, moved } = this.ctl.ports.refreshBindings();
    this.send(this.ctl.invalidate(moved));
    try {
      // BGP speaker steering: extra proactive lines (bgp-steering.ts).
      const steering = bgpSteeringFlows(this.ctl.topology, this.hostId, this.ctl.ports.ifaceOfport);
      await this.datapath.syncProactive(
        [...this.ctl.ports.tunnelOfports.values()],
        deliveries,
        replaceAll,
        steering,
      );
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'proactive flow sync failed');
    }
  }

  private async flushLearned(): Promise<void> {
    const entries = this.ctl.learned.take();
    if (entries.length === 0) return;
    try {
      await this.store.learn(entries);
    } catch (e) {
      this.log.warn({ err: (e as Error).message, entries: entries.length }, 'cannot publish learned state');
    }
  }

  // ---- control API -------------------------------------------------------------------------------

  private controlRequest(req: Record<string, unknown>): Promise<unknown> {
    return controlRequest(
      {
        hostId: this.hostId,
        ctl: this.ctl,
        conn: this.conn,
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
    this.watch?.close();
    this.learnedWatch?.close();
    if (this.learnedFlush) clearInterval(this.learnedFlush);
    if (this.flowStateSweep) clearInterval(this.flowStateSweep);
    if (this.tick) clearInterval(this.tick);
    if (this.natRenew) clearInterval(this.natRenew);
    this.control?.close();
    this.peers?.close();
    this.conn?.close();
    this.server?.close();
    rmSync(this.ofSocket, { force: true });
    // No goodbye: a stop is as often a restart (systemctl restart, an upgrade), and the datapath goes
    // on forwarding meanwhile; other agents would drop their flows towards this host at once. Its
    // liveness lapses after three heartbeats unless the next run renews it first.
    await this.store.close();
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
