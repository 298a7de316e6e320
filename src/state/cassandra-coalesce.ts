/**
 * Fewer Cassandra requests for the distributed backend's busy paths, by putting together what many
 * callers ask for at about the same time:
 * - `NameLookups`: the candidate ids of every name asked for in one turn of the event loop come from
 *   one query per kind (`name IN ?`) instead of one each (a group of transactions planned at once,
 *   cassandra-group.ts, asks for many; a lone lookup asks directly rather than wait for the turn);
 * - `Deferred`: statements that may wait a little (the marks of committed rows, a hint for scans)
 *   go out together, as batches, a few milliseconds after the first of them or once there are many.
 *
 * Invariants: each lookup gets exactly the index rows of its own (kind, name), as a query of its own
 * would, or that query's error; every deferred statement is run (the owner waits for `flushed`
 * promises through its `track`), at most `delayMs` after it was added.
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
    if (this.items.length >= this.maxItems) void this.flush();
    else if (first)
      this.track(new Promise((resolve) => setTimeout(resolve, this.delayMs)).then(() => this.flush()));
  }

  private flush(): Promise<void> {
    const items = this.items;
    this.items = [];
    if (items.length === 0) return Promise.resolve();
    const p = this.run(items);
    this.track(p);
    return p;
  }
}
