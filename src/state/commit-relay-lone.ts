/**
 * Whether a commit-relay writer handle writes alone (commit-relay-client.ts). The relay serves
 * writers in separate processes that would otherwise take turns on `head`; a writer that is the only
 * one has no one to take turns with, and the hop to the leader (and the leader's work) is all it gets
 * from the relay. So a handle whose last LONE_AFTER relayed transactions each came alone (none other
 * of its own waiting) and each began at the position after the one before (nothing else committed
 * between) commits itself; the first of its commits that finds another writer's commit between, or
 * that it did not send alone, sends it back to the relay until LONE_AFTER relayed commits in a row
 * show it alone again.
 *
 * A writer committing itself cannot see a leader whose commits keep failing against its own (a
 * failed multi-op leaves nothing in the log): the leader would back off and try again while the lone
 * writer goes on winning `head`, and the writers waiting on the leader would starve. So a lone handle
 * still sends one transaction through the relay every PROBE_MS: when others are waiting there, its
 * group commits them too, its position is not next to its last one, and it is back with the relay.
 *
 * Invariant: only a choice of path; correctness never rests on it (either way the commit is checked
 * at `head`, cassandra-commit.ts). Only relayed commits count toward going alone, so a handle that
 * commits itself for another reason (no leader, or the leader unreachable) is back with the relay as
 * soon as the leader answers again.
 */
import type { TxResult } from './store.js';

/** Relayed commits in a row, each sent alone and each next in the log, after which a handle commits
 * itself. */
export const LONE_AFTER = 32;
/** How often a lone handle still sends a transaction through the relay (ms). */
export const PROBE_MS = 200;

export class LoneWriter {
  /** Transactions of this handle not yet answered. */
  waiting = 0;
  private inRow = 0;
  /** The position this handle's last commit ended at, when it was sent alone. */
  private last: number | undefined;
  /** When the last relayed transaction was answered (ms since epoch). */
  private relayedAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether the next transaction commits through the handle itself. */
  get alone(): boolean {
    return this.inRow >= LONE_AFTER && this.now() - this.relayedAt < PROBE_MS;
  }

  /** After a transaction (`solo`: the only one waiting from start to answer) was answered with `r`. */
  answered(r: TxResult, solo: boolean, relayed: boolean): void {
    if (relayed) this.relayedAt = this.now();
    if (r.changes.length === 0) return; // changed nothing: tells nothing
    const next = solo && this.last !== undefined && r.changes[0]!.seq === this.last + 1;
    this.last = solo ? r.position : undefined;
    if (!next) this.inRow = 0;
    else if (relayed && this.inRow < LONE_AFTER) this.inRow++;
  }
}
