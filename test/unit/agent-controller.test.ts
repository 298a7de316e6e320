/**
 * The agent's controller logic without I/O (STYLE habit 7): packet-ins in, OpenFlow messages out.
 * Topology from the simulation's TopologyBuilder, frames from the packet codec; checks the FLOW_MOD's
 * match and actions, tunnel egress, invalidation by tag, and flooding that follows host liveness.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowController } from '../../src/agent/controller.js';
import { matchFromMask, translateActions } from '../../src/agent/translate.js';
import { createLogger } from '../../src/log.js';
import { OFP_NO_BUFFER, type Message } from '../../src/openflow/index.js';
import { buildEthernet } from '../../src/packet/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { Tags } from '../../src/sim/tags.js';
import { FlowMatch, IP_TTL } from '../../src/sim/flow-match.js';

const log = createLogger({ name: 'test', level: 'silent' });
const HOST = '00000000-0000-4000-8000-0000000000aa';
const OTHER = '00000000-0000-4000-8000-0000000000bb';

function world() {
  const b = new TopologyBuilder();
  b.add('host', { name: 'hv1' }, HOST);
  b.add('host', { name: 'hv2' }, OTHER);
  b.add('tunnel-zone', {
    name: 'tz',
    type: 'gre',
    members: [
      { hostId: HOST, address: '198.51.100.1' },
      { hostId: OTHER, address: '198.51.100.2' },
    ],
  });
  const br = b.bridge('br');
  const p1 = b.port(br, 'p1', { hostId: HOST, interfaceName: 'tap1' });
  const p2 = b.port(br, 'p2', { hostId: HOST, interfaceName: 'tap2' });
  const p3 = b.port(br, 'p3', { hostId: OTHER, interfaceName: 'tap3' });
  const topo = b.build();
  const ctl = new FlowController(
    topo,
    { hostId: HOST, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    log,
  );
  ctl.ifaceOfport.set('tap1', 1).set('tap2', 2).set('tun-gre', 10).set('tun-vxlan', 11);
  ctl.refreshBindings();
  return { b, ctl, br, p1, p2, p3 };
}

function frame(src: string, dst: string): Buffer {
  return Buffer.from(
    buildEthernet({
      kind: 'ethernet',
      dst,
      src,
      payload: {
        kind: 'ipv4',
        tos: 0,
        id: 1,
        dontFragment: true,
        moreFragments: false,
        fragmentOffset: 0,
        ttl: 64,
        src: '192.0.2.10',
        dst: '192.0.2.11',
        options: new Uint8Array(0),
        payload: {
          kind: 'udp',
          srcPort: 4000,
          dstPort: 53,
          payload: { kind: 'raw', bytes: new Uint8Array(8) },
        },
      },
    }),
  );
}

function packetIn(inPort: number, data: Buffer): Extract<Message, { type: 'packet_in' }> {
  return {
    type: 'packet_in',
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: data.length,
    reason: 0,
    tableId: 0,
    cookie: 0n,
    match: [{ field: 'in_port', value: inPort }],
    data,
  };
}

let x = 0;
const xid = () => ++x;
const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const C = '02:00:00:00:00:03';

test('a first packet becomes one FLOW_MOD (mask as match) and one PACKET_OUT', () => {
  const { ctl, p2 } = world();
  // B is known on p2 (learned earlier): unicast, no flood.
  const first = ctl.handlePacketIn(packetIn(2, frame(B, A)), 1000, xid);
  const flood = first.find((m) => m.type === 'flow_mod')!;
  const out = ctl.handlePacketIn(packetIn(1, frame(A, B)), 1001, xid);
  // Learning A where B's flood flow did not know it: that flow is deleted before the new one is added.
  const del = out.find((m) => m.type === 'flow_mod' && m.command === 'delete');
  assert.ok(del && del.type === 'flow_mod' && flood.type === 'flow_mod' && del.cookie === flood.cookie);
  const fm = out.find((m) => m.type === 'flow_mod' && m.command === 'add');
  const po = out.find((m) => m.type === 'packet_out');
  assert.ok(fm && fm.type === 'flow_mod' && po && po.type === 'packet_out');
  assert.equal(fm.command, 'add');
  assert.equal(fm.idleTimeout, 60);
  const fields = Object.fromEntries(fm.match.map((f) => [f.field, 'value' in f ? f.value : undefined]));
  assert.equal(fields.in_port, 1);
  assert.equal(fields.eth_dst, B);
  assert.equal(fields.ipv4_dst, undefined, 'a bridge does not read IP fields');
  assert.deepEqual(fm.instructions, [
    { type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0 }] },
  ]);
  assert.deepEqual(po.actions, [{ type: 'output', port: 2, maxLen: 0 }]);
  const rec = ctl.flows.get(fm.cookie)!;
  assert.ok(rec.tags.includes(Tags.port(p2)), 'tagged with the egress port');
});

test('egress on another host goes through the tunnel with tun_dst and tun_id', () => {
  const { ctl, b, p3 } = world();
  ctl.state.commit(
    [{ kind: 'macLearned', bridgeId: b.id('br'), vlan: 0, mac: 0x020000000003, portId: p3 }],
    1000,
  );
  const out = ctl.handlePacketIn(packetIn(1, frame(A, C)), 1001, xid);
  const fm = out.find((m) => m.type === 'flow_mod');
  assert.ok(fm && fm.type === 'flow_mod');
  const key = ctl.topology.get('port', p3)!.tunnelKey;
  assert.deepEqual(fm.instructions, [
    {
      type: 'apply_actions',
      actions: [
        { type: 'set_field', field: { field: 'tun_ipv4_dst', value: '198.51.100.2' } },
        { type: 'set_field', field: { field: 'tunnel_id', value: BigInt(key) } },
        { type: 'output', port: 10, maxLen: 0 },
      ],
    },
  ]);
});

test('a topology change deletes exactly the flows tagged with it', () => {
  const { ctl, br, p1, p2 } = world();
  ctl.handlePacketIn(packetIn(2, frame(B, A)), 1000, xid); // learns B on p2, floods
  const before = ctl.flows.size;
  assert.ok(before >= 1);
  const port = ctl.topology.get('port', p1)!;
  const tags = ctl.topology.apply([
    { op: 'update', kind: 'port', object: { ...port, adminStateUp: false, version: port.version + 1 } },
  ]);
  const dels = ctl.invalidate(tags, xid);
  assert.ok(
    dels.length >= 1 &&
      dels.every(
        (m) => m.type === 'flow_mod' && m.command === 'delete' && m.cookieMask === 0xffffffffffffffffn,
      ),
  );
  assert.equal(ctl.flows.size, before - dels.length);
  void br;
  void p2;
});

test('flooding skips hosts that are down, and a liveness change redoes those flows', () => {
  const { ctl } = world();
  assert.deepEqual(ctl.setLiveness(new Map([[OTHER, false]]), xid), []);
  const out = ctl.handlePacketIn(packetIn(1, frame(A, 'ff:ff:ff:ff:ff:ff')), 1000, xid);
  const fm = out.find((m) => m.type === 'flow_mod');
  assert.ok(fm && fm.type === 'flow_mod');
  const actions = (fm.instructions[0] as { actions: Array<{ type: string }> }).actions;
  assert.ok(!actions.some((a) => a.type === 'set_field'), 'nothing sent through the tunnel to a dead host');
  assert.ok(
    actions.some((a) => a.type === 'output'),
    'the local port still gets the flood',
  );
  const dels = ctl.setLiveness(new Map([[OTHER, true]]), xid);
  assert.ok(
    dels.some((m) => m.type === 'flow_mod' && m.cookie === fm.cookie),
    'the flood flow is deleted when the host is back',
  );
});

test('an egress that cannot be located is not cached', () => {
  const { ctl, b, p3 } = world();
  ctl.ifaceOfport.delete('tun-gre');
  ctl.refreshBindings();
  ctl.state.commit(
    [{ kind: 'macLearned', bridgeId: b.id('br'), vlan: 0, mac: 0x020000000003, portId: p3 }],
    1000,
  );
  const out = ctl.handlePacketIn(packetIn(1, frame(A, C)), 1001, xid);
  assert.ok(!out.some((m) => m.type === 'flow_mod'));
  assert.equal(ctl.stats.uncacheable, 1);
});

test('dec_ttl comes first, so an expiring packet reaches the agent unchanged', () => {
  const m = new FlowMatch();
  m.orig[IP_TTL] = 64;
  const t = translateActions(
    [
      { kind: 'setField', field: 'eth_src', value: 0x020000000009 },
      { kind: 'decTtl' },
      { kind: 'output', portId: 'x' },
    ],
    m.orig,
    1,
    () => ({ kind: 'local', ofport: 3 }),
  );
  assert.deepEqual(
    t.actions.map((a) => a.type),
    ['dec_nw_ttl', 'set_field', 'output'],
  );
  assert.deepEqual(matchFromMask(new Array(20).fill(0), m.orig, 7), [{ field: 'in_port', value: 7 }]);
});
