// Port mirroring in the simulation: where copies go in the action list (an `in` copy before any
// rewrite, an `out` copy right after its output), one copy per destination, the filter in the mask,
// a mirror that is down, the tags a change returns checked against a recompute, and the OpenFlow
// translation sending a leading copy before the TTL decrement. Interior ports as sources: a router's
// port and a bridge's uplink copy the packet with the headers it had there.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { TopologyBuilder } from '../../src/sim/builder.js';
import type { PacketFields } from '../../src/sim/packet-fields.js';
import { agreesOnMask } from '../../src/sim/mask.js';
import { renderTrace, simulate, type SimDone } from '../../src/sim/index.js';
import type { Action } from '../../src/sim/result.js';
import { Tags } from '../../src/sim/tags.js';
import { Topology } from '../../src/sim/topology.js';
import type { Obj } from '../../src/state/model.js';
import { translateActions } from '../../src/agent/translate.js';
import { ETH_DST_LO, IP_TTL } from '../../src/sim/flow-match.js';
import { run as applyActions } from '../support/fake-of-table.js';
import {
  IP,
  MAC,
  bridgedTcp,
  packet,
  routedTcp,
  standardBuilder,
  standardState,
} from '../support/scenario.js';

/** The standard topology plus a port 'tap' on br-right where copies go, and the given mirrors. */
function build(mirrors: Array<Record<string, unknown>>): { b: TopologyBuilder; t: Topology } {
  const b = standardBuilder();
  b.port(b.id('br-right'), 'tap');
  for (const m of mirrors) b.add('mirror', { toPortId: b.id('tap'), ...m });
  return { b, t: b.build() };
}

function run(b: TopologyBuilder, t: Topology, p: PacketFields, from = 'vm1', trace = false): SimDone {
  const r = simulate(t, packet(p), b.id(from), 1000, { state: standardState(b), trace });
  if (r.kind !== 'done') throw new Error(`needs ${r.need.join(', ')}`);
  return r;
}

/** vm3 -> vm1 TCP through the router. */
function fromVm3(): PacketFields {
  return { ...routedTcp(), srcMac: MAC.vm3, dstMac: MAC.rRight, srcIp: IP.vm3, dstIp: IP.vm1 };
}

/** The actions with port ids shown as names. */
function shape(b: TopologyBuilder, actions: readonly Action[]): string[] {
  const names = new Map(b.objects.map((o) => [o.object.id, (o.object as { name?: string }).name ?? '?']));
  return actions.map((a) =>
    a.kind === 'output' ? `output:${names.get(a.portId)}` : a.kind === 'setField' ? `set:${a.field}` : a.kind,
  );
}

