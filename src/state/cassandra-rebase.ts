/**
 * Rebasing a commit that lost the race for `head` to other writers (other handles, other processes).
 *
 * A group's multi-op checks `head` at the version it was planned at (cassandra-commit.ts). When it
 * fails because other commits came first, the group need not be planned again if none of those
 * commits changed anything it read: the log entries between the head it planned at and the current
 * head are exactly the changes it missed, and each member's planning recorded what it read
 * (cassandra-group.ts, `Footprint`: ids, names, referrers, bindings, whether it asked for tunnel
 * keys). If no entry touches a member's reads, and no tunnel key was handed out meanwhile to a member
 * that took one, every member reads the same at the current head, so the same writes are what
 * planning there would give. The group is then moved to the current head: its rows in Cassandra get
 * the new log positions (their bodies, ids, versions and transaction ids stay), and its multi-op is
 * sent again, checking `head` at the new version. Otherwise the group is dropped and planned again,
 * as before.
 *
 * Invariants kept: the multi-op is still the commit point and still checks `head`, so commits stay
 * one total order and every entry up to `head` exists; a row's position is rewritten only before the
 * multi-op that commits it at that position (a scan or `reconcile` deciding on the old position
 * finds another transaction's entry there, and the row is not yet named by any); object versions are
 * those planned, valid because no commit in between wrote the objects. A writer rebases only within
 * `REBASE_WINDOW_MS` of writing the rows, far inside `reconcile`'s grace period, so `reconcile`
 * never deletes rows a rebased commit is about to name.
 */
import type { ChangeLog, Head } from './distributed-log.js';
import { highestTunnelKey } from './cassandra-commit.js';
import { Footprint, type Planned } from './cassandra-group.js';
import type { Write } from './transaction.js';

export type Versioned = Head & { version: number };

/** Rebases one group may take before it is planned again (each one is another writer's commit). */
export const MAX_REBASES = 64;
/** How long after writing its rows a group may still be rebased (reconcile's grace is 60 s by default). */
export const REBASE_WINDOW_MS = 10000;
/** The most log entries read to rebase over; farther behind, the group is planned again. */
const MAX_BEHIND = 2000;

/** One transaction of a group that writes: its member, writes and id. */
export interface Part {
  readonly p: Planned;
  readonly writes: readonly Write[];
  readonly txid: string;
}

/** Where a group's parts go on top of `head`: each part's first position, and the head the commit makes. */
export function place(
  head: Versioned,
  parts: readonly Part[],
): { firstSeq: Map<Planned, number>; next: Versioned } {
  const firstSeq = new Map<Planned, number>();
  let seq = head.seq + 1;
  let tk = head.tk;
  for (const part of parts) {
    firstSeq.set(part.p, seq);
    seq += part.writes.length;
    tk = highestTunnelKey(tk, part.writes);
  }
  return { firstSeq, next: { seq: seq - 1, tk, version: head.version + 1 } };
}

/**
 * The current head if `group`, planned at `from`, reads the same there (nothing committed since
 * touched what any member read); undefined if it must be planned again.
 */
export async function rebaseHead(
  log: ChangeLog,
  group: readonly Planned[],
  from: Versioned,
): Promise<Versioned | undefined> {
  const head = await log.head();
  if (head.version <= from.version || head.seq - from.seq > MAX_BEHIND) return undefined;
  const written = new Footprint();
  written.addChanges(await log.range(from.seq, head.seq));
  const tkMoved = head.tk !== from.tk;
  for (const m of group) if (m.reads.readsAny(written) || (m.reads.tk && tkMoved)) return undefined;
  return head;
}
