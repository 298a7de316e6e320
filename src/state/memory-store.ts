/**
 * The in-memory backend: the whole store in this process's memory, for unit tests of the agent, the
 * CLI and anything else that needs a real TopologyStore without a file or services. URL `memory:`
 * (a new, empty store each time it is opened) or `memory:NAME` (one store per NAME in this process,
 * kept until the process ends, so every handle opened on the name shares it), with the change-log
 * retention parameters of retention.ts: `memory:NAME?retain=50`.
 *
 * It runs the same planner (transaction.ts) and the same shared reads (store-base.ts) as the other
 * backends and passes the same contract suite; only storage differs: maps of JSON bodies (so no caller
 * can change a stored object through a reference), an array for the change log, a queue per store
 * that serializes transactions from every handle.
 *
 * Invariant: a transaction is planned and applied while it holds the store's queue, and applied in
 * one synchronous step, so readers and watchers see all of it or none of it; watchers of every handle
 * are woken after each commit and get changes in commit order, or a snapshot once the log was
 * compacted past them.
 */
import { StoreError } from './errors.js';
import type { Kind, Obj } from './model.js';
import { deviceKey, watchLearned, type ScopedLearnedSource } from './learned-scope.js';
import { PolledFeed, watchChanges } from './polled-feed.js';
import { referencedIds } from './references.js';
import { countCut } from './retention.js';
import { DEFAULT_RETENTION, type LogRetention, type Snapshot, type TopologyStore } from './store.js';
import type {
  Campaign,
  CampaignHandlers,
  Change,
  HostLiveness,
  LearnedChange,
  LearnedEntry,
} from './store.js';
import type { LearnedWatch, LearnedWatchHandlers, LearnedWatchOptions, Op, TxResult } from './store.js';
import type { Watch, WatchHandlers } from './store.js';
import { BackendBase, type StoredObject } from './store-base.js';
import { planTransaction, type BaseReader, type Write } from './transaction.js';

interface Stored {
  readonly kind: Kind;
  readonly body: string;
}

interface Candidate {
  readonly candidate: string;
  readonly handlers: CampaignHandlers;
  readonly owner: MemoryStore;
  leading: boolean;
}

/** The state every handle on one memory store shares. */
class MemoryState {
  readonly objects = new Map<string, Stored>();
  /** kind NUL name -> id */
  readonly names = new Map<string, string>();
  /** target -> holder ids */
  readonly refs = new Map<string, Set<string>>();
  /** host NUL interface -> port id */
  readonly bindings = new Map<string, string>();
  /** The change log; `log[i].seq === logStart + i`. */
  log: Array<Change & { readonly at: number }> = [];
  logStart = 1;
  lastSeq = 0;
  tunnelKey = 0;
  readonly liveness = new Map<string, { renewedAt: number; expiresAt: number; info: string }>();
  readonly learned = new Map<string, LearnedChange>();
  /** The same entries by device (learned-scope.ts `deviceKey`), then by their key in `learned`. */
  readonly learnedByDevice = new Map<string, Map<string, LearnedChange>>();
  learnedSeq = 0;
  readonly elections = new Map<string, Candidate[]>();
  /** Feeds of the open handles, woken after every commit. */
  readonly wakers = new Set<() => void>();
  queue: Promise<unknown> = Promise.resolve();
}

const named = new Map<string, MemoryState>();

export class MemoryStore extends BackendBase implements TopologyStore {
  private readonly state: MemoryState;
  private readonly changeFeed: PolledFeed<Change>;
  private readonly learnedFeed: PolledFeed<LearnedChange>;
  private readonly learnedSource: ScopedLearnedSource;
  private readonly wake = () => {
    this.changeFeed.wake();
    this.learnedFeed.wake();
  };

