/**
 * TopologyStore: the one interface every state backend implements (embedded SQLite, Cassandra +
 * ZooKeeper, and an in-memory store for tests), and the one the CLI, the agents and the router use.
 *
 * Invariants every backend keeps (the contract suite in test/contract checks them):
 * - A transaction is atomic: all its writes become visible together, or none do.
 * - Every object's version starts at 1 and grows by one per transaction that writes it; an update or
 *   delete given an expected version that is not the stored one is refused ('conflict').
 * - Every committed write appears once in the change feed, in commit order, with a position (`seq`)
 *   that only grows; a watcher can resume from any position the log still holds.
 * - The change log is compacted: entries beyond the newest `retain` or older than `retainSeconds`
 *   (`LogRetention`, from the store URL; defaults DEFAULT_RETENTION) are removed, a transaction's
 *   entries together. A watch whose position the log no longer holds is not left with a gap: it gets
 *   `onResync` with a snapshot, then the changes after the snapshot's position (or, without an
 *   `onResync` handler, `onError` with 'position-gone').
 * - `snapshot()` returns every object and the feed position they reflect, read at one instant, so a
 *   reader that loads a snapshot and then watches from its position misses nothing and sees nothing twice.
 */
import type { Kind, Obj } from './model.js';

/** One step of a transaction. Ids of created objects may be chosen by the caller (so later steps can refer to them). */
export type Op =
  | {
      readonly op: 'create';
      readonly kind: Kind;
      readonly id?: string;
      readonly fields: Record<string, unknown>;
      /** Rules only: 1-based position in the chain (default: last). */
      readonly position?: number;
    }
  | {
      readonly op: 'update';
      readonly kind: Kind;
      readonly id: string;
      readonly set: Record<string, unknown>;
      readonly expectedVersion?: number;
      /** Rules only: move to this 1-based position. */
      readonly position?: number;
    }
  | {
      readonly op: 'delete';
      readonly kind: Kind;
      readonly id: string;
      readonly expectedVersion?: number;
      /** Delete what depends on the object and clear references to it, instead of refusing. */
      readonly cascade?: boolean;
    };

export type ChangeOp = 'create' | 'update' | 'delete';

/** One committed write, as the change feed delivers it. */
export interface Change {
  /** Position in the feed; strictly increasing. */
  readonly seq: number;
  /** Position of the first change of the same transaction (changes of one transaction are contiguous). */
  readonly tx: number;
  readonly kind: Kind;
  readonly id: string;
  readonly op: ChangeOp;
  /** The object's version after the write (for a delete: the version it would have had). */
  readonly version: number;
  /** The object after the write; for a delete, as it was before. */
  readonly object: Obj;
}

export interface TxResult {
  /** Position of the transaction's last change (0 when it changed nothing). */
  readonly position: number;
  /** Per op: the object as written (create/update) or, for delete, the objects removed. */
  readonly results: ReadonlyArray<
    Obj | { readonly deleted: ReadonlyArray<{ kind: Kind; id: string; name: string | null }> }
  >;
  readonly changes: readonly Change[];
}

export interface Referrer {
  readonly kind: Kind;
  readonly id: string;
  readonly name: string | null;
  readonly field: string;
}

/** A stored object with its kind. */
export interface KindedObject {
  readonly kind: Kind;
  readonly object: Obj;
}

export interface Snapshot {
  readonly position: number;
  readonly objects: readonly KindedObject[];
}

export interface Watch {
  close(): void;
}

/**
 * The callbacks of a watch. They are called one at a time, in feed order, never concurrently and
 * never after `close()`.
 */
export interface WatchHandlers {
  /** Called with each batch of changes, in commit order. */
  readonly onChanges: (changes: readonly Change[]) => void;
  /**
   * Called when the watch fell behind what the change log retains (it was compacted past the
   * watch's position): `snapshot` is the whole state at `snapshot.position`, to be taken instead of
   * everything seen so far (objects absent from it are gone); `onChanges` then goes on with the
   * changes after that position. Without this handler such a watch ends with `onError`
   * ('position-gone').
   */
  readonly onResync?: (snapshot: Snapshot) => void;
  /** Called once if the watch cannot go on; the watch is then closed. */
  readonly onError?: (err: Error) => void;
  /**
   * Only changes of these kinds are wanted (default: every kind): `onChanges` gets no other (and is
   * not called for a batch of only others), and the watch moves past them. A backend may leave them
   * unread (sqlite-store.ts selects by kind; the others filter what they read, `kindFiltered`).
   */
  readonly kinds?: readonly Kind[];
}

