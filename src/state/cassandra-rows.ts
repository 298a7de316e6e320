/**
 * Object rows of the distributed backend: reading committed objects out of Cassandra (through their
 * version pointers in ZooKeeper, or by scanning a kind as of a log position) and the statements that
 * write or undo a transaction's rows and index entries. The commit protocol that decides which rows
 * count is in cassandra-store.ts; the layout is in cassandra-schema.ts.
 *
 * ZooKeeper, under the store's root: `objects/<id>` = {"k": kind, "v": version, "t": txid}, the
 * committed version pointer of each object.
 *
 * Invariants: a read returns only a body that a committed pointer names, or (scans) the row with the
 * highest log position at or below the scan's position that is committed -- marked so, or named by
 * the log entry at its position -- so a scan is the state at exactly that position, and an id that
 * was deleted and created again shows its newest life. Index rows (names, refs, bindings) are only
 * candidates: every use checks them against the committed object.
 */
import cassandra from 'cassandra-driver';
import { NameLookups } from './cassandra-coalesce.js';
import type { ChangeLog, LogEntry } from './distributed-log.js';
import { StoreError } from './errors.js';
import type { Kind, Obj } from './model.js';
import { referencedIds } from './references.js';
import { BUCKETS, bucketOf, type Statements } from './cassandra-schema.js';
import type { StoredObject } from './store-base.js';
import type { Write } from './transaction.js';
import { zkPath, type ZkSession } from './zk.js';

export type Statement = [string, unknown[]];

/** Bounds of one unlogged batch (`execBatched`): Cassandra warns about batches over 5 KiB and refuses
 * those over 50 KiB by default; the values are counted, the statement overhead is not. */
const BATCH_STATEMENTS = 32;
const BATCH_BYTES = 3 * 1024;

