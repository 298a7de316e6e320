/**
 * Contract aspect: transactions issued at once on one handle (which a backend may commit as one
 * group: sqlite-store.ts, cassandra-group.ts). Each is its own transaction whatever the others do: it
 * gets its own result, versions and position, or its own refusal, word for word the one it gets
 * alone; a refused one leaves the others and nothing of itself; one that depends on another queued
 * before it is planned on what that one left; and the feed holds every committed one whole.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { StoreError } from '../../src/state/errors.js';
import type { Op, TxResult } from '../../src/state/store.js';
import type { ContractContext } from './support.js';

/** The error `f` is refused with (fails when it is not refused). */
async function refusal(f: () => Promise<unknown>): Promise<StoreError> {
  try {
    await f();
  } catch (e) {
    assert.ok(e instanceof StoreError, String(e));
    return e;
  }
  return assert.fail('not refused alone');
}

export function groupContract(c: ContractContext): void {
  it('transactions at once on one handle: each on its own, a refused one leaves the others', async () => {
    const s = c.fx().store;
    const p = c.uniq('grp');
    const before = await s.position();
    const a = randomUUID();
    const batches: Op[][] = [
      [{ op: 'create', kind: 'bridge', id: a, fields: { name: `${p}-a` } }],
      [{ op: 'create', kind: 'bridge', fields: { name: `${p}-a` } }],
      [
        { op: 'create', kind: 'bridge', fields: { name: `${p}-half` } },
        { op: 'create', kind: 'bridge', fields: { name: `${p}-bad`, colour: 'red' } },
      ],
      [{ op: 'update', kind: 'bridge', id: a, set: { adminStateUp: false }, expectedVersion: 1 }],
      [{ op: 'update', kind: 'bridge', id: a, set: { adminStateUp: true }, expectedVersion: 1 }],
      [{ op: 'create', kind: 'bridge', fields: { name: `${p}-b` } }],
    ];
    const out = await Promise.allSettled(batches.map((ops) => s.transact(ops)));
    const ok = (i: number): TxResult => {
      const r = out[i]!;
      if (r.status === 'rejected') return assert.fail(`refused: ${String(r.reason)}`);
      return r.value;
    };
    const refused = (i: number): StoreError => {
      const r = out[i]!;
      assert.equal(r.status, 'rejected', `transaction ${i} was committed`);
      assert.ok(r.reason instanceof StoreError, String(r.reason));
      return r.reason;
    };
    const created = ok(0);
    assert.equal((created.results[0] as { version: number }).version, 1);
    // The refusals, word for word what the same transaction gets alone.
    const dup = await refusal(() => s.create('bridge', { name: `${p}-a` }));
    assert.equal(refused(1).code, dup.code);
    assert.equal(refused(1).message, dup.message);
    const bad = await refusal(() => s.transact(batches[2]!));
    assert.equal(refused(2).message, bad.message);
    assert.equal(await s.resolve('bridge', `${p}-half`).catch(() => undefined), undefined, 'nothing of it');
    const updated = ok(3);
    assert.equal((updated.results[0] as { version: number }).version, 2, 'planned on the one before it');
    assert.equal(refused(4).code, 'conflict', 'a stale version among the ones at once');
    const last = ok(5);
    assert.ok(created.position < updated.position, 'committed after the transaction it depends on');
    // The feed: each committed transaction whole, at its own position, in commit order.
    const changes = await s.changesSince(before);
    assert.deepEqual(
      changes.map((ch) => [ch.seq, ch.op, ch.object.name]),
      [
        [created.position, 'create', `${p}-a`],
        [updated.position, 'update', `${p}-a`],
        [last.position, 'create', `${p}-b`],
      ].sort((x, y) => (x[0] as number) - (y[0] as number)),
    );
    assert.equal(new Set([created, updated, last].map((r) => r.position)).size, 3, 'each its own position');
    assert.deepEqual(
      (await s.list('bridge')).filter((b) => b.name?.startsWith(`${p}-`)).map((b) => [b.name, b.version]),
      [
        [`${p}-a`, 2],
        [`${p}-b`, 1],
      ],
    );
  });
}
