/**
 * The names and host-interface bindings of every committed object at one log position, kept by a
 * distributed-store handle that commits often (the relay leader), so that planning answers name and
 * binding lookups from memory instead of a Cassandra read (`SELECT id FROM names`, on two replicas
 * with rf=3) before each create.
 *
 * The index is loaded once the handle has made `after` commits (a scan of every kind at one position:
 * the state at exactly that position), then moved forward by this handle's own commits (a commit that
 * planned at position P and succeeded took the log from P to P + its writes, nothing between: its
 * multi-op checked `head`) and, when another writer's commits came between, by reading their log
 * entries. A plan asks for a `view` at the position of the head it plans on (with the writes of a group
 * planned but not yet committed under it, for the pipeline's speculative groups); the view exists only
 * when the index is at exactly that position, and the commit's `head` check then makes the answers
 * those of the state the transaction commits on, as the Cassandra lookups made at the same point would
 * be. Otherwise the planner reads Cassandra as before.
 *
 * Invariant: when `seq` is defined, the maps are exactly the names and bindings of the committed
 * objects at log position `seq`; anything that cannot be applied exactly leaves the index empty. A
 * view answers only while the index is at its position (`current`).
 */
import { StoreError } from './errors.js';
import type { Kind, Obj } from './model.js';
import { bindingOf } from './cassandra-rows.js';
import type { Change, Snapshot } from './store.js';
import type { Write } from './transaction.js';

/** Answers of one planning: names and bindings at the position it plans on. */
export interface IndexView {
  /** Whether the index is still at the view's position (else ask the store: a lookup made now is
   * as good, the commit's `head` check deciding). */
  current(): boolean;
  idByName(kind: Kind, name: string, self?: string): string | undefined;
  portIdByBinding(hostId: string, iface: string, self?: string): string | undefined;
}

interface Entry {
  readonly name: string | undefined;
  readonly binding: string | undefined;
}

/** Entries read from the log in one catch-up; further behind, the index loads again. */
const MAX_CATCH_UP = 2000;

/** After a failed load or catch-up, the next is not tried for this long (ms). */
const RETRY_MS = 10000;

const keyOf = (kind: Kind, name: string) => `${kind}\u0000${name}`;

/** One key's holders (a set: a name is unique per kind, but the index never assumes what it keeps). */
function pick(ids: ReadonlySet<string> | undefined, self: string | undefined): string | undefined {
  if (!ids) return undefined;
  for (const id of ids) if (id !== self) return id;
  return ids.size > 0 ? self : undefined;
}

export class CommittedIndex {
  /** The log position the maps are the state at; undefined: not known. */
  private seq: number | undefined;
  private readonly byId = new Map<string, Entry>();
  private readonly names = new Map<string, Set<string>>();
  private readonly bindings = new Map<string, Set<string>>();
  private commits = 0;
  /** A load or catch-up running (one at a time). */
  private busy = false;
  /** After a failed load or catch-up, none before this time (ms since epoch). */
  private notBefore = 0;
  private closed = false;

  constructor(
    /** The committed objects at one position (a scan). */
    private readonly load: () => Promise<Snapshot>,
    /** The log's changes after `from` up to `to`. */
    private readonly changes: (from: number, to: number) => Promise<Change[]>,
    /** Runs a promise in the background (the store's close waits for it). */
    private readonly track: (p: Promise<unknown>) => void,
    /** Commits through this handle before the index is loaded (a handle that commits rarely never
     * pays for the scan). */
    private readonly after = 32,
  ) {}

  /** The position the index is at (tests), or undefined. */
  get position(): number | undefined {
    return this.seq;
  }

