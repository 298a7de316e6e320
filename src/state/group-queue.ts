/**
 * The queue of a store handle's waiting transactions, committed in groups: `add` queues one; a drain
 * loop waits one turn of the event loop (so the transactions that arrive together, and the writers
 * just answered, join), takes what is waiting (at most `max`) and hands it to the backend's
 * `commit` as one group; what arrives meanwhile is the next group. The embedded backend's
 * `transact` is this queue over one SQLite transaction per group (sqlite-store.ts); the distributed
 * backend's commit loop (cassandra-pipeline.ts) drains a queue of the same `Queued` items the same
 * way, with its pipelining on top.
 *
 * Invariants: groups are handed over in queue order, one at a time (the next only after the one
 * before settled); every queued transaction is answered exactly once, by `commit` or, when `commit`
 * throws, with that error; the turn between groups lets readers and I/O in, so a steady stream of
 * writes does not starve the handle's other calls.
 */
import { setImmediate as tick } from 'node:timers/promises';
import type { Queued } from './cassandra-group.js';
import type { Op, TxResult } from './store.js';

export type { Queued } from './cassandra-group.js';

export class GroupQueue {
  private readonly waiting: Queued[] = [];
  private draining: Promise<void> | undefined;
  /** Groups committed and transactions in them, for tests and benchmarks. */
  readonly stats = { groups: 0, transactions: 0, largest: 0 };

  constructor(
    /** Commits a group: answers each member (resolve or reject); throwing fails those not answered. */
    private readonly commit: (group: readonly Queued[]) => Promise<void>,
    /** The most transactions one group holds (the rest wait for the next group). */
    private readonly max: number,
  ) {}

  /** Queues `ops`; settles when its group's commit is known. */
  add(ops: readonly Op[]): Promise<TxResult> {
    return new Promise<TxResult>((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /** Resolves once every transaction queued so far has been answered. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        await tick();
        const group = this.waiting.splice(0, this.max);
        this.stats.groups++;
        this.stats.transactions += group.length;
        this.stats.largest = Math.max(this.stats.largest, group.length);
        try {
          await this.commit(group);
        } catch (e) {
          for (const q of group) q.reject(e);
        }
      }
    } finally {
      this.draining = undefined;
    }
  }
}
