/**
 * The agent's side of the store: opening it (or starting on the local snapshot without it), this
 * host's registration and heartbeat, following it (the change feed, the learned-state watch, NAT
 * block leases), publishing what the agent learned, and the local snapshot.
 *
 * Invariants:
 * - Starting without the store: when it cannot be reached within STORE_START_MS and a local snapshot
 *   exists (local-snapshot.ts, written when the topology moved on and at stop), the agent starts on
 *   the snapshot and follows the store from the snapshot's position once it answers; it never
 *   creates an empty SQLite store in place of a missing file it ran on before.
 * - Learned state is published one publication at a time; a failed one keeps its entries and is
 *   tried again, so nothing learned during a store outage is lost.
 * - Until the switch's flows of an earlier run are judged, learned entries of that run count too.
 * - An agent that loads on demand (`devices` given) subscribes to the learned state of the bridges and
 *   routers it holds, in the store (store.ts `LearnedWatchOptions`): when devices enter or leave the
 *   interest set (`devicesMoved`), the watch's set follows, so a device that entered gets its current
 *   MAC/ARP/ND entries and then its changes, and the store sends nothing of the others. A watch
 *   started again (the store reached later) skips flow state (NAT, connections) delivered before.
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Outgoing } from '../openflow/index.js';
import { StoreError } from '../state/errors.js';
import { learnedDevice } from '../state/learned-scope.js';
import { followChanges } from '../state/follow.js';
import { openStore } from '../state/open.js';
import type { Change, LearnedWatch, Snapshot, TopologyStore, Watch } from '../state/store.js';
import type { AgentConfig } from './config.js';
import { AGENT_VERSION } from './control-requests.js';
import type { FlowController } from './controller.js';
import type { InterestKeeper } from './interest-keeper.js';
import { readLocalSnapshot, writeLocalSnapshot } from './local-snapshot.js';
import type { NatBlockLeaser } from './nat-blocks.js';

/** How long an agent's write to a SQLite store waits for another process's write lock (ms). */
export const AGENT_STORE_BUSY_MS = 100;

/** How long start-up waits for the store before it starts on the local snapshot (when there is one). */
const STORE_START_MS = 10000;
/** How often the local snapshot is written when the topology changed. */
const LOCAL_SNAPSHOT_MS = 5000;
const LOCAL_SNAPSHOT_FILE = 'topology-snapshot.json';
/** How often what the agent learned is published. */
const LEARNED_FLUSH_MS = 20;

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

export interface StoreLinkDeps {
  cfg: AgentConfig;
  hostId: string;
  keeper: InterestKeeper;
  ctl: () => FlowController;
  natBlocks: () => NatBlockLeaser;
  send: (msgs: readonly Outgoing[]) => void;
  onChanges: (changes: readonly Change[]) => void;
  onResync: (snap: Snapshot) => void;
  /** On-demand loading: the bridges and routers held, whose learned state is subscribed to; undefined: all. */
  devices?: () => Iterable<string>;
  /** What the heartbeat tells other hosts beyond the version and pid. */
  heartbeatInfo: () => Record<string, unknown>;
  /** Called after each heartbeat (liveness and peers are read then). */
  afterBeat: () => Promise<void>;
  log: Logger;
}

export class StoreLink {
  /** Undefined until the store is first reached (the agent may start on its local snapshot). */
  private store: TopologyStore | undefined;
  private watch: Watch | undefined;
  private learnedWatch: LearnedWatch | undefined;
  /** The devices the learned-state watch is subscribed to (on-demand loading). */
  private learnedDevices = new Set<string>();
  private natRenew: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private snapshotSaver: NodeJS.Timeout | undefined;
  private learnedFlush: NodeJS.Timeout | undefined;
  /** The newest learned-state position delivered (a watch started again skips flow state up to it). */
  private learnedCursor = 0;
  /** The change-feed position of the last local snapshot written. */
  private savedPosition = -1;
  /** When the learned-state watch began, and when it last delivered entries (learnedSettled). */
  private learnedSince = 0;
  private learnedAt = 0;
  /** The first connection's judging of an earlier run's flows is done (its own learned state used). */
  private flowsJudged = false;
  /** The last publication of learned state failed (logged once per outage). */
  private publishFailing = false;
  private stopped = false;

  constructor(private readonly d: StoreLinkDeps) {}

  /** The store, or undefined while it has not been reached since the agent started. */
  get current(): TopologyStore | undefined {
    return this.store;
  }

  /** The store, or an 'unavailable' error while it has not been reached since the agent started. */
  reached(): TopologyStore {
    if (this.store === undefined)
      throw new StoreError('unavailable', 'the store has not been reached since the agent started');
    return this.store;
  }

