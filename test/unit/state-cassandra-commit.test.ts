// The decision a writer takes when its commit's answer was lost (wasCommitted): the log entry is read
// only after the write barrier was answered on the same session, and a failed barrier is retried
// before any read, so a lagging ZooKeeper server cannot answer "not committed" for an applied commit.
// Runs against the store's own seams (the log's entry read and the store's multi-op), no services.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { barrierOps, wasCommitted } from '../../src/state/cassandra-commit.js';
import type { LogEntry } from '../../src/state/distributed-log.js';
import { ZkError, type ZkOp } from '../../src/state/zk.js';

const HEAD = '/midonet/head';

/** A log whose entry at 7 is `txid`'s, recording each call in `trace`. */
function seams(txid: string, failBarriers = 0) {
  const trace: string[] = [];
  const log = {
    headPath: HEAD,
    entry: (seq: number): Promise<LogEntry | undefined> => {
      trace.push(`read ${seq}`);
      return Promise.resolve(seq === 7 ? ({ seq, txid } as LogEntry) : undefined);
    },
  };
  let failures = failBarriers;
  const commit = (ops: readonly ZkOp[]): Promise<void> => {
    trace.push(`multi ${ops.map((o) => `${o.op} ${o.path}`).join(',')}`);
    if (failures-- > 0) return Promise.reject(new ZkError('connection-loss', 'lost'));
    return Promise.resolve();
  };
  return { log, commit, trace };
}

describe('wasCommitted', () => {
  it('the barrier is a no-op check of head at any version', () => {
    assert.deepEqual(barrierOps({ headPath: HEAD }), [{ op: 'check', path: HEAD, version: -1 }]);
  });

  it('sends the barrier before reading the entry, and answers by the entry txid', async () => {
    const s = seams('tx-a');
    assert.equal(await wasCommitted(s.log, s.commit, 7, 'tx-a'), true);
    assert.deepEqual(s.trace, [`multi check ${HEAD}`, 'read 7']);
    const t = seams('tx-a');
    assert.equal(await wasCommitted(t.log, t.commit, 7, 'tx-b'), false, 'another writer took position 7');
    assert.equal(await wasCommitted(t.log, t.commit, 8, 'tx-a'), false, 'no entry at 8');
    assert.deepEqual(t.trace, [`multi check ${HEAD}`, 'read 7', `multi check ${HEAD}`, 'read 8']);
  });

  it('does not read until a barrier was answered', async () => {
    const s = seams('tx-a', 1);
    assert.equal(await wasCommitted(s.log, s.commit, 7, 'tx-a'), true);
    assert.deepEqual(s.trace, [`multi check ${HEAD}`, `multi check ${HEAD}`, 'read 7']);
  });
});
