/**
 * What of the topology an agent holds, and how it follows the store (`topology.load` in the agent's
 * configuration). 'full': the whole topology, every change applied. 'on-demand' (the default): the
 * agent's interest set (interest.ts: what its local ports reach, its host, its tunnel zones) plus what
 * its simulations asked for (the `notYet` path: the ids are loaded from the store with what goes with
 * them, the packet waits, bounded, and is simulated again); changes to objects it does not hold are
 * dropped after a look at their references (a few map lookups), unless they attach to what it holds
 * (a new port or route of a held device, a new rule of a held chain, a port bound to this host);
 * when references change, the set is walked again over the store, in the background, and what is no
 * longer reachable (nor asked for within `keepAskedMs`) is dropped.
 *
 * Invariants: every change to a held object is applied in commit order (the feed is filtered, never
 * reordered), and an older version never replaces a newer one (a background load that read an object
 * before a change the feed already delivered keeps the change: `skipped` remembers the changes of
 * objects not held while loads run); the replica only holds objects that exist in the store as of
 * some point at or after the feed's position, and converges to the interest set after the feed is
 * quiet and the background walk ends; the waits a load ends (controller's notYet packets) are
 * released only after the loaded objects are in the replica.
 */
import type { Logger } from '../log.js';
import type { Topology } from '../sim/topology.js';
import type { Kind, Obj } from '../state/model.js';
import { referencesOf } from '../state/references.js';
import type { Change, Snapshot, TopologyStore } from '../state/store.js';
import {
  CONTAINERS,
  HOST_HOLDERS,
  goesWithPort,
  WALKED,
  interestSet,
  movesInterest,
  storeReader,
  TopologyIndex,
  type Held,
} from './interest.js';

export type TopologyLoad = 'on-demand' | 'full';

/** Kinds an id a simulation needs may have (it names ids only), most likely first. */
export const NEED_KINDS: readonly Kind[] = [
  'port',
  'bridge',
  'router',
  'chain',
  'rule',
  'port-group',
  'ip-address-group',
];

/** How long a store's "no such object" for a needed id is believed (ms). */
const ABSENT_MS = 2000;
/** How soon after a change of references the interest set is walked again (ms). */
const RECOMPUTE_DELAY_MS = 50;

export interface KeeperCounters {
  /** Changes of the feed not applied: about objects outside the interest set. */
  changesIgnored: number;
  /** Loads of objects a simulation asked for. */
  demandLoads: number;
  /** Objects dropped because nothing local reaches them any more. */
  objectsDropped: number;
  /** Walks of the interest set over the store after a change of references. */
  recomputes: number;
}

export interface KeeperDeps {
  readonly mode: TopologyLoad;
  readonly hostId: string;
  /** The replica the controller simulates on. */
  readonly topology: () => Topology;
  /** Applies changes the keeper made (loads, drops) to the replica (topology-feed.ts). */
  readonly apply: (changes: Change[]) => void;
  /** Asked-for objects no simulation asked for again within this long are dropped (ms). */
  readonly keepAskedMs: number;
  readonly log: Logger;
}

export class InterestKeeper {
  /** Where the keeper counts (the daemon points it at the controller's statistics). */
  counters: KeeperCounters = { changesIgnored: 0, demandLoads: 0, objectsDropped: 0, recomputes: 0 };
  /** Roots a simulation asked for -> their kinds (once known) and when they were last asked (ms). */
  private readonly asked = new Map<string, { kinds: readonly Kind[]; at: number }>();
  /** Ids the store did not have when asked -> until when that answer is believed (ms). */
  private readonly absentUntil = new Map<string, number>();
  /** While loads run: the newest feed change of each object not held (a load may have read it older). */
  private readonly skipped = new Map<string, Change>();
  /** While loads run: ids the feed changed (a walk that began earlier may not have seen them). */
  private readonly changedDuring = new Set<string>();
  /** Ids being loaded for simulations. */
  private readonly loading = new Set<string>();
  private loads = 0;
  private recomputeTimer: NodeJS.Timeout | undefined;
  private recomputeAgain = false;
  private store: TopologyStore | undefined;

  constructor(private readonly deps: KeeperDeps) {}

  get onDemand(): boolean {
    return this.deps.mode === 'on-demand';
  }

  /** The store loads and walks go to (undefined while it is not reached). */
  setStore(store: TopologyStore | undefined): void {
    this.store = store;
  }

  /** What the agent starts on: the whole topology, or its interest set as of a feed position. */
  async initial(store: TopologyStore): Promise<Snapshot> {
    if (!this.onDemand) return store.snapshot();
    // Read after the position: the feed from it replays what the walk may have half seen.
    const position = await store.position();
    const local = (await store.referrers(this.deps.hostId))
      .filter((r) => r.kind === 'port' && r.field === 'hostId')
      .map((r) => r.id);
    const set = await interestSet(storeReader(store), local, { hostId: this.deps.hostId });
    return { position, objects: [...set.values()].map((h) => ({ kind: h.kind, object: h.obj })) };
  }

