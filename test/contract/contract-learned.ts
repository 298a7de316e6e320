/**
 * Contract aspect: learned state (the agents' shared MAC and ARP tables). A watch from 0 gets the
 * newest value of each key once, without expired entries, the very first entry of a fresh store
 * included; then every later write in order; from a position, only what came after it; other handles
 * see the same.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { LearnedChange, LearnedEntry, TopologyStore, Watch } from '../../src/state/store.js';
import { until } from '../until.js';
import type { ContractContext } from './support.js';

function watchAll(s: TopologyStore, from: number): { got: LearnedChange[]; w: Watch } {
  const got: LearnedChange[] = [];
  const w = s.watchLearned(from, {
    onEntries: (es) => got.push(...es),
    onError: (e) => {
      throw e;
    },
  });
  return { got, w };
}

export function learnedContract(c: ContractContext): void {
  it('a watch from 0 sees the very first entry written to a fresh store', async () => {
    const fx = await c.make();
    try {
      const entry: LearnedEntry = {
        table: 'arp',
        scope: c.uniq('rt'),
        key: '203.0.113.2',
        value: '8aec7f2d2b33',
        origin: 'h3',
        expiresAt: Date.now() + 60000,
      };
      await fx.store.learn([entry]);
      const { got, w } = watchAll(fx.store, 0);
      try {
        await until(() => got.length >= 1, { what: 'the first entry' });
        assert.deepEqual(
          got.map((x) => `${x.key}=${x.value}`),
          ['203.0.113.2=8aec7f2d2b33'],
        );
        assert.ok(got[0]!.seq > 0, 'positions start after 0, where a watch from 0 begins');
      } finally {
        w.close();
      }
    } finally {
      await fx.cleanup();
    }
  });

  it('delivers the newest value of each key, then later writes in order, to every handle', async () => {
    const s = c.fx().store;
    const scope = c.uniq('br');
    const exp = Date.now() + 60000;
    const e = (key: string, value: string, expiresAt = exp): LearnedEntry => ({
      table: key.includes('.') ? 'arp' : 'mac',
      scope,
      key,
      value,
      origin: 'h1',
      expiresAt,
    });
    await s.learn([e('020000000001', 'p1'), e('020000000001', 'p2'), e('192.0.2.1', '020000000002')]);
    await s.learn([e('020000000003', 'p9', Date.now() - 1)]);
    await s.learn([]);
    const mine = (got: readonly LearnedChange[]) => got.filter((x) => x.scope === scope);
    const first = watchAll(s, 0);
    const other = await c.fx().reopen();
    try {
      const second = watchAll(other, 0);
      for (const { got } of [first, second]) {
        await until(() => mine(got).length >= 2, { what: 'the current entries' });
        assert.deepEqual(
          mine(got).map((x) => `${x.key}=${x.value}`),
          ['020000000001=p2', '192.0.2.1=020000000002'],
          'only the newest value of each key, no expired entry',
        );
      }
      const mark = mine(first.got).at(-1)!.seq;
      await other.learn([e('020000000001', 'p3')]);
      for (const { got } of [first, second]) {
        await until(() => mine(got).length >= 3, { what: 'the later write' });
        assert.equal(`${mine(got)[2]!.key}=${mine(got)[2]!.value}`, '020000000001=p3');
        const seqs = got.map((x) => x.seq);
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
          'in feed order',
        );
      }
      const resumed = watchAll(s, mark);
      await until(() => mine(resumed.got).length >= 1, { what: 'the entries after the mark' });
      assert.deepEqual(
        mine(resumed.got).map((x) => x.value),
        ['p3'],
        'from a position: only what came after it',
      );
      for (const x of [first, second, resumed]) x.w.close();
    } finally {
      await other.close();
    }
  });
}
