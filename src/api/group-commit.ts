/**
 * Group commit for midonet-api's writes: the write requests that arrive together (in one turn of the
 * event loop, or while the group before them is committing) go to the store as one group
 * (TopologyStore.transactGroup), so the store takes its write lock and commits once for all of them
 * instead of once each. Every request is still its own transaction, planned and checked on its own:
 * it gets its own result, position and versions, or its own error, whatever the others do.
 *
 * Invariants: a request's promise settles only after the group holding it committed (or failed as a
 * whole, then every request of it fails with that error and none of it was written); requests are
 * committed in the order they arrived; at most one group is committing at a time; a store without
 * `transactGroup`, or a lone request, goes through plain `transact`.
 */
import type { StoreError } from '../state/errors.js';
import type { Op, TopologyStore, TxResult } from '../state/store.js';

interface Waiting {
  readonly ops: readonly Op[];
  readonly resolve: (r: TxResult) => void;
  readonly reject: (e: unknown) => void;
}

/** How many transactions one group holds at most (the rest wait for the next group). */
export const MAX_GROUP = 64;

export class GroupCommit {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private committing = false;
  /** Groups committed and transactions in them, for tests and benchmarks. */
  readonly stats = { groups: 0, transactions: 0, largest: 0 };

  constructor(private readonly store: TopologyStore) {}

  /** Commits `ops` as one transaction, together with the others that arrive meanwhile. */
  transact(ops: readonly Op[]): Promise<TxResult> {
    if (this.store.transactGroup === undefined) return this.store.transact(ops);
    return new Promise<TxResult>((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject });
      this.schedule();
    });
  }

  /** Flushes after the I/O callbacks of this turn ran (they may bring more requests). */
  private schedule(): void {
    if (this.scheduled || this.committing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const group = this.waiting.splice(0, MAX_GROUP);
    if (group.length === 0) return;
    this.committing = true;
    this.stats.groups++;
    this.stats.transactions += group.length;
    this.stats.largest = Math.max(this.stats.largest, group.length);
    try {
      if (group.length === 1) {
        const w = group[0]!;
        await this.store.transact(w.ops).then(w.resolve, w.reject);
      } else {
        let results: Array<TxResult | StoreError>;
        try {
          results = await this.store.transactGroup!(group.map((w) => w.ops));
        } catch (e) {
          for (const w of group) w.reject(e);
          return;
        }
        group.forEach((w, i) => {
          const r = results[i]!;
          if (r instanceof Error) w.reject(r);
          else w.resolve(r);
        });
      }
    } finally {
      this.committing = false;
      // What arrived meanwhile has waited a group already: it is the next group.
      if (this.waiting.length > 0) void this.flush();
    }
  }
}
