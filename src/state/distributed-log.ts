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
 *   log-start            {"seq": first position the log still holds} (older nodes may be pruned).
 *
 * A commit is one multi-op: set `head` (version-checked), create the change nodes, and set the objects'
 * version pointers. So a reader that sees `head` at N finds every change node up to N, and never one
 * above N.
 *
 * Watching: each `ChangeLog` keeps one data watch on `head` for all its watches (plus a slow poll as a
 * safety net) and, when it moves, reads the new change nodes once and hands each watch its part, in
 * order. A watch that fell behind (disconnection, session expiry) catches up from its cursor through
 * the same path: no full reload while the log still holds its position; 'position-gone' otherwise.
 *
 * Invariant: a watch delivers every change after its start position exactly once, in position order.
 */
import { StoreError } from './errors.js';
import type { Kind, Obj } from './model.js';
import type { Change, ChangeOp, Watch, WatchHandlers } from './store.js';
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

interface WatchState {
  cursor: number;
  readonly handlers: WatchHandlers;
  open: boolean;
}

export class ChangeLog {
  private readonly watches = new Set<WatchState>();
  private armed = false;
  private pumping = false;
  private again = false;
  private poller: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly offSession: () => void;

  constructor(
    private readonly zk: ZkSession,
    /** The store's root znode, e.g. /midonet. */
    readonly root: string,
    /** For error messages. */
    private readonly url: string,
    /** Safety-net poll interval for watches (ms). */
    private readonly pollMs = 2000,
  ) {
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

  async logStart(): Promise<number> {
    const n = await this.zk.get(zkPath(this.root, 'log-start'));
    return n ? decodeHead(n.data).seq : 1;
  }

  /** The log entry at `seq`, or undefined when there is none (not committed, or pruned). */
  async entry(seq: number): Promise<LogEntry | undefined> {
    const n = await this.zk.get(this.entryPath(seq));
    return n ? decodeEntry(n.data) : undefined;
  }

  /** Changes after `from` up to `to` (inclusive), oldest first; requests are pipelined in chunks. */
  async range(from: number, to: number): Promise<Change[]> {
    const out: Change[] = [];
    for (let a = from + 1; a <= to; a += 500) {
      const b = Math.min(to, a + 499);
      const seqs = Array.from({ length: b - a + 1 }, (_, k) => a + k);
      const got = await Promise.all(seqs.map((s) => this.entry(s)));
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
    const w: WatchState = { cursor: from, handlers, open: true };
    this.watches.add(w);
    if (!this.poller) this.poller = setInterval(() => this.pump(), this.pollMs);
    setImmediate(() => this.pump());
    return {
      close: () => {
        w.open = false;
        this.watches.delete(w);
        if (this.watches.size === 0 && this.poller) {
          clearInterval(this.poller);
          this.poller = undefined;
        }
      },
    };
  }

  /** Wakes the watches at once (after a commit through the same handle). */
  poke(): void {
    if (this.watches.size > 0) this.pump();
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
        this.pump();
      };
    }
    let h: Head;
    try {
      h = await this.head(watch);
    } catch (e) {
      if (watch) this.armed = false;
      throw e;
    }
    for (;;) {
      const behind = [...this.watches].filter((w) => w.open && w.cursor < h.seq);
      if (behind.length === 0) return;
      const from = Math.min(...behind.map((w) => w.cursor));
      const to = Math.min(h.seq, from + 2000);
      let batch: Change[];
      try {
        batch = await this.range(from, to);
      } catch (e) {
        if (e instanceof StoreError && e.code === 'position-gone') {
          // Only the watches at or before the lost position fail; the others go on.
          for (const w of behind) if (w.cursor === from) this.fail(w, e);
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

  private fail(w: WatchState, e: Error): void {
    if (!w.open) return;
    w.open = false;
    this.watches.delete(w);
    w.handlers.onError?.(e);
  }

  close(): void {
    this.closed = true;
    this.offSession();
    for (const w of this.watches) w.open = false;
    this.watches.clear();
    if (this.poller) clearInterval(this.poller);
  }
}