  /** `name` undefined: a store of its own; otherwise the process-wide store of that name. */
  constructor(
    readonly url: string,
    name: string | undefined,
    private readonly retention: LogRetention = DEFAULT_RETENTION,
  ) {
    super();
    let state = name === undefined ? undefined : named.get(name);
    if (!state) {
      state = new MemoryState();
      if (name !== undefined) named.set(name, state);
    }
    this.state = state;
    const st = state;
    this.changeFeed = new PolledFeed<Change>(
      {
        last: () => st.lastSeq,
        after: (cursor, limit) =>
          cursor + 1 < st.logStart
            ? 'gone'
            : st.log.slice(cursor + 1 - st.logStart, cursor + 1 - st.logStart + limit).map(publicChange),
        position: (c) => c.seq,
      },
      `${url}: change feed`,
    );
    this.learnedFeed = new PolledFeed<LearnedChange>(
      {
        last: () => st.learnedSeq,
        after: (cursor, limit) =>
          [...st.learned.values()]
            .filter((e) => e.seq > cursor)
            .sort((a, b) => a.seq - b.seq)
            .slice(0, limit),
        position: (e) => e.seq,
      },
      `${url}: learned-state feed`,
    );
    this.learnedSource = {
      after: (cursor, limit, devices) =>
        [...devices, '']
          .flatMap((d) => [...(st.learnedByDevice.get(d)?.values() ?? [])].filter((e) => e.seq > cursor))
          .sort((a, b) => a.seq - b.seq)
          .slice(0, limit),
      current: (device, upTo) =>
        [...(st.learnedByDevice.get(device)?.values() ?? [])].filter((e) => e.seq <= upTo),
    };
    st.wakers.add(this.wake);
  }

  // ---- primitives (store-base.ts) ---------------------------------------------------------------

  private readSync(id: string): StoredObject | undefined {
    const r = this.state.objects.get(id);
    return r && { kind: r.kind, obj: JSON.parse(r.body) as Obj };
  }

  protected readObject(id: string): Promise<StoredObject | undefined> {
    return Promise.resolve(this.readSync(id));
  }

  protected idByName(kind: Kind, name: string): Promise<string | undefined> {
    return Promise.resolve(this.state.names.get(`${kind}\u0000${name}`));
  }

  protected holdersOf(id: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    for (const h of this.state.refs.get(id) ?? []) {
      const r = this.readSync(h);
      if (r) out.push(r);
    }
    return Promise.resolve(out);
  }

  protected scanKind(kind: Kind): Promise<Obj[]> {
    const out: Obj[] = [];
    for (const r of this.state.objects.values()) if (r.kind === kind) out.push(JSON.parse(r.body) as Obj);
    return Promise.resolve(out);
  }

  // ---- feed --------------------------------------------------------------------------------------

  private snapshotNow(): Snapshot {
    const objects = [...this.state.objects.values()].map((r) => ({
      kind: r.kind,
      object: JSON.parse(r.body) as Obj,
    }));
    return { position: this.state.lastSeq, objects };
  }

  snapshot(): Promise<Snapshot> {
    return this.guard('snapshot', () => Promise.resolve(this.snapshotNow()));
  }

  position(): Promise<number> {
    return this.guard('position', () => Promise.resolve(this.state.lastSeq));
  }

  changesSince(from: number, limit = 10000): Promise<Change[]> {
    return this.guard(`changes since ${from}`, () => {
      const st = this.state;
      if (from + 1 < st.logStart)
        throw new StoreError(
          'position-gone',
          `${this.url}: position ${from} is no longer in the change log (it starts at ${st.logStart}); reload a snapshot`,
        );
      const i = Math.max(0, from + 1 - st.logStart);
      return Promise.resolve(st.log.slice(i, i + limit).map(publicChange));
    });
  }

  watch(from: number, handlers: WatchHandlers): Watch {
    this.assertOpen();
    return watchChanges(this.changeFeed, from, handlers, () => this.snapshotNow());
  }

  // ---- writes ------------------------------------------------------------------------------------

