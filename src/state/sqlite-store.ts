/**
 * The embedded backend: the whole topology in one SQLite file (better-sqlite3, WAL mode), shared by
 * every process on the machine — the CLI writes while agents watch.
 *
 * Tables: `objects` (one row per object, JSON body; unique indexes enforce names per kind, port
 * bindings and tunnel keys), `refs` (holder -> target, the referrer index), `changes` (the change
 * log that drives the watch feed), `liveness` (host heartbeats) and `meta` (counters).
 *
 * Invariant: every transaction runs the shared planner under SQLite's write lock (BEGIN IMMEDIATE,
 * serialized within the process by a queue) and writes its objects, references and change-log rows
 * in that one SQLite transaction, so readers and watchers in any process see all of it or none of it.
 * Watchers poll the log (`seq` is its primary key, so a poll is one index probe) and are woken at once
 * by commits made through the same store object.
 */
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreError } from './errors.js';
import { isKind, type Kind, type Obj } from './model.js';
import { referencedIds, referencesOf } from './references.js';
import type {
  Campaign,
  CampaignHandlers,
  Change,
  ChangeOp,
  HostLiveness,
  LearnedChange,
  LearnedEntry,
  Op,
  Referrer,
  Snapshot,
  TopologyStore,
  TxResult,
  Watch,
  WatchHandlers,
} from './store.js';
import { StoreBase } from './store-base.js';
import { planTransaction, type BaseReader, type Write } from './transaction.js';
import { isUuid } from './model.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT,
  version INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_kind_name ON objects(kind, name) WHERE name IS NOT NULL;
CREATE INDEX IF NOT EXISTS objects_kind ON objects(kind);
CREATE UNIQUE INDEX IF NOT EXISTS port_binding ON objects(json_extract(body, '$.hostId'), json_extract(body, '$.interfaceName'))
  WHERE kind = 'port' AND json_extract(body, '$.hostId') IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS port_tunnel_key ON objects(json_extract(body, '$.tunnelKey')) WHERE kind = 'port';
