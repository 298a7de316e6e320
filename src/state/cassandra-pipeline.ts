/**
 * The commit loop of one distributed-store handle, pipelined: while the ZooKeeper multi-op of one
 * group (cassandra-group.ts) is in flight, the next group is planned on the state that commit will
 * make and its rows are written to Cassandra; its own multi-op is sent once the first one's answer is
 * in. So a busy handle overlaps the Cassandra round of a group with the ZooKeeper round of the one
 * before, instead of doing one after the other.
 *
 * A group planned that way (a speculative group) checks `head` at the version the previous group's
 * commit sets. It is only sent when that commit succeeded: then nothing came between the two (the
 * first checked `head` at the version it planned at, the second at the next one), and the state it
 * planned on -- the previous group's writes over what was committed before -- is exactly the
 * committed state. When the previous commit failed, the speculative group's rows are deleted and its
 * transactions planned again with the failed group's. Only one multi-op of a handle is in flight at
 * a time, so commits stay in queue order.
 *
 * Invariants (those of cassandra-commit.ts, kept): a group's rows are written before its multi-op;
 * the multi-op is the commit point and checks `head`; a transaction is answered only after its
 * group's commit is known (refusals too, as they rest on state that must still be current); rows of
 * a group that did not commit are deleted.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { Deferred } from './cassandra-coalesce.js';
import { commitOps, highestTunnelKey, wasCommitted, type CommitPart } from './cassandra-commit.js';
import { encode } from './commit-relay-wire.js';
import { MAX_GROUP_WRITES, planGroup, settle, type Planned, type Queued } from './cassandra-group.js';
import { sleep, type ObjectRows, type Statement } from './cassandra-rows.js';
import type { Attempt, CommittedCache } from './committed-cache.js';
import type { CommittedIndex, IndexView } from './committed-index.js';
import { IndexGuesses } from './cassandra-reader.js';
import type { ChangeLog, Head } from './distributed-log.js';
import { StoreError } from './errors.js';
import type { StoredObject } from './store-base.js';
import type { Op } from './store.js';
import type { BaseReader, Write } from './transaction.js';
import { ZkError, type ZkOp } from './zk.js';

/**
 * How long the marks of committed rows are held (ms), and how many at most: marks of one (kind,
 * bucket) partition sent in one batch are one mutation per replica, so holding them this long sends
 * Cassandra about one mark request and one mutation per partition per interval instead of per commit.
 * A scan meanwhile settles each unmarked row at or below its position through the log (one ZooKeeper
 * read per row, cassandra-rows.ts `verdict`), so the hold bounds that extra cost too.
 */
const MARK_HOLD_MS = 200;
const MARK_HOLD_MAX = 64;

/** The most attempts a transaction gets before it fails as 'unavailable'. */
const MAX_ATTEMPTS = 100;

type Versioned = Head & { version: number };

/** What the loop needs of its store handle. */
export interface PipelineParts {
  readonly url: string;
  readonly log: ChangeLog;
  readonly rows: ObjectRows;
  readonly known: CommittedCache;
  /** The committed names and bindings at one position, when this handle knows them (committed-index.ts). */
  readonly index: CommittedIndex;
  /** The planner's view of committed state for `ops`, reading through `reads`; `many`: other
   * transactions are planned at the same time; with `view`, name and binding lookups are answered
   * from the index, else with `guesses` they are guessed (cassandra-reader.ts). */
  readonly reader: (
    ops: readonly Op[],
    reads: Attempt,
    many: boolean,
    guesses?: IndexGuesses,
    view?: IndexView,
  ) => Promise<BaseReader>;
  readonly load: (ids: readonly string[]) => Promise<Map<string, StoredObject>>;
  /** The protocol's two steps (overridable by the store, for fault tests). */
  readonly writeRows: (stmts: readonly Statement[]) => Promise<void>;
  /** Also sends the write barrier before deciding a commit whose answer was lost (wasCommitted). */
  readonly commit: (ops: readonly ZkOp[]) => Promise<void>;
  /** Runs a promise in the background (the store's close waits for it). */
  readonly track: (p: Promise<unknown>) => void;
  /** After a commit took the log from position `before` to `last`. */
  readonly committed: (before: number, last: number) => void;
  /** Of these relayed transactions' markers, those whose writer took them back (fence or bucket
   * gone, commit-relay-wire.ts): their commit can never succeed. */
  readonly takenBack: (markers: readonly string[]) => Promise<Set<string>>;
}