  private readonly reader: BaseReader = {
    get: (id) => this.readSync(id),
    idByName: (kind, name) => this.state.names.get(`${kind}\u0000${name}`),
    referrerIds: (id) =>
      [...(this.state.refs.get(id) ?? [])].flatMap((h) => {
        const r = this.state.objects.get(h);
        return r ? [{ id: h, kind: r.kind }] : [];
      }),
    portIdByBinding: (hostId, iface) => this.state.bindings.get(`${hostId}\u0000${iface}`),
    maxTunnelKey: () => this.state.tunnelKey,
  };

  transact(ops: readonly Op[]): Promise<TxResult> {
    const st = this.state;
    const run = async (): Promise<TxResult> => {
      this.assertOpen();
      const { writes, results } = await planTransaction(this.reader, ops);
      const changes = this.apply(writes, Date.now());
      if (changes.length > 0) for (const w of st.wakers) w();
      return { position: changes.at(-1)?.seq ?? 0, results, changes };
    };
    const p = st.queue.then(run, run);
    st.queue = p.catch(() => undefined);
    return p;
  }

  /** Applies planned writes in one synchronous step; returns their changes. */
  private apply(writes: readonly Write[], at: number): Change[] {
    const st = this.state;
    const tx = st.lastSeq + 1;
    const changes: Array<Change & { at: number }> = [];
    for (const w of writes) {
      if (w.before) this.unindex(w.kind, w.before);
      if (w.op === 'delete') st.objects.delete(w.id);
      else {
        st.objects.set(w.id, { kind: w.kind, body: JSON.stringify(w.after) });
        this.index(w.kind, w.after);
      }
      const change = {
        seq: ++st.lastSeq,
        tx,
        kind: w.kind,
        id: w.id,
        op: w.op,
        version: w.after.version,
        object: JSON.parse(JSON.stringify(w.op === 'delete' ? w.before : w.after)) as Obj,
        at,
      };
      changes.push(change);
      st.log.push(change);
    }
    if (changes.length > 0) this.compact(at);
    return changes.map(publicChange);
  }

  private index(kind: Kind, o: Obj): void {
    const st = this.state;
    if (typeof o.name === 'string') st.names.set(`${kind}\u0000${o.name}`, o.id);
    for (const t of referencedIds(kind, o)) {
      let s = st.refs.get(t);
      if (!s) st.refs.set(t, (s = new Set()));
      s.add(o.id);
    }
    if (kind === 'port') {
      const p = o as Obj<'port'>;
      if (p.hostId !== null && p.interfaceName !== null)
        st.bindings.set(`${p.hostId}\u0000${p.interfaceName}`, o.id);
      st.tunnelKey = Math.max(st.tunnelKey, p.tunnelKey);
    }
  }

  private unindex(kind: Kind, o: Obj): void {
    const st = this.state;
    if (typeof o.name === 'string' && st.names.get(`${kind}\u0000${o.name}`) === o.id)
      st.names.delete(`${kind}\u0000${o.name}`);
    for (const t of referencedIds(kind, o)) st.refs.get(t)?.delete(o.id);
    if (kind === 'port') {
      const p = o as Obj<'port'>;
      const key = `${p.hostId}\u0000${p.interfaceName}`;
      if (st.bindings.get(key) === o.id) st.bindings.delete(key);
    }
  }

  /** Drops whole transactions beyond the retention (retention.ts), never the newest. */
  private compact(now: number): void {
    const st = this.state;
    let cut = countCut(this.retention, st.logStart, st.lastSeq) ?? st.logStart;
    const maxAge = this.retention.maxAgeMs;
    if ((st.log[0]?.at ?? now) < now - maxAge - Math.floor(maxAge / 10)) {
      const young = st.log.find((c) => c.at >= now - maxAge);
      cut = Math.max(cut, young?.seq ?? st.lastSeq);
    }
    cut = Math.min(st.log[cut - st.logStart]?.tx ?? cut, st.log.at(-1)!.tx);
    if (cut <= st.logStart) return;
    st.log = st.log.slice(cut - st.logStart);
    st.logStart = cut;
  }

  // ---- liveness ----------------------------------------------------------------------------------

