/**
 * Contract aspect: learned state subscribed per device (store.ts `LearnedWatchOptions`). A watch
 * naming devices gets only their MAC/ARP/ND entries (a MAC entry tagged with a VLAN belongs to its
 * bridge) and flow state; a device added gets its current entries, then its changes, none lost and
 * none twice even while another handle writes across the switch; a device dropped gets nothing more,
 * and added again gets its current entries again. Absence is checked with a sentinel: entries are
 * delivered in order, so one written before a sentinel that arrived would have arrived too.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type {
  LearnedChange,
  LearnedEntry,
  LearnedTable,
  LearnedWatch,
  TopologyStore,
} from '../../src/state/store.js';
import { until } from '../until.js';
import type { ContractContext } from './support.js';

function watchDevices(
  s: TopologyStore,
  devices: readonly string[],
): { got: LearnedChange[]; w: LearnedWatch } {
  const got: LearnedChange[] = [];
  const w = s.watchLearned(
    0,
    {
      onEntries: (es) => got.push(...es),
      onError: (e) => {
        throw e;
      },
    },
    { devices },
  );
  return { got, w };
}

const entry = (table: LearnedTable, scope: string, key: string, value: string): LearnedEntry => ({
  table,
  scope,
  key,
  value,
  origin: 'h1',
  expiresAt: Date.now() + 60000,
});

const text = (es: readonly LearnedChange[]): string[] => es.map((e) => `${e.scope} ${e.key}=${e.value}`);

export function learnedScopeContract(c: ContractContext): void {
  it('a watch per device gets only those devices’ entries, and flow state', async () => {
    const s = c.fx().store;
    const [a, r, b, zone] = [c.uniq('br-a'), c.uniq('rt-r'), c.uniq('br-b'), c.uniq('zone')];
    await s.learn([
      entry('mac', a, '020000000001', 'p1'),
      entry('mac', `${a}/5`, '020000000002', 'p2'),
      entry('mac', b, '020000000003', 'p3'),
      entry('arp', r, '192.0.2.1', '020000000004'),
      entry('nd', r, '2001:db8::1', '020000000005'),
      entry('nat', zone, `${zone}/k`, '1:2'),
    ]);
    const { got, w } = watchDevices(s, [a, r]);
    try {
      const mine = (x: LearnedChange) => [a, `${a}/5`, r, b, zone].includes(x.scope);
      await until(() => got.filter(mine).length >= 5, { what: 'the entries of a and r, and flow state' });
      await s.learn([entry('mac', b, '020000000006', 'p6')]);
      await s.learn([entry('arp', r, '192.0.2.9', '020000000009')]);
      await until(() => got.some((x) => x.key === '192.0.2.9'), { what: 'the sentinel of r' });
      assert.deepEqual(text(got.filter(mine)), [
        `${a} 020000000001=p1`,
        `${a}/5 020000000002=p2`,
        `${r} 192.0.2.1=020000000004`,
        `${r} 2001:db8::1=020000000005`,
        `${zone} ${zone}/k=1:2`,
        `${r} 192.0.2.9=020000000009`,
      ]);
    } finally {
      w.close();
    }
  });

  it('a device added gets its current entries then its changes, none lost or twice, across writes', async () => {
    const s = c.fx().store;
    const other = await c.fx().reopen();
    const [a, b] = [c.uniq('br-a'), c.uniq('br-b')];
    const key = (i: number) => `0200000001${String(i).padStart(2, '0')}`;
    try {
      await other.learn([entry('mac', b, key(0), 'old'), entry('mac', b, key(0), 'p0')]);
      const { got, w } = watchDevices(s, [a]);
      try {
        await other.learn([entry('mac', a, '020000000001', 'a1')]);
        await until(() => got.some((x) => x.scope === a), { what: 'the first entry of a' });
        // b's entries are written one by one from another handle while b is added to the watch.
        let written = 0;
        const writes = (async () => {
          for (let i = 1; i < 40; i++) {
            await other.learn([entry('mac', b, key(i), `p${i}`)]);
            written = i;
          }
        })();
        await until(() => written >= 10, { what: 'some of b written' });
        w.addDevices([b]);
        await writes;
        await other.learn([entry('mac', a, '020000000002', 'a2')]);
        await until(() => got.some((x) => x.value === 'a2'), { what: 'the sentinel of a' });
        await until(() => got.filter((x) => x.scope === b).length >= 40, { what: "b's 40 entries" });
        const ofB = text(got.filter((x) => x.scope === b)).sort();
        assert.deepEqual(
          ofB,
          Array.from({ length: 40 }, (_, i) => `${b} ${key(i)}=p${i}`).sort(),
          "each of b's keys once, with its newest value",
        );
        const seqs = got.filter((x) => x.scope === b).map((x) => x.seq);
        assert.equal(new Set(seqs).size, seqs.length, 'no entry twice');
      } finally {
        w.close();
      }
    } finally {
      await other.close();
    }
  });

  it('a device dropped gets nothing more; added again, it gets its current entries again', async () => {
    const s = c.fx().store;
    const [a, r] = [c.uniq('br-a'), c.uniq('rt-r')];
    await s.learn([entry('mac', a, '020000000001', 'a1'), entry('arp', r, '192.0.2.1', '020000000001')]);
    const { got, w } = watchDevices(s, [a, r]);
    try {
      await until(() => got.filter((x) => x.scope === a || x.scope === r).length >= 2, {
        what: 'the entries of a and r',
      });
      w.dropDevices([a]);
      await s.learn([entry('mac', a, '020000000002', 'a2')]);
      await s.learn([entry('arp', r, '192.0.2.2', '020000000002')]);
      await until(() => got.some((x) => x.key === '192.0.2.2'), { what: 'the sentinel of r' });
      assert.deepEqual(
        text(got.filter((x) => x.scope === a)),
        [`${a} 020000000001=a1`],
        'nothing of a after it was dropped',
      );
      w.addDevices([a]);
      await until(() => got.filter((x) => x.scope === a).length >= 3, { what: "a's entries again" });
      assert.deepEqual(
        text(got.filter((x) => x.scope === a))
          .slice(1)
          .sort(),
        [`${a} 020000000001=a1`, `${a} 020000000002=a2`],
      );
      await s.learn([entry('mac', a, '020000000003', 'a3')]);
      await until(() => got.some((x) => x.value === 'a3'), { what: "a's change after it came back" });
      assert.equal(got.filter((x) => x.scope === a).length, 4, 'its snapshot once, then its change');
    } finally {
      w.close();
    }
  });
}
