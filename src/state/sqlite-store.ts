/**
 * The embedded backend: the whole topology in one SQLite file (better-sqlite3, WAL mode), shared by
 * every process on the machine -- the CLI writes while agents watch. Tables and statements are in
 * sqlite-schema.ts; the shared reads in store-base.ts; the planner in transaction.ts.
 *
 * Invariant: every transaction runs the shared planner under SQLite's write lock (BEGIN IMMEDIATE,
 * serialized within the process by a queue) and writes its objects, references, change-log rows and
 * any compaction of the log in that one SQLite transaction, so readers and watchers in any process
 * see all of it or none of it (the transactions a handle has waiting are committed as a group, in one
 * SQLite transaction, each under its own savepoint: all visible at once, a refused one not at all).
 * Watchers read the log (`seq` is its primary key, so a look is one index probe) when woken: at once
 * by commits made through the same store object, by a write to the file's WAL from any handle or
 * process (commit-signal.ts), and by a slower poll in case a signal was missed (or every `pollMs`
 * where the directory cannot be watched); a watcher whose position was compacted away resyncs from a
 * snapshot (store.ts). The file stays bounded: the log keeps its retention, and SQLite reuses the
 * pages compaction frees.
 *
 * Statements are in sqlite-schema.ts, the rows a transaction writes and the log's compaction in
 * sqlite-writes.ts, the lease election in sqlite-campaign.ts, reads in store-base.ts, the planner in
 * transaction.ts.
 */
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CommitSignal } from './commit-signal.js';
import { StoreError } from './errors.js';
import { isKind, type Kind, type Obj } from './model.js';
import { watchLearned, type ScopedLearnedSource } from './learned-scope.js';
import { PolledFeed, watchChanges } from './polled-feed.js';
import { GroupQueue, type Queued } from './group-queue.js';
import { DEFAULT_RETENTION, type LogRetention, type Snapshot, type TopologyStore } from './store.js';
import type { Campaign, CampaignHandlers, Change, HostLiveness, Op, TxResult } from './store.js';
import type {
  LearnedChange,
  LearnedEntry,
  LearnedWatch,
  LearnedWatchHandlers,
  LearnedWatchOptions,
  Watch,
  WatchHandlers,
} from './store.js';
import { BackendBase, type StoredObject } from './store-base.js';
import {
  SCHEMA,
  prepareStatements,
  rowToChange,
  rowToLearned,
  rowToObj,
  type Statements,
} from './sqlite-schema.js';
import { planTransaction, type BaseReader, type Write } from './transaction.js';
import { applyWrites, compactLog } from './sqlite-writes.js';
import { leaseCampaign } from './sqlite-campaign.js';

export interface SqliteStoreOptions {
  /** How often watchers look for commits made by other processes when there is no commit signal (ms). */
  readonly pollMs?: number;
  /**
   * Watch the file's directory for other processes' commits (commit-signal.ts; default true); then
   * watchers poll only every `fallbackPollMs` (default 100; given as undefined: not at all).
   */
  readonly commitSignal?: boolean;
  readonly fallbackPollMs?: number;
  /** How long a writer waits for another process's write lock before failing (ms). */
  readonly busyTimeoutMs?: number;
  /** The file must exist already (better-sqlite3 fileMustExist): a missing file is an error, not a new store. */
  readonly mustExist?: boolean;
  /** Leader-election lease: a dead leader is replaced within this time (ms). */
  readonly leaseMs?: number;
  /** How much of the change log is kept. */
  readonly retention?: LogRetention;
}

/** How many transactions one group commit holds at most (the rest wait for the next group). */
const MAX_GROUP = 64;

/** The last transaction of this process on each database file (see `serialized`). */
const fileQueues = new Map<unknown, Promise<unknown>>();

export class SqliteStore extends BackendBase implements TopologyStore {
  readonly url: string;
  /** The absolute path of the database file. */
  private readonly file: string;
  private readonly db: Database.Database;
  private readonly stmts: Statements;
  private queue: Promise<unknown> = Promise.resolve();
  /** The write transaction open on this handle's connection, if any: other calls wait for it (`guard`). */
  private writing: Promise<unknown> | undefined;
  private readonly leaseMs: number;
  private readonly retention: LogRetention;
  private readonly campaigns = new Set<NodeJS.Timeout>();
  private readonly changeFeed: PolledFeed<Change>;
  private readonly learnedFeed: PolledFeed<LearnedChange>;
  private readonly learnedSource: ScopedLearnedSource;
  private readonly signal: CommitSignal | undefined;
  /** Reads, in one read transaction, the changes after a cursor or 'gone' when compacted away. */
  private readonly readAfterTx: Database.Transaction<(cursor: number, limit: number) => Change[] | 'gone'>;
  /** The same for a watch of some kinds only (FeedSource.afterOnly), up to a position. */
  private readonly readOfKindsTx: Database.Transaction<
    (cursor: number, upTo: number, limit: number, kinds: string) => Change[] | 'gone'
  >;
  private readonly readSnapshotTx: Database.Transaction<() => Snapshot>;

