/**
 * The distributed backend's change log and commit point, in ZooKeeper, and the watch feed built on it.
 *
 * Layout under the store's root znode:
 *   head                 {"seq": last committed change, "tk": highest tunnel key handed out}; its znode
 *                        version counts commits, and every commit sets it with the version it planned
 *                        against, so commits are serialized (a concurrent writer's commit fails and it
 *                        plans again).
 *   log/c-0000000123     one persistent node per change: the change with its object (JSON), named by
 *                        its position so a reader knows every name between two positions.
 *   log-start            {"seq": first position the log still holds}; compaction (retention.ts) moves
 *                        it up first, then removes the nodes below it.
 *
 * A commit is one multi-op: set `head` (version-checked), create the change nodes, and set the objects'
 * version pointers. So a reader that sees `head` at N finds every change node up to N, and never one
 * above N.
 *
 * Watching: each `ChangeLog` keeps one data watch on `head` for all its watches (plus a slow poll as a
 * safety net) and, when it moves, reads the new change nodes once and hands each watch its part, in
 * order. When the watch fires (or a commit through this handle pokes it), the change nodes it expects
 * (as many as the last move brought) are asked for together with `head`, in one pipelined round trip
 * instead of two: the session answers in order, so a node read after `head` at N and at or below N is
 * committed; what was not read so (more changes than expected) is read after, as before. A watch that
 * fell behind (disconnection, session expiry) catches up from its cursor through the same path: no full
 * reload while the log still holds its position; once it does not, the watch resyncs from a snapshot
 * (`onResync`), or fails with 'position-gone' when it has no such handler.
 *
 * Invariant: a watch delivers every change after its start position exactly once, in position order,
 * or a snapshot and then every change after the snapshot's position.
 */
import { StoreError } from './errors.js';
import type { Kind, Obj } from './model.js';
import { countCut } from './retention.js';
import type { Change, ChangeOp, LogRetention, Snapshot, Watch, WatchHandlers } from './store.js';
import { WatcherSet } from './watcher-set.js';
import { ZkError, zkPath, type ZkSession } from './zk.js';

/** What the `head` node holds. */
export interface Head {
  readonly seq: number;
  /** Highest tunnel key ever handed out (never reused). */
  readonly tk: number;
}

/** One change node's data. */
export interface LogEntry {
  readonly seq: number;
  readonly tx: number;
  /** The writing transaction's id; the object rows it wrote in Cassandra carry the same id. */
  readonly txid: string;
  readonly kind: Kind;
  readonly id: string;
  readonly op: ChangeOp;
  readonly version: number;
  readonly object: Obj;
  /** Commit time (ms since epoch), for compaction by age; absent in entries of older versions. */
  readonly at?: number;
}

export function logName(seq: number): string {
  return `c-${String(seq).padStart(10, '0')}`;
}