/** A group planned and its rows written, not yet committed. */
interface Prepared {
  /** Every transaction taken for it, in queue order: its members and those left for later. */
  readonly batch: readonly Queued[];
  readonly group: readonly Planned[];
  readonly rest: readonly Queued[];
  readonly head: Versioned;
  /** Whether `head` was this handle's guess (not read), so a failure means another writer. */
  readonly guessed: boolean;
  readonly reads: Attempt;
  readonly parts: readonly CommitPart[];
  readonly firstSeq: ReadonlyMap<Planned, number>;
  readonly writes: readonly Write[];
  /** The head its commit makes. */
  readonly next: Versioned;
}

interface Flying {
  readonly p: Prepared;
  /** Whether the commit was applied (rejects when that cannot be told). */
  readonly done: Promise<boolean>;
}

export class CommitPipeline {
  private readonly queue: Queued[] = [];
  private draining = false;
  /** The head this handle's last commit left (a guess the commit's version check makes safe), and
   * until when (ms since epoch) not to guess because a guess failed: another writer is active. */
  private lastHead: Versioned | undefined;
  private contendedUntil = 0;
  /** Commits that failed one after another (for the backoff), and attempts per transaction. */
  private failures = 0;
  private readonly attempts = new WeakMap<Queued, number>();

  /** Marks of committed rows, sent together a little later (a hint for scans; the log is the truth). */
  private readonly marks: Deferred;

  constructor(private readonly s: PipelineParts) {
    this.marks = new Deferred((items) => s.rows.execBatched(items), s.track, MARK_HOLD_MS, MARK_HOLD_MAX);
  }

  /** Sends the held marks now and each later one at once (the store is closing). */
  close(): void {
    this.marks.close();
  }

  /** Queues a transaction; it is answered when its group's commit is known. */
  add(q: Queued): void {
    this.queue.push(q);
    // Tracked: the store's close waits until what was queued before it is answered.
    if (!this.draining) this.s.track(this.drain());
  }

