/**
 * The distributed backend: object bodies in Apache Cassandra, versions, change order, watches,
 * liveness and elections in Apache ZooKeeper. URL:
 *   cassandra://HOST:PORT[,HOST:PORT...][/KEYSPACE]?zk=HOST:PORT[,...][&root=/midonet][&rf=1][&dc=datacenter1]
 *
 * Cassandra keyspace (replication factor `rf`, LOCAL_QUORUM reads and writes, prepared statements):
 *   objects   ((kind, bucket), id, version, txid) -> seq, committed, deleted, body: one row per written
 *             version of an object, keyed by the writing transaction's id, so two writers never
 *             overwrite each other's rows; a delete writes a row with `deleted` and the last body.
 *   names, refs, bindings: candidate indexes (name -> ids, target -> holders, host interface -> ports),
 *             checked against the committed object on every use, so stale or orphan rows are harmless.
 * ZooKeeper, under `root` (see distributed-log.ts for head and log):
 *   objects/<id>   {"k": kind, "v": version, "t": txid}: the committed version pointer of each object.
 *   hosts/alive/<host> (ephemeral, the agent's session) and hosts/seen/<host> (last renewal, info).
 *   election/<group>/n-..., locks/<name>/n-...: the recipes of distributed-recipes.ts.
 *
 * A transaction: read `head` (position P, znode version H); plan with the shared planner, reading
 * pointers from ZooKeeper and bodies from Cassandra; write the new rows to Cassandra (uncommitted:
 * no pointer names them); then one ZooKeeper multi-op sets `head` if still at version H, creates the
 * log entries P+1.. and sets the pointers. That multi-op is the commit point. If another writer
 * committed first, the multi-op fails, the rows are deleted, and the transaction is planned again.
 * Afterwards the rows are marked committed (a hint for scans; the log is the truth).
 *
 * Invariant: readers only see bodies a committed pointer or log entry names, so a writer that dies
 * anywhere before the multi-op leaves nothing visible, and one that dies after it loses nothing.
 * `reconcile()` marks committed rows whose marking was lost and deletes the orphans of dead writers.
 * Scans (list, snapshot) read `head` first and take, per object, the newest row at or below it that is
 * committed, so a snapshot is the state at exactly its position.
 */
import cassandra from 'cassandra-driver';
import { randomUUID } from 'node:crypto';
import { isUuid } from './model.js';
import { ChangeLog, encodeEntry, encodeHead, type Head, type LogEntry } from './distributed-log.js';
import { LearnedLog } from './distributed-learned.js';
import { campaign, lock, segment, type Lock } from './distributed-recipes.js';
import { StoreError } from './errors.js';
import { KINDS, isKind, type Kind, type Obj } from './model.js';
import { referencedIds, referencesOf } from './references.js';
import type {
  Campaign,
  CampaignHandlers,
  Change,
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
import { ZkError, ZkSession, zkPath, type ZkOp } from './zk.js';

export const BUCKETS = 8;

export interface CassandraUrl {
  readonly contactPoints: string[];
  readonly keyspace: string;
  readonly zk: string;
  readonly root: string;
  readonly rf: number;
  readonly dc: string;
}

/** Parses a cassandra:// store URL; throws StoreError('unavailable') naming what is wrong. */
export function parseCassandraUrl(url: string): CassandraUrl {
  const bad = (why: string): never => {
    throw new StoreError(
      'unavailable',
      `store URL '${url}': ${why}; expected cassandra://HOST:PORT[,HOST:PORT...][/KEYSPACE]?zk=HOST:PORT[,...][&rf=N][&root=/midonet][&dc=datacenter1]`,
    );
  };
  const m = /^cassandra:\/\/([^/?]*)(\/[^?]*)?(?:\?(.*))?$/.exec(url);
  if (!m) return bad('not a cassandra:// URL');
  const hosts = m[1]!.split(',').filter((h) => h !== '');
  if (hosts.length === 0) bad('no Cassandra host');
  const contactPoints = hosts.map((h) => (/:\d+$/.test(h) ? h : `${h}:9042`));
  const keyspace = (m[2] ?? '/midonet').slice(1) || 'midonet';
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace))
    bad(`keyspace '${keyspace}' must be lower-case letters, digits, _`);
  const q = new URLSearchParams(m[3] ?? '');
  for (const k of q.keys()) if (!['zk', 'root', 'rf', 'dc'].includes(k)) bad(`unknown parameter '${k}'`);
  const zk = q.get('zk') ?? bad('no zk= parameter (the ZooKeeper servers)');
  const root = q.get('root') ?? '/midonet';
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(root)) bad(`root '${root}' must be an absolute znode path`);
  const rf = Number(q.get('rf') ?? '1');
  if (!Number.isInteger(rf) || rf < 1 || rf > 9) bad(`rf '${q.get('rf')}' must be 1 to 9`);
  return { contactPoints, keyspace, zk, root, rf, dc: q.get('dc') ?? 'datacenter1' };
}