  /**
   * Opens the store, registers this host and reads the topology. When the store cannot be reached
   * within STORE_START_MS and a local snapshot exists, the agent starts on the snapshot instead
   * (forwarding and simulating on what it last knew) and reaches the store in the background.
   */
  async load(): Promise<Snapshot> {
    const saved = readLocalSnapshot(this.snapshotPath);
    const reach = async (): Promise<{ store: TopologyStore; snap: Snapshot }> => {
      const store = await this.open(typeof saved !== 'string');
      try {
        await this.register(store);
        return { store, snap: await this.d.keeper.initial(store) };
      } catch (e) {
        await store.close().catch(() => undefined);
        throw e;
      }
    };
    if (typeof saved === 'string') {
      const { store, snap } = await reach(); // nothing to fall back on: wait for the store as ever
      this.setStore(store);
      this.savedPosition = -1;
      return snap;
    }
    const attempt = reach();
    try {
      const { store, snap } = await withDeadline(attempt, STORE_START_MS);
      this.setStore(store);
      return snap;
    } catch (e) {
      // A store reached after the deadline is closed; reachLater opens its own.
      attempt.then((r) => void r.store.close().catch(() => undefined)).catch(() => undefined);
      this.d.log.warn(
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

  /**
   * Follows the store from `position` when it was reached (the feed, learned state, NAT blocks), and
   * starts publishing what the agent learns and saving the local snapshot.
   */
  async start(position: number): Promise<void> {
    this.learnedSince = Date.now();
    if (this.store !== undefined) await this.follow(this.store, position);
    this.learnedFlush = setInterval(() => void this.flushLearned(), LEARNED_FLUSH_MS);
    this.snapshotSaver = setInterval(() => this.saveSnapshot(), LOCAL_SNAPSHOT_MS);
  }

  /** Heartbeats when the store was reached; else reaches it in the background, from `position`. */
  async startHeartbeat(position: number): Promise<void> {
    if (this.store !== undefined) await this.beatEvery();
    else void this.reachLater(position);
  }

  /** The switch's flows of an earlier run are judged: learned entries of that run no longer count. */
  judged(): void {
    this.flowsJudged = true;
  }

  /**
   * Waits, at start-up, until the store's learned state (MAC and ARP tables, NAT bindings, tracked
   * connections) has come in: no new entry for 200 ms, at most 3 s after the watch began. Flows of an
   * earlier run are judged on it.
   */
  async learnedSettled(): Promise<void> {
    for (;;) {
      const now = Date.now();
      if (now - this.learnedSince >= 3000) return;
      if (now - this.learnedSince >= 300 && now - this.learnedAt >= 200) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Writes the local snapshot when the topology moved on since the last one. */
  saveSnapshot(): void {
    const ctl = this.d.ctl();
    const position = ctl.stats.lastChangeSeq;
    if (position === this.savedPosition || this.store === undefined) return;
    try {
      writeLocalSnapshot(this.snapshotPath, { position, objects: ctl.topology.objects() }, Date.now());
      this.savedPosition = position;
    } catch (e) {
      this.d.log.warn(
        { err: (e as Error).message, path: this.snapshotPath },
        'cannot write the local snapshot',
      );
    }
  }

  /** Stops following and heartbeating and writes the local snapshot (the next start may find the store away). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.closeFollowers();
    if (this.learnedFlush) clearInterval(this.learnedFlush);
    if (this.snapshotSaver) {
      clearInterval(this.snapshotSaver);
      this.saveSnapshot();
    }
  }

  async close(): Promise<void> {
    this.stop();
    await this.store?.close();
  }

  private setStore(store: TopologyStore | undefined): void {
    this.store = store;
    this.d.keeper.setStore(store);
  }

  /** Follows the store from `position`: NAT blocks, learned state, the change feed. */
  private async follow(store: TopologyStore, position: number): Promise<void> {
    const { log } = this.d;
    const nat = this.d.natBlocks();
    await nat.recover();
    this.learnedWatch = this.watchLearned(store);
    this.natRenew = setInterval(() => void nat.renew(), nat.leaseMs / 3);
    // From the snapshot's position: a position the log no longer holds is a resync (topology-feed.ts
    // applies only the difference); so is a watch that failed (follow.ts).
    this.watch = followChanges(
      store,
      position,
      { onChanges: (cs) => this.d.onChanges(cs), onResync: (s) => this.d.onResync(s) },
      { log },
    );
  }

  /**
   * Watches the learned state from 0 (the current entries, then every write); entries of flow state
   * at or before `learnedCursor` were delivered by an earlier watch and are skipped.
   */
  private watchLearned(store: TopologyStore): LearnedWatch {
    const seen = this.learnedCursor;
    const devices = this.d.devices?.();
    this.learnedDevices = new Set(devices);
    return store.watchLearned(
      0,
      {
        onEntries: (all) => {
          const es = seen === 0 ? all : all.filter((e) => e.seq > seen || learnedDevice(e) !== undefined);
          this.learnedCursor = Math.max(this.learnedCursor, all.at(-1)!.seq);
          this.learnedAt = Date.now();
          // Until the switch's flows are judged, what an earlier run of this host learned counts too.
          if (es.length > 0) this.d.send(this.d.ctl().applyLearned(es, Date.now(), !this.flowsJudged));
        },
        onError: (e) => {
          // Watched again a second later: the current entries again, flow state after the cursor.
          this.d.log.error({ err: e.message, stack: e.stack }, 'learned-state watch failed: watching again');
          setTimeout(() => {
            if (this.stopped || this.store !== store || this.learnedWatch === undefined) return;
            this.learnedWatch = this.watchLearned(store);
          }, 1000);
        },
      },
      devices && { devices: this.learnedDevices },
    );
  }

  /**
   * Devices entered or left the interest set: the learned-state watch's set follows (a device that
   * entered gets its current MAC/ARP/ND entries from the store, then its changes).
   */
  devicesMoved(): void {
    const w = this.learnedWatch;
    if (this.d.devices === undefined || w === undefined) return;
    const now = new Set(this.d.devices());
    const gone = [...this.learnedDevices].filter((id) => !now.has(id));
    const fresh = [...now].filter((id) => !this.learnedDevices.has(id));
    this.learnedDevices = now;
    if (gone.length > 0) w.dropDevices(gone);
    if (fresh.length > 0) w.addDevices(fresh);
  }

  private async beatEvery(): Promise<void> {
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), this.d.cfg.heartbeatMs);
  }

  /** Started on the local snapshot: tries the store every few seconds until it answers. */
  private async reachLater(position: number): Promise<void> {
    const { log } = this.d;
    for (let delay = 1000; !this.stopped; delay = Math.min(delay * 2, 10000)) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.stopped) return;
      let store: TopologyStore | undefined;
      try {
        store = await this.open(true);
        await this.register(store);
        if (this.stopped) return void (await store.close());
        this.setStore(store);
        await this.follow(store, position);
        void this.d.keeper.recompute(); // what the local snapshot held may have moved on
      } catch (e) {
        this.setStore(undefined);
        this.closeFollowers();
        await store?.close().catch(() => undefined);
        log.debug({ err: (e as Error).message }, 'store still unreachable');
        continue;
      }
      await this.beatEvery();
      log.info({ from: position }, 'store reached: catching up from the local snapshot');
      return;
    }
  }

  /**
   * Opens the store. `mustExist`: this agent ran on it before (it has a local snapshot), so a missing
   * SQLite file is the store gone, not a new one to create empty.
   */
  private open(mustExist: boolean): Promise<TopologyStore> {
    // A locked SQLite file must not stop the event loop (packet-ins) for long: writes fail fast and
    // are retried (learned state, heartbeats, leases).
    return openStore(this.d.cfg.store, { busyTimeoutMs: AGENT_STORE_BUSY_MS, mustExist });
  }

  private closeFollowers(): void {
    this.watch?.close();
    this.learnedWatch?.close();
    if (this.natRenew) clearInterval(this.natRenew);
    this.watch = this.learnedWatch = this.natRenew = undefined;
  }

  private get snapshotPath(): string {
    return join(this.d.cfg.stateDir, LOCAL_SNAPSHOT_FILE);
  }

  /** Registers this host in the store (by its stable id) if it is not there yet. */
  private async register(store: TopologyStore): Promise<void> {
    const { cfg, hostId } = this.d;
    const mine = await store.get('host', hostId);
    if (mine) return;
    try {
      await store.create('host', { name: cfg.hostName }, { id: hostId });
    } catch (e) {
      if (e instanceof StoreError && e.code === 'exists') {
        const other = await store.resolve('host', cfg.hostName);
        throw new Error(
          `host name '${cfg.hostName}' is registered with id ${other.id}, but this machine's id is ${hostId} (${join(cfg.stateDir, 'host_uuid')}); put that id in the file or choose another hostName`,
        );
      }
      throw e;
    }
  }

  private async beat(): Promise<void> {
    try {
      await this.reached().heartbeat(this.d.hostId, this.d.cfg.heartbeatMs * 3, {
        agentVersion: AGENT_VERSION,
        pid: process.pid,
        ...this.d.heartbeatInfo(),
      });
      await this.d.afterBeat();
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message }, 'heartbeat failed');
    }
  }

  /**
   * Publishes what the controller learned (learned-sync.ts): one publication at a time; a failed one
   * keeps its entries and is tried again after a back-off, so nothing learned during a store outage is
   * lost. Logged once when publications start failing and once when they succeed again.
   */
  private async flushLearned(): Promise<void> {
    const store = this.store;
    if (store === undefined) return; // kept until the store is reached
    const learned = this.d.ctl().learned;
    const entries = learned.take(Date.now());
    if (entries === undefined) return;
    let err: Error | undefined;
    try {
      await store.learn(entries);
    } catch (e) {
      err = e as Error;
    }
    if (learned.settle(entries, err === undefined, Date.now()))
      this.d.log.info({ waiting: learned.unpublished }, 'learned state published again');
    else if (err !== undefined && !this.publishFailing)
      this.d.log.warn(
        { err: err.message, waiting: learned.unpublished },
        'cannot publish learned state: kept, and tried again until the store takes it',
      );
    this.publishFailing = err !== undefined;
  }
}
