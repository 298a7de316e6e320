/**
 * Learned state per device (learned-scope.ts, distributed-learned.ts): the device an entry belongs to,
 * a watch's device set (added devices wait for their snapshot; a failed read makes it due again, unless
 * the device was dropped), and the names of the ZooKeeper log's nodes (per device, flow state, and
 * those of earlier versions holding any device's entries).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learnedNode } from '../../src/state/distributed-learned.js';
import { DeviceScope, deviceKey } from '../../src/state/learned-scope.js';

test('an entry belongs to its bridge (VLAN or not), its router, or no device (flow state)', () => {
  assert.equal(deviceKey({ table: 'mac', scope: 'br1/5' }), 'br1');
  assert.equal(deviceKey({ table: 'mac', scope: 'br1' }), 'br1');
  assert.equal(deviceKey({ table: 'arp', scope: 'rt1' }), 'rt1');
  assert.equal(deviceKey({ table: 'nd', scope: 'rt1' }), 'rt1');
  assert.equal(deviceKey({ table: 'nat', scope: 'zone1' }), '');
});

test('a device set: added devices are due for a snapshot once; dropped ones are not', () => {
  const s = new DeviceScope(['a']);
  assert.equal(s.add(['a']), false, 'held already');
  assert.equal(s.add(['b', 'c']), true);
  assert.deepEqual(s.takeFresh(), ['b', 'c']);
  assert.deepEqual(s.takeFresh(), []);
  s.drop(['c']);
  s.again(['b', 'c']);
  assert.deepEqual(s.takeFresh(), ['b'], 'a failed snapshot is due again, not for a device dropped');
  assert.ok(s.wants({ table: 'mac', scope: 'b/7' }));
  assert.ok(!s.wants({ table: 'arp', scope: 'c' }));
  assert.ok(s.wants({ table: 'ct', scope: 'z' }), 'flow state, whatever the set');
});

test('the ZooKeeper log names its nodes after their device', () => {
  assert.deepEqual(learnedNode('d-br%2F1-e-0000000012'), { seq: 12, device: 'br/1' });
  assert.deepEqual(learnedNode('f-e-0000000013'), { seq: 13, device: '' });
  assert.deepEqual(learnedNode('e-0000000014'), { seq: 14, device: undefined });
  assert.equal(learnedNode('lock-1'), undefined);
});

test('a device its handler adds during a full batch gets its entries once (memory and SQLite)', async () => {
  const { MemoryStore } = await import('../../src/state/memory-store.js');
  const { SqliteStore } = await import('../../src/state/sqlite-store.js');
  const entry = (scope: string, key: string) => ({
    table: 'mac' as const,
    scope,
    key,
    value: 'p1',
    origin: 'h',
    expiresAt: Date.now() + 600000,
  });
  for (const store of [
    new MemoryStore('memory:x', undefined),
    new SqliteStore(':memory:', { commitSignal: false }),
  ]) {
    // 1,000 entries of A fill the feed's first batch; B's two come after it.
    await store.learn(Array.from({ length: 1000 }, (_, i) => entry('A', `a${i}`)));
    await store.learn([entry('B', 'b1'), entry('B', 'b2')]);
    const got: string[] = [];
    let added = false;
    const w = store.watchLearned(
      0,
      {
        onEntries: (es) => {
          for (const x of es) if (x.scope === 'B') got.push(`${x.key}@${x.seq}`);
          if (!added) {
            added = true;
            w.addDevices(['B']); // from the handler, while the poll still has a batch to read
          }
        },
      },
      { devices: ['A'] },
    );
    await new Promise((r) => setTimeout(r, 100));
    w.close();
    await store.close();
    assert.deepEqual(got.sort(), ['b1@1001', 'b2@1002'], `${store.constructor.name}: B's entries once each`);
  }
});