/** The same services with another keyspace and ZooKeeper root: a separate, initially empty store. */
export function storeUrlFor(base: string, keyspace: string, root: string): string {
  const m = /^cassandra:\/\/([^/?]*)(?:\/[^?]*)?(?:\?(.*))?$/.exec(base);
  if (!m) throw new StoreError('unavailable', `store URL '${base}': not a cassandra:// URL`);
  const params = (m[2] ?? '').split('&').filter((p) => p !== '' && !p.startsWith('root='));
  return `cassandra://${m[1]}/${keyspace}?${[...params, `root=${root}`].join('&')}`;
}

/** The partition bucket of an id (spreads big kinds over several partitions, read in parallel). */
export function bucketOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
  return Math.abs(h) % BUCKETS;
}

/** Steps of a write at which a test can stop the writer (to check that nothing half-done shows). */
export type WriteStep = 'planned' | 'rows-partly-written' | 'rows-written' | 'committed';

export interface CassandraStoreOptions {
  /** Called at each step of every transaction; a test may kill the process there. */
  readonly onStep?: (step: WriteStep) => void | Promise<void>;
  readonly zkSessionTimeoutMs?: number;
  /** How long to wait for Cassandra and ZooKeeper when opening (ms). */
  readonly connectTimeoutMs?: number;
}

interface Pointer {
  readonly k: Kind;
  readonly v: number;
  readonly t: string;
}

interface Row {
  id: string;
  version: number;
  txid: string;
  seq: number;
  committed: boolean;
  deleted: boolean;
  body: string;
}

const SCHEMA_VERSION = 1;
const KINDS_ALL = KINDS as readonly Kind[];

