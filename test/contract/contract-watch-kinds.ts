/**
 * Contract aspect: a watch of some kinds only (WatchHandlers.kinds). It gets the changes of those
 * kinds, each once and in commit order, and no batch of only other kinds; the changes of other kinds
 * in between do not hold it back, whether they come before, among or after the ones it wants.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Change } from '../../src/state/store.js';
import { until } from '../until.js';
import type { ContractContext } from './support.js';

export function watchKindsContract(c: ContractContext): void {
  it('a watch of some kinds gets those, in order, each once, and nothing else', async () => {
    const s = c.fx().store;
    const p = c.uniq('wk');
    const start = await s.position();
    const batches: Array<readonly Change[]> = [];
    const w = s.watch(start, { kinds: ['router'], onChanges: (cs) => batches.push(cs) });
    try {
      const br = randomUUID();
      await s.transact([
        { op: 'create', kind: 'bridge', id: br, fields: { name: `${p}-br` } },
        { op: 'create', kind: 'router', fields: { name: `${p}-r1` } },
      ]);
      for (let i = 0; i < 3; i++) await s.create('bridge', { name: `${p}-b${i}` });
      const r2 = await s.create('router', { name: `${p}-r2` });
      await s.update('bridge', br, { adminStateUp: false });
      await s.update('router', r2.id, { adminStateUp: false });
      await s.create('bridge', { name: `${p}-last` });
      // A router after the last bridge: once it is delivered, so would have been any bridge before it.
      await s.create('router', { name: `${p}-r3` });
      const got = () => batches.flat();
      await until(() => got().length >= 4, { what: 'four router changes', timeoutMs: 10000 });
      const all = await s.changesSince(start);
      assert.deepEqual(
        got().map((x) => [x.kind, x.op, x.object.name]),
        [
          ['router', 'create', `${p}-r1`],
          ['router', 'create', `${p}-r2`],
          ['router', 'update', `${p}-r2`],
          ['router', 'create', `${p}-r3`],
        ],
      );
      assert.ok(
        batches.every((b) => b.length > 0),
        'no empty batch',
      );
      const seqs = got().map((x) => x.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        'in commit order',
      );
      assert.deepEqual(
        seqs,
        all.filter((x) => x.kind === 'router').map((x) => x.seq),
        'each router change of the log, once',
      );
    } finally {
      w.close();
    }
  });
}