  /**
   * Names and bindings at position `seq` with `pending` (writes of a group planned on `seq`, not yet
   * committed) applied over them; undefined unless the index is at exactly `seq`.
   */
  view(seq: number, pending: readonly Write[] = []): IndexView | undefined {
    if (this.seq !== seq || this.closed) return undefined;
    // The pending writes' final state per id (null: deleted).
    const over = new Map<string, Entry | null>();
    for (const w of pending) over.set(w.id, w.op === 'delete' ? null : entryOf(w.kind, w.after));
    const find = (
      map: ReadonlyMap<string, ReadonlySet<string>>,
      key: string,
      mine: (e: Entry) => boolean,
      self: string | undefined,
    ): string | undefined => {
      const holders = new Set<string>();
      for (const [id, e] of over) if (e && mine(e)) holders.add(id);
      for (const id of map.get(key) ?? []) if (!over.has(id)) holders.add(id);
      return pick(holders, self);
    };
    return {
      current: () => this.seq === seq,
      idByName: (kind, name, self) => {
        const key = keyOf(kind, name);
        return find(this.names, key, (e) => e.name === key, self);
      },
      portIdByBinding: (hostId, iface, self) => {
        const key = `${hostId}\u0000${iface}`;
        return find(this.bindings, key, (e) => e.binding === key, self);
      },
    };
  }

  /**
   * After this handle's commit that planned at position `from` and wrote `writes` (in log order):
   * applied when the index is at `from`; when it is behind, it catches up from the log.
   */
  committed(from: number, writes: readonly Write[]): void {
    if (this.closed) return;
    this.commits++;
    if (this.seq === from) {
      for (const w of writes) this.set(w.id, w.op === 'delete' ? null : entryOf(w.kind, w.after));
      this.seq = from + writes.length;
      return;
    }
    const to = from + writes.length;
    if (this.busy || Date.now() < this.notBefore) return;
    if (this.seq !== undefined && this.seq < to && to - this.seq <= MAX_CATCH_UP)
      this.run(() => this.catchUp(this.seq!, to));
    else if (this.seq === undefined && this.commits >= this.after) this.run(() => this.reload());
    else if (this.seq !== undefined && this.seq < to) this.run(() => this.reload());
  }

  /** Forgets everything (a commit whose outcome is unknown, or the store closing). */
  drop(): void {
    this.seq = undefined;
    this.byId.clear();
    this.names.clear();
    this.bindings.clear();
  }

  /** No more views or loads (views already given stay as they are: a plan may be using one). */
  close(): void {
    this.closed = true;
  }

  private run(fn: () => Promise<void>): void {
    this.busy = true;
    this.track(
      fn()
        .catch(() => {
          // A failed read: unknown until a load that is not tried again at once.
          this.drop();
          this.notBefore = Date.now() + RETRY_MS;
        })
        .finally(() => (this.busy = false)),
    );
  }

  private async reload(): Promise<void> {
    const snap = await this.load();
    if (this.closed) return;
    this.drop();
    for (const { kind, object } of snap.objects) this.set(object.id, entryOf(kind, object));
    this.seq = snap.position;
  }

  private async catchUp(from: number, to: number): Promise<void> {
    let got: Change[];
    try {
      got = await this.changes(from, to);
    } catch (e) {
      if (e instanceof StoreError && e.code === 'position-gone') return this.reload();
      throw e;
    }
    // Own commits could not apply while behind, so the index is still at `from` unless dropped.
    if (this.seq !== from || this.closed) return;
    if (got.length !== to - from || got.some((c, k) => c.seq !== from + 1 + k)) return this.drop();
    for (const c of got) this.set(c.id, c.op === 'delete' ? null : entryOf(c.kind, c.object));
    this.seq = to;
  }

  private set(id: string, e: Entry | null): void {
    const old = this.byId.get(id);
    if (old?.name !== undefined) remove(this.names, old.name, id);
    if (old?.binding !== undefined) remove(this.bindings, old.binding, id);
    if (!e || (e.name === undefined && e.binding === undefined)) {
      this.byId.delete(id);
      return;
    }
    this.byId.set(id, e);
    if (e.name !== undefined) add(this.names, e.name, id);
    if (e.binding !== undefined) add(this.bindings, e.binding, id);
  }
}

function entryOf(kind: Kind, o: Obj): Entry {
  return {
    name: typeof o.name === 'string' ? keyOf(kind, o.name) : undefined,
    binding: bindingOf(kind, o),
  };
}

function add(map: Map<string, Set<string>>, key: string, id: string): void {
  let s = map.get(key);
  if (!s) map.set(key, (s = new Set()));
  s.add(id);
}

function remove(map: Map<string, Set<string>>, key: string, id: string): void {
  const s = map.get(key);
  if (!s) return;
  s.delete(id);
  if (s.size === 0) map.delete(key);
}