  constructor(
    readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    super();
    this.url = `sqlite:${path}`;
    this.file = path === ':memory:' ? path : resolve(path);
    this.leaseMs = opts.leaseMs ?? 3000;
    this.retention = opts.retention ?? DEFAULT_RETENTION;
    const dir = dirname(path);
    if (path !== ':memory:' && (!existsSync(dir) || !statSync(dir).isDirectory())) {
      throw new StoreError('unavailable', `cannot open ${this.url}: directory ${dir} does not exist`);
    }
    if (opts.mustExist === true && path !== ':memory:' && !existsSync(path))
      throw new StoreError(
        'unavailable',
        `cannot open ${this.url}: there is no store file ${path} (it is not made here)`,
      );
    try {
      this.db = new Database(path, {
        timeout: opts.busyTimeoutMs ?? 10000,
        fileMustExist: opts.mustExist === true,
      });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new StoreError('unavailable', `cannot open ${this.url}: ${(e as Error).message}`);
    }
    const s = (this.stmts = prepareStatements(this.db));
    this.readAfterTx = this.db.transaction((cursor: number, limit: number): Change[] | 'gone' =>
      cursor + 1 < this.logStart() ? 'gone' : s.changesSince.all(cursor, limit).map(rowToChange),
    );
    this.readOfKindsTx = this.db.transaction(
      (cursor: number, upTo: number, limit: number, kinds: string): Change[] | 'gone' =>
        cursor + 1 < this.logStart()
          ? 'gone'
          : s.changesOfKinds.all(cursor, upTo, kinds, limit).map(rowToChange),
    );
    this.readSnapshotTx = this.db.transaction((): Snapshot => ({
      position: s.last.get()?.seq ?? 0,
      objects: s.listAll.all().map((r) => ({ kind: r.kind as Kind, object: rowToObj(r) })),
    }));
    const pollMs = opts.pollMs ?? 5;
    this.signal =
      this.file !== ':memory:' && opts.commitSignal !== false
        ? new CommitSignal(this.file, 'fallbackPollMs' in opts ? opts.fallbackPollMs : 100)
        : undefined;
    this.changeFeed = new PolledFeed<Change>(
      {
        last: () => s.last.get()?.seq ?? 0,
        after: (cursor, limit) => this.readAfter(cursor, limit),
        afterOnly: (cursor, upTo, limit, kinds) =>
          this.readOfKindsTx.deferred(cursor, upTo, limit, JSON.stringify(kinds)),
        position: (c) => c.seq,
      },
      `${this.url}: change feed`,
      pollMs,
      this.signal,
    );
    this.learnedFeed = new PolledFeed<LearnedChange>(
      {
        last: () => s.lastLearned.get()?.seq ?? 0,
        after: (cursor, limit) => s.learnedSince.all(cursor, limit).map(rowToLearned),
        position: (e) => e.seq,
      },
      `${this.url}: learned-state feed`,
      pollMs,
      this.signal,
    );
    this.learnedSource = {
      after: (cursor, limit, devices) =>
        s.learnedOfDevicesSince.all(JSON.stringify([...devices, '']), cursor, limit).map(rowToLearned),
      current: (device, upTo) => s.learnedOfDeviceUpTo.all(device, upTo).map(rowToLearned),
    };
  }

  private readAfter(cursor: number, limit: number): Change[] | 'gone' {
    return this.readAfterTx.deferred(cursor, limit);
  }

  private readSnapshot(): Snapshot {
    return this.readSnapshotTx.deferred();
  }

  private logStart(): number {
    return this.stmts.meta.get('log_start')?.value ?? 1;
  }

  // ---- primitives (store-base.ts) ---------------------------------------------------------------

  protected readObject(id: string): Promise<StoredObject | undefined> {
    const r = this.stmts.get.get(id);
    return Promise.resolve(r && isKind(r.kind) ? { kind: r.kind, obj: rowToObj(r) } : undefined);
  }

  protected idByName(kind: Kind, name: string): Promise<string | undefined> {
    return Promise.resolve(this.stmts.idByName.get(kind, name)?.id);
  }