  /**
   * A whole snapshot (a resync of the feed): the part of it this agent holds. Pure in memory (the
   * walk reads an index of the snapshot, so it ends before any other event is handled).
   */
  async share(snap: Snapshot): Promise<Snapshot> {
    if (!this.onDemand) return snap;
    const index = new TopologyIndex();
    for (const o of snap.objects) index.put(o.kind, o.object.id, o.object);
    const local = snap.objects
      .filter((o) => o.kind === 'port' && (o.object as Obj<'port'>).hostId === this.deps.hostId)
      .map((o) => o.object.id);
    const set = await interestSet(index, local, { hostId: this.deps.hostId, roots: this.roots() });
    return {
      position: snap.position,
      objects: [...set.values()].map((h) => ({ kind: h.kind, object: h.obj })),
    };
  }

  /**
   * The changes of one feed batch that concern the replica, in feed order: those of held objects (a
   * stale one skipped), and those that attach to what is held or to what this batch attaches.
   */
  filter(changes: readonly Change[]): Change[] {
    if (!this.onDemand) return changes as Change[];
    const topo = this.deps.topology();
    const take = new Set<string>();
    const kindOf = (id: string, kinds: readonly Kind[]): Kind | undefined => {
      for (const k of kinds) if (topo.get(k, id) !== undefined) return k;
      return undefined;
    };
    for (const c of changes) if (topo.get(c.kind, c.id) !== undefined) take.add(c.id);
    const batch = new Map(changes.map((c) => [c.id, c]));
    let restructure = false;
    for (let grew = true; grew;) {
      grew = false;
      const wanted = new Set<string>();
      for (const c of changes)
        if (take.has(c.id) && c.op !== 'delete' && WALKED.has(c.kind))
          for (const r of forwardRefs(c.kind, c.object)) wanted.add(r);
      for (const c of changes) {
        if (take.has(c.id) || c.op === 'delete') continue;
        if (wanted.has(c.id) || this.attaches(c, take, batch, kindOf)) {
          take.add(c.id);
          grew = true;
        }
      }
    }
    const out: Change[] = [];
    for (const c of changes) {
      if (!take.has(c.id)) {
        this.counters.changesIgnored++;
        if (this.loads > 0) this.skipped.set(c.id, c);
        continue;
      }
      const had = topo.get(c.kind, c.id);
      if (c.op !== 'delete' && had !== undefined && had.version >= c.version) continue; // a load was newer
      if (this.loads > 0) this.changedDuring.add(c.id);
      if (movesInterest(c, had, batch)) restructure = true;
      out.push(c);
    }
    if (restructure) this.scheduleRecompute();
    return out;
  }

  /** Does a change of an object not held attach it to what is held (or taken from this batch)? */
  private attaches(
    c: Change,
    take: ReadonlySet<string>,
    batch: ReadonlyMap<string, Change>,
    kindOf: (id: string, kinds: readonly Kind[]) => Kind | undefined,
  ): boolean {
    if (c.kind === 'port' && (c.object as Obj<'port'>).hostId === this.deps.hostId) return true;
    for (const r of referencesOf(c.kind, c.object)) {
      if (r.field === 'peerId' || r.field === 'ownerId') continue;
      if (HOST_HOLDERS.has(c.kind) && r.target === this.deps.hostId) return true;
      const k = take.has(r.target) ? batch.get(r.target)?.kind : kindOf(r.target, r.targetKinds);
      if (k === undefined) continue;
      if (CONTAINERS.has(k)) return true;
      if (k === 'port' && goesWithPort(c.kind)) return true;
      if (c.kind === 'rule' && r.field === 'chainId') return true;
    }
    return false;
  }

  /** Is the store known not to have `id` (asked within the last moments)? */
  absent(id: string, now: number): boolean {
    const until = this.absentUntil.get(id);
    if (until === undefined) return false;
    if (now < until) return true;
    this.absentUntil.delete(id);
    return false;
  }

  /** Is `id` held, or known absent: a packet waiting for it can be simulated again. */
  settled(id: string, now: number): boolean {
    if (this.absent(id, now)) return true;
    const topo = this.deps.topology();
    return NEED_KINDS.some((k) => topo.get(k, id) !== undefined);
  }

  /**
   * A simulation needs `ids`: they are loaded (with what goes with them) in the background; `done`
   * is called once they are in the replica (or known absent, or the load failed).
   */
  demand(ids: readonly string[], now: number, done: () => void): void {
    const store = this.store;
    const fresh = ids.filter((id) => !this.loading.has(id));
    for (const id of ids) this.asked.set(id, { kinds: this.asked.get(id)?.kinds ?? NEED_KINDS, at: now });
    if (fresh.length === 0) return;
    if (store === undefined) return done();
    this.counters.demandLoads++;
    for (const id of fresh) this.loading.add(id);
    void this.load(
      store,
      fresh.map((id) => [id, this.asked.get(id)!.kinds] as const),
      false,
    )
      .then((set) => {
        for (const id of fresh)
          if (set?.has(id)) this.asked.set(id, { kinds: [set.get(id)!.kind], at: now });
          else if (set !== undefined) {
            this.asked.delete(id);
            this.absentUntil.set(id, Date.now() + ABSENT_MS);
          }
      })
      .finally(() => {
        for (const id of fresh) this.loading.delete(id);
        done();
      });
  }