describe('port mirroring in the simulation', () => {
  it('an in copy of a routed packet goes first, before the router rewrites it', () => {
    const { b } = build([]);
    const m = b.add('mirror', { name: 'm', portIds: [b.id('vm1')], direction: 'in', toPortId: b.id('tap') });
    const r = run(b, b.build(), routedTcp());
    assert.deepEqual(shape(b, r.actions), [
      'output:tap',
      'set:eth_src',
      'set:eth_dst',
      'decTtl',
      'output:vm3',
    ]);
    assert.ok(r.tags.includes(Tags.mirror(m.id)), 'the flow carries the mirror');
  });

  it('an out copy goes right after its output, with the headers that port got', () => {
    const { b } = build([]);
    const m = b.add('mirror', { name: 'm', portIds: [b.id('vm3')], direction: 'out', toPortId: b.id('tap') });
    const topo = b.build();
    const r = run(b, topo, routedTcp());
    assert.deepEqual(shape(b, r.actions), [
      'set:eth_src',
      'set:eth_dst',
      'decTtl',
      'output:vm3',
      'output:tap',
    ]);
    assert.ok(r.tags.includes(Tags.mirror(m.id)));
    // What vm3 sends is not an out packet of vm3: no copy, but the flow consulted the mirror.
    const back = run(b, topo, fromVm3(), 'vm3');
    assert.deepEqual(shape(b, back.actions), ['set:eth_src', 'set:eth_dst', 'decTtl', 'output:vm1']);
    assert.ok(back.tags.includes(Tags.mirror(m.id)));
  });

  it('a bridge source in both directions copies a packet between two of its ports once', () => {
    const b = standardBuilder();
    b.port(b.id('br-right'), 'tap');
    b.add('mirror', { name: 'm', bridgeId: b.id('br-left'), toPortId: b.id('tap') });
    b.add('mirror', { name: 'm2', portIds: [b.id('vm2')], toPortId: b.id('tap'), direction: 'out' });
    const r = run(b, b.build(), bridgedTcp(), 'vm1', true);
    assert.deepEqual(shape(b, r.actions), ['output:tap', 'output:vm2']);
    assert.match(renderTrace(r), /mirror m: copy \(in at vm1\) to port tap/);
  });

  it('the filter selects by the headers as they entered, and the mask keeps flows apart', () => {
    const { b } = build([]);
    b.add('mirror', {
      name: 'web',
      portIds: [b.id('vm1')],
      toPortId: b.id('tap'),
      conditions: { dstPort: { value: '80' }, dstPrefix: { value: `${IP.vm3}/32` } },
    });
    const topo = b.build();
    const web = run(b, topo, routedTcp());
    const ssh = run(b, topo, routedTcp({ dstPort: 22 }));
    assert.deepEqual(shape(b, web.actions)[0], 'output:tap');
    assert.ok(!shape(b, ssh.actions).includes('output:tap'), 'port 22 is not copied');
    assert.equal(
      agreesOnMask(web.mask, web.packet, ssh.packet),
      false,
      'the copying flow does not serve port 22',
    );
    // Bridged to vm2 (another destination address): the prefix test fails first.
    const local = run(b, topo, bridgedTcp());
    assert.deepEqual(shape(b, local.actions), ['output:vm2']);
  });

  it('a mirror that is down copies nothing but still tags the flow; a dropped packet is still copied in', () => {
    const { b } = build([]);
    const m = b.add('mirror', {
      name: 'm',
      portIds: [b.id('vm1')],
      toPortId: b.id('tap'),
      adminStateUp: false,
    });
    const r = run(b, b.build(), routedTcp());
    assert.ok(!shape(b, r.actions).includes('output:tap'));
    assert.ok(r.tags.includes(Tags.mirror(m.id)));
    b.set(m.id, { adminStateUp: true });
    b.set(b.id('r1'), { adminStateUp: false });
    const dropped = run(b, b.build(), routedTcp());
    assert.deepEqual(shape(b, dropped.actions), ['output:tap', 'drop']);
  });

  it('a destination port the topology does not hold is asked for (notYet)', () => {
    const { b } = build([]);
    b.add('mirror', { name: 'm', portIds: [b.id('vm1')], toPortId: b.id('tap') });
    const tap = b.id('tap');
    const topo = Topology.from(b.objects.filter((o) => o.object.id !== tap));
    const r = simulate(topo, packet(routedTcp()), b.id('vm1'), 1000, { state: standardState(b) });
    assert.deepEqual(r.kind === 'notYet' ? r.need : r.kind, [tap]);
  });

  it('the tags a mirror change returns cover every flow whose result changed (checked by recompute)', () => {
    const { b, t } = build([]);
    const packets: Array<[string, PacketFields]> = [
      ['vm1', routedTcp()],
      ['vm1', bridgedTcp()],
      ['vm2', bridgedTcp({ srcMac: MAC.vm2, dstMac: MAC.vm1, srcIp: IP.vm2, dstIp: IP.vm1 })],
      ['vm3', fromVm3()],
    ];
    const state = standardState(b);
    const sim = (topo: Topology) =>
      packets.map(([from, p]) => simulate(topo, packet(p), b.id(from), 1000, { state }) as SimDone);
    // Made by another builder: a change the topology has not seen yet.
    const m: Obj<'mirror'> = build([]).b.add('mirror', {
      name: 'm',
      portIds: [b.id('vm2')],
      toPortId: b.id('tap'),
      direction: 'out',
    });
    const steps: Array<{ op: 'create' | 'update' | 'delete'; object: Obj<'mirror'> }> = [
      { op: 'create', object: m },
      { op: 'update', object: { ...m, version: 2, direction: 'both' } },
      { op: 'update', object: { ...m, version: 3, direction: 'both', bridgeId: b.id('br-right') } },
      {
        op: 'update',
        object: { ...m, version: 4, direction: 'in', bridgeId: b.id('br-right'), adminStateUp: false },
      },
      // An interior source: r1's port on br-right, crossed by every routed flow.
      {
        op: 'update',
        object: { ...m, version: 5, portIds: [b.id('r1-right')], direction: 'both', bridgeId: null },
      },
      { op: 'delete', object: { ...m, version: 5 } },
    ];
    let before = sim(t);
    let carried = 0;
    for (const s of steps) {
      const tags = t.apply([{ op: s.op, kind: 'mirror', object: s.object }]);
      const after = sim(t);
      for (let i = 0; i < packets.length; i++) {
        const changed = JSON.stringify(before[i]!.actions) !== JSON.stringify(after[i]!.actions);
        const hit = before[i]!.tags.some((x) => tags.includes(x));
        if (changed)
          assert.ok(
            hit,
            `${s.op} v${s.object.version}: flow ${i} changed but carries none of ${tags.join(', ')}`,
          );
        if (before[i]!.actions.some((a) => a.kind === 'output' && a.portId === b.id('tap'))) {
          carried++;
          assert.ok(hit, `${s.op}: flow ${i} carried the mirror and must be invalidated`);
        }
        // vm3's flow to vm1 never meets vm2 (the source until br-right is added): left alone.
        if (i === 3 && s.object.version < 3 && s.op !== 'delete')
          assert.ok(!hit, `${s.op} v${s.object.version}: vm3's flow is kept`);
      }
      before = after;
    }
    assert.ok(carried > 0, 'some flow carried copies');
  });

  it('OpenFlow: a leading copy goes out before dec_nw_ttl and the rewrites', () => {
    const { b } = build([]);
    b.add('mirror', { name: 'm', portIds: [b.id('vm1')], toPortId: b.id('tap'), direction: 'in' });
    const r = run(b, b.build(), routedTcp());
    const ports: Record<string, number> = { [b.id('vm3')]: 3, [b.id('tap')]: 9 };
    const of = translateActions(r.actions, r.packet, 1, (id) =>
      ports[id] !== undefined ? { kind: 'local', ofport: ports[id] } : { kind: 'unknown', why: 'not here' },
    );
    assert.deepEqual(
      of.actions.map((a) => (a.type === 'output' ? `output:${a.port}` : a.type)),
      ['output:9', 'dec_nw_ttl', 'set_field', 'set_field', 'output:3'],
    );
  });

  describe('interior ports as sources', () => {
    /** What a router does to a routed packet, in action shapes. */
    const ROUTED = ['set:eth_src', 'set:eth_dst', 'decTtl'];

    /** The OpenFlow ports the flow outputs to, each with the TTL and destination MAC it sends there. */
    function outputsOf(b: TopologyBuilder, r: SimDone): Array<[string, string]> {
      const ports: Record<string, number> = { [b.id('vm3')]: 3, [b.id('tap')]: 9, [b.id('vm1')]: 1 };
      const of = translateActions(r.actions, r.packet, 5, (id) =>
        ports[id] !== undefined ? { kind: 'local', ofport: ports[id] } : { kind: 'unknown', why: 'not here' },
      );
      const outs = applyActions(of.actions, r.packet, 5);
      return outs.map((o) => [`${o.port}`, `ttl ${o.headers[IP_TTL]} dst ${o.headers[ETH_DST_LO]}`]);
    }

    it("a router port's in copy is the packet as the router received it, before it rewrites it", () => {
      const { b } = build([]);
      const m = b.add('mirror', {
        name: 'm',
        portIds: [b.id('r1-left')],
        direction: 'in',
        toPortId: b.id('tap'),
      });
      const r = run(b, b.build(), routedTcp(), 'vm1', true);
      assert.deepEqual(shape(b, r.actions), ['output:tap', ...ROUTED, 'output:vm3']);
      assert.ok(r.tags.includes(Tags.mirror(m.id)));
      assert.match(renderTrace(r), /mirror m: copy \(in at r1-left\) to port tap/);
      const outs = outputsOf(b, r);
      assert.equal(outs[0]![0], '9');
      assert.notEqual(outs[0]![1], outs[1]![1], 'the copy has the headers before the router');
    });

    it("a router port's out copy is the packet as it left the router: rewritten, TTL decremented", () => {
      const { b } = build([]);
      b.add('mirror', { name: 'm', portIds: [b.id('r1-right')], direction: 'out', toPortId: b.id('tap') });
      const topo = b.build();
      const r = run(b, topo, routedTcp());
      assert.deepEqual(shape(b, r.actions), [...ROUTED, 'output:vm3', 'output:tap']);
      const outs = outputsOf(b, r);
      assert.deepEqual(
        outs.map((o) => o[0]),
        ['3', '9'],
      );
      assert.equal(outs[1]![1], outs[0]![1], 'the copy has the headers vm3 gets');
      // The way back enters the router through r1-right: an in packet there, not an out one.
      const back = run(b, topo, fromVm3(), 'vm3');
      assert.deepEqual(shape(b, back.actions), [...ROUTED, 'output:vm1']);
    });

    it("a bridge's uplink in both directions: the routed packet leaving the bridge, the reply entering it", () => {
      const { b } = build([]);
      b.add('mirror', { name: 'm', portIds: [b.id('br-left-uplink')], toPortId: b.id('tap') });
      const topo = b.build();
      // vm1 -> vm3 leaves br-left through its uplink as vm1 sent it.
      assert.deepEqual(shape(b, run(b, topo, routedTcp()).actions), ['output:tap', ...ROUTED, 'output:vm3']);
      // vm3 -> vm1 enters br-left through it after the router: copied as vm1 gets it.
      assert.deepEqual(shape(b, run(b, topo, fromVm3(), 'vm3').actions), [
        ...ROUTED,
        'output:vm1',
        'output:tap',
      ]);
      // Bridged vm1 -> vm2 never crosses the uplink: no copy.
      assert.deepEqual(shape(b, run(b, topo, bridgedTcp()).actions), ['output:vm2']);
    });

    it('a bridge source stands for its exterior ports only, not its uplink', () => {
      const { b } = build([]);
      b.add('mirror', { name: 'm', bridgeId: b.id('br-right'), direction: 'in', toPortId: b.id('tap') });
      // vm1 -> vm3 enters br-right through its uplink: not an in packet of the bridge's exterior ports.
      assert.ok(!shape(b, run(b, b.build(), routedTcp()).actions).includes('output:tap'));
    });

    it('a packet the router drops is still copied in at its port, and stays a drop', () => {
      const { b } = build([]);
      b.add('mirror', { name: 'm', portIds: [b.id('r1-left')], direction: 'in', toPortId: b.id('tap') });
      b.set(b.id('r1'), { adminStateUp: false });
      assert.deepEqual(shape(b, run(b, b.build(), routedTcp()).actions), ['output:tap', 'drop']);
    });
  });
});