CREATE TABLE IF NOT EXISTS refs (
  target TEXT NOT NULL,
  holder TEXT NOT NULL,
  PRIMARY KEY (target, holder)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refs_holder ON refs(holder);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tx INTEGER NOT NULL,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  op TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS liveness (
  host_id TEXT PRIMARY KEY,
  renewed_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  info TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS leases (
  grp TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS learned (
  tbl TEXT NOT NULL,
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  origin TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (tbl, scope, key)
);
CREATE INDEX IF NOT EXISTS learned_seq ON learned(seq);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;

interface ObjectRow {
  id: string;
  kind: string;
  body: string;
}
interface ChangeRow {
  seq: number;
  tx: number;
  kind: string;
  id: string;
  op: string;
  version: number;
  body: string;
}

function rowToObj(r: ObjectRow): Obj {
  return JSON.parse(r.body) as Obj;
}

function rowToChange(r: ChangeRow): Change {
  return {
    seq: r.seq,
    tx: r.tx,
    kind: r.kind as Kind,
    id: r.id,
    op: r.op as ChangeOp,
    version: r.version,
    object: JSON.parse(r.body) as Obj,
  };
}

export interface SqliteStoreOptions {
  /** How often watchers look for commits made by other processes (ms). */
  readonly pollMs?: number;
  /** How long a writer waits for another process's write lock before failing (ms). */
  readonly busyTimeoutMs?: number;
  /** Leader-election lease: a dead leader is replaced within this time (ms). */
  readonly leaseMs?: number;
}

export class SqliteStore extends StoreBase implements TopologyStore {
  readonly url: string;
  private readonly db: Database.Database;
  private readonly stmts;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly watches = new Set<WatchState>();
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly campaigns = new Set<NodeJS.Timeout>();
  private readonly learnedWatches = new Set<{
    cursor: number;
    readonly handlers: {
      onEntries: (entries: readonly LearnedChange[]) => void;
      onError?: (e: Error) => void;
    };
    open: boolean;
  }>();
  private learnedTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    super();
    this.url = `sqlite:${path}`;
    this.pollMs = opts.pollMs ?? 5;
    this.leaseMs = opts.leaseMs ?? 3000;
    const dir = dirname(path);
    if (path !== ':memory:' && (!existsSync(dir) || !statSync(dir).isDirectory())) {
      throw new StoreError('unavailable', `cannot open ${this.url}: directory ${dir} does not exist`);
    }
    try {
      this.db = new Database(path, { timeout: opts.busyTimeoutMs ?? 10000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.exec(SCHEMA);
    } catch (e) {
      throw new StoreError('unavailable', `cannot open ${this.url}: ${(e as Error).message}`);
    }
    const db = this.db;
    this.stmts = {
      get: db.prepare<[string], ObjectRow>('SELECT id, kind, body FROM objects WHERE id = ?'),
      idByName: db.prepare<[string, string], { id: string }>(
        'SELECT id FROM objects WHERE kind = ? AND name = ?',
      ),
      listKind: db.prepare<[string], ObjectRow>(
        'SELECT id, kind, body FROM objects WHERE kind = ? ORDER BY name, id',
      ),
      listAll: db.prepare<[], ObjectRow>('SELECT id, kind, body FROM objects'),
      listReferring: db.prepare<[string, string], ObjectRow>(
        'SELECT o.id, o.kind, o.body FROM refs r JOIN objects o ON o.id = r.holder WHERE r.target = ? AND o.kind = ? ORDER BY o.name, o.id',
      ),
      referrerRows: db.prepare<[string], ObjectRow>(
        'SELECT o.id, o.kind, o.body FROM refs r JOIN objects o ON o.id = r.holder WHERE r.target = ?',
      ),
      referrerIds: db.prepare<[string], { id: string; kind: string }>(
        'SELECT o.id, o.kind FROM refs r JOIN objects o ON o.id = r.holder WHERE r.target = ?',
      ),
      binding: db.prepare<[string, string], { id: string }>(
        "SELECT id FROM objects WHERE kind = 'port' AND json_extract(body, '$.hostId') = ? AND json_extract(body, '$.interfaceName') = ?",
      ),
      maxTunnelKey: db.prepare<[], { k: number | null }>(
        "SELECT max(json_extract(body, '$.tunnelKey')) AS k FROM objects WHERE kind = 'port'",
      ),
      meta: db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare<[string, number]>(
        'INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      insert: db.prepare<[string, string, string | null, number, string]>(
        'INSERT INTO objects(id, kind, name, version, body) VALUES (?, ?, ?, ?, ?)',
      ),
      update: db.prepare<[string | null, number, string, string, number]>(
        'UPDATE objects SET name = ?, version = ?, body = ? WHERE id = ? AND version = ?',
      ),
      remove: db.prepare<[string, number]>('DELETE FROM objects WHERE id = ? AND version = ?'),
      delRefs: db.prepare<[string]>('DELETE FROM refs WHERE holder = ?'),
      addRef: db.prepare<[string, string]>('INSERT OR IGNORE INTO refs(target, holder) VALUES (?, ?)'),
      addChange: db.prepare<[number, string, string, string, number, string, number]>(
        'INSERT INTO changes(tx, kind, id, op, version, body, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      nextSeq: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'"),
      lastSeq: db.prepare<[], { seq: number }>('SELECT seq FROM changes ORDER BY seq DESC LIMIT 1'),
      changesSince: db.prepare<[number, number], ChangeRow>(
        'SELECT seq, tx, kind, id, op, version, body FROM changes WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      heartbeat: db.prepare<[string, number, number, string]>(
        'INSERT INTO liveness(host_id, renewed_at, expires_at, info) VALUES (?, ?, ?, ?) ON CONFLICT(host_id) DO UPDATE SET renewed_at = excluded.renewed_at, expires_at = excluded.expires_at, info = excluded.info',
      ),
      goodbye: db.prepare<[number, string]>('UPDATE liveness SET expires_at = ? WHERE host_id = ?'),
      claimLease: db.prepare<[string, string, number, number]>(
        `INSERT INTO leases(grp, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT(grp) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at < ?`,
      ),
      leaseHolder: db.prepare<[string], { holder: string; expires_at: number }>(
        'SELECT holder, expires_at FROM leases WHERE grp = ?',
      ),
      dropLease: db.prepare<[string, string]>('DELETE FROM leases WHERE grp = ? AND holder = ?'),
      learnSeq: db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'learned_seq'"),
      putLearned: db.prepare<[string, string, string, string, string, number, number]>(
        `INSERT INTO learned(tbl, scope, key, value, origin, expires_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(tbl, scope, key) DO UPDATE SET value = excluded.value, origin = excluded.origin,
           expires_at = excluded.expires_at, seq = excluded.seq`,
      ),
      purgeLearned: db.prepare<[number]>('DELETE FROM learned WHERE expires_at < ?'),
      learnedSince: db.prepare<
        [number, number],
        {
          tbl: string;
          scope: string;
          key: string;
          value: string;
          origin: string;
          expires_at: number;
          seq: number;
        }
      >(
        'SELECT tbl, scope, key, value, origin, expires_at, seq FROM learned WHERE seq > ? ORDER BY seq LIMIT ?',
      ),
      lastLearned: db.prepare<[], { seq: number }>('SELECT seq FROM learned ORDER BY seq DESC LIMIT 1'),
      liveness: db.prepare<[], { host_id: string; renewed_at: number; expires_at: number; info: string }>(
        'SELECT host_id, renewed_at, expires_at, info FROM liveness ORDER BY host_id',
      ),
    };
  }

  // ---- reads -------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new StoreError('unavailable', `${this.url}: the store is closed`);
  }

  get<K extends Kind>(kind: K, id: string): Promise<Obj<K> | undefined> {
    this.assertOpen();
    const r = this.stmts.get.get(id);
    return Promise.resolve(r && r.kind === kind ? (rowToObj(r) as Obj<K>) : undefined);
  }

  async resolve<K extends Kind>(kind: K, ref: string): Promise<Obj<K>> {
    this.assertOpen();
    if (isUuid(ref)) {
      const r = this.stmts.get.get(ref);
      if (r && r.kind === kind) return rowToObj(r);
      if (r) throw new StoreError('not-found', `${kind} ${ref}: that id is a ${r.kind}, not a ${kind}`);
    }
    const byName = this.stmts.idByName.get(kind, ref);
    if (byName) return (await this.get(kind, byName.id))!;
    throw new StoreError('not-found', `no ${kind} named or with id '${ref}'`);
  }

  list<K extends Kind>(kind: K, filter?: { readonly refersTo?: string }): Promise<Obj<K>[]> {
    this.assertOpen();
    const rows =
      filter?.refersTo !== undefined
        ? this.stmts.listReferring.all(filter.refersTo, kind)
        : this.stmts.listKind.all(kind);
    return Promise.resolve(rows.map((r) => rowToObj(r) as Obj<K>));
  }

  referrers(id: string): Promise<Referrer[]> {
    this.assertOpen();
    const out: Referrer[] = [];
    for (const r of this.stmts.referrerRows.all(id)) {
      const obj = rowToObj(r);
      for (const ref of referencesOf(r.kind as Kind, obj)) {
        if (ref.target === id)
          out.push({ kind: r.kind as Kind, id: r.id, name: obj.name ?? null, field: ref.field });
      }
    }
    return Promise.resolve(out);
  }

  snapshot(): Promise<Snapshot> {
    this.assertOpen();
    const read = this.db.transaction(() => ({
      position: this.stmts.lastSeq.get()?.seq ?? 0,
      objects: this.stmts.listAll.all().map((r) => ({ kind: r.kind as Kind, object: rowToObj(r) })),
    }));
    return Promise.resolve(read.deferred());
  }

  position(): Promise<number> {
    this.assertOpen();
    return Promise.resolve(this.stmts.lastSeq.get()?.seq ?? 0);
  }

  changesSince(from: number, limit = 10000): Promise<Change[]> {
    this.assertOpen();
    return Promise.resolve(this.stmts.changesSince.all(from, limit).map(rowToChange));
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

  /** Runs `fn` after every earlier transaction of this store object has finished. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  transact(ops: readonly Op[]): Promise<TxResult> {
    return this.serialized(async () => {
      this.assertOpen();
      try {
        this.db.exec('BEGIN IMMEDIATE');
      } catch (e) {
        throw new StoreError(
          'unavailable',
          `${this.url}: cannot take the write lock: ${(e as Error).message}`,
        );
      }
      try {
        const { writes, results } = await planTransaction(this.reader, ops);
        const changes = this.applyWrites(writes);
        this.db.exec('COMMIT');
        if (changes.length > 0) this.wake();
        return { position: changes.at(-1)?.seq ?? 0, results, changes };
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        if (e instanceof StoreError) throw e;
        const msg = (e as Error).message;
        if (/UNIQUE constraint failed/.test(msg)) throw new StoreError('exists', `${this.url}: ${msg}`);
        throw new StoreError('unavailable', `${this.url}: write failed: ${msg}`);
      }
    });
  }

  private applyWrites(writes: readonly Write[]): Change[] {
    const s = this.stmts;
    const at = Date.now();
    const tx = (s.nextSeq.get()?.seq ?? 0) + 1;
    const changes: Change[] = [];
    let maxKey = 0;
    for (const w of writes) {
      const body = JSON.stringify(w.after);
      const name = typeof w.after.name === 'string' ? w.after.name : null;
      switch (w.op) {
        case 'create':
          s.insert.run(w.id, w.kind, name, w.after.version, body);
          break;
        case 'update':
          if (s.update.run(name, w.after.version, body, w.id, w.before!.version).changes !== 1) {
            throw new StoreError(
              'conflict',
              `${w.kind} ${w.id}: changed by another writer during the transaction`,
            );
          }
          s.delRefs.run(w.id);
          break;
        case 'delete':
          s.remove.run(w.id, w.before!.version);
          s.delRefs.run(w.id);
          break;
      }
      if (w.op !== 'delete') {
        for (const t of referencedIds(w.kind, w.after)) s.addRef.run(t, w.id);
      }
      if (w.kind === 'port') maxKey = Math.max(maxKey, (w.after as Obj<'port'>).tunnelKey);
      const seq = Number(s.addChange.run(tx, w.kind, w.id, w.op, w.after.version, body, at).lastInsertRowid);
      changes.push({
        seq,
        tx,
        kind: w.kind,
        id: w.id,
        op: w.op,
        version: w.after.version,
        object: w.op === 'delete' ? w.before! : w.after,
      });
    }
    if (maxKey > (s.meta.get('tunnel_key')?.value ?? 0)) s.setMeta.run('tunnel_key', maxKey);
    return changes;
  }

  // ---- watch -------------------------------------------------------------------------------------

  watch(from: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    const w: WatchState = { cursor: from, handlers, open: true };
    this.watches.add(w);
    const close = () => {
      w.open = false;
      this.watches.delete(w);
      if (this.watches.size === 0 && this.pollTimer) {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
      }
    };
    if (!this.pollTimer) {
      this.pollTimer = setInterval(() => this.poll(), this.pollMs);
    }
    setImmediate(() => this.poll());
    return { close };
  }

  private wake(): void {
    if (this.watches.size > 0) setImmediate(() => this.poll());
  }

  private poll(): void {
    if (this.closed || this.watches.size === 0) return;
    let last: number;
    try {
      last = this.stmts.lastSeq.get()?.seq ?? 0;
    } catch (e) {
      for (const w of [...this.watches]) this.fail(w, e as Error);
      return;
    }
    for (const w of [...this.watches]) {
      while (w.open && w.cursor < last) {
        const batch = this.stmts.changesSince.all(w.cursor, 1000).map(rowToChange);
        if (batch.length === 0) break;
        w.cursor = batch.at(-1)!.seq;
        try {
          w.handlers.onChanges(batch);
        } catch (e) {
          this.fail(w, e as Error);
        }
      }
    }
  }

  private fail(w: WatchState, e: Error): void {
    w.open = false;
    this.watches.delete(w);
    w.handlers.onError?.(e);
  }

  // ---- liveness ----------------------------------------------------------------------------------

  heartbeat(hostId: string, ttlMs: number, info: Record<string, unknown> = {}): Promise<void> {
    this.assertOpen();
    const now = Date.now();
    this.stmts.heartbeat.run(hostId, now, now + ttlMs, JSON.stringify(info));
    return Promise.resolve();
  }

  goodbye(hostId: string): Promise<void> {
    this.assertOpen();
    this.stmts.goodbye.run(0, hostId);
    return Promise.resolve();
  }

  liveness(): Promise<HostLiveness[]> {
    this.assertOpen();
    const now = Date.now();
    return Promise.resolve(
      this.stmts.liveness.all().map((r) => ({
        hostId: r.host_id,
        alive: r.expires_at > now,
        renewedAt: r.renewed_at,
        info: JSON.parse(r.info) as Record<string, unknown>,
      })),
    );
  }

  // ---- learned state ----------------------------------------------------------------------------

  learn(entries: readonly LearnedEntry[]): Promise<void> {
    this.assertOpen();
    if (entries.length === 0) return Promise.resolve();
    const write = this.db.transaction(() => {
      let seq = this.stmts.learnSeq.get()?.value ?? 0;
      for (const e of entries)
        this.stmts.putLearned.run(e.table, e.scope, e.key, e.value, e.origin, e.expiresAt, ++seq);
      this.stmts.setMeta.run('learned_seq', seq);
      // Expired entries are of no use to anyone: drop them now and then, in the writer's transaction.
      if (seq % 1000 < entries.length) this.stmts.purgeLearned.run(Date.now());
    });
    try {
      write.immediate();
    } catch (e) {
      return Promise.reject(
        new StoreError('unavailable', `${this.url}: cannot record learned state: ${(e as Error).message}`),
      );
    }
    this.wakeLearned();
    return Promise.resolve();
  }

  watchLearned(
    from: number,
    handlers: { onEntries: (entries: readonly LearnedChange[]) => void; onError?: (e: Error) => void },
  ): Watch {
    this.assertOpen();
    const w = { cursor: from, handlers, open: true };
    this.learnedWatches.add(w);
    if (!this.learnedTimer) this.learnedTimer = setInterval(() => this.pollLearned(), this.pollMs);
    setImmediate(() => this.pollLearned());
    return {
      close: () => {
        w.open = false;
        this.learnedWatches.delete(w);
        if (this.learnedWatches.size === 0 && this.learnedTimer) {
          clearInterval(this.learnedTimer);
          this.learnedTimer = undefined;
        }
      },
    };
  }

  private wakeLearned(): void {
    if (this.learnedWatches.size > 0) setImmediate(() => this.pollLearned());
  }

  private pollLearned(): void {
    if (this.closed || this.learnedWatches.size === 0) return;
    let last: number;
    try {
      last = this.stmts.lastLearned.get()?.seq ?? 0;
    } catch (e) {
      for (const w of [...this.learnedWatches]) w.handlers.onError?.(e as Error);
      return;
    }
    for (const w of [...this.learnedWatches]) {
      while (w.open && w.cursor < last) {
        const rows = this.stmts.learnedSince.all(w.cursor, 1000);
        if (rows.length === 0) break;
        w.cursor = rows.at(-1)!.seq;
        try {
          w.handlers.onEntries(
            rows.map((r) => ({
              table: r.tbl as 'mac' | 'arp',
              scope: r.scope,
              key: r.key,
              value: r.value,
              origin: r.origin,
              expiresAt: r.expires_at,
              seq: r.seq,
            })),
          );
        } catch (e) {
          w.open = false;
          this.learnedWatches.delete(w);
          w.handlers.onError?.(e as Error);
        }
      }
    }
  }

  // ---- leader election --------------------------------------------------------------------------

  /**
   * Lease-based election: the leader renews a row in `leases` every third of the lease time; a
   * candidate takes the row over once it has expired. A leader that cannot renew in time (its process
   * stalled) sees another holder at its next renewal and is deposed.
   */
  campaign(group: string, candidate: string, handlers: CampaignHandlers): Promise<Campaign> {
    this.assertOpen();
    const leaseMs = this.leaseMs;
    let leading = false;
    let active = true;
    const tick = () => {
      if (!active || this.closed) return;
      const now = Date.now();
      let mine = false;
      try {
        this.stmts.claimLease.run(group, candidate, now + leaseMs, now);
        mine = this.stmts.leaseHolder.get(group)?.holder === candidate;
      } catch {
        mine = false; // the database is locked or gone: act as not leading until it answers again
      }
      if (mine && !leading) {
        leading = true;
        handlers.onElected();
      } else if (!mine && leading) {
        leading = false;
        handlers.onDeposed();
      }
    };
    const timer = setInterval(tick, Math.max(50, Math.floor(leaseMs / 3)));
    this.campaigns.add(timer);
    tick();
    return Promise.resolve({
      get leading() {
        return leading;
      },
      resign: () => {
        if (!active) return Promise.resolve();
        active = false;
        clearInterval(timer);
        this.campaigns.delete(timer);
        if (!this.closed) this.stmts.dropLease.run(group, candidate);
        leading = false;
        return Promise.resolve();
      },
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.campaigns) clearInterval(t);
    if (this.learnedTimer) clearInterval(this.learnedTimer);
    this.learnedWatches.clear();
    this.campaigns.clear();
    await this.queue;
    this.closed = true;
    for (const w of this.watches) w.open = false;
    this.watches.clear();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.db.close();
  }
}

interface WatchState {
  cursor: number;
  readonly handlers: WatchHandlers;
  open: boolean;
}
