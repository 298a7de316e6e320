/**
 * TopologyStore: the one interface every state backend implements (embedded SQLite now, Cassandra +
 * ZooKeeper next), and the one the CLI, the agents and the router process use.
 *
 * Invariants every backend keeps (the contract suite in test/contract checks them):
 * - A transaction is atomic: all its writes become visible together, or none do.
 * - Every object's version starts at 1 and grows by one per transaction that writes it; an update or
 *   delete given an expected version that is not the stored one is refused ('conflict').
 * - Every committed write appears once in the change feed, in commit order, with a position (`seq`)
 *   that only grows; a watcher can resume from any position the log still holds.
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

export interface WatchHandlers {
  /** Called with each batch of changes, in commit order, never concurrently. */
  readonly onChanges: (changes: readonly Change[]) => void;
  /** Called once if the watch cannot go on (e.g. 'position-gone'); the watch is then closed. */
  readonly onError?: (err: Error) => void;
}

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
 * (router, IP) to a MAC. Entries expire at `expiresAt` unless renewed.
 */
export interface LearnedEntry {
  readonly table: 'mac' | 'arp';
  /** Bridge id (with '/VLAN' when tagged) for mac; router id for arp. */
  readonly scope: string;
  /** MAC (lowercase hex, no separators) for mac; dotted IPv4 for arp. */
  readonly key: string;
  /** Port id for mac; MAC (lowercase hex) for arp. */
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
   * value of each key), then every later write as it commits, in order.
   */
  watchLearned(
    from: number,
    handlers: { onEntries: (entries: readonly LearnedChange[]) => void; onError?: (e: Error) => void },
  ): Watch;

  /**
   * Joins the leader election of `group` as `candidate` (e.g. a router process serving an uplink):
   * at most one candidate of a group leads at a time; when the leader dies or resigns another is
   * elected within the backend's lease or session timeout.
   */
  campaign(group: string, candidate: string, handlers: CampaignHandlers): Promise<Campaign>;

  close(): Promise<void>;
}