function schema(ks: string, rf: number): string[] {
  return [
    `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': ${rf}}`,
    `CREATE TABLE IF NOT EXISTS ${ks}.objects (kind text, bucket int, id text, version int, txid text, seq bigint,
       committed boolean, deleted boolean, body text, PRIMARY KEY ((kind, bucket), id, version, txid))
       WITH CLUSTERING ORDER BY (id ASC, version DESC, txid ASC)`,
    `CREATE TABLE IF NOT EXISTS ${ks}.names (kind text, name text, id text, txid text, PRIMARY KEY ((kind, name), id, txid))`,
    `CREATE TABLE IF NOT EXISTS ${ks}.refs (target text, holder text, holder_kind text, txid text, PRIMARY KEY ((target), holder, txid))`,
    `CREATE TABLE IF NOT EXISTS ${ks}.bindings (host_id text, iface text, id text, txid text, PRIMARY KEY ((host_id, iface), id, txid))`,
    `CREATE TABLE IF NOT EXISTS ${ks}.flow_state (key text PRIMARY KEY, value blob) WITH default_time_to_live = 3600`,
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function byNameThenId(a: Obj, b: Obj): number {
  const an = typeof a.name === 'string' ? a.name : null;
  const bn = typeof b.name === 'string' ? b.name : null;
  if (an !== bn) {
    if (an === null) return -1;
    if (bn === null) return 1;
    return an < bn ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function bindingOf(kind: Kind, o: Obj | undefined): string | undefined {
  if (kind !== 'port' || !o) return undefined;
  const p = o as Obj<'port'>;
  return p.hostId !== null && p.interfaceName !== null ? `${p.hostId}\u0000${p.interfaceName}` : undefined;
}

export class CassandraStore extends StoreBase implements TopologyStore {
  private closed = false;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly hosts = new Map<string, Record<string, unknown>>();
  private readonly campaigns = new Set<Campaign>();
  /** Verdicts on uncommitted rows at or below the head: `${seq}:${txid}` -> committed. */
  private readonly verdicts = new Map<string, boolean>();
  private readonly q: Record<string, string>;
  private readonly learned: LearnedLog;

  private constructor(
    readonly url: string,
    private readonly cfg: CassandraUrl,
    private readonly db: cassandra.Client,
    private readonly zk: ZkSession,
    private readonly log: ChangeLog,
    private readonly opts: CassandraStoreOptions,
  ) {
    super();
    const ks = cfg.keyspace;
    this.q = {
      pointerRow: `SELECT deleted, body FROM ${ks}.objects WHERE kind = ? AND bucket = ? AND id = ? AND version = ? AND txid = ?`,
      scan: `SELECT id, version, txid, seq, committed, deleted, body FROM ${ks}.objects WHERE kind = ? AND bucket = ?`,
      insert: `INSERT INTO ${ks}.objects (kind, bucket, id, version, txid, seq, committed, deleted, body) VALUES (?, ?, ?, ?, ?, ?, false, ?, ?)`,
      mark: `UPDATE ${ks}.objects SET committed = true WHERE kind = ? AND bucket = ? AND id = ? AND version = ? AND txid = ?`,
      remove: `DELETE FROM ${ks}.objects WHERE kind = ? AND bucket = ? AND id = ? AND version = ? AND txid = ?`,
      nameIds: `SELECT id FROM ${ks}.names WHERE kind = ? AND name = ?`,
      addName: `INSERT INTO ${ks}.names (kind, name, id, txid) VALUES (?, ?, ?, ?)`,
      delName: `DELETE FROM ${ks}.names WHERE kind = ? AND name = ? AND id = ? AND txid = ?`,
      holders: `SELECT holder, holder_kind FROM ${ks}.refs WHERE target = ?`,
      addRef: `INSERT INTO ${ks}.refs (target, holder, holder_kind, txid) VALUES (?, ?, ?, ?)`,
      delRef: `DELETE FROM ${ks}.refs WHERE target = ? AND holder = ? AND txid = ?`,
      bound: `SELECT id FROM ${ks}.bindings WHERE host_id = ? AND iface = ?`,
      addBinding: `INSERT INTO ${ks}.bindings (host_id, iface, id, txid) VALUES (?, ?, ?, ?)`,
      delBinding: `DELETE FROM ${ks}.bindings WHERE host_id = ? AND iface = ? AND id = ? AND txid = ?`,
    };
    this.learned = new LearnedLog(zk, cfg.root);
    zk.onSession(() => void this.reassertHosts());
  }

  /** Opens (and on first use initializes) the store a cassandra:// URL names. */
  static async open(url: string, opts: CassandraStoreOptions = {}): Promise<CassandraStore> {
    const cfg = parseCassandraUrl(url);
    const timeout = opts.connectTimeoutMs ?? 15000;
    let zk: ZkSession;
    try {
      zk = await ZkSession.open(cfg.zk, {
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
    const log = new ChangeLog(zk, cfg.root, url);
    const store = new CassandraStore(url, cfg, db, zk, log, opts);
    try {
      await store.init();
    } catch (e) {
      await store.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError('unavailable', `${url}: cannot initialize the store: ${(e as Error).message}`);
    }
    return store;
  }

  /** Creates the znodes and (once, under a lock) the keyspace and tables. */
  private async init(): Promise<void> {
    const r = this.cfg.root;
    for (const p of ['log', 'objects', 'learned', 'hosts/alive', 'hosts/seen', 'election', 'locks'])
      await this.zk.mkdirp(zkPath(r, p));
    await this.zk.create(zkPath(r, 'head'), encodeHead({ seq: 0, tk: 0 })).catch((e: unknown) => {
      if (!(e instanceof ZkError && e.code === 'node-exists')) throw e;
    });
    const marker = zkPath(r, 'schema');
    const want = JSON.stringify({ keyspace: this.cfg.keyspace, version: SCHEMA_VERSION });
    if ((await this.zk.get(marker))?.data.toString() === want) return;
    const l = await lock(this.zk, zkPath(r, 'locks', 'schema'), 'schema', 120000);
    try {
      if ((await this.zk.get(marker))?.data.toString() === want) return;
      for (const stmt of schema(this.cfg.keyspace, this.cfg.rf)) {
        await this.db.execute(stmt, [], { consistency: cassandra.types.consistencies.all });
      }
      await this.zk.set(marker, Buffer.from(want)).catch(async (e: unknown) => {
        if (e instanceof ZkError && e.code === 'no-node') await this.zk.create(marker, Buffer.from(want));
        else throw e;
      });
    } finally {
      await l.release();
    }
  }

  // ---- plumbing ------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new StoreError('unavailable', `${this.url}: the store is closed`);
  }

  /** Runs a store operation, turning driver and ZooKeeper failures into StoreErrors naming the URL. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn();
    } catch (e) {
      if (e instanceof StoreError) throw e;
      const msg = (e as Error).message;
      if (e instanceof ZkError) throw new StoreError('unavailable', `${this.url}: ${what}: ${msg}`);
      throw new StoreError('unavailable', `${this.url}: ${what}: Cassandra: ${msg}`);
    }
  }

  private track<T>(p: Promise<T>): void {
    const t = p.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(t);
    void t.finally(() => this.inflight.delete(t));
  }

  /** Reads every row of a query, page by page. */
  private async *pages(query: string, params: unknown[]): AsyncGenerator<cassandra.types.Row> {
    let pageState: string | undefined;
    do {
      const r = await this.db.execute(query, params, { prepare: true, fetchSize: 5000, pageState });
      yield* r.rows;
      pageState = r.pageState ?? undefined;
    } while (pageState);
  }

  private async exec(query: string, params: unknown[]): Promise<cassandra.types.ResultSet> {
    return this.db.execute(query, params, { prepare: true });
  }

  /** Runs many statements, at most `width` at a time. */
  private async execMany(items: Array<[string, unknown[]]>, width = 64): Promise<void> {
    let i = 0;
    const worker = async () => {
      while (i < items.length) {
        const [q, p] = items[i++]!;
        await this.exec(q, p);
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  }

  private pointerPath(id: string): string {
    return zkPath(this.cfg.root, 'objects', id);
  }

  private async pointer(id: string): Promise<Pointer | undefined> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) return undefined;
    const n = await this.zk.get(this.pointerPath(id));
    return n ? (JSON.parse(n.data.toString()) as Pointer) : undefined;
  }

  /** The committed object with this id (any kind), read at its pointer's version. */
  private async read(id: string): Promise<{ kind: Kind; obj: Obj } | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const p = await this.pointer(id);
      if (!p) return undefined;
      const r = await this.exec(this.q.pointerRow!, [p.k, bucketOf(id), id, p.v, p.t]);
      const row = r.first();
      if (row && !row.get('deleted')) return { kind: p.k, obj: JSON.parse(row.get('body') as string) as Obj };
      // The pointer moved on and the row it named was pruned meanwhile: read the pointer again.
      await sleep(5 * (attempt + 1));
    }
    throw new StoreError(
      'unavailable',
      `${this.url}: object ${id}: its committed version has no body in Cassandra`,
    );
  }

  private async readMany(ids: Iterable<string>): Promise<Map<string, { kind: Kind; obj: Obj }>> {
    const out = new Map<string, { kind: Kind; obj: Obj }>();
    const list = [...new Set(ids)];
    for (let i = 0; i < list.length; i += 256) {
      const got = await Promise.all(list.slice(i, i + 256).map((id) => this.read(id)));
      got.forEach((g, k) => g && out.set(list[i + k]!, g));
    }
    return out;
  }

  private async nameCandidates(kind: Kind, name: string): Promise<string[]> {
    return (await this.exec(this.q.nameIds!, [kind, name])).rows.map((r) => r.get('id') as string);
  }

  private async idByName(kind: Kind, name: string): Promise<string | undefined> {
    const found = await this.readMany(await this.nameCandidates(kind, name));
    for (const [id, r] of found) if (r.kind === kind && r.obj.name === name) return id;
    return undefined;
  }

  private async holders(target: string): Promise<Array<{ kind: Kind; id: string; obj: Obj }>> {
    const rows = (await this.exec(this.q.holders!, [target])).rows;
    const found = await this.readMany(rows.map((r) => r.get('holder') as string));
    const out: Array<{ kind: Kind; id: string; obj: Obj }> = [];
    for (const [id, r] of found) {
      if (referencedIds(r.kind, r.obj).includes(target)) out.push({ kind: r.kind, id, obj: r.obj });
    }
    return out;
  }

  // ---- reads ---------------------------------------------------------------------------------------

  async get<K extends Kind>(kind: K, id: string): Promise<Obj<K> | undefined> {
    return this.guard(`get ${kind} ${id}`, async () => {
      const r = await this.read(id);
      return r && r.kind === kind ? r.obj : undefined;
    });
  }

  async resolve<K extends Kind>(kind: K, ref: string): Promise<Obj<K>> {
    return this.guard(`resolve ${kind} ${ref}`, async () => {
      if (isUuid(ref)) {
        const r = await this.read(ref);
        if (r && r.kind === kind) return r.obj;
        if (r) throw new StoreError('not-found', `${kind} ${ref}: that id is a ${r.kind}, not a ${kind}`);
      }
      const id = await this.idByName(kind, ref);
      if (id) {
        const r = await this.read(id);
        if (r && r.kind === kind) return r.obj;
      }
      throw new StoreError('not-found', `no ${kind} named or with id '${ref}'`);
    });
  }

  async list<K extends Kind>(kind: K, filter?: { readonly refersTo?: string }): Promise<Obj<K>[]> {
    return this.guard(`list ${kind}`, async () => {
      let objs: Obj[];
      if (filter?.refersTo !== undefined) {
        objs = (await this.holders(filter.refersTo)).filter((h) => h.kind === kind).map((h) => h.obj);
      } else {
        const head = await this.log.head();
        objs = await this.scanKind(kind, head.seq);
      }
      return objs.sort(byNameThenId);
    });
  }

  async referrers(id: string): Promise<Referrer[]> {
    return this.guard(`referrers of ${id}`, async () => {
      const out: Referrer[] = [];
      for (const h of await this.holders(id)) {
        for (const ref of referencesOf(h.kind, h.obj)) {
          if (ref.target === id)
            out.push({ kind: h.kind, id: h.id, name: h.obj.name ?? null, field: ref.field });
        }
      }
      return out;
    });
  }

  /** Whether an uncommitted row at or below the head was committed: the log entry at its seq says. */
  private async verdict(seq: number, txid: string): Promise<boolean> {
    const key = `${seq}:${txid}`;
    const v = this.verdicts.get(key);
    if (v !== undefined) return v;
    const e = await this.log.entry(seq);
    const ok = e?.txid === txid;
    if (this.verdicts.size > 100000) this.verdicts.clear();
    this.verdicts.set(key, ok);
    return ok;
  }

  /** Every object of a kind as of position `at`: per id, the newest committed row at or below it. */
  private async scanKind(kind: Kind, at: number): Promise<Obj[]> {
    // Rows come per bucket sorted by id, then version (newest first).
    const parts = await Promise.all(
      Array.from({ length: BUCKETS }, async (_, bucket) => {
        const rows: Row[] = [];
        for await (const r of this.pages(this.q.scan!, [kind, bucket])) {
          rows.push({
            id: r.get('id') as string,
            version: r.get('version') as number,
            txid: r.get('txid') as string,
            seq: Number(r.get('seq')),
            committed: r.get('committed') === true,
            deleted: r.get('deleted') === true,
            body: r.get('body') as string,
          });
        }
        return rows;
      }),
    );
    const out: Obj[] = [];
    for (const rows of parts) {
      let i = 0;
      while (i < rows.length) {
        const id = rows[i]!.id;
        let chosen: Row | undefined;
        for (; i < rows.length && rows[i]!.id === id; i++) {
          const r = rows[i]!;
          if (chosen || r.seq > at) continue;
          if (r.committed || (await this.verdict(r.seq, r.txid))) chosen = r;
        }
        if (chosen && !chosen.deleted) out.push(JSON.parse(chosen.body) as Obj);
      }
    }
    return out;
  }

  async snapshot(): Promise<Snapshot> {
    return this.guard('snapshot', async () => {
      const head = await this.log.head();
      const parts = await Promise.all(
        KINDS_ALL.map(async (kind) =>
          (await this.scanKind(kind, head.seq)).map((object) => ({ kind, object })),
        ),
      );
      return { position: head.seq, objects: parts.flat() };
    });
  }

  async position(): Promise<number> {
    return this.guard('position', async () => (await this.log.head()).seq);
  }

  async changesSince(from: number, limit = 10000): Promise<Change[]> {
    return this.guard(`changes since ${from}`, () => this.log.since(from, limit));
  }

  watch(from: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    return this.log.watch(from, handlers);
  }

  // ---- writes --------------------------------------------------------------------------------------

  /** The planner's view: pointers and bodies as committed, prefetched for the ids and names in `ops`. */
  private async baseReader(ops: readonly Op[]): Promise<BaseReader> {
    const objs = new Map<string, { kind: Kind; obj: Obj } | undefined>();
    const ids = new Set<string>();
    const names: Array<[Kind, string]> = [];
    for (const op of ops) {
      if (op.id) ids.add(op.id);
      const f = op.op === 'create' ? op.fields : op.op === 'update' ? op.set : {};
      for (const v of Object.values(f)) if (typeof v === 'string' && isUuid(v)) ids.add(v);
      if (op.op === 'create' && isKind(op.kind) && typeof op.fields.name === 'string')
        names.push([op.kind, op.fields.name]);
    }
    const got = await this.readMany(ids);
    for (const id of ids) objs.set(id, got.get(id));
    const nameHits = new Map<string, string | undefined>();
    if (names.length > 1) {
      const found = await Promise.all(names.map(([k, n]) => this.idByName(k, n)));
      names.forEach(([k, n], i) => nameHits.set(`${k}\u0000${n}`, found[i]));
    }
    return {
      get: async (id) => {
        if (!objs.has(id)) objs.set(id, await this.read(id));
        return objs.get(id);
      },
      idByName: async (kind, name) => {
        const key = `${kind}\u0000${name}`;
        if (nameHits.has(key)) return nameHits.get(key);
        return this.idByName(kind, name);
      },
      referrerIds: async (id) => (await this.holders(id)).map((h) => ({ kind: h.kind, id: h.id })),
      portIdByBinding: async (hostId, iface) => {
        const rows = (await this.exec(this.q.bound!, [hostId, iface])).rows;
        const found = await this.readMany(rows.map((r) => r.get('id') as string));
        for (const [id, r] of found) if (bindingOf(r.kind, r.obj) === `${hostId}\u0000${iface}`) return id;
        return undefined;
      },
      maxTunnelKey: async () => (await this.log.head()).tk,
    };
  }

  /** Cassandra statements that write a transaction's rows and index entries. */
  private rowStatements(
    writes: readonly Write[],
    txid: string,
    firstSeq: number,
  ): Array<[string, unknown[]]> {
    const out: Array<[string, unknown[]]> = [];
    writes.forEach((w, i) => {
      const deleted = w.op === 'delete';
      const body = JSON.stringify(deleted ? w.before : w.after);
      out.push([
        this.q.insert!,
        [w.kind, bucketOf(w.id), w.id, w.after.version, txid, firstSeq + i, deleted, body],
      ]);
      if (deleted) return;
      if (typeof w.after.name === 'string' && w.after.name !== w.before?.name)
        out.push([this.q.addName!, [w.kind, w.after.name, w.id, txid]]);
      const old = new Set(w.before ? referencedIds(w.kind, w.before) : []);
      for (const t of referencedIds(w.kind, w.after))
        if (!old.has(t)) out.push([this.q.addRef!, [t, w.id, w.kind, txid]]);
      const b = bindingOf(w.kind, w.after);
      if (b !== undefined && b !== bindingOf(w.kind, w.before)) {
        const [h, f] = b.split('\u0000');
        out.push([this.q.addBinding!, [h, f, w.id, txid]]);
      }
    });
    return out;
  }

  /** Statements that delete what `rowStatements` wrote (for a transaction that did not commit). */
  private undoStatements(writes: readonly Write[], txid: string): Array<[string, unknown[]]> {
    const out: Array<[string, unknown[]]> = [];
    for (const w of writes) {
      out.push([this.q.remove!, [w.kind, bucketOf(w.id), w.id, w.after.version, txid]]);
      if (w.op === 'delete') continue;
      out.push(...this.indexUndo(w.kind, w.id, w.after, txid));
    }
    return out;
  }

  private indexUndo(kind: Kind, id: string, obj: Obj, txid: string): Array<[string, unknown[]]> {
    const out: Array<[string, unknown[]]> = [];
    if (typeof obj.name === 'string') out.push([this.q.delName!, [kind, obj.name, id, txid]]);
    for (const t of referencedIds(kind, obj)) out.push([this.q.delRef!, [t, id, txid]]);
    const b = bindingOf(kind, obj);
    if (b !== undefined) {
      const [h, f] = b.split('\u0000');
      out.push([this.q.delBinding!, [h, f, id, txid]]);
    }
    return out;
  }

  private commitOps(head: Head & { version: number }, writes: readonly Write[], txid: string): ZkOp[] {
    let tk = head.tk;
    for (const w of writes)
      if (w.kind === 'port' && w.op !== 'delete') tk = Math.max(tk, (w.after as Obj<'port'>).tunnelKey);
    const n = writes.length;
    const ops: ZkOp[] = [
      {
        op: 'set',
        path: this.log.headPath,
        data: encodeHead({ seq: head.seq + n, tk }),
        version: head.version,
      },
    ];
    writes.forEach((w, i) => {
      const entry: LogEntry = {
        seq: head.seq + 1 + i,
        tx: head.seq + 1,
        txid,
        kind: w.kind,
        id: w.id,
        op: w.op,
        version: w.after.version,
        object: w.op === 'delete' ? w.before! : w.after,
      };
      ops.push({ op: 'create', path: this.log.entryPath(entry.seq), data: encodeEntry(entry) });
    });
    for (const w of writes) {
      const path = this.pointerPath(w.id);
      const data = Buffer.from(JSON.stringify({ k: w.kind, v: w.after.version, t: txid } satisfies Pointer));
      if (w.op === 'create') ops.push({ op: 'create', path, data });
      else if (w.op === 'update') ops.push({ op: 'set', path, data });
      else ops.push({ op: 'remove', path });
    }
    return ops;
  }

  /**
   * Whether a commit whose answer was lost (connection loss) was applied: the log entry at its first
   * position carries its transaction id exactly when it was.
   */
  private async wasCommitted(firstSeq: number, txid: string): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.log.entry(firstSeq))?.txid === txid;
      } catch (e) {
        if (attempt >= 10) throw e;
        await sleep(500);
      }
    }
  }

  transact(ops: readonly Op[]): Promise<TxResult> {
    return this.guard('transaction', async () => {
      for (let attempt = 1; ; attempt++) {
        const head = await this.log.head();
        let planned: Awaited<ReturnType<typeof planTransaction>>;
        try {
          planned = await planTransaction(await this.baseReader(ops), ops);
        } catch (e) {
          // A refusal counts only if nothing was committed while planning (else the reads may mix states).
          if (e instanceof StoreError && (await this.log.head()).version !== head.version && attempt < 100)
            continue;
          throw e;
        }
        const { writes, results } = planned;
        if (writes.length === 0) return { position: 0, results, changes: [] };
        const txid = randomUUID();
        const firstSeq = head.seq + 1;
        await this.opts.onStep?.('planned');
        const stmts = this.rowStatements(writes, txid, firstSeq);
        if (this.opts.onStep) {
          await this.execMany(stmts.slice(0, 1));
          await this.opts.onStep('rows-partly-written');
          await this.execMany(stmts.slice(1));
        } else {
          await this.execMany(stmts);
        }
        await this.opts.onStep?.('rows-written');
        let committed: boolean;
        try {
          await this.zk.multi(this.commitOps(head, writes, txid));
          committed = true;
        } catch (e) {
          if (!(e instanceof ZkError)) throw e;
          if (e.code === 'bad-version' || e.code === 'node-exists' || e.code === 'no-node') committed = false;
          else committed = await this.wasCommitted(firstSeq, txid);
        }
        if (!committed) {
          this.track(this.execMany(this.undoStatements(writes, txid), 16));
          if (attempt >= 100)
            throw new StoreError(
              'unavailable',
              `${this.url}: transaction not committed after ${attempt} attempts (too much contention)`,
            );
          await sleep(Math.random() * Math.min(50, 2 * attempt));
          continue;
        }
        await this.opts.onStep?.('committed');
        this.track(
          this.execMany(
            writes.map((w) => [this.q.mark!, [w.kind, bucketOf(w.id), w.id, w.after.version, txid]]),
            16,
          ),
        );
        const changes: Change[] = writes.map((w, i) => ({
          seq: firstSeq + i,
          tx: firstSeq,
          kind: w.kind,
          id: w.id,
          op: w.op,
          version: w.after.version,
          object: w.op === 'delete' ? w.before! : w.after,
        }));
        this.log.poke();
        return { position: changes.at(-1)!.seq, results, changes };
      }
    });
  }

  /**
   * Repairs what dead writers left: rows at or below the head that the log names are marked committed;
   * rows it does not name, and rows above the head older than `graceMs` (their writer is gone), are
   * deleted with their index entries. Safe to run at any time, from any process.
   */
  async reconcile(opts: { graceMs?: number } = {}): Promise<{ marked: number; removed: number }> {
    return this.guard('reconcile', async () => {
      const graceUs = (opts.graceMs ?? 60000) * 1000;
      const head = await this.log.head();
      const nowUs = Date.now() * 1000;
      let marked = 0;
      let removed = 0;
      for (const kind of KINDS_ALL) {
        for (let bucket = 0; bucket < BUCKETS; bucket++) {
          const query = `SELECT id, version, txid, seq, committed, deleted, body, WRITETIME(body) AS wt FROM ${this.cfg.keyspace}.objects WHERE kind = ? AND bucket = ?`;
          for await (const r of this.pages(query, [kind, bucket])) {
            if (r.get('committed') === true) continue;
            const id = r.get('id') as string;
            const version = r.get('version') as number;
            const txid = r.get('txid') as string;
            const seq = Number(r.get('seq'));
            const key = [kind, bucket, id, version, txid];
            if (seq <= head.seq) {
              if ((await this.log.entry(seq))?.txid === txid) {
                await this.exec(this.q.mark!, key);
                marked++;
                continue;
              }
            } else if (nowUs - Number(r.get('wt')) < graceUs) continue;
            const body = r.get('body') as string | null;
            if (body && r.get('deleted') !== true)
              await this.execMany(this.indexUndo(kind, id, JSON.parse(body) as Obj, txid));
            await this.exec(this.q.remove!, key);
            removed++;
          }
        }
      }
      return { marked, removed };
    });
  }

  // ---- learned state (distributed-learned.ts) -----------------------------------------------------

  learn(entries: readonly LearnedEntry[]): Promise<void> {
    return this.guard('learn', () => this.learned.learn(entries));
  }

  watchLearned(
    from: number,
    handlers: { onEntries: (entries: readonly LearnedChange[]) => void; onError?: (e: Error) => void },
  ): Watch {
    this.assertOpen();
    return this.learned.watch(from, handlers);
  }

  // ---- liveness ------------------------------------------------------------------------------------

  private alivePath(hostId: string): string {
    return zkPath(this.cfg.root, 'hosts', 'alive', segment(hostId));
  }

  private seenPath(hostId: string): string {
    return zkPath(this.cfg.root, 'hosts', 'seen', segment(hostId));
  }

  /** Puts `data` at `path`, creating the node (with `mode`) when missing. */
  private async put(path: string, data: Buffer, mode: 'persistent' | 'ephemeral'): Promise<void> {
    const n = await this.zk.get(path);
    if (n && mode === 'ephemeral' && n.ephemeralOwner !== this.zk.sessionId) {
      // An earlier session of this host (a restarted agent) still holds the node: take it over.
      await this.zk.remove(path).catch(() => undefined);
    } else if (n) {
      await this.zk.set(path, data);
      return;
    }
    try {
      await this.zk.create(path, data, mode);
    } catch (e) {
      if (e instanceof ZkError && e.code === 'node-exists') await this.zk.set(path, data);
      else throw e;
    }
  }

  heartbeat(hostId: string, ttlMs: number, info: Record<string, unknown> = {}): Promise<void> {
    return this.guard(`heartbeat of host ${hostId}`, async () => {
      const data = Buffer.from(JSON.stringify({ renewedAt: Date.now(), ttlMs, info }));
      this.hosts.set(hostId, info);
      await Promise.all([
        this.put(this.alivePath(hostId), data, 'ephemeral'),
        this.put(this.seenPath(hostId), data, 'persistent'),
      ]);
    });
  }

  /** After session expiry: the hosts this handle keeps alive get their ephemeral nodes back. */
  private async reassertHosts(): Promise<void> {
    for (const [hostId, info] of this.hosts) {
      await this.heartbeat(hostId, 0, info).catch(() => undefined);
    }
  }

  goodbye(hostId: string): Promise<void> {
    return this.guard(`goodbye of host ${hostId}`, async () => {
      this.hosts.delete(hostId);
      await this.zk.remove(this.alivePath(hostId)).catch((e: unknown) => {
        if (!(e instanceof ZkError && e.code === 'no-node')) throw e;
      });
    });
  }

  liveness(): Promise<HostLiveness[]> {
    return this.guard('liveness', async () => {
      const seen = (await this.zk.children(zkPath(this.cfg.root, 'hosts', 'seen'))) ?? [];
      const alive = new Set((await this.zk.children(zkPath(this.cfg.root, 'hosts', 'alive'))) ?? []);
      const nodes = await Promise.all(
        seen.map((s) => this.zk.get(zkPath(this.cfg.root, 'hosts', 'seen', s))),
      );
      const out: HostLiveness[] = [];
      seen.forEach((s, i) => {
        const n = nodes[i];
        if (!n) return;
        const d = JSON.parse(n.data.toString()) as { renewedAt: number; info: Record<string, unknown> };
        out.push({
          hostId: decodeURIComponent(s),
          alive: alive.has(s),
          renewedAt: d.renewedAt,
          info: d.info,
        });
      });
      return out.sort((a, b) => (a.hostId < b.hostId ? -1 : 1));
    });
  }

  // ---- coordination --------------------------------------------------------------------------------

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

  /** For tests: makes ZooKeeper expire this handle's session (a new one replaces it). */
  async expireSessionForTest(): Promise<void> {
    await this.zk.expireForTest();
  }

  /** The ZooKeeper session id (changes when an expired session is replaced). */
  get sessionId(): string {
    return this.zk.sessionId;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const c of [...this.campaigns]) await c.resign().catch(() => undefined);
    await Promise.all([...this.inflight]);
    this.closed = true;
    this.log.close();
    this.zk.close();
    await this.db.shutdown().catch(() => undefined);
  }
}