/** `handlers` whose `onChanges` gets only the changes of `handlers.kinds` (all when it has none). */
export function kindFiltered(handlers: WatchHandlers): WatchHandlers {
  const kinds = handlers.kinds;
  if (kinds === undefined) return handlers;
  const want = new Set<string>(kinds);
  const onChanges = handlers.onChanges;
  return {
    ...handlers,
    onChanges: (changes) => {
      const wanted = changes.every((c) => want.has(c.kind))
        ? changes
        : changes.filter((c) => want.has(c.kind));
      if (wanted.length > 0) onChanges(wanted);
    },
  };
}

/** How much of the change log a store keeps (URL parameters `retain` and `retainSeconds`). */
export interface LogRetention {
  /** At most this many newest entries are kept (whole transactions: a few more may stay). */
  readonly entries: number;
  /** Entries older than this (ms) are removed, however few there are. */
  readonly maxAgeMs: number;
}

/** Ten thousand changes or one hour: an agent that was away longer loads a snapshot instead. */
export const DEFAULT_RETENTION: LogRetention = { entries: 10000, maxAgeMs: 3600000 };

/** A host's liveness record: an agent renews it while it runs. */
export interface HostLiveness {
  readonly hostId: string;
  readonly alive: boolean;
  /** When the record was last renewed (ms since epoch). */
  readonly renewedAt: number;
  /** What the agent reported about itself (version, flows, last change applied, ...). */
  readonly info: Record<string, unknown>;
}

/**
 * An entry of the state agents learn at run time and share with each other (MidoNet's replicated
 * MAC and ARP tables): `mac` maps (bridge[/vlan], MAC) to the port it was seen on, `arp` maps
 * (router, IPv4) to a MAC, `nd` maps (router, IPv6) to a MAC (the router's neighbour cache). Entries
 * expire at `expiresAt` unless renewed. New tables go at the end (peers send a table's index).
 */
export const LEARNED_TABLES = ['mac', 'arp', 'nat', 'ct', 'nd'] as const;
export type LearnedTable = (typeof LEARNED_TABLES)[number];

export interface LearnedEntry {
  /** mac, arp, nd: learned tables; nat, ct: flow state (NAT bindings, tracked connections). */
  readonly table: LearnedTable;
  /** Bridge id (with '/VLAN' when tagged) for mac; router id for arp and nd. */
  readonly scope: string;
  /** MAC (lowercase hex, no separators) for mac; dotted IPv4 for arp; canonical IPv6 text for nd. */
  readonly key: string;
  /** Port id for mac; MAC (lowercase hex) for arp and nd. */
  readonly value: string;
  /** Host that learned it. */
  readonly origin: string;
  /** ms since epoch. */
  readonly expiresAt: number;
}

export interface LearnedChange extends LearnedEntry {
  /** Position in the learned-state feed; strictly increasing. */
  readonly seq: number;
}

/** The callbacks of a learned-state watch (called one at a time, never after `close()`). */
export interface LearnedWatchHandlers {
  readonly onEntries: (entries: readonly LearnedChange[]) => void;
  readonly onError?: (e: Error) => void;
}

/** Which learned entries a watch subscribes to (learned-scope.ts). */
export interface LearnedWatchOptions {
  /**
   * Only the MAC, ARP and ND entries of these bridges and routers (by id; flow state, `nat` and `ct`,
   * belongs to no device and is delivered whatever the set): the store reads and sends no entry of
   * another device. Undefined: every entry.
   */
  readonly devices?: Iterable<string>;
}

