/**
 * midonet-router, the BGP process beside the agent: this module wires the process together. It opens
 * the store (standing by to lead the commit relay), finds its host, keeps the replica of the objects
 * BGP depends on (replica.ts) in step with the change feed, and runs leadership per uplink with its
 * speakers and route import (uplinks.ts) on one queue; it publishes its peers (published.ts) through
 * its heartbeat, its control socket and the metrics endpoint.
 *
 * Invariants:
 * - All work (reconcile, election events, polls, live reads, shutdown) runs one step at a time on one
 *   queue, so a speaker is never created, updated and destroyed concurrently; a failed step is logged
 *   and the queue goes on.
 * - Nothing is started once stopping has begun (only the stop step runs).
 * - Killing the process leaves the datapath (flows, FRR) alone; the next leader recreates the speaker.
 */
import { daemonRegistry, startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { registerBgpMetrics } from '../metrics/bgp-metrics.js';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { ControlApi } from '../control/control-api.js';
import { Ovs } from '../ovs/ovs.js';
import { followChanges } from '../state/follow.js';
import { openStore } from '../state/open.js';
import type { TopologyStore, Watch } from '../state/store.js';
import type { RouterConfig } from './config.js';
import { portStats, publishedPeers, sessionSamples, type PublishedPeer } from './published.js';
import { Replica } from './replica.js';
import { Uplinks } from './uplinks.js';

export type { PublishedPeer } from './published.js';

export const ROUTER_VERSION = '0.1.0';
/** Role written in this process's liveness record, for the CLI to find it. */
export const ROUTER_ROLE = 'midonet-router';

export class RouterDaemon {
  hostId = '';
  private store!: TopologyStore;
  private readonly replica = new Replica();
  private readonly uplinks: Uplinks;
  private watch: Watch | undefined;
  private control: ControlApi | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private pollQueued = false;
  private reconcileQueued = false;
  private stopped = false;
  private readonly candidate = `${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly controlSocket: string;
  private metrics: MetricsServer | undefined;

  constructor(
    readonly cfg: RouterConfig,
    private readonly log: Logger,
  ) {
    this.controlSocket = join(cfg.runDir, 'router-control.sock');
    this.uplinks = new Uplinks({
      store: () => this.store,
      hostId: () => this.hostId,
      candidate: this.candidate,
      replica: this.replica,
      cfg,
      ovs: new Ovs({ dbSock: cfg.ovs.dbSock, runDir: cfg.ovs.runDir }),
      log,
      enqueue: (what, step) => this.enqueue(what, step),
    });
  }

  get livenessId(): string {
    return `${ROUTER_ROLE}:${this.hostId}:${this.candidate}`;
  }

  async start(): Promise<void> {
    // The store first, and nothing made on this host before it is open and this host found in it: a
    // start that fails there (no store, not a store, no such host) leaves no directory behind. The
    // store must exist already (an embedded one is not made here): the agent registered this host in
    // it. On the distributed backend the router stands by to lead the commit relay while no API
    // server does (writers then still share grouped commits); the store URL's `relay=` overrides it.
    this.store = await openStore(this.cfg.store, {
      relay: 'standby',
      mustExist: true,
      logger: this.log.child({ component: 'router.store' }),
    });
    this.hostId = await this.findHost();
    const snap = await this.store.snapshot();
    this.replica.load(snap.objects, snap.position);
    this.watch = followChanges(
      this.store,
      snap.position,
      {
        onChanges: (cs) => {
          if (this.replica.apply(cs)) this.scheduleReconcile();
        },
        // The watch fell behind the compacted change log, or failed: take the whole state and
        // reconcile from it.
        onResync: (s) => {
          this.replica.load(s.objects, s.position);
          this.scheduleReconcile();
        },
      },
      { log: this.log },
    );
    mkdirSync(this.cfg.runDir, { recursive: true });
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
      registerBgpMetrics(registry, () => sessionSamples(this.uplinks.ports.values()));
      this.metrics = await startMetricsServer({
        listen: this.cfg.metrics.listen,
        registry,
        health: () =>
          Promise.resolve({ ok: !this.stopped, store: this.store.url, ports: this.uplinks.ports.size }),
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
      await this.uplinks.reconcile();
    });
  }

  private schedulePoll(): void {
    if (this.pollQueued) return;
    this.pollQueued = true;
    void this.enqueue('poll', async () => {
      this.pollQueued = false;
      await this.uplinks.poll();
    });
  }

  // ---- publishing --------------------------------------------------------------------------------

  /** Every peer this process knows for its host, with live state where it leads. */
  peers(): PublishedPeer[] {
    return publishedPeers(this.uplinks.ports.values(), this.uplinks.problems, this.replica);
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
      case 'peers':
        // Live: read FRR now for the ports this process leads.
        await this.enqueue('peers', () => this.uplinks.refreshStates());
        return this.peers();
      case 'stats':
        return {
          hostId: this.hostId,
          pid: process.pid,
          ports: portStats(this.uplinks.ports.values()),
          problems: this.uplinks.problems,
        };
      default:
        throw new Error(`unknown command ${JSON.stringify(req.cmd)}; allowed: peers, stats`);
    }
  }

  // ---- shutdown ----------------------------------------------------------------------------------

  /** Stops FRR instances, removes their namespaces and learned routes, leaves the elections. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.poller) clearInterval(this.poller);
    this.watch?.close();
    await this.enqueue('stop', () => this.uplinks.stopAll());
    this.control?.close();
    await this.metrics?.close();
    if (this.store) {
      await this.store.goodbye(this.livenessId).catch(() => undefined);
      await this.store.close();
    }
  }
}