  /** Walks the interest set again over the store now (tests, and the scheduled walk). */
  async recompute(): Promise<void> {
    const store = this.store;
    if (!this.onDemand || store === undefined) return;
    this.counters.recomputes++;
    const now = Date.now();
    for (const [id, a] of this.asked) if (now - a.at > this.deps.keepAskedMs) this.asked.delete(id);
    await this.load(store, this.roots(), true);
  }

  private scheduleRecompute(): void {
    if (this.recomputeTimer !== undefined) {
      this.recomputeAgain = true;
      return;
    }
    this.recomputeTimer = setTimeout(() => {
      this.recomputeAgain = false;
      void this.recompute().finally(() => {
        this.recomputeTimer = undefined;
        if (this.recomputeAgain) this.scheduleRecompute();
      });
    }, RECOMPUTE_DELAY_MS);
  }

  /** Drops what was asked for long ago at the next walk; a periodic call keeps the set lean. */
  expireAsked(now: number): void {
    for (const a of this.asked.values())
      if (now - a.at > this.deps.keepAskedMs) return this.scheduleRecompute();
  }

  private roots(): Array<readonly [string, readonly Kind[]]> {
    return [...this.asked].map(([id, a]) => [id, a.kinds] as const);
  }

  /**
   * Walks from the local ports (those of the replica, which the feed keeps) and `roots` over the
   * store, then puts what it found into the replica; with `dropOthers`, what it did not find goes.
   * Undefined when the store failed (logged).
   */
  private async load(
    store: TopologyStore,
    roots: Array<readonly [string, readonly Kind[]]>,
    dropOthers: boolean,
  ): Promise<Map<string, Held> | undefined> {
    this.loads++;
    try {
      const local = dropOthers
        ? this.deps
            .topology()
            .all('port')
            .filter((p) => p.hostId === this.deps.hostId)
            .map((p) => p.id)
        : [];
      let set: Map<string, Held>;
      try {
        set = await interestSet(storeReader(store), local, {
          hostId: dropOthers ? this.deps.hostId : undefined,
          roots,
        });
      } catch (e) {
        this.deps.log.warn({ err: (e as Error).message }, 'cannot load topology objects from the store');
        return undefined;
      }
      const changes = this.merge(set, dropOthers);
      // Another walk that began earlier must not drop what this one just put in.
      if (this.loads > 1) for (const c of changes) this.changedDuring.add(c.id);
      if (changes.length > 0) this.deps.apply(changes);
      return set;
    } finally {
      if (--this.loads === 0) {
        this.skipped.clear();
        this.changedDuring.clear();
      }
    }
  }

  /** The changes that put a loaded set into the replica (deletes first), newest versions winning. */
  private merge(set: ReadonlyMap<string, Held>, dropOthers: boolean): Change[] {
    const topo = this.deps.topology();
    const deletes: Change[] = [];
    const upserts: Change[] = [];
    const change = (kind: Kind, object: Obj, op: Change['op'], version: number): Change => ({
      seq: 0,
      tx: 0,
      kind,
      id: object.id,
      op,
      version,
      object,
    });
    for (const [id, h] of set) {
      let obj = h.obj;
      const newer = this.skipped.get(id);
      if (newer !== undefined && newer.version > obj.version) {
        if (newer.op === 'delete') continue;
        obj = newer.object;
      }
      const had = topo.get(h.kind, id);
      if (had !== undefined && had.version >= obj.version) continue;
      upserts.push(change(h.kind, obj, had === undefined ? 'create' : 'update', obj.version));
    }
    if (dropOthers)
      for (const { kind, object } of topo.objects())
        if (!set.has(object.id) && !this.changedDuring.has(object.id) && !this.loading.has(object.id)) {
          deletes.push(change(kind, object, 'delete', object.version + 1));
          this.counters.objectsDropped++;
        }
    return [...deletes, ...upserts];
  }

  close(): void {
    if (this.recomputeTimer !== undefined) clearTimeout(this.recomputeTimer);
    this.recomputeTimer = undefined;
  }
}

/** The ids an object of a walked kind leads the walk to (interest.ts): not its peer, owner or own chain. */
function forwardRefs(kind: Kind, obj: Obj): string[] {
  const out: string[] = [];
  for (const r of referencesOf(kind, obj))
    if (r.field !== 'peerId' && r.field !== 'ownerId' && !(kind === 'rule' && r.field === 'chainId'))
      out.push(r.target);
  return out;
}
