/**
 * topology-feed.ts: a batch of store changes goes into the controller's replica and deletes exactly
 * the flows it touched; a change to one of this host's ports asks for the bindings to be redone; a
 * resync turns the difference between the replica and the snapshot into changes and deletes only the
 * flows of what changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowController } from '../../src/agent/controller.js';
import { FlowHistory } from '../../src/agent/flow-history.js';
import { applyChanges, applySnapshot, changesBetween } from '../../src/agent/topology-feed.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { Tags } from '../../src/sim/tags.js';
import { Topology } from '../../src/sim/topology.js';
import type { Change, Snapshot } from '../../src/state/store.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { packetIn as pin } from '../support/packet-in.js';
import { udpFrame } from '../support/udp-frame.js';
import { HOST, hostController } from '../support/bridge-world.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';

function world() {
  const b = new TopologyBuilder();
  b.add('host', { name: 'hv1' }, HOST);
  const br1 = b.bridge('br1');
  const br2 = b.bridge('br2');
  const p1 = b.port(br1, 'p1', { hostId: HOST, interfaceName: 'tap1' });
  const p2 = b.port(br1, 'p2', { hostId: HOST, interfaceName: 'tap2' });
  const p3 = b.port(br2, 'p3', { hostId: HOST, interfaceName: 'tap3' });
  const p4 = b.port(br2, 'p4', { hostId: HOST, interfaceName: 'tap4' });
  const ctl = hostController(b.build(), { tap1: 1, tap2: 2, tap3: 3, tap4: 4 });
  return { b, ctl, br1, p1, p2, p3, p4 };
}

function udp(src: string, dst: string): Buffer {
  return udpFrame({ src, dst });
}

function packetIn(inPort: number, data: Buffer) {
  return pin(data, inPort);
}

/** A flow on each bridge: B learned behind p2 (p4), then A -> B from p1 (p3). */
function flows(ctl: FlowController): FakeOfTable {
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(packetIn(2, udp(B, A)), 1000));
  sw.apply(ctl.packetIn(packetIn(4, udp(B, A)), 1000));
  sw.apply(ctl.packetIn(packetIn(1, udp(A, B)), 1001));
  sw.apply(ctl.packetIn(packetIn(3, udp(A, B)), 1001));
  return sw;
}

test('a bridge update deletes the flows through that bridge only, and asks for no rebinding', () => {
  const { ctl, br1 } = world();
  const sw = flows(ctl);
  assert.deepEqual(sw.outPorts(1, udp(A, B)), [2]);
  assert.deepEqual(sw.outPorts(3, udp(A, B)), [4]);
  const changed: Change = {
    seq: 7,
    tx: 7,
    kind: 'bridge',
    id: br1,
    op: 'update',
    version: 2,
    object: { ...ctl.topology.get('bridge', br1)!, name: 'renamed' },
  };
  const r = applyChanges(ctl, [changed], new FlowHistory());
  sw.apply(r.out);
  assert.equal(sw.outPorts(1, udp(A, B)), 'miss');
  assert.deepEqual(sw.outPorts(3, udp(A, B)), [4]);
  assert.equal(r.bindings, false);
  assert.equal(ctl.stats.lastChangeSeq, 7);
});

test("deleting one of this host's ports deletes its flows and asks for the bindings to be redone", () => {
  const { ctl, p2 } = world();
  const sw = flows(ctl);
  const del: Change = {
    seq: 9,
    tx: 9,
    kind: 'port',
    id: p2,
    op: 'delete',
    version: 2,
    object: ctl.topology.get('port', p2)!,
  };
  const r = applyChanges(ctl, [del], new FlowHistory());
  sw.apply(r.out);
  assert.equal(r.bindings, true);
  assert.equal(sw.outPorts(1, udp(A, B)), 'miss');
  assert.deepEqual(sw.outPorts(3, udp(A, B)), [4]);
});

test('a resync deletes only the flows of what changed meanwhile, as if the changes had come one by one', () => {
  const { ctl, br1 } = world();
  const sw = flows(ctl);
  const objects = ctl.topology
    .objects()
    .map((o) =>
      o.object.id === br1 ? { kind: o.kind, object: { ...o.object, name: 'renamed', version: 2 } } : o,
    );
  const r = applySnapshot(ctl, { position: 20, objects }, new FlowHistory());
  sw.apply(r.out);
  assert.equal(r.bindings, false);
  assert.equal(sw.outPorts(1, udp(A, B)), 'miss', 'the flows through the updated bridge are deleted');
  assert.deepEqual(sw.outPorts(3, udp(A, B)), [4], 'the others stay');
  assert.equal(ctl.stats.lastChangeSeq, 20);
  assert.deepEqual(
    applySnapshot(ctl, { position: 21, objects }, new FlowHistory()).out,
    [],
    'nothing differs now',
  );
});

test("a resync that removed one of this host's ports asks for the bindings to be redone", () => {
  const { ctl, p2 } = world();
  const sw = flows(ctl);
  const objects = ctl.topology.objects().filter((o) => o.object.id !== p2);
  const r = applySnapshot(ctl, { position: 30, objects }, new FlowHistory());
  sw.apply(r.out);
  assert.equal(r.bindings, true);
  assert.equal(sw.outPorts(1, udp(A, B)), 'miss');
  assert.deepEqual(sw.outPorts(3, udp(A, B)), [4]);
});

test('the replica and a snapshot: created, updated and deleted objects become changes, the rest is not named', () => {
  const b = new TopologyBuilder();
  const kept = b.bridge('kept');
  const renamed = b.bridge('renamed');
  const gone = b.bridge('gone');
  b.port(kept, 'kp');
  const replica = b.build();
  const objects = replica
    .objects()
    .filter((o) => o.object.id !== gone)
    .map((o) =>
      o.object.id === renamed ? { kind: o.kind, object: { ...o.object, name: 'renamed-2', version: 2 } } : o,
    );
  const fresh = {
    kind: 'bridge' as const,
    object: { ...replica.get('bridge', kept)!, id: 'new-id', name: 'new' },
  };
  const snap: Snapshot = { position: 99, objects: [...objects, fresh] };
  const changes = changesBetween(replica, snap);
  assert.deepEqual(
    changes.map((c) => [c.op, c.kind, c.id, c.version, c.seq]),
    [
      ['delete', 'bridge', gone, 2, 99],
      ['update', 'bridge', renamed, 2, 99],
      ['create', 'bridge', 'new-id', 1, 99],
    ],
  );
  const tags = replica.apply(changes);
  assert.ok(!tags.includes(Tags.bridge(kept)), 'nothing that reads the unchanged bridge is invalidated');
  assert.ok(tags.includes(Tags.bridge(renamed)), 'the updated bridge is');
  const key = (t: Topology) =>
    t
      .objects()
      .map((o) => `${o.kind}/${o.object.id}/${o.object.version}/${o.object.name}`)
      .sort();
  assert.deepEqual(
    key(replica),
    key(Topology.from(snap.objects as never)),
    'the replica is now the snapshot',
  );
  assert.deepEqual(changesBetween(replica, snap), [], 'and nothing differs any more');
});
