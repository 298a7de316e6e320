/**
 * The distributed backend: object bodies in Apache Cassandra; versions, change order, watches,
 * liveness and elections in Apache ZooKeeper. This class wires the parts, each in its own module:
 *   cassandra-url.ts        the store URL
 *   cassandra-schema.ts     the keyspace, its tables and statements
 *   cassandra-rows.ts       reading committed objects, writing and undoing a transaction's rows
 *   cassandra-commit.ts     the commit point (one ZooKeeper multi-op) and the repair of dead writers
 *   cassandra-group.ts      group commit; cassandra-pipeline.ts the commit loop; committed-cache.ts
 *                           the planner's cache of committed objects
 *   distributed-log.ts      `head`, the change log, its compaction and the watch feed
 *   distributed-liveness.ts host liveness; distributed-learned.ts the learned MAC/ARP state;
 *   distributed-recipes.ts  leader election and locks; zk.ts the ZooKeeper session
 *   commit-relay-*.ts       the commit relay: handles send their transactions to one leader handle,
 *                           which commits them in its groups (URL parameter `relay`, cassandra-url.ts)
 *
 * `transact` queues into the commit loop (cassandra-pipeline.ts; cassandra-commit.ts says why a commit
 * is atomic): plan, write rows (`writeRows`), commit (`commit`), or undo and plan again when another
 * writer committed first.
 *
 * Invariant: readers only see bodies a committed pointer or log entry names, so a writer that dies
 * anywhere before its commit leaves nothing visible, and one that dies after it loses nothing. Scans
 * (list, snapshot) read `head` first and take, per object, the newest committed row at or below it,
 * so a snapshot is the state at exactly its position. Every failure of a service is a
 * StoreError('unavailable') naming the URL.

 */
import cassandra from 'cassandra-driver';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { reconcile } from './cassandra-commit.js';
import type { RelayClient } from './commit-relay-client.js';
import type { RelayLeader } from './commit-relay-leader.js';
import { makeRelay, takenBack } from './commit-relay.js';
import { CommitPipeline } from './cassandra-pipeline.js';
import { ObjectRows, type Statement } from './cassandra-rows.js';
import { ensureSchema, statements } from './cassandra-schema.js';
import { CommittedCache } from './committed-cache.js';
import { CommittedIndex } from './committed-index.js';
import { plannerReader } from './cassandra-reader.js';
import { parseCassandraUrl, type CassandraUrl, type RelayMode } from './cassandra-url.js';
import { LearnedLog } from './distributed-learned.js';
import { HostRecords } from './distributed-liveness.js';
import { ChangeLog, encodeHead } from './distributed-log.js';
import { campaign, lock, segment, type Lock } from './distributed-recipes.js';
import { StoreError } from './errors.js';
import { KINDS, type Kind, type Obj } from './model.js';
import { slackOf } from './retention.js';
import type {
  Campaign,
  CampaignHandlers,
  Change,
  HostLiveness,
  LearnedEntry,
  LearnedWatch,
  LearnedWatchHandlers,
  LearnedWatchOptions,
  Op,
  Snapshot,
  TopologyStore,
  TxResult,
  Watch,
  WatchHandlers,
} from './store.js';
import { kindFiltered } from './store.js';
import { BackendBase, type StoredObject } from './store-base.js';
import { ZkError, ZkSession, zkPath, type ZkOp, type ZkSessionOptions } from './zk.js';

export interface CassandraStoreOptions {
  readonly zkSessionTimeoutMs?: number;
  /** How long to wait for Cassandra and ZooKeeper when opening (ms). */
  readonly connectTimeoutMs?: number;
  /** How the ZooKeeper session is made (default ZkSession.open). */
  readonly openZk?: (connect: string, opts: ZkSessionOptions) => Promise<ZkSession>;
  /** Where the commit relay logs (default: warnings and errors to stderr). */
  readonly logger?: Logger;
  /** The commit relay's mode when the URL has no `relay` (default `use`; cassandra-url.ts). */
  readonly relay?: RelayMode;
}

/** The connected services a store runs on. */
export interface Services {
  readonly url: string;
  readonly cfg: CassandraUrl;
  readonly db: cassandra.Client;
  readonly zk: ZkSession;
  readonly logger?: Logger | undefined;
  readonly relay?: RelayMode | undefined;
}