/**
 * A learned-state watch. On a watch subscribed per device (`devices` given), the set changes: a device
 * added gets its current entries (the newest unexpired value of each key as of the watch's position
 * when the store takes the change: a snapshot, whose positions may be below those delivered before),
 * then its later writes, none lost and none twice; a device dropped gets nothing after the call. On a
 * watch of every entry these do nothing.
 */
export interface LearnedWatch extends Watch {
  addDevices(ids: Iterable<string>): void;
  dropDevices(ids: Iterable<string>): void;
}

/** Callbacks of a leader-election candidate; never called concurrently, and never after resign. */
export interface CampaignHandlers {
  /** This candidate now leads its group. */
  readonly onElected: () => void;
  /** This candidate no longer leads (lease lost, session expired); it stays a candidate. */
  readonly onDeposed: () => void;
}

export interface Campaign {
  readonly leading: boolean;
  /** Leaves the election (and gives up leadership at once if held). */
  resign(): Promise<void>;
}

export interface TopologyStore {
  /** The URL this store was opened with, e.g. sqlite:/var/lib/midonet/state.db. */
  readonly url: string;

  get<K extends Kind>(kind: K, id: string): Promise<Obj<K> | undefined>;
  /** Finds by name or UUID; throws 'not-found' naming the kind and the reference. */
  resolve<K extends Kind>(kind: K, ref: string): Promise<Obj<K>>;
  list<K extends Kind>(kind: K, filter?: { readonly refersTo?: string }): Promise<Obj<K>[]>;
  /** Objects holding a reference to `id`, with the field that holds it. */
  referrers(id: string): Promise<Referrer[]>;

  create<K extends Kind>(
    kind: K,
    fields: Record<string, unknown>,
    opts?: { id?: string; position?: number },
  ): Promise<Obj<K>>;
  update<K extends Kind>(
    kind: K,
    id: string,
    set: Record<string, unknown>,
    opts?: { expectedVersion?: number; position?: number },
  ): Promise<Obj<K>>;
  delete(
    kind: Kind,
    id: string,
    opts?: { expectedVersion?: number; cascade?: boolean },
  ): Promise<ReadonlyArray<{ kind: Kind; id: string; name: string | null }>>;
  /**
   * One transaction. Calls made concurrently on one handle may be committed together (a backend's
   * group commit: sqlite-store.ts, cassandra-group.ts); each is still planned and checked on its own,
   * as if alone after the ones queued before it, and gets its own result, versions and position, or
   * its own error, whatever the others do.
   */
  transact(ops: readonly Op[]): Promise<TxResult>;

  snapshot(): Promise<Snapshot>;
  /** Position of the last committed change. */
  position(): Promise<number>;
  /** Changes after `from`, oldest first, at most `limit`. */
  changesSince(from: number, limit?: number): Promise<Change[]>;
  /** Delivers every change after `from`, then every later one as it commits. */
  watch(from: number, handlers: WatchHandlers): Watch;

  /** Renews a host's liveness for `ttlMs`, with what the agent reports about itself. */
  heartbeat(hostId: string, ttlMs: number, info?: Record<string, unknown>): Promise<void>;
  /** Marks a host dead at once (clean agent shutdown). */
  goodbye(hostId: string): Promise<void>;
  liveness(): Promise<HostLiveness[]>;

  /** Publishes learned entries (insert or renew); the newest write of a (table, scope, key) wins. */
  learn(entries: readonly LearnedEntry[]): Promise<void>;
  /**
   * Delivers the current learned entries written after `from` (0: all current ones; only the newest
   * value of each key), then every later write as it commits, in order; expired entries are not
   * delivered. With `opts.devices`, only those devices' entries (and flow state), the set changing
   * through the returned watch.
   */
  watchLearned(from: number, handlers: LearnedWatchHandlers, opts?: LearnedWatchOptions): LearnedWatch;

  /**
   * Joins the leader election of `group` as `candidate` (e.g. a router process serving an uplink):
   * at most one candidate of a group leads at a time; when the leader dies or resigns another is
   * elected within the backend's lease or session timeout.
   */
  campaign(group: string, candidate: string, handlers: CampaignHandlers): Promise<Campaign>;

  close(): Promise<void>;
}
