/**
 * What one SQLite transaction writes for a planned transaction (transaction.ts): the objects, their
 * references, one change-log row per write and the highest tunnel key; and the log's compaction,
 * done in the same writing transaction (sqlite-store.ts).
 *
 * Invariant: both run inside the caller's SQLite write transaction, so a reader sees every row of a
 * transaction or none; an update or delete whose object changed since it was planned fails with
 * StoreError('conflict') and the caller's rollback leaves nothing of it. Compaction removes whole
 * transactions only, never the newest.
 */
import { StoreError } from './errors.js';
import type { Obj } from './model.js';
import { referencedIds } from './references.js';
import { countCut } from './retention.js';
import type { Statements } from './sqlite-schema.js';
import type { Change, LogRetention } from './store.js';
import type { Write } from './transaction.js';

/** Writes `writes` as one transaction of the log (its `tx` is its first position); returns its changes. */
export function applyWrites(s: Statements, writes: readonly Write[]): Change[] {
  const at = Date.now();
  const tx = (s.nextSeq.get()?.seq ?? 0) + 1;
  const changes: Change[] = [];
  let maxKey = 0;
  for (const w of writes) {
    const body = JSON.stringify(w.after);
    const name = typeof w.after.name === 'string' ? w.after.name : null;
    switch (w.op) {
      case 'create':
        s.insert.run(w.id, w.kind, name, w.after.version, body);
        break;
      case 'update':
        if (s.update.run(name, w.after.version, body, w.id, w.before!.version).changes !== 1) {
          throw new StoreError(
            'conflict',
            `${w.kind} ${w.id}: changed by another writer during the transaction`,
          );
        }
        s.delRefs.run(w.id);
        break;
      case 'delete':
        s.remove.run(w.id, w.before!.version);
        s.delRefs.run(w.id);
        break;
    }
    if (w.op !== 'delete') {
      for (const t of referencedIds(w.kind, w.after)) s.addRef.run(t, w.id);
    }
    if (w.kind === 'port') maxKey = Math.max(maxKey, (w.after as Obj<'port'>).tunnelKey);
    const seq = Number(s.addChange.run(tx, w.kind, w.id, w.op, w.after.version, body, at).lastInsertRowid);
    changes.push({
      seq,
      tx,
      kind: w.kind,
      id: w.id,
      op: w.op,
      version: w.after.version,
      object: w.op === 'delete' ? w.before! : w.after,
    });
  }
  if (maxKey > (s.meta.get('tunnel_key')?.value ?? 0)) s.setMeta.run('tunnel_key', maxKey);
  return changes;
}

/**
 * Removes the log entries beyond `retention` (retention.ts) from a log starting at `start`:
 * whole transactions, never the newest, and by age only once the oldest is a tenth past it.
 */
export function compactLog(s: Statements, retention: LogRetention, start: number, now: number): void {
  const last = s.last.get();
  if (!last) return;
  let cut = countCut(retention, start, last.seq) ?? start;
  const oldest = s.oldest.get(start);
  const maxAge = retention.maxAgeMs;
  if (oldest && oldest.at < now - maxAge - Math.floor(maxAge / 10))
    cut = Math.max(cut, s.firstSince.get(start, now - maxAge)?.seq ?? last.seq);
  cut = Math.min(s.txAt.get(cut)?.tx ?? last.tx, last.tx);
  if (cut <= start) return;
  s.dropChanges.run(cut);
  s.setMeta.run('log_start', cut);
}