  protected holdersOf(id: string): Promise<StoredObject[]> {
    return Promise.resolve(
      this.stmts.referrerRows.all(id).map((r) => ({ kind: r.kind as Kind, obj: rowToObj(r) })),
    );
  }

  protected scanKind(kind: Kind): Promise<Obj[]> {
    return Promise.resolve(this.stmts.listKind.all(kind).map(rowToObj));
  }

  // ---- feed --------------------------------------------------------------------------------------

  snapshot(): Promise<Snapshot> {
    return this.guard('snapshot', () => Promise.resolve(this.readSnapshot()));
  }

  position(): Promise<number> {
    return this.guard('position', () => Promise.resolve(this.stmts.last.get()?.seq ?? 0));
  }

  changesSince(from: number, limit = 10000): Promise<Change[]> {
    return this.guard(`changes since ${from}`, () => {
      const r = this.readAfter(from, limit);
      if (r === 'gone')
        throw new StoreError(
          'position-gone',
          `${this.url}: position ${from} is no longer in the change log (it starts at ${this.logStart()}); reload a snapshot`,
        );
      return Promise.resolve(r);
    });
  }

  watch(from: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    return watchChanges(this.changeFeed, from, handlers, () => this.readSnapshot());
  }

  /** Do this store's watchers follow the commit signal now (rather than polling every `pollMs`)? */
  get signalled(): boolean {
    return this.changeFeed.signalled;
  }

  // ---- writes ------------------------------------------------------------------------------------

  private readonly reader: BaseReader = {
    get: (id) => {
      const r = this.stmts.get.get(id);
      return r && isKind(r.kind) ? { kind: r.kind, obj: rowToObj(r) } : undefined;
    },
    idByName: (kind, name) => this.stmts.idByName.get(kind, name)?.id,
    referrerIds: (id) => this.stmts.referrerIds.all(id).map((r) => ({ id: r.id, kind: r.kind as Kind })),
    portIdByBinding: (hostId, iface) => this.stmts.binding.get(hostId, iface)?.id,
    maxTunnelKey: () =>
      Math.max(this.stmts.maxTunnelKey.get()?.k ?? 0, this.stmts.meta.get('tunnel_key')?.value ?? 0),
  };

