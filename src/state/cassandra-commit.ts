/**
 * The commit point of the distributed backend and the repair of what dead writers leave.
 *
 * A transaction: read `head` (position P, znode version H); plan with the shared planner, reading
 * pointers from ZooKeeper and bodies from Cassandra; write the new rows to Cassandra (uncommitted:
 * no pointer names them); then one ZooKeeper multi-op (`commitOps`) sets `head` if still at version
 * H, creates the log entries P+1.. and sets the pointers. That multi-op is the commit point. If
 * another writer committed first, the multi-op fails, the rows are deleted, and the transaction is
 * planned again. Afterwards the rows are marked committed (a hint for scans; the log is the truth).
 * The loop itself is `CassandraStore.transact`; a group of transactions (cassandra-group.ts) commits
 * the same way, in one multi-op, each transaction with its own id and positions.
 *
 * Invariant: readers only see bodies a committed pointer or log entry names, so a writer that dies
 * anywhere before the multi-op leaves nothing visible, and one that dies after it loses nothing.
 * `reconcile` marks committed rows whose marking was lost and deletes the orphans of dead writers.
 */
import { encodeEntry, encodeHead, type ChangeLog, type Head, type LogEntry } from './distributed-log.js';
import { KINDS, type Kind, type Obj } from './model.js';
import { BUCKETS } from './cassandra-schema.js';
import { sleep, type ObjectRows, type Pointer } from './cassandra-rows.js';
import type { Change } from './store.js';
import type { Write } from './transaction.js';
import type { ZkOp } from './zk.js';

/** The highest tunnel key of `tk` and the ports `writes` create or update. */
export function highestTunnelKey(tk: number, writes: readonly Write[]): number {
  for (const w of writes)
    if (w.kind === 'port' && w.op !== 'delete') tk = Math.max(tk, (w.after as Obj<'port'>).tunnelKey);
  return tk;
}

/** One transaction of a commit: its writes and its id. */
export interface CommitPart {
  readonly writes: readonly Write[];
  readonly txid: string;
  /** A relayed transaction's marker (commit-relay-wire.ts), created by the same multi-op. */
  readonly marker?: { readonly path: string; readonly data: Buffer };
}

/**
 * The ZooKeeper multi-op that commits `parts` (one transaction, or a group of them in order, each
 * with its own id and positions) on top of `head`.
 */
export function commitOps(
  log: ChangeLog,
  rows: ObjectRows,
  head: Head & { version: number },
  parts: readonly CommitPart[],
  now: number,
): ZkOp[] {
  const tk = parts.reduce((k, p) => highestTunnelKey(k, p.writes), head.tk);
  const count = parts.reduce((n, p) => n + p.writes.length, 0);
  const ops: ZkOp[] = [
    { op: 'set', path: log.headPath, data: encodeHead({ seq: head.seq + count, tk }), version: head.version },
  ];
  let seq = head.seq;
  for (const { writes, txid } of parts) {
    const tx = seq + 1;
    for (const w of writes) {
      const entry: LogEntry = {
        seq: ++seq,
        tx,
        txid,
        kind: w.kind,
        id: w.id,
        op: w.op,
        version: w.after.version,
        object: w.op === 'delete' ? w.before! : w.after,
        at: now,
      };
      ops.push({ op: 'create', path: log.entryPath(entry.seq), data: encodeEntry(entry) });
    }
  }
  for (const { marker } of parts)
    if (marker) ops.push({ op: 'create', path: marker.path, data: marker.data });
  for (const { writes, txid } of parts)
    for (const w of writes) {
      const path = rows.pointerPath(w.id);
      const data = Buffer.from(JSON.stringify({ k: w.kind, v: w.after.version, t: txid } satisfies Pointer));
      if (w.op === 'create') ops.push({ op: 'create', path, data });
      else if (w.op === 'update') ops.push({ op: 'set', path, data });
      else ops.push({ op: 'remove', path });
    }
  return ops;
}