export class CassandraStore extends BackendBase implements TopologyStore {
  readonly url: string;
  private readonly inflight = new Set<Promise<unknown>>();
  /** The commit loop (cassandra-pipeline.ts): groups, pipelined. */
  private readonly pipeline: CommitPipeline;
  /** Committed objects as of `lastHead` (committed-cache.ts): what planning need not read again. */
  private readonly known = new CommittedCache();
  /** Committed names and bindings at one position, once this handle commits often (committed-index.ts). */
  private readonly index: CommittedIndex;
  private readonly campaigns = new Set<Campaign>();
  private readonly cfg: CassandraUrl;
  private readonly db: cassandra.Client;
  private readonly zk: ZkSession;
  private readonly log: ChangeLog;
  private readonly rows: ObjectRows;
  private readonly hosts: HostRecords;
  private readonly learned: LearnedLog;
  /** Set when `close` starts: no new transaction is taken, the ones queued are finished. */
  private closing: Promise<void> | undefined;
  /** When this handle last started a compaction (ms since epoch). */
  private compactedAt = 0;
  /** The commit relay (commit-relay-*.ts): this handle's sending side, and its leader if it volunteers. */
  private readonly relayClient: RelayClient | undefined;
  private readonly relayLeader: RelayLeader | undefined;

  /** Use `open`; subclasses (tests) construct from `connect`'s services and then call `init`. */
  protected constructor(s: Services) {
    super();
    this.url = s.url;
    this.cfg = s.cfg;
    this.db = s.db;
    this.zk = s.zk;
    this.log = new ChangeLog(s.zk, s.cfg.root, s.url, () => this.snapshot());
    this.rows = new ObjectRows(s.db, s.zk, this.log, s.cfg.root, statements(s.cfg.keyspace), s.url);
    this.hosts = new HostRecords(s.zk, s.cfg.root);
    this.learned = new LearnedLog(s.zk, s.cfg.root);
    this.index = new CommittedIndex(
      () => this.scanAll(),
      (from, to) => this.log.range(from, to),
      (p) => this.track(p),
    );
    this.pipeline = new CommitPipeline({
      url: s.url,
      log: this.log,
      rows: this.rows,
      known: this.known,
      index: this.index,
      reader: (ops, reads, many, guesses, view) =>
        plannerReader(this.rows, async () => (await this.log.head()).tk, ops, reads, many, guesses, view),
      load: (ids) => this.rows.readMany(ids),
      writeRows: (stmts) => this.writeRows(stmts),
      commit: (ops) => this.commit(ops),
      track: (p) => this.track(p),
      committed: (before, last) => {
        this.maybeCompact(before, last);
        this.log.poke();
      },
      takenBack: (markers) => takenBack(s.zk, markers),
    });
    ({ client: this.relayClient, leader: this.relayLeader } = makeRelay(
      s.zk,
      s.cfg,
      (ops, relay) => this.submit(ops, relay),
      this.log,
      s.logger,
      s.relay,
    ));
  }

  /** Opens (and on first use initializes) the store a cassandra:// URL names. */
  static async open(url: string, opts: CassandraStoreOptions = {}): Promise<CassandraStore> {
    const store = new CassandraStore(await CassandraStore.connect(url, opts));
    await store.init();
    return store;
  }

  /** Connects to ZooKeeper and Cassandra; a service that does not answer is a StoreError naming it. */
  protected static async connect(url: string, opts: CassandraStoreOptions): Promise<Services> {
    const cfg = parseCassandraUrl(url);
    const timeout = opts.connectTimeoutMs ?? 15000;
    let zk: ZkSession;
    try {
      zk = await (opts.openZk ?? ((c, o) => ZkSession.open(c, o)))(cfg.zk, {
        sessionTimeoutMs: opts.zkSessionTimeoutMs ?? 6000,
        connectTimeoutMs: timeout,
      });
    } catch (e) {
      throw new StoreError(
        'unavailable',
        `${url}: cannot reach ZooKeeper at ${cfg.zk}: ${(e as Error).message}`,
      );
    }
    const db = new cassandra.Client({
      contactPoints: cfg.contactPoints,
      localDataCenter: cfg.dc,
      queryOptions: {
        consistency: cassandra.types.consistencies.localQuorum,
        prepare: true,
        fetchSize: 5000,
      },
      socketOptions: { connectTimeout: timeout, readTimeout: 20000 },
      pooling: { warmup: true },
    });
    try {
      await db.connect();
    } catch (e) {
      zk.close();
      await db.shutdown().catch(() => undefined);
      throw new StoreError(
        'unavailable',
        `${url}: cannot reach Cassandra at ${cfg.contactPoints.join(',')}: ${(e as Error).message}`,
      );
    }
    return { url, cfg, db, zk, logger: opts.logger, relay: opts.relay };
  }