  private async drain(): Promise<void> {
    this.draining = true;
    let flying: Flying | undefined;
    try {
      while (this.queue.length > 0 || flying) {
        if (this.queue.length === 0) {
          await this.finish(flying!);
          flying = undefined;
          continue;
        }
        await tick(); // writers just answered join the next group
        const batch = this.queue.splice(0);
        let prepared: Prepared;
        try {
          prepared = await this.prepare(batch, flying?.p);
        } catch (e) {
          if (flying) await this.finish(flying);
          flying = undefined;
          for (const q of batch) q.reject(e);
          continue;
        }
        if (flying) {
          const ok = await this.finish(flying, prepared);
          flying = undefined;
          if (!ok) continue;
          // Writers that came while the last multi-op flew join this group rather than wait a cycle.
          if (prepared.parts.length > 0) prepared = await this.topUp(prepared);
        }
        if (prepared.parts.length === 0) {
          // Refusals and no-ops stand only if nothing was committed since (else reads may mix states).
          let version: number;
          try {
            version = (await this.s.log.head()).version;
          } catch (e) {
            for (const q of prepared.batch) q.reject(e);
            continue;
          }
          if (version === prepared.head.version) {
            settle(prepared.group, new Map());
            this.queue.unshift(...prepared.rest);
          } else await this.retry(prepared.batch, prepared);
          continue;
        }
        this.queue.unshift(...prepared.rest);
        flying = { p: prepared, done: this.send(prepared) };
        flying.done.catch(() => undefined); // awaited in `finish`
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * `p` (not sent) with the transactions queued since, and those it left, planned on the state it
   * makes and their rows written, as one group: one multi-op checking `head` at `p`'s version commits
   * both, so nothing can come between them. Unchanged if there is nothing to add or no room.
   */
  private async topUp(p: Prepared): Promise<Prepared> {
    const room = MAX_GROUP_WRITES - p.writes.length;
    if (this.queue.length === 0 || room <= 0) return p;
    const batch = [...p.rest, ...this.queue.splice(0)];
    let extra: Prepared;
    try {
      extra = await this.prepare(batch, p, room);
    } catch {
      this.queue.unshift(...batch); // planned again in the next group
      return { ...p, rest: [] };
    }
    p.reads.absorb(extra.reads);
    const firstSeq = new Map([...p.firstSeq, ...extra.firstSeq]);
    return {
      batch: [...p.batch, ...batch.slice(p.rest.length)],
      group: [...p.group, ...extra.group],
      rest: extra.rest,
      head: p.head,
      guessed: p.guessed,
      reads: p.reads,
      parts: [...p.parts, ...extra.parts],
      firstSeq,
      writes: [...p.writes, ...extra.writes],
      next: { ...extra.next, version: p.next.version },
    };
  }

  /** Plans `batch` as one group on the committed head, or on the head `prev` will make, and writes its rows. */
  private async prepare(
    batch: readonly Queued[],
    prev: Prepared | undefined,
    maxWrites = MAX_GROUP_WRITES,
  ): Promise<Prepared> {
    let head: Versioned;
    let guessed = false;
    let reads: Attempt;
    let view: IndexView | undefined;
    if (prev) {
      head = prev.next;
      reads = this.s.known.after(prev.reads, prev.writes, this.s.load);
      view = this.s.index.view(prev.head.seq, prev.writes);
    } else {
      guessed = this.lastHead !== undefined && Date.now() >= this.contendedUntil;
      head = guessed ? this.lastHead! : await this.s.log.head();
      this.lastHead = undefined;
      reads = this.s.known.attempt(head.version, this.s.load);
      view = this.s.index.view(head.seq);
    }
    // Names and bindings known at the plan's head need no lookup (committed-index.ts). Else a lone
    // transaction is planned first on guessed index lookups, its rows written while the real
    // lookups run, and planned again on real lookups (the guessed rows deleted first) if a guess was
    // wrong (cassandra-reader.ts). A group's lookups go as one query per kind (cassandra-coalesce.ts)
    // and its planning and rows already keep Cassandra busy: guessing gained nothing there.
    const guesses = !view && batch.length === 1 ? new IndexGuesses() : undefined;
    let planned = await this.plan(batch, reads, head, maxWrites, guesses, view);
    if (guesses?.any) {
      const created = planned.writes.filter((w) => w.op === 'create').map((w) => w.id);
      const rows = planned.stmts.length > 0 ? this.s.writeRows(planned.stmts) : undefined;
      const [right] = await Promise.all([guesses.right(created), rows]);
      if (!right) {
        const undo = planned.parts.flatMap((part) => this.s.rows.undoStatements(part.writes, part.txid));
        await this.s.rows.execBatched(undo);
        planned = await this.plan(batch, reads, head, maxWrites);
        if (planned.stmts.length > 0) await this.s.writeRows(planned.stmts);
      }
    } else if (planned.stmts.length > 0) await this.s.writeRows(planned.stmts);
    const { group, rest, parts, firstSeq, writes, seq } = planned;
    const next = { seq: seq - 1, tk: highestTunnelKey(head.tk, writes), version: head.version + 1 };
    return { batch, group, rest, head, guessed, reads, parts, firstSeq, writes, next };
  }

  /** Plans `batch` at `head` (index lookups guessed with `guesses`): the group, its parts and rows. */
  private async plan(
    batch: readonly Queued[],
    reads: Attempt,
    head: Versioned,
    maxWrites: number,
    guesses?: IndexGuesses,
    view?: IndexView,
  ) {
    const { group, rest } = await planGroup(
      batch,
      (o) => this.s.reader(o, reads, batch.length > 1, guesses, view),
      head.tk,
      maxWrites,
    );
    const firstSeq = new Map<Planned, number>();
    let seq = head.seq + 1;
    const parts: Array<CommitPart & { p: Planned }> = [];
    for (const p of group) {
      if (!('writes' in p) || p.writes.length === 0) continue;
      const relay = p.q.relay;
      const data = relay && encode({ s: seq, n: p.writes.length, r: p.results });
      parts.push({
        p,
        writes: p.writes,
        txid: relay?.txid ?? randomUUID(),
        ...(relay ? { marker: { path: relay.marker, data: data! } } : {}),
      });
      firstSeq.set(p, seq);
      seq += p.writes.length;
    }
    const writes = parts.flatMap((part) => part.writes);
    const stmts = parts.flatMap((part) =>
      this.s.rows.rowStatements(part.writes, part.txid, firstSeq.get(part.p)!),
    );
    return { group, rest, parts, firstSeq, writes, stmts, seq };
  }

  /** Sends a group's multi-op; whether it was applied. */
  private async send(p: Prepared): Promise<boolean> {
    try {
      await this.s.commit(commitOps(this.s.log, this.s.rows, p.head, p.parts, Date.now()));
      return true;
    } catch (e) {
      if (!(e instanceof ZkError)) throw e;
      if (e.code === 'bad-version' || e.code === 'node-exists' || e.code === 'no-node') return false;
      return wasCommitted(this.s.log, (ops) => this.s.commit(ops), p.head.seq + 1, p.parts[0]!.txid);
    }
  }

  /**
   * Waits for a flying group's commit and answers its transactions, or queues them again; `next`, a
   * group planned on top of it, is dropped (rows deleted, transactions queued again) unless the commit
   * was applied. Returns whether it was.
   */
  private async finish(f: Flying, next?: Prepared): Promise<boolean> {
    const p = f.p;
    let ok: boolean;
    try {
      ok = await f.done;
    } catch (e) {
      // Whether it was applied cannot be told: plan the next group on a head read afresh.
      this.s.known.drop();
      this.lastHead = undefined;
      for (const q of p.group) q.q.reject(e);
      if (next) this.requeue(next, next.batch);
      return false;
    }
    if (!ok) {
      // Requeue the failed group's members (its rest is in `next`'s batch, or still queued) first,
      // but for relayed ones their writers took back: answered, never committed.
      const rest = new Set(p.rest);
      const gone = await this.takenBack(p.group.map((m) => m.q));
      const again = [...p.batch.filter((q) => !rest.has(q) && !gone.has(q))];
      if (next) {
        this.undo(next);
        again.push(...next.batch);
      }
      await this.retry(again, p);
      return false;
    }
    this.failures = 0;
    this.s.known.committed([p.reads], p.writes);
    this.s.index.committed(p.head.seq, p.writes);
    for (const part of p.parts) this.marks.add(this.s.rows.markStatements(part.writes, part.txid));
    this.lastHead = p.next;
    settle(p.group, p.firstSeq);
    this.s.committed(p.head.seq, p.next.seq);
    return true;
  }

  /** Of `members`, the relayed ones whose writers took them back; each is answered with an error. */
  private async takenBack(members: readonly Queued[]): Promise<Set<Queued>> {
    const relayed = members.filter((q) => q.relay);
    const gone = new Set<Queued>();
    if (relayed.length === 0) return gone;
    let back: Set<string>;
    try {
      back = await this.s.takenBack(relayed.map((q) => q.relay!.marker));
    } catch (e) {
      // Cannot tell: answer them all with the failure (a fenced writer ignores the answer anyway).
      for (const q of relayed) q.reject(e);
      return new Set(relayed);
    }
    for (const q of relayed)
      if (back.has(q.relay!.marker)) {
        gone.add(q);
        q.reject(
          new StoreError('unavailable', `${this.s.url}: the writer took its relayed transaction back`),
        );
      }
    return gone;
  }

  /** Deletes the rows of a group that will not be committed. */
  private undo(p: Prepared): void {
    for (const part of p.parts)
      this.s.track(this.s.rows.execBatched(this.s.rows.undoStatements(part.writes, part.txid)));
  }

  /** Puts a dropped speculative group's transactions back at the front of the queue. */
  private requeue(p: Prepared, batch: readonly Queued[]): void {
    this.undo(p);
    this.queue.unshift(...batch);
  }

  /**
   * After `failed` did not commit (another writer moved `head`): deletes its rows, queues `again` at
   * the front (failing those out of attempts), and backs off for a random while that grows with each
   * failure in a row.
   */
  private async retry(again: readonly Queued[], failed: Prepared): Promise<void> {
    this.s.known.drop();
    this.lastHead = undefined;
    // Other writers are about: read the head for a while rather than guess it.
    if (failed.guessed) this.contendedUntil = Date.now() + 1000;
    this.undo(failed);
    const keep: Queued[] = [];
    for (const q of again) {
      const n = (this.attempts.get(q) ?? 1) + 1;
      this.attempts.set(q, n);
      if (n > MAX_ATTEMPTS)
        q.reject(
          new StoreError(
            'unavailable',
            `${this.s.url}: transaction not committed after ${MAX_ATTEMPTS} attempts (too much contention)`,
          ),
        );
      else keep.push(q);
    }
    this.queue.unshift(...keep);
    this.failures++;
    await sleep(Math.random() * Math.min(500, 5 * 2 ** Math.min(this.failures, 7)));
  }
}