export function parseLogName(name: string): number | undefined {
  const m = /^c-(\d{10})$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function encodeHead(h: Head): Buffer {
  return Buffer.from(JSON.stringify(h));
}

export function decodeHead(b: Buffer): Head {
  if (b.length === 0) return { seq: 0, tk: 0 };
  const h = JSON.parse(b.toString()) as Partial<Head>;
  return { seq: h.seq ?? 0, tk: h.tk ?? 0 };
}

export function encodeEntry(e: LogEntry): Buffer {
  return Buffer.from(JSON.stringify(e));
}

export function decodeEntry(b: Buffer): LogEntry {
  return JSON.parse(b.toString()) as LogEntry;
}

export function entryToChange(e: LogEntry): Change {
  return { seq: e.seq, tx: e.tx, kind: e.kind, id: e.id, op: e.op, version: e.version, object: e.object };
}

/** At most this many change nodes are read ahead with `head` when the watch fires. */
const READ_AHEAD_MAX = 16;

interface WatchState {
  cursor: number;
  readonly handlers: WatchHandlers;
  open: boolean;
}

export class ChangeLog {
  private readonly watches: WatcherSet<WatchState>;
  private armed = false;
  private pumping = false;
  private again = false;
  /** `head` moved (the watch fired, or this handle committed): read the expected nodes with it. */
  private moved = false;
  /** How many changes the last move of `head` brought: what the next read-ahead asks for. */
  private expect = 1;
  private closed = false;
  private readonly offSession: () => void;

  constructor(
    private readonly zk: ZkSession,
    /** The store's root znode, e.g. /midonet. */
    readonly root: string,
    /** For error messages. */
    private readonly url: string,
    /** The whole state at one position, for watches that resync. */
    private readonly snapshot: () => Promise<Snapshot>,
    /** Safety-net poll interval for watches (ms). */
    pollMs = 2000,
  ) {
    this.watches = new WatcherSet(() => this.pump(), pollMs);
    this.offSession = zk.onSession(() => {
      // The new session has none of the old one's watches.
      this.armed = false;
      this.pump();
    });
  }

  get headPath(): string {
    return zkPath(this.root, 'head');
  }

  entryPath(seq: number): string {
    return zkPath(this.root, 'log', logName(seq));
  }

  /** The current head and its znode version (the commit counter a writer must check). */
  async head(watch?: () => void): Promise<Head & { version: number }> {
    const n = await this.zk.get(this.headPath, watch);
    if (!n)
      throw new StoreError(
        'unavailable',
        `${this.url}: ${this.headPath} is missing; the store is not initialized`,
      );
    return { ...decodeHead(n.data), version: n.version };
  }

  private get logStartPath(): string {
    return zkPath(this.root, 'log-start');
  }

  async logStart(): Promise<number> {
    const n = await this.zk.get(this.logStartPath);
    return n ? decodeHead(n.data).seq : 1;
  }

  /** The position of the first entry from `from` to `head` committed at or after `since` (else `head`). */
  private async firstSince(from: number, head: number, since: number): Promise<number> {
    for (let a = from; a <= head; a += 100) {
      const seqs = Array.from({ length: Math.min(100, head - a + 1) }, (_, k) => a + k);
      const got = await Promise.all(seqs.map((q) => this.entry(q)));
      const i = got.findIndex((e) => e?.at === undefined || e.at >= since);
      if (i >= 0) return seqs[i]!;
    }
    return head;
  }

  /**
   * Removes the entries beyond the retention (whole transactions, never the newest). `settle` is
   * given the entries about to go first (the store marks their rows committed, so nothing needs them
   * afterwards); then `log-start` moves up (version-checked: of two compactors at once, one goes on)
   * and the nodes below it are removed. `head` is the position of the last committed change.
   */
  async compact(
    r: LogRetention,
    head: number,
    now: number,
    settle: (entries: readonly LogEntry[]) => Promise<void>,
  ): Promise<void> {
    const node = await this.zk.get(this.logStartPath);
    const start = node ? decodeHead(node.data).seq : 1;
    let cut = countCut(r, start, head) ?? start;
    const maxAge = r.maxAgeMs;
    const first = await this.entry(start);
    if (first?.at !== undefined && first.at < now - maxAge - maxAge / 10)
      cut = Math.max(cut, await this.firstSince(Math.max(start, cut), head, now - maxAge));
    const newest = await this.entry(head);
    cut = Math.min(cut, newest?.tx ?? head);
    if (cut > start) cut = (await this.entry(cut))?.tx ?? cut;
    if (cut <= start) return;
    for (let a = start; a < cut; a += 200) {
      const seqs = Array.from({ length: Math.min(200, cut - a) }, (_, k) => a + k);
      const got = await Promise.all(seqs.map((q) => this.entry(q)));
      await settle(got.filter((e): e is LogEntry => e !== undefined));
    }
    const data = encodeHead({ seq: cut, tk: 0 });
    try {
      if (node) await this.zk.set(this.logStartPath, data, node.version);
      else await this.zk.create(this.logStartPath, data);
    } catch (e) {
      if (e instanceof ZkError && (e.code === 'bad-version' || e.code === 'node-exists')) return;
      throw e;
    }
    for (let a = start; a < cut; a += 200) {
      const seqs = Array.from({ length: Math.min(200, cut - a) }, (_, k) => a + k);
      await Promise.all(
        seqs.map((q) =>
          this.zk.remove(this.entryPath(q)).catch((e: unknown) => {
            if (!(e instanceof ZkError && e.code === 'no-node')) throw e;
          }),
        ),
      );
    }
  }

  /** The log entry at `seq`, or undefined when there is none (not committed, or pruned). */
  async entry(seq: number): Promise<LogEntry | undefined> {
    const n = await this.zk.get(this.entryPath(seq));
    return n ? decodeEntry(n.data) : undefined;
  }

  /**
   * Changes after `from` up to `to` (inclusive), oldest first; requests are pipelined in chunks.
   * `known`: entries read already (after a `head` at or above `to`), not asked for again.
   */
  async range(from: number, to: number, known?: ReadonlyMap<number, LogEntry>): Promise<Change[]> {
    const out: Change[] = [];
    for (let a = from + 1; a <= to; a += 500) {
      const b = Math.min(to, a + 499);
      const seqs = Array.from({ length: b - a + 1 }, (_, k) => a + k);
      const got = await Promise.all(seqs.map(async (s) => known?.get(s) ?? this.entry(s)));
      for (const [k, e] of got.entries()) {
        if (!e) {
          const start = await this.logStart();
          if (seqs[k]! < start)
            throw new StoreError(
              'position-gone',
              `${this.url}: position ${from} is no longer in the change log (it starts at ${start}); reload a snapshot`,
            );
          throw new StoreError('unavailable', `${this.url}: change ${seqs[k]} is missing from the log`);
        }
        out.push(entryToChange(e));
      }
    }
    return out;
  }

  async since(from: number, limit = 10000): Promise<Change[]> {
    const h = await this.head();
    return this.range(from, Math.min(h.seq, from + limit));
  }

  watch(from: number, handlers: WatchHandlers): Watch {
    if (this.closed) throw new StoreError('unavailable', `${this.url}: the store is closed`);
    return this.watches.add({ cursor: from, handlers, open: true });
  }

  /** Wakes the watches at once (after a commit through the same handle). */
  poke(): void {
    if (this.watches.size === 0) return;
    this.moved = true;
    this.pump();
  }

  /**
   * The `expect` change nodes after the open watches' lowest cursor, asked for now (after `head`, on
   * the same session); those that exist, by position. A failure is an empty answer: they are read
   * again in turn.
   */
  private readAhead(): Promise<Map<number, LogEntry>> {
    const got = new Map<number, LogEntry>();
    const open = [...this.watches].filter((w) => w.open);
    if (open.length === 0) return Promise.resolve(got);
    const from = Math.min(...open.map((w) => w.cursor));
    const seqs = Array.from({ length: this.expect }, (_, k) => from + 1 + k);
    return Promise.all(
      seqs.map((q) =>
        this.entry(q).then(
          (e) => void (e && got.set(q, e)),
          () => undefined,
        ),
      ),
    ).then(() => got);
  }

  /** Brings every open watch up to the head; runs one at a time and once more if asked meanwhile. */
  pump(): void {
    if (this.closed || this.watches.size === 0) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pumpOnce()
      .catch((e: unknown) => {
        // Unreachable ensemble: keep the watches, the poll retries. Anything else ends them.
        if (e instanceof ZkError && (e.code === 'connection-loss' || e.code === 'session-expired')) return;
        const err = e instanceof Error ? e : new Error(String(e));
        for (const w of [...this.watches]) this.fail(w, err);
      })
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async pumpOnce(): Promise<void> {
    let watch: (() => void) | undefined;
    if (!this.armed) {
      this.armed = true;
      watch = () => {
        this.armed = false;
        this.moved = true;
        this.pump();
      };
    }
    const moved = this.moved;
    this.moved = false;
    let h: Head;
    const headRead = this.head(watch);
    // Asked for after `head`, so answered after it: entries at or below the head read are committed.
    const ahead = moved ? this.readAhead() : undefined;
    try {
      h = await headRead;
    } catch (e) {
      if (watch) this.armed = false;
      throw e;
    }
    const known = await ahead;
    let first = true;
    for (;;) {
      const behind = [...this.watches].filter((w) => w.open && w.cursor < h.seq);
      if (behind.length === 0) return;
      const from = Math.min(...behind.map((w) => w.cursor));
      const to = Math.min(h.seq, from + 2000);
      if (first && moved) this.expect = Math.max(1, Math.min(READ_AHEAD_MAX, h.seq - from));
      first = false;
      let batch: Change[];
      try {
        batch = await this.range(from, to, known);
      } catch (e) {
        if (e instanceof StoreError && e.code === 'position-gone') {
          // Only the watches at the lost position resync (or fail); the others go on.
          for (const w of behind) if (w.cursor === from) await this.resync(w, e);
          continue;
        }
        throw e;
      }
      for (const w of behind) {
        if (!w.open) continue;
        const part = batch.filter((c) => c.seq > w.cursor);
        if (part.length === 0) continue;
        w.cursor = part.at(-1)!.seq;
        try {
          w.handlers.onChanges(part);
        } catch (e) {
          this.fail(w, e instanceof Error ? e : new Error(String(e)));
        }
      }
    }
  }

  /** Hands a watch that fell behind the log the whole state, or ends it when it cannot take that. */
  private async resync(w: WatchState, gone: StoreError): Promise<void> {
    const onResync = w.handlers.onResync;
    if (!onResync) return this.fail(w, gone);
    const snap = await this.snapshot();
    if (!w.open) return;
    w.cursor = snap.position;
    try {
      onResync(snap);
    } catch (e) {
      this.fail(w, e instanceof Error ? e : new Error(String(e)));
    }
  }

  private fail(w: WatchState, e: Error): void {
    if (!w.open) return;
    this.watches.remove(w);
    w.handlers.onError?.(e);
  }

  close(): void {
    this.closed = true;
    this.offSession();
    this.watches.clear();
  }
}
