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