  /** Creates the znodes and (once, under a lock) the keyspace and tables; closes the store on failure. */
  protected async init(): Promise<void> {
    try {
      const r = this.cfg.root;
      for (const p of ['log', 'objects', 'learned', 'hosts/alive', 'hosts/seen', 'election', 'locks'])
        await this.zk.mkdirp(zkPath(r, p));
      await this.zk.create(zkPath(r, 'head'), encodeHead({ seq: 0, tk: 0 })).catch((e: unknown) => {
        if (!(e instanceof ZkError && e.code === 'node-exists')) throw e;
      });
      await ensureSchema(this.zk, this.db, this.cfg);
      await this.relayLeader?.start();
    } catch (e) {
      await this.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError(
        'unavailable',
        `${this.url}: cannot initialize the store: ${(e as Error).message}`,
      );
    }
  }

  // ---- plumbing and primitives (store-base.ts) ------------------------------------------------------

  protected override failure(e: unknown): string {
    const msg = e instanceof Error ? e.message : String(e);
    return e instanceof ZkError ? msg : `Cassandra: ${msg}`;
  }

  /** Runs `p` in the background; `close` waits for it. */
  private track(p: Promise<unknown>): void {
    const t = p.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(t);
    void t.finally(() => this.inflight.delete(t));
  }

  protected readObject(id: string): Promise<StoredObject | undefined> {
    return this.rows.read(id);
  }

  protected idByName(kind: Kind, name: string): Promise<string | undefined> {
    return this.rows.idByName(kind, name);
  }

  protected holdersOf(id: string): Promise<StoredObject[]> {
    return this.rows.holders(id);
  }

  protected async scanKind(kind: Kind): Promise<Obj[]> {
    return this.rows.scanKind(kind, (await this.log.head()).seq);
  }

  // ---- feed ----------------------------------------------------------------------------------------

  snapshot(): Promise<Snapshot> {
    return this.guard('snapshot', () => this.scanAll());
  }

  /** Every committed object at the head's position (a scan of each kind). */
  private async scanAll(): Promise<Snapshot> {
    const head = await this.log.head();
    const parts = await Promise.all(
      (KINDS as readonly Kind[]).map(async (kind) =>
        (await this.rows.scanKind(kind, head.seq)).map((object) => ({ kind, object })),
      ),
    );
    return { position: head.seq, objects: parts.flat() };
  }

  position(): Promise<number> {
    return this.guard('position', async () => (await this.log.head()).seq);
  }

  changesSince(from: number, limit = 10000): Promise<Change[]> {
    return this.guard(`changes since ${from}`, () => this.log.since(from, limit));
  }

  watch(from: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    return this.log.watch(from, kindFiltered(handlers));
  }

  // ---- writes --------------------------------------------------------------------------------------

  /** Writes a planned transaction's rows to Cassandra (uncommitted until `commit`). */
  protected async writeRows(stmts: readonly Statement[]): Promise<void> {
    await this.rows.execBatched(stmts);
  }

  /** The commit point: one ZooKeeper multi-op (cassandra-commit.ts). */
  protected async commit(ops: readonly ZkOp[]): Promise<void> {
    await this.zk.multi(ops);
  }

  transact(ops: readonly Op[]): Promise<TxResult> {
    return this.guard('transaction', () => {
      if (this.closing) throw new StoreError('unavailable', `${this.url}: the store is closing`);
      if (!this.relayClient) return this.submit(ops);
      const p = this.relayClient.transact(ops, (o) => this.submit(o));
      this.track(p);
      return p;
    });
  }