  heartbeat(hostId: string, ttlMs: number, info: Record<string, unknown> = {}): Promise<void> {
    return this.guard('heartbeat', () => {
      const now = Date.now();
      this.state.liveness.set(hostId, { renewedAt: now, expiresAt: now + ttlMs, info: JSON.stringify(info) });
      return Promise.resolve();
    });
  }

  goodbye(hostId: string): Promise<void> {
    return this.guard('goodbye', () => {
      const l = this.state.liveness.get(hostId);
      if (l) l.expiresAt = 0;
      return Promise.resolve();
    });
  }

  liveness(): Promise<HostLiveness[]> {
    return this.guard('liveness', () => {
      const now = Date.now();
      return Promise.resolve(
        [...this.state.liveness.entries()]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([hostId, l]) => ({
            hostId,
            alive: l.expiresAt > now,
            renewedAt: l.renewedAt,
            info: JSON.parse(l.info) as Record<string, unknown>,
          })),
      );
    });
  }

  // ---- learned state ----------------------------------------------------------------------------

  learn(entries: readonly LearnedEntry[]): Promise<void> {
    return this.guard('learn', () => {
      const st = this.state;
      const byDevice = (e: LearnedEntry): Map<string, LearnedChange> => {
        const d = deviceKey(e);
        let m = st.learnedByDevice.get(d);
        if (m === undefined) st.learnedByDevice.set(d, (m = new Map<string, LearnedChange>()));
        return m;
      };
      for (const e of entries) {
        const k = `${e.table}\u0000${e.scope}\u0000${e.key}`;
        const c = { ...e, seq: ++st.learnedSeq };
        st.learned.set(k, c);
        byDevice(e).set(k, c);
      }
      const now = Date.now();
      for (const [k, e] of st.learned)
        if (e.expiresAt < now) {
          st.learned.delete(k);
          byDevice(e).delete(k);
        }
      if (entries.length > 0) for (const w of st.wakers) w();
      return Promise.resolve();
    });
  }

  watchLearned(from: number, handlers: LearnedWatchHandlers, opts?: LearnedWatchOptions): LearnedWatch {
    this.assertOpen();
    return watchLearned(this.learnedFeed, this.learnedSource, from, handlers, opts);
  }

  // ---- leader election --------------------------------------------------------------------------

  /** The first candidate of a group leads; when it leaves, the next one is elected at once. */
  campaign(group: string, candidate: string, handlers: CampaignHandlers): Promise<Campaign> {
    return this.guard(`campaign in ${group}`, () => {
      const queue = this.state.elections.get(group) ?? [];
      this.state.elections.set(group, queue);
      const me: Candidate = { candidate, handlers, owner: this, leading: false };
      queue.push(me);
      if (queue.length === 1) {
        me.leading = true;
        handlers.onElected();
      }
      return Promise.resolve({
        get leading() {
          return me.leading;
        },
        resign: () => {
          this.leave(group, me);
          return Promise.resolve();
        },
      });
    });
  }

  private leave(group: string, me: Candidate): void {
    const queue = this.state.elections.get(group) ?? [];
    const i = queue.indexOf(me);
    if (i < 0) return;
    queue.splice(i, 1);
    me.leading = false;
    const next = queue[0];
    if (i === 0 && next) {
      setImmediate(() => {
        if (queue[0] !== next || next.leading) return;
        next.leading = true;
        next.handlers.onElected();
      });
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const [group, queue] of this.state.elections)
      for (const c of [...queue]) if (c.owner === this) this.leave(group, c);
    this.state.wakers.delete(this.wake);
    this.changeFeed.close();
    this.learnedFeed.close();
    return Promise.resolve();
  }
}

/** A change as the feed delivers it (without the log's bookkeeping). */
function publicChange(c: Change & { readonly at?: number }): Change {
  const object = JSON.parse(JSON.stringify(c.object)) as Obj;
  return { seq: c.seq, tx: c.tx, kind: c.kind, id: c.id, op: c.op, version: c.version, object };
}
