/**
 * Learned state held per device of the interest set (interest-learned.ts, learned-sync.ts `scopeTo`):
 * other agents' MAC/ARP/ND entries are applied only for the bridges and routers the replica holds,
 * each store entry once (a watch that reads everything again applies only what it had not applied);
 * a batch that takes a device out of the replica drops its learned entries (and the flows that read
 * them), one that brings a device in says so (its entries are then read from the store); flow state
 * (NAT, connections) is not scoped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowHistory } from '../../src/agent/flow-history.js';
import { devicesMoved } from '../../src/agent/interest-learned.js';
import { LearnedSync } from '../../src/agent/learned-sync.js';
import { learnedDevice } from '../../src/state/learned-scope.js';
import { applyChanges } from '../../src/agent/topology-feed.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import type { Change, LearnedChange } from '../../src/state/store.js';
import { HOST, hostController } from '../support/bridge-world.js';

const OTHER = 'hv2';

function world() {
  const b = new TopologyBuilder();
  b.add('host', { name: 'hv1' }, HOST);
  const br1 = b.bridge('br1');
  const br2 = b.bridge('br2');
  const r1 = b.router('r1');
  b.port(br1, 'p1', { hostId: HOST, interfaceName: 'tap1' });
  const p2 = b.port(br2, 'p2', { hostId: HOST, interfaceName: 'tap2' });
  const ctl = hostController(b.build(), { tap1: 1, tap2: 2 });
  ctl.learned.scopeTo((kind, id) => ctl.topology.get(kind, id) !== undefined);
  return { ctl, br1, br2, r1, p2 };
}

let seq = 0;
function entry(table: 'mac' | 'arp', scope: string, key: string, value: string, at = ++seq): LearnedChange {
  return { table, scope, key, value, origin: OTHER, expiresAt: 10_000_000, seq: at };
}

const macs = (ctl: ReturnType<typeof world>['ctl']) =>
  [...ctl.state.macs.list(1000)].map((m) => `${m.bridgeId}/${m.vlan}/${m.mac.toString(16)}`).sort();

test('entries of devices not held are not applied; those of held ones are, each store entry once', () => {
  const s = new LearnedSync('hv1', { mac: 300_000, arp: 600_000, nd: 300_000 });
  const held = new Set(['br-held', 'r-held']);
  s.scopeTo((_kind, id) => held.has(id));
  const a = entry('mac', 'br-held/5', '020000000001', 'p1');
  const b = entry('mac', 'br-other', '020000000002', 'p2');
  const c = entry('arp', 'r-held', '10.0.0.1', '020000000003');
  const d = entry('arp', 'r-other', '10.0.0.2', '020000000004');
  assert.deepEqual(
    s.effectsOf([a, b, c, d], 100).map((e) => e.kind),
    ['macLearned', 'arpLearned'],
  );
  assert.equal(s.applied, 2);
  assert.deepEqual(s.effectsOf([a, c], 200), [], 'read again: applied already');
  const a2 = { ...a, value: 'p9', seq: ++seq };
  assert.deepEqual(
    s.effectsOf([a2, a], 300).map((e) => (e.kind === 'macLearned' ? e.portId : '')),
    ['p9'],
    'a later position of the key is applied, the older one after it is not',
  );
  held.delete('br-held');
  s.forgetDevices(new Set(['br-held']));
  assert.equal(s.applied, 1, 'the bridge that left is forgotten');
  held.add('br-held');
  assert.equal(s.effectsOf([a2], 400).length, 1, 'and its entries apply again when it comes back');
  assert.equal(learnedDevice({ ...a, table: 'nat' }), undefined, 'flow state belongs to no device');
});

test('a device that leaves the replica takes its learned entries with it; one that enters is reported', () => {
  const { ctl, br1, br2, r1, p2 } = world();
  ctl.applyLearned(
    [
      entry('mac', br1, '020000000001', 'x1'),
      entry('mac', `${br2}/7`, '020000000002', 'x2'),
      entry('arp', r1, '10.0.0.1', '020000000003'),
    ],
    1000,
  );
  assert.deepEqual(macs(ctl), [`${br1}/0/20000000001`, `${br2}/7/20000000002`].sort());
  assert.equal(ctl.state.arp.lookup(r1, 0x0a000001, 1000)?.mac, 0x020000000003);
  const gone = (kind: 'bridge' | 'port' | 'router', id: string, n: number): Change => ({
    seq: n,
    tx: n,
    kind,
    id,
    op: 'delete',
    version: 2,
    object: ctl.topology.get(kind, id)!,
  });
  const r = applyChanges(
    ctl,
    [gone('port', p2, 10), gone('bridge', br2, 11), gone('router', r1, 12)],
    new FlowHistory(),
  );
  assert.equal(r.devicesMoved, true, 'devices left: the learned-state subscription follows');
  assert.deepEqual(macs(ctl), [`${br1}/0/20000000001`], "br2's table is gone, br1's stays");
  assert.equal(ctl.state.arp.lookup(r1, 0x0a000001, 1000), undefined, "r1's cache is gone");
  ctl.applyLearned([entry('mac', br2, '020000000009', 'x9')], 1000);
  assert.deepEqual(macs(ctl), [`${br1}/0/20000000001`], 'entries of a bridge not held are not applied');
  const fresh: Change = {
    seq: 13,
    tx: 13,
    kind: 'bridge',
    id: 'br3',
    op: 'create',
    version: 1,
    object: { ...ctl.topology.get('bridge', br1)!, id: 'br3', name: 'br3' },
  };
  assert.equal(applyChanges(ctl, [fresh], new FlowHistory()).devicesMoved, true);
});

test('which devices a batch moves is decided over the whole batch', () => {
  const { ctl, br1 } = world();
  const obj = ctl.topology.get('bridge', br1)!;
  const c = (id: string, op: Change['op']): Change => ({
    seq: 1,
    tx: 1,
    kind: 'bridge',
    id,
    op,
    version: 2,
    object: { ...obj, id },
  });
  assert.deepEqual(devicesMoved(ctl.topology, [c('nb', 'create'), c('nb', 'delete')]), {
    entered: [],
    left: [],
  });
  assert.deepEqual(devicesMoved(ctl.topology, [c(br1, 'delete'), c(br1, 'create')]), {
    entered: [],
    left: [],
  });
  assert.deepEqual(devicesMoved(ctl.topology, [c(br1, 'update'), c('nb', 'create')]), {
    entered: ['nb'],
    left: [],
  });
});
