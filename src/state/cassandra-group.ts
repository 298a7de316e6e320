/**
 * Group commit for the distributed backend: the transactions one store handle has waiting are
 * planned one after another against the same committed state (head H) and committed together by one
 * ZooKeeper multi-op, so concurrent writers through one handle share one Cassandra round and one
 * ZooKeeper commit instead of failing each other's head check.
 *
 * Each transaction is planned against H alone, through a reader that records what it read (ids,
 * names, referrers, bindings). A transaction joins the group only if nothing it read was written by a
 * transaction already in the group; otherwise it waits for the next group. So the group's outcome is
 * exactly that of running its transactions one by one in queue order, and the invariants of the
 * commit (cassandra-commit.ts) hold unchanged: the group becomes visible at once or not at all.
 * Tunnel keys are the one shared counter: a transaction reads the highest key H or the group so far
 * has given out, so two ports of one group never share a key.
 */
import { changesOf, highestTunnelKey } from './cassandra-commit.js';
import type { Kind } from './model.js';
import { referencedIds } from './references.js';
import { bindingOf } from './cassandra-rows.js';
import type { Op, TxResult } from './store.js';
import { planTransaction, type BaseReader, type OpResult, type Write } from './transaction.js';

/** The most writes one group commits (one ZooKeeper multi-op stays well under its 1 MB limit). */
export const MAX_GROUP_WRITES = 200;

/** Resolves or rejects every member of a group that committed with these first positions. */
export function settle(group: readonly Planned[], firstSeq: ReadonlyMap<Planned, number>): void {
  for (const p of group) {
    if ('refused' in p) p.q.reject(p.refused);
    else if (p.writes.length === 0) p.q.resolve({ position: 0, results: p.results, changes: [] });
    else {
      const changes = changesOf(p.writes, firstSeq.get(p)!);
      p.q.resolve({ position: changes.at(-1)!.seq, results: p.results, changes });
    }
  }
}

/** A transaction waiting for its group. */
export interface Queued {
  readonly ops: readonly Op[];
  /** A transaction relayed from another handle (commit-relay-leader.ts): its id, and the marker
   * znode its commit creates (commit-relay-wire.ts). */
  readonly relay?: { readonly txid: string; readonly marker: string };
  readonly resolve: (r: TxResult) => void;
  readonly reject: (e: unknown) => void;
}

/** What a set of transactions read or wrote, as keys that collide exactly when one affects the other. */
export class Footprint {
  readonly ids = new Set<string>();
  readonly names = new Set<string>();
  /** Read: targets whose referrers were listed. Written: targets referenced before or after. */
  readonly refs = new Set<string>();
  readonly bindings = new Set<string>();
  /** Read: whether the transaction asked for the highest tunnel key. */
  tk = false;

  /** Whether a transaction that read `this` would have read something `written` changed. */
  readsAny(written: Footprint): boolean {
    const hit = (a: Set<string>, b: Set<string>) => [...a].some((k) => b.has(k));
    return (
      hit(this.ids, written.ids) ||
      hit(this.names, written.names) ||
      hit(this.refs, written.refs) ||
      hit(this.bindings, written.bindings)
    );
  }

  /** Adds what `writes` changed. */
  addWrites(writes: readonly Write[]): void {
    for (const w of writes) {
      this.ids.add(w.id);
      for (const o of [w.before, w.after]) {
        if (!o) continue;
        if (typeof o.name === 'string') this.names.add(nameKey(w.kind, o.name));
        for (const t of referencedIds(w.kind, o)) this.refs.add(t);
        const b = bindingOf(w.kind, o);
        if (b !== undefined) this.bindings.add(b);
      }
    }
  }
}

function nameKey(kind: Kind, name: string): string {
  return `${kind}\u0000${name}`;
}

/** `base`, recording reads into `reads`, with tunnel keys counted from `tk()`. */
export function tracking(base: BaseReader, reads: Footprint, tk: () => number): BaseReader {
  return {
    get: (id) => {
      reads.ids.add(id);
      return base.get(id);
    },
    idByName: (kind, name, self) => {
      reads.names.add(nameKey(kind, name));
      return base.idByName(kind, name, self);
    },
    referrerIds: (id) => {
      reads.refs.add(id);
      reads.ids.add(id);
      return base.referrerIds(id);
    },
    portIdByBinding: (hostId, iface, self) => {
      reads.bindings.add(`${hostId}\u0000${iface}`);
      return base.portIdByBinding(hostId, iface, self);
    },
    maxTunnelKey: tk,
  };
}

/** One planned member of a group. */
export type Planned =
  | { readonly q: Queued; readonly writes: Write[]; readonly results: OpResult[] }
  | { readonly q: Queued; readonly refused: unknown };

/**
 * Plans queued transactions, in order, against committed state at a head whose tunnel-key mark is
 * `headTk`; returns the group (at most `maxWrites` writes, always at least the first transaction) and
 * the transactions left for a later group. `reader(ops)` gives the committed state for `ops`.
 */
export async function planGroup(
  queue: readonly Queued[],
  reader: (ops: readonly Op[]) => Promise<BaseReader>,
  headTk: number,
  maxWrites: number,
): Promise<{ group: Planned[]; rest: Queued[] }> {
  const group: Planned[] = [];
  const rest: Queued[] = [];
  const written = new Footprint();
  let tk = headTk;
  let count = 0;
  const planOne = async (q: Queued, mark: number): Promise<[Planned, Footprint]> => {
    const reads = new Footprint();
    try {
      const base = tracking(await reader(q.ops), reads, () => {
        reads.tk = true;
        return mark;
      });
      const { writes, results } = await planTransaction(base, q.ops);
      return [{ q, writes, results }, reads];
    } catch (e) {
      return [{ q, refused: e }, reads];
    }
  };
  // Every transaction is planned at once on H; one that asked for tunnel keys after the group gave
  // some out is planned again with the group's mark.
  const first = await Promise.all(queue.map((q) => planOne(q, headTk)));
  for (const [i, q] of queue.entries()) {
    if (group.length > 0 && count >= maxWrites) {
      rest.push(q);
      continue;
    }
    let [planned, reads] = first[i]!;
    if (reads.tk && tk !== headTk) [planned, reads] = await planOne(q, tk);
    const size = 'writes' in planned ? planned.writes.length : 0;
    if (group.length > 0 && (reads.readsAny(written) || count + size > maxWrites)) {
      rest.push(q);
      continue;
    }
    group.push(planned);
    if ('writes' in planned) {
      written.addWrites(planned.writes);
      count += size;
      tk = highestTunnelKey(tk, planned.writes);
    }
  }
  return { group, rest };
}