/** The changes a committed transaction reports, from its first position. */
export function changesOf(writes: readonly Write[], firstSeq: number): Change[] {
  return writes.map((w, i) => ({
    seq: firstSeq + i,
    tx: firstSeq,
    kind: w.kind,
    id: w.id,
    op: w.op,
    version: w.after.version,
    object: w.op === 'delete' ? w.before! : w.after,
  }));
}

/**
 * The write barrier issued before a read that decides an unknown outcome: a multi-op of one `check`
 * of `head` at any version (-1). It changes nothing and always succeeds in an initialized store.
 *
 * Why a write and not `sync`: node-zookeeper-client (1.1.3) has no `sync` call. A ZooKeeper server
 * answers reads from its own copy, which may lag the leader (a follower the ensemble has not caught up
 * with, or another server the session moved to after a connection loss; a session renewed after
 * expiry starts on any server). A multi-op is a write whatever its ops: it is forwarded to the leader,
 * ordered after every transaction committed before it (including the lost commit, if the leader took
 * it: a commit still in flight from a server the session left is refused once the session moved, and
 * one from an expired session once its expiry is committed), and answered only after the session's
 * server has applied it. Reads the session sends after that answer therefore see the lost commit
 * exactly when it was applied, and a later reconnect cannot go back (the client sends the zxid it
 * has seen, and servers behind it refuse the connection).
 */
export function barrierOps(log: Pick<ChangeLog, 'headPath'>): ZkOp[] {
  return [{ op: 'check', path: log.headPath, version: -1 }];
}

/**
 * Whether a commit whose answer was lost (connection loss, session expiry) was applied: the log entry
 * at its first position carries its transaction id exactly when it was. The answer decides whether
 * the writer deletes its rows, so it is read after the write barrier (`barrierOps`, sent through
 * `commit`, the store's multi-op) on the same session: a lagging server cannot answer "not
 * committed" for a commit that was applied. A failed barrier or read is retried, barrier first.
 */
export async function wasCommitted(
  log: Pick<ChangeLog, 'entry' | 'headPath'>,
  commit: (ops: readonly ZkOp[]) => Promise<void>,
  firstSeq: number,
  txid: string,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await commit(barrierOps(log));
      return (await log.entry(firstSeq))?.txid === txid;
    } catch (e) {
      if (attempt >= 10) throw e;
      await sleep(500);
    }
  }
}

/**
 * Repairs what dead writers left: rows at or below the head that the log names are marked committed;
 * rows it does not name, and rows above the head older than `graceMs` (their writer is gone), are
 * deleted with their index entries. Safe to run at any time, from any process. The head is read
 * after the write barrier (`barrierOps` through `commit`), as in `wasCommitted`: the deletions are
 * decided on it, so a lagging ZooKeeper server must not answer with an older head.
 */
export async function reconcile(
  log: ChangeLog,
  rows: ObjectRows,
  commit: (ops: readonly ZkOp[]) => Promise<void>,
  graceMs: number,
): Promise<{ marked: number; removed: number }> {
  const graceUs = graceMs * 1000;
  await commit(barrierOps(log));
  const head = await log.head();
  const nowUs = Date.now() * 1000;
  let marked = 0;
  let removed = 0;
  for (const kind of KINDS as readonly Kind[]) {
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      for await (const r of rows.pages(rows.q.scanWithAge, [kind, bucket])) {
        if (r.get('committed') === true) continue;
        const id = r.get('id') as string;
        const version = r.get('version') as number;
        const txid = r.get('txid') as string;
        const seq = Number(r.get('seq'));
        const key = [kind, bucket, id, version, txid];
        if (seq <= head.seq) {
          if ((await log.entry(seq))?.txid === txid) {
            await rows.exec(rows.q.mark, key);
            marked++;
            continue;
          }
        } else if (nowUs - Number(r.get('wt')) < graceUs) continue;
        const body = r.get('body') as string | null;
        if (body && r.get('deleted') !== true)
          await rows.execMany(rows.indexUndo(kind, id, JSON.parse(body) as Obj, txid));
        await rows.exec(rows.q.remove, key);
        removed++;
      }
    }
  }
  return { marked, removed };
}