/** A version pointer: kind, version and the id of the transaction that wrote that version. */
export interface Pointer {
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

/** Reads the committed objects with these ids (those that exist). */
export type ReadMany = (ids: readonly string[]) => Promise<Map<string, StoredObject>>;

/**
 * `items` with the statements of one table and partition next to each other (sorted by statement and
 * first two values: every table's partition key is its first one or two values here), otherwise in
 * their order. Their order never mattered: statements of one batch share its timestamp, and batches
 * run at once.
 */
export function byPartition(items: readonly Statement[]): Statement[] {
  const key = ([q, p]: Statement) => `${q}\u0000${String(p[0])}\u0000${String(p[1])}`;
  return items
    .map((item, i) => ({ item, i, k: key(item) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.i - b.i))
    .map((x) => x.item);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The host-interface binding of a port, as one string, or undefined. */
export function bindingOf(kind: Kind, o: Obj | undefined): string | undefined {
  if (kind !== 'port' || !o) return undefined;
  const p = o as Obj<'port'>;
  return p.hostId !== null && p.interfaceName !== null ? `${p.hostId}\u0000${p.interfaceName}` : undefined;
}

export class ObjectRows {
  /** Verdicts on uncommitted rows at or below the head: `${seq}:${txid}` -> committed. */
  private readonly verdicts = new Map<string, boolean>();
  /** Name lookups of one turn of the event loop, one query per kind (cassandra-coalesce.ts). */
  private readonly names = new NameLookups(async (kind, names) =>
    names.length === 1
      ? (await this.allRows(this.q.nameIds, [kind, names[0]])).map((r) => [names[0]!, r.get('id') as string])
      : (await this.allRows(this.q.namesIn, [kind, names])).map((r) => [
          r.get('name') as string,
          r.get('id') as string,
        ]),
  );

  constructor(
    private readonly db: cassandra.Client,
    private readonly zk: ZkSession,
    private readonly log: ChangeLog,
    /** The store's root znode. */
    private readonly root: string,
    readonly q: Statements,
    /** For error messages. */
    private readonly url: string,
  ) {}

  exec(query: string, params: unknown[]): Promise<cassandra.types.ResultSet> {
    return this.db.execute(query, params, { prepare: true });
  }

  /** Runs many statements, at most `width` at a time. */
  async execMany(items: readonly Statement[], width = 64): Promise<void> {
    let i = 0;
    const worker = async () => {
      while (i < items.length) {
        const [q, p] = items[i++]!;
        await this.exec(q, p);
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  }

  /**
   * Runs many statements as unlogged batches (one request each instead of one per statement), at most
   * `BATCH_STATEMENTS` statements and about `BATCH_BYTES` of values in a batch, under Cassandra's
   * batch size warning; the batches run at once. Like `execMany`, not atomic: each statement applies or
   * not, which the commit protocol allows (rows count only once a committed pointer names them).
   * The statements of one partition go next to each other (`byPartition`), so they share a batch,
   * which Cassandra applies as one mutation per replica instead of one per statement.
   */
  async execBatched(items: readonly Statement[]): Promise<void> {
    const batches: Statement[][] = [];
    let bytes = Infinity;
    for (const item of byPartition(items)) {
      const size = item[1].reduce<number>((n, v) => n + (typeof v === 'string' ? v.length : 8), 0);
      if (bytes + size > BATCH_BYTES || batches.at(-1)!.length >= BATCH_STATEMENTS) {
        batches.push([]);
        bytes = 0;
      }
      batches.at(-1)!.push(item);
      bytes += size;
    }
    await Promise.all(
      batches.map((b) =>
        b.length === 1
          ? this.exec(b[0]![0], b[0]![1])
          : this.db.batch(
              b.map(([query, params]) => ({ query, params })),
              { prepare: true, logged: false },
            ),
      ),
    );
  }

  /** Every row of a query, all pages (an index lookup that stopped at the first page would miss
   * candidates once stale index rows pile up). */
  async allRows(query: string, params: unknown[]): Promise<cassandra.types.Row[]> {
    const out: cassandra.types.Row[] = [];
    for await (const r of this.pages(query, params)) out.push(r);
    return out;
  }

  /** Reads every row of a query, page by page. */
  async *pages(query: string, params: unknown[]): AsyncGenerator<cassandra.types.Row> {
    let pageState: string | undefined;
    do {
      const r = await this.db.execute(query, params, { prepare: true, fetchSize: 5000, pageState });
      yield* r.rows;
      pageState = r.pageState ?? undefined;
    } while (pageState);
  }

  // ---- pointers and committed objects -------------------------------------------------------------

  pointerPath(id: string): string {
    return zkPath(this.root, 'objects', id);
  }

  private async pointer(id: string): Promise<Pointer | undefined> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) return undefined;
    const n = await this.zk.get(this.pointerPath(id));
    return n ? (JSON.parse(n.data.toString()) as Pointer) : undefined;
  }

  /** The committed object with this id (any kind), read at its pointer's version. */
  async read(id: string): Promise<StoredObject | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const p = await this.pointer(id);
      if (!p) return undefined;
      const r = await this.exec(this.q.pointerRow, [p.k, bucketOf(id), id, p.v, p.t]);
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

  async readMany(ids: Iterable<string>): Promise<Map<string, StoredObject>> {
    const out = new Map<string, StoredObject>();
    const list = [...new Set(ids)];
    for (let i = 0; i < list.length; i += 256) {
      const got = await Promise.all(list.slice(i, i + 256).map((id) => this.read(id)));
      got.forEach((g, k) => g && out.set(list[i + k]!, g));
    }
    return out;
  }

  /** `readMany` (here and in `holders`, `portIdByBinding`): how candidates are read (a writer's cache);
   * `together`: wait for the other lookups of this turn of the event loop and ask with them. */
  async idByName(
    kind: Kind,
    name: string,
    readMany: ReadMany = (ids) => this.readMany(ids),
    together = false,
  ): Promise<string | undefined> {
    const candidates = together
      ? await this.names.ids(kind, name)
      : (await this.allRows(this.q.nameIds, [kind, name])).map((r) => r.get('id') as string);
    for (const [id, r] of await readMany(candidates)) if (r.kind === kind && r.obj.name === name) return id;
    return undefined;
  }

  /** Committed objects that hold a reference to `target`. */
  async holders(target: string, readMany: ReadMany = (ids) => this.readMany(ids)): Promise<StoredObject[]> {
    const rows = await this.allRows(this.q.holders, [target]);
    const found = await readMany(rows.map((r) => r.get('holder') as string));
    return [...found.values()].filter((r) => referencedIds(r.kind, r.obj).includes(target));
  }

  async portIdByBinding(
    hostId: string,
    iface: string,
    readMany: ReadMany = (ids) => this.readMany(ids),
  ): Promise<string | undefined> {
    const rows = await this.allRows(this.q.bound, [hostId, iface]);
    const found = await readMany(rows.map((r) => r.get('id') as string));
    for (const [id, r] of found) if (bindingOf(r.kind, r.obj) === `${hostId}\u0000${iface}`) return id;
    return undefined;
  }

  // ---- scans --------------------------------------------------------------------------------------

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

  /** Every object of a kind as of position `at`: per id, the committed row with the highest seq at or below it. */
  async scanKind(kind: Kind, at: number): Promise<Obj[]> {
    // Rows come per bucket sorted by id, then version (newest first).
    const parts = await Promise.all(
      Array.from({ length: BUCKETS }, async (_, bucket) => {
        const rows: Row[] = [];
        for await (const r of this.pages(this.q.scan, [kind, bucket])) {
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
          if (r.seq > at || (chosen && chosen.seq > r.seq)) continue;
          if (r.committed || (await this.verdict(r.seq, r.txid))) chosen = r;
        }
        if (chosen && !chosen.deleted) out.push(JSON.parse(chosen.body) as Obj);
      }
    }
    return out;
  }

  // ---- a transaction's rows -----------------------------------------------------------------------

  /** Statements that write a transaction's rows and index entries (uncommitted: no pointer names them). */
  rowStatements(writes: readonly Write[], txid: string, firstSeq: number): Statement[] {
    const out: Statement[] = [];
    writes.forEach((w, i) => {
      const deleted = w.op === 'delete';
      const body = JSON.stringify(deleted ? w.before : w.after);
      out.push([
        this.q.insert,
        [w.kind, bucketOf(w.id), w.id, w.after.version, txid, firstSeq + i, deleted, body],
      ]);
      if (deleted) return;
      if (typeof w.after.name === 'string' && w.after.name !== w.before?.name)
        out.push([this.q.addName, [w.kind, w.after.name, w.id, txid]]);
      const old = new Set(w.before ? referencedIds(w.kind, w.before) : []);
      for (const t of referencedIds(w.kind, w.after))
        if (!old.has(t)) out.push([this.q.addRef, [t, w.id, w.kind, txid]]);
      const b = bindingOf(w.kind, w.after);
      if (b !== undefined && b !== bindingOf(w.kind, w.before)) {
        const [h, f] = b.split('\u0000');
        out.push([this.q.addBinding, [h, f, w.id, txid]]);
      }
    });
    return out;
  }

  /** Statements that delete what `rowStatements` wrote (for a transaction that did not commit). */
  undoStatements(writes: readonly Write[], txid: string): Statement[] {
    const out: Statement[] = [];
    for (const w of writes) {
      out.push([this.q.remove, [w.kind, bucketOf(w.id), w.id, w.after.version, txid]]);
      if (w.op !== 'delete') out.push(...this.indexUndo(w.kind, w.id, w.after, txid));
    }
    return out;
  }

  /** Statements that delete the index entries a row of `obj` written by `txid` added. */
  indexUndo(kind: Kind, id: string, obj: Obj, txid: string): Statement[] {
    const out: Statement[] = [];
    if (typeof obj.name === 'string') out.push([this.q.delName, [kind, obj.name, id, txid]]);
    for (const t of referencedIds(kind, obj)) out.push([this.q.delRef, [t, id, txid]]);
    const b = bindingOf(kind, obj);
    if (b !== undefined) {
      const [h, f] = b.split('\u0000');
      out.push([this.q.delBinding, [h, f, id, txid]]);
    }
    return out;
  }

  /** Statements that mark a committed transaction's rows (a hint for scans; the log is the truth). */
  markStatements(writes: readonly Write[], txid: string): Statement[] {
    return writes.map((w) => [this.q.mark, [w.kind, bucketOf(w.id), w.id, w.after.version, txid]]);
  }

  /** Statements that mark the rows log entries name (before those entries are compacted away). */
  markEntries(entries: readonly LogEntry[]): Statement[] {
    return entries.map((e) => [this.q.mark, [e.kind, bucketOf(e.id), e.id, e.version, e.txid]]);
  }
}