  /**
   * Runs `fn` after every earlier transaction on this file from this process has finished. Per file,
   * not per handle: better-sqlite3 waits for a lock synchronously, so a second handle of the same
   * process asking for the write lock while the first holds it across an `await` would block the
   * thread the first one needs to finish (and both would time out).
   */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const key = this.file === ':memory:' ? this : this.file;
    const write = async () => {
      const p = fn();
      this.writing = p;
      try {
        return await p;
      } finally {
        if (this.writing === p) this.writing = undefined;
      }
    };
    const run = (fileQueues.get(key) ?? Promise.resolve()).then(write, write);
    const settled = run.catch(() => undefined);
    fileQueues.set(key, settled);
    this.queue = settled;
    void settled.then(() => {
      if (fileQueues.get(key) === settled) fileQueues.delete(key);
    });
    return run;
  }

  /**
   * Every other call of this handle waits while a write transaction is open on its connection: the
   * planner's awaits let other code run, which would otherwise read (or, through a nested savepoint,
   * write) inside that transaction -- the first members of a group before its COMMIT, or rows a
   * ROLLBACK then erases.
   */
  protected override async guard<T>(what: string | (() => string), fn: () => Promise<T>): Promise<T> {
    while (this.writing) await this.writing.catch(() => undefined);
    return super.guard(what, fn);
  }

  /**
   * Group commit: the transactions this handle has waiting (group-queue.ts: those that arrive in one
   * turn of the event loop, or while the group before them is committing) go into one SQLite
   * transaction, each planned against what the ones before it left and applied under a savepoint of
   * its own, so a refused one leaves the others and nothing of itself; each gets its own `tx`,
   * versions and position as if committed alone, and all become visible at one COMMIT. When the
   * SQLite transaction as a whole fails, every member gets its error and none was written.
   */
  transact(ops: readonly Op[]): Promise<TxResult> {
    return this.groups.add(ops);
  }

  /** Groups committed by `transact` and transactions in them, for tests and benchmarks. */
  get groupStats(): { readonly groups: number; readonly transactions: number; readonly largest: number } {
    return this.groups.stats;
  }

  private readonly groups = new GroupQueue((group) => this.commitGroup(group), MAX_GROUP);

  private commitGroup(group: readonly Queued[]): Promise<void> {
    return this.serialized(async () => {
      this.begin();
      const out: Array<TxResult | StoreError> = [];
      try {
        for (const q of group) {
          this.db.exec('SAVEPOINT tx');
          try {
            out.push(this.applied(await planTransaction(this.reader, q.ops)));
            this.db.exec('RELEASE tx');
          } catch (e) {
            if (!this.db.inTransaction) throw e; // SQLite gave up the whole transaction
            this.db.exec('ROLLBACK TO tx');
            this.db.exec('RELEASE tx');
            out.push(this.writeError(e));
          }
        }
        const changed = out.some((r) => !(r instanceof StoreError) && r.changes.length > 0);
        if (changed) compactLog(this.stmts, this.retention, this.logStart(), Date.now());
        this.db.exec('COMMIT');
        if (changed) this.changeFeed.wake();
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw this.writeError(e);
      }
      group.forEach((q, i) => {
        const r = out[i]!;
        if (r instanceof StoreError) q.reject(r);
        else q.resolve(r);
      });
    });
  }

  private begin(): void {
    this.assertOpen();
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      throw new StoreError('unavailable', `${this.url}: cannot take the write lock: ${(e as Error).message}`);
    }
  }

  /** Applies a plan (synchronously: no other code runs between a failed write and its rollback). */
  private applied(plan: { writes: readonly Write[]; results: TxResult['results'] }): TxResult {
    const changes = applyWrites(this.stmts, plan.writes);
    return { position: changes.at(-1)?.seq ?? 0, results: plan.results, changes };
  }

  /** A failed write as the StoreError callers get. */
  private writeError(e: unknown): StoreError {
    if (e instanceof StoreError) return e;
    const msg = (e as Error).message;
    if (/UNIQUE constraint failed/.test(msg)) return new StoreError('exists', `${this.url}: ${msg}`);
    return new StoreError('unavailable', `${this.url}: write failed: ${msg}`);
  }

  // ---- liveness ----------------------------------------------------------------------------------

  heartbeat(hostId: string, ttlMs: number, info: Record<string, unknown> = {}): Promise<void> {
    return this.guard(`heartbeat of host ${hostId}`, () => {
      const now = Date.now();
      this.stmts.heartbeat.run(hostId, now, now + ttlMs, JSON.stringify(info));
      return Promise.resolve();
    });
  }

  goodbye(hostId: string): Promise<void> {
    return this.guard(`goodbye of host ${hostId}`, () => {
      this.stmts.goodbye.run(0, hostId);
      return Promise.resolve();
    });
  }

  liveness(): Promise<HostLiveness[]> {
    return this.guard('liveness', () => {
      const now = Date.now();
      return Promise.resolve(
        this.stmts.liveness.all().map((r) => ({
          hostId: r.host_id,
          alive: r.expires_at > now,
          renewedAt: r.renewed_at,
          info: JSON.parse(r.info) as Record<string, unknown>,
        })),
      );
    });
  }

  // ---- learned state ----------------------------------------------------------------------------

  learn(entries: readonly LearnedEntry[]): Promise<void> {
    if (entries.length === 0) return this.guard('learn', () => Promise.resolve());
    return this.guard('cannot record learned state', () => {
      const s = this.stmts;
      this.db
        .transaction(() => {
          let seq = s.meta.get('learned_seq')?.value ?? 0;
          for (const e of entries)
            s.putLearned.run(e.table, e.scope, e.key, e.value, e.origin, e.expiresAt, ++seq);
          s.setMeta.run('learned_seq', seq);
          // Expired entries are of no use to anyone: drop them now and then, in the writer's transaction.
          if (seq % 1000 < entries.length) s.purgeLearned.run(Date.now());
        })
        .immediate();
      this.learnedFeed.wake();
      return Promise.resolve();
    });
  }

  watchLearned(from: number, handlers: LearnedWatchHandlers, opts?: LearnedWatchOptions): LearnedWatch {
    this.assertOpen();
    return watchLearned(this.learnedFeed, this.learnedSource, from, handlers, opts);
  }

  // ---- leader election (sqlite-campaign.ts) ------------------------------------------------------

  campaign(group: string, candidate: string, handlers: CampaignHandlers): Promise<Campaign> {
    this.assertOpen();
    return Promise.resolve(
      leaseCampaign(this.stmts, this.leaseMs, group, candidate, handlers, this.campaigns, () => this.closed),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.campaigns) clearInterval(t);
    this.campaigns.clear();
    this.learnedFeed.close();
    await this.groups.idle();
    await this.queue;
    this.closed = true;
    this.changeFeed.close();
    this.signal?.close();
    this.db.close();
  }
}
