/**
 * Fewer Cassandra requests for the distributed backend's busy paths, by putting together what many
 * callers ask for at about the same time:
 * - `NameLookups`: the candidate ids of every name asked for in one turn of the event loop come from
 *   one query per kind (`name IN ?`) instead of one each (a group of transactions planned at once,
 *   cassandra-group.ts, asks for many; a lone lookup asks directly rather than wait for the turn);
 * - `Deferred`: statements that may wait a little (the marks of committed rows, a hint for scans)
 *   go out together, as batches, `delayMs` after the first of them, once there are `maxItems`, or
 *   at once when the owner closes.
 *
 * Invariants: each lookup gets exactly the index rows of its own (kind, name), as a query of its own
 * would, or that query's error; every deferred statement is run exactly once (the owner waits for
 * the runs and the holds through its `track`; a hold ended by an earlier run ends at once), at most
 * `delayMs` after it was added.
 */
import type { Statement } from './cassandra-rows.js';

interface Waiter {
  readonly resolve: (ids: string[]) => void;
  readonly reject: (e: unknown) => void;
}

/** Most names in one `IN` query. */
const MAX_NAMES = 100;

export class NameLookups {
  private pending = new Map<string, Map<string, Waiter[]>>();
  private scheduled = false;

  constructor(
    /** The rows of the names index for these names of `kind`: one request. */
    private readonly query: (kind: string, names: readonly string[]) => Promise<Array<[string, string]>>,
  ) {}

  /** The candidate ids the names index holds for (kind, name). */
  ids(kind: string, name: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      let byName = this.pending.get(kind);
      if (!byName) {
        byName = new Map<string, Waiter[]>();
        this.pending.set(kind, byName);
      }
      byName.set(name, [...(byName.get(name) ?? []), { resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [kind, byName] of pending) {
      const names = [...byName.keys()];
      for (let i = 0; i < names.length; i += MAX_NAMES) {
        const chunk = names.slice(i, i + MAX_NAMES);
        this.query(kind, chunk).then(
          (rows) => {
            const found = new Map<string, string[]>();
            for (const [name, id] of rows) found.set(name, [...(found.get(name) ?? []), id]);
            for (const n of chunk) for (const w of byName.get(n)!) w.resolve(found.get(n) ?? []);
          },
          (e: unknown) => {
            for (const n of chunk) for (const w of byName.get(n)!) w.reject(e);
          },
        );
      }
    }
  }
}

export class Deferred {
  private items: Statement[] = [];
  /** The wait for the held items' flush: its timer, and what ends it early. */
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  /** Counts flushes: a wait that ends after another flush took its items does nothing. */
  private flushes = 0;
  private closed = false;

  constructor(
    /** Runs statements (as batches). */
    private readonly run: (items: readonly Statement[]) => Promise<void>,
    /** Runs a promise in the background; the owner's close waits for it. */
    private readonly track: (p: Promise<unknown>) => void,
    private readonly delayMs = 10,
    private readonly maxItems = 64,
  ) {}

  add(items: readonly Statement[]): void {
    const first = this.items.length === 0;
    this.items.push(...items);
    if (this.closed || this.items.length >= this.maxItems) void this.flush();
    else if (first) {
      const n = this.flushes;
      this.track(
        new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, this.delayMs);
        }).then(() => (n === this.flushes ? this.flush() : undefined)),
      );
    }
  }

  /** Runs what is held now, and from now on each statement as it comes (the owner is closing). */
  close(): void {
    this.closed = true;
    void this.flush();
  }

  private flush(): Promise<void> {
    this.flushes++;
    clearTimeout(this.timer);
    const wake = this.wake;
    this.timer = undefined;
    this.wake = undefined;
    wake?.(); // the wait ends: the owner's close does not wait for its timer
    const items = this.items;
    this.items = [];
    if (items.length === 0) return Promise.resolve();
    const p = this.run(items);
    this.track(p);
    return p;
  }
}