  /** Queues a transaction (relayed from another handle: with its id and marker) into the commit loop. */
  private submit(ops: readonly Op[], relay?: { txid: string; marker: string }): Promise<TxResult> {
    return this.guard('transaction', () => {
      if (this.closed) throw new StoreError('unavailable', `${this.url}: the store is closed`);
      return new Promise<TxResult>((resolve, reject) =>
        this.pipeline.add({ ops, resolve, reject, ...(relay ? { relay } : {}) }),
      );
    });
  }

  /** The commit relay's counters on this handle (tests, benchmarks). */
  get relayStats(): { client?: RelayClient['stats']; leader?: RelayLeader['stats']; leading: boolean } {
    const [client, leader] = [this.relayClient?.stats, this.relayLeader?.stats];
    return { ...(client && { client }), ...(leader && { leader }), leading: !!this.relayLeader?.isLeader };
  }

  /** Every call but a transaction first sees the commits the relay leader answered this handle for. */
  protected override guard<T>(what: string | (() => string), fn: () => Promise<T>): Promise<T> {
    const relay = what === 'transaction' ? undefined : this.relayClient;
    return super.guard(what, relay ? async () => (await relay.settle(), fn()) : fn);
  }

  /**
   * Compacts the log in the background (distributed-log.ts) when this commit took it past a multiple
   * of the retention's slack (so of many writers one does it), or when this handle last looked a
   * tenth of the retention age ago (so entries also go by age).
   */
  private maybeCompact(before: number, last: number): void {
    const r = this.cfg.retention;
    const now = Date.now();
    const bySize = Math.floor(last / slackOf(r)) > Math.floor(before / slackOf(r));
    if (!bySize && now - this.compactedAt < Math.min(r.maxAgeMs / 10, 60000)) return;
    this.compactedAt = now;
    this.track(
      this.log.compact(r, last, now, (entries) => this.rows.execMany(this.rows.markEntries(entries), 16)),
    );
  }

  /** Repairs what dead writers left (cassandra-commit.ts); safe at any time, from any process. */
  reconcile(opts: { graceMs?: number } = {}): Promise<{ marked: number; removed: number }> {
    return this.guard('reconcile', () =>
      reconcile(this.log, this.rows, (ops) => this.commit(ops), opts.graceMs ?? 60000),
    );
  }

  // ---- learned state, liveness, coordination --------------------------------------------------------

  learn(entries: readonly LearnedEntry[]): Promise<void> {
    return this.guard('learn', () => this.learned.learn(entries));
  }

  watchLearned(from: number, handlers: LearnedWatchHandlers, opts?: LearnedWatchOptions): LearnedWatch {
    this.assertOpen();
    return this.learned.watch(from, handlers, opts);
  }

  heartbeat(hostId: string, ttlMs: number, info: Record<string, unknown> = {}): Promise<void> {
    return this.guard(`heartbeat of host ${hostId}`, () => this.hosts.heartbeat(hostId, ttlMs, info));
  }

  goodbye(hostId: string): Promise<void> {
    return this.guard(`goodbye of host ${hostId}`, () => this.hosts.goodbye(hostId));
  }

  liveness(): Promise<HostLiveness[]> {
    return this.guard('liveness', () => this.hosts.liveness());
  }

  campaign(group: string, candidate: string, handlers: CampaignHandlers): Promise<Campaign> {
    return this.guard(`campaign in ${group}`, async () => {
      const c = await campaign(
        this.zk,
        zkPath(this.cfg.root, 'election', segment(group)),
        candidate,
        handlers,
      );
      this.campaigns.add(c);
      return {
        get leading() {
          return c.leading;
        },
        resign: async () => {
          this.campaigns.delete(c);
          await c.resign();
        },
      };
    });
  }

  /** Takes the named lock (ZooKeeper recipe); release it when done. */
  lock(name: string, timeoutMs?: number): Promise<Lock> {
    return this.guard(`lock ${name}`, () =>
      lock(this.zk, zkPath(this.cfg.root, 'locks', segment(name)), randomUUID(), timeoutMs),
    );
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const c of [...this.campaigns]) await c.resign().catch(() => undefined);
    await this.relayLeader?.stop();
    this.index.close();
    this.pipeline.close();
    // Until nothing is left: a commit answered meanwhile adds its marks, a failed one its undo.
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    await this.relayLeader?.close();
    this.relayClient?.close();
    this.closed = true;
    this.log.close();
    this.hosts.close();
    this.zk.close();
    await this.db.shutdown().catch(() => undefined);
  }
}
