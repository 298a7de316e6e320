/**
 * The agent's controller logic without I/O (STYLE habit 7): packet-ins in, OpenFlow messages out,
 * applied to a fake flow table (test/support/fake-of-table.ts) that answers "where does this packet
 * go?". Topology from the simulation's TopologyBuilder, frames from the packet codec; checks
 * forwarding, tunnel egress, invalidation by tag, flooding that follows host liveness, the reply flow
 * installed with the forward one, and packet-ins a just-installed flow covers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchFromMask, translateActions } from '../../src/agent/translate.js';
import { createLogger } from '../../src/log.js';
import { OFPP, OFPR, type FlowStats, type PacketInView } from '../../src/openflow/index.js';
import { packetIn as pin } from '../support/packet-in.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { OTHER, bridgeWorld } from '../support/bridge-world.js';
import { buildEthernet } from '../../src/packet/index.js';
import { Tags } from '../../src/sim/tags.js';
import { ETH_DST_LO, FlowMatch, IP_DST, IP_SRC, IP_TTL, TP_DST } from '../../src/sim/flow-match.js';
import { adoptFlows, normalizeMatch, packetOfMatch } from '../../src/agent/flow-adoption.js';
import { PROACTIVE_COOKIE_BIT } from '../../src/agent/flow-table.js';
import { desiredMeters } from '../../src/agent/qos.js';

const log = createLogger({ name: 'test', level: 'silent' });

const world = () => bridgeWorld(log);

function frame(
  src: string,
  dst: string,
  srcIp = '192.0.2.10',
  dstIp = '192.0.2.11',
  sport = 4000,
  dport = 53,
): Buffer {
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
        src: srcIp,
        dst: dstIp,
        options: new Uint8Array(0),
        payload: {
          kind: 'udp',
          srcPort: sport,
          dstPort: dport,
          payload: { kind: 'raw', bytes: new Uint8Array(8) },
        },
      },
    }),
  );
}

function packetIn(inPort: number, data: Buffer, reason: number = OFPR.NO_MATCH): PacketInView {
  return pin(data, inPort, reason);
}
const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const C = '02:00:00:00:00:03';

test('a first packet is forwarded and installed; the switch then forwards the flow itself', () => {
  const { ctl, p2 } = world();
  const sw = new FakeOfTable();
  // B is learned on p2 (its packet floods, no reply flow: a flood has no single egress).
  sw.apply(ctl.packetIn(packetIn(2, frame(B, A)), 1000));
  const out = ctl.packetIn(packetIn(1, frame(A, B)), 1001);
  assert.ok(
    out.every((m) => m.xid === undefined),
    'the connection stamps transaction ids',
  );
  sw.apply(out);
  assert.deepEqual(sw.packetOuts.at(-1)!.actions, [{ type: 'output', port: 2, maxLen: 0 }]);
  assert.deepEqual(sw.outPorts(1, frame(A, B)), [2], 'later packets A -> B stay in the switch');
  assert.deepEqual(
    sw.outPorts(1, frame(A, B, '192.0.2.10', '192.0.2.99', 1, 2)),
    [2],
    'a bridge reads MACs, not IPs or ports: one flow serves every 5-tuple',
  );
  const fm = out.find((m) => m.type === 'flow_mod' && m.command === 'add');
  assert.ok(fm && fm.type === 'flow_mod' && fm.idleTimeout === 0);
  assert.ok(ctl.flows.get(Number(fm.cookie))!.tags.includes(Tags.port(p2)), 'tagged with the egress port');
});

test('learning a MAC deletes the flood flow that did not know it, before the new flow', () => {
  const { ctl } = world();
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(packetIn(2, frame(B, A)), 1000)); // A unknown: flood
  assert.deepEqual(sw.outPorts(2, frame(B, A)), [1, 10]);
  const out = ctl.packetIn(packetIn(1, frame(A, B)), 1001); // learns A on p1
  const del = out.findIndex((m) => m.type === 'flow_mod' && m.command === 'delete');
  const add = out.findIndex((m) => m.type === 'flow_mod' && m.command === 'add');
  assert.ok(del >= 0 && del < add);
  sw.apply(out);
  assert.deepEqual(sw.outPorts(2, frame(B, A)), [1], 'B -> A now unicast (the reply flow)');
});

test('the reply flow comes with the forward flow: the reply never reaches the controller', () => {
  const { ctl } = world();
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(packetIn(2, frame(B, A)), 1000));
  sw.apply(ctl.packetIn(packetIn(1, frame(A, B, '192.0.2.10', '192.0.2.11', 4000, 53)), 1001));
  assert.equal(ctl.stats.replyFlows, 1);
  assert.deepEqual(sw.outPorts(2, frame(B, A, '192.0.2.11', '192.0.2.10', 53, 4000)), [1]);
});

test('a packet-in that a just-installed flow covers is sent on with its actions, not simulated again', () => {
  const { ctl } = world();
  ctl.packetIn(packetIn(2, frame(B, A)), 1000);
  ctl.packetIn(packetIn(1, frame(A, B)), 1001);
  const sims = ctl.stats.simulations;
  const installed = ctl.stats.flowsInstalled;
  const out = ctl.packetIn(packetIn(1, frame(A, B)), 1002);
  assert.equal(ctl.stats.simulations, sims);
  assert.equal(ctl.stats.flowsInstalled, installed);
  assert.equal(ctl.stats.duplicates, 1);
  assert.deepEqual(
    out.map((m) => m.type),
    ['packet_out'],
  );
  // Not for a packet-in the datapath sent because dec_nw_ttl expired it.
  ctl.packetIn(packetIn(1, frame(A, B), 2), 1003);
  assert.equal(ctl.stats.simulations, sims + 1);
});

test('egress on another host goes through the tunnel with tun_dst and tun_id', () => {
  const { ctl, b, p3 } = world();
  ctl.state.commit(
    [{ kind: 'macLearned', bridgeId: b.id('br'), vlan: 0, mac: 0x020000000003, portId: p3 }],
    1000,
  );
  const sw = new FakeOfTable().apply(ctl.packetIn(packetIn(1, frame(A, C)), 1001));
  const r = sw.process(1, frame(A, C));
  assert.ok(r.kind === 'flow');
  const key = ctl.topology.get('port', p3)!.tunnelKey;
  assert.deepEqual(
    r.outputs.map((o) => [o.port, o.tunDst, o.tunnelId]),
    [[10, '198.51.100.2', BigInt(key)]],
  );
});

test('a topology change deletes exactly the flows tagged with it', () => {
  const { ctl, p1 } = world();
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(packetIn(2, frame(B, A)), 1000)); // learns B on p2, floods
  const before = ctl.flows.size;
  assert.ok(before >= 1);
  const port = ctl.topology.get('port', p1)!;
  const tags = ctl.topology.apply([
    { op: 'update', kind: 'port', object: { ...port, adminStateUp: false, version: port.version + 1 } },
  ]);
  const dels = ctl.invalidate(tags);
  assert.ok(dels.length >= 1 && dels.every((m) => m.type === 'flow_mod' && m.command === 'delete'));
  sw.apply(dels);
  assert.equal(sw.outPorts(2, frame(B, A)), 'miss', 'the flood through p1 is gone from the switch');
  assert.equal(ctl.flows.size, before - dels.length);
});

test('flooding skips hosts that are down, and a liveness change redoes those flows', () => {
  const { ctl } = world();
  assert.deepEqual(ctl.setLiveness(new Map([[OTHER, false]])), []);
  const sw = new FakeOfTable().apply(ctl.packetIn(packetIn(1, frame(A, 'ff:ff:ff:ff:ff:ff')), 1000));
  assert.deepEqual(sw.outPorts(1, frame(A, 'ff:ff:ff:ff:ff:ff')), [2], 'nothing to the dead host');
  sw.apply(ctl.setLiveness(new Map([[OTHER, true]])));
  assert.equal(
    sw.outPorts(1, frame(A, 'ff:ff:ff:ff:ff:ff')),
    'miss',
    'the flood flow is deleted when the host is back',
  );
});

test('an egress that cannot be located is not cached', () => {
  const { ctl, b, p3 } = world();
  ctl.ports.ifaceOfport.delete('tun-gre');
  ctl.ports.refreshBindings();
  ctl.state.commit(
    [{ kind: 'macLearned', bridgeId: b.id('br'), vlan: 0, mac: 0x020000000003, portId: p3 }],
    1000,
  );
  const out = ctl.packetIn(packetIn(1, frame(A, C)), 1001);
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

test('a flow with the match of an installed one replaces it: the old cookie is deleted first, never left recorded', () => {
  const { ctl } = world();
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(packetIn(2, frame(B, A)), 1000));
  sw.apply(ctl.packetIn(packetIn(1, frame(A, B)), 1001)); // forward A -> B and the predicted B -> A
  const before = ctl.flows.size;
  // B -> A comes up anyway, long after (e.g. a datapath flow OVS had not revalidated): same match.
  const out = ctl.packetIn(packetIn(2, frame(B, A)), 5000);
  const del = out.findIndex((m) => m.type === 'flow_mod' && m.command === 'delete');
  const add = out.findIndex((m) => m.type === 'flow_mod' && m.command === 'add');
  assert.ok(del >= 0 && del < add, 'delete of the replaced cookie before the add');
  sw.apply(out);
  assert.equal(ctl.flows.size, before, 'one record per match');
  assert.equal(sw.flows.length, ctl.flows.size, 'the agent records exactly what the switch holds');
});

/** The switch's flows as a FLOW multipart reply gives them to an agent that connects. */
function dumped(sw: FakeOfTable): FlowStats[] {
  return sw.flows.map((f) => ({
    tableId: 0,
    durationSec: 1,
    durationNsec: 0,
    priority: f.priority,
    idleTimeout: 60,
    hardTimeout: 0,
    flags: 1,
    cookie: f.cookie,
    packetCount: 1n,
    byteCount: 64n,
    match: [...f.match],
    instructions: f.actions.length > 0 ? [{ type: 'apply_actions', actions: [...f.actions] }] : [],
  }));
}

test('a restarted agent keeps the flows of its earlier run that are still right, under their cookies', () => {
  const first = world();
  const sw = new FakeOfTable();
  sw.apply(first.ctl.packetIn(packetIn(2, frame(B, A)), 1000));
  sw.apply(first.ctl.packetIn(packetIn(1, frame(A, B)), 1001));
  sw.apply(first.ctl.packetIn(packetIn(1, frame(A, C)), 1002)); // C unknown: a flood flow
  assert.equal(sw.flows.length, 3);
  // The new run learned what the store kept (the MACs), and judges the switch's flows on it.
  const { ctl } = world();
  ctl.packetIn(packetIn(2, frame(B, A)), 2000);
  ctl.packetIn(packetIn(1, frame(A, B)), 2001);
  ctl.forgetFlows();
  const judged = adoptFlows(ctl, dumped(sw), 10, 3000);
  assert.equal(judged.kept, 3, 'every flow is still right');
  assert.deepEqual(judged.out, []);
  assert.equal(ctl.stats.flowsAdopted, 3);
  const cookies = sw.flows.map((f) => Number(f.cookie));
  assert.deepEqual([...cookies].sort(), [...ctl.flows.cookiesFor([Tags.bridge(first.br)])].sort());
  assert.ok(!cookies.includes(ctl.flows.cookie()), 'a new flow never takes an adopted cookie');
  // Adopted flows are invalidated like any other.
  const del = ctl.invalidate([Tags.bridge(first.br)]);
  assert.equal(del.length, 3);
});

test('a flow whose treatment changed, or that the agent cannot read, is deleted on restart', () => {
  const first = world();
  const sw = new FakeOfTable();
  sw.apply(first.ctl.packetIn(packetIn(2, frame(B, A)), 1000));
  sw.apply(first.ctl.packetIn(packetIn(1, frame(A, B)), 1001));
  const flows = dumped(sw);
  const proactive: FlowStats = { ...flows[0]!, cookie: PROACTIVE_COOKIE_BIT | 5n };
  const foreign: FlowStats = {
    ...flows[0]!,
    cookie: 99n,
    match: [...flows[0]!.match, { field: 'ipv6_src', value: '2001:db8::1' }],
  };
  // A new run that knows no MAC: A -> B now floods, B -> A too; nothing the switch holds is right.
  const { ctl } = world();
  const judged = adoptFlows(ctl, [...flows, proactive, foreign], 10, 3000);
  assert.equal(judged.kept, 0);
  const deleted = judged.out.map((m) => (m.type === 'flow_mod' ? m.cookie : -1n)).sort();
  assert.deepEqual(deleted, [...flows.map((f) => f.cookie), 99n].sort(), 'proactive flows are not judged');
  assert.equal(ctl.flows.size, 0);
});

test('of two flows in the switch with the same match, one is kept and the other deleted: none is left unrecorded', () => {
  const first = world();
  const sw = new FakeOfTable();
  sw.apply(first.ctl.packetIn(packetIn(2, frame(B, A)), 1000));
  sw.apply(first.ctl.packetIn(packetIn(1, frame(A, B)), 1001));
  const flows = dumped(sw);
  const twin: FlowStats = { ...flows[1]!, cookie: 77n }; // as an earlier connection's FLOW_MOD applied late
  const { ctl } = world();
  ctl.packetIn(packetIn(2, frame(B, A)), 2000);
  ctl.packetIn(packetIn(1, frame(A, B)), 2001);
  ctl.forgetFlows();
  const judged = adoptFlows(ctl, [...flows, twin], 10, 3000);
  assert.equal(judged.kept, flows.length);
  assert.equal(ctl.stats.flowsAdopted, flows.length);
  const deleted = judged.out.map((m) => (m.type === 'flow_mod' ? Number(m.cookie) : -1));
  assert.deepEqual(deleted, [Number(flows[1]!.cookie)], 'the one displaced by its twin');
  const recorded = [...ctl.flows.all()].map((f) => f.cookie).sort();
  const inSwitch = [...flows, twin].map((f) => Number(f.cookie)).filter((c) => !deleted.includes(c));
  assert.deepEqual(recorded, inSwitch.sort(), 'what stays in the switch is what the agent records');
});

test('the packet a flow match describes: named fields hold their masked values, the others 0', () => {
  const at = packetOfMatch([
    { field: 'in_port', value: 3 },
    { field: 'eth_dst', value: B },
    { field: 'eth_type', value: 0x0800 },
    { field: 'ipv4_dst', value: '192.0.2.77', mask: '255.255.255.0' },
    { field: 'ip_proto', value: 17 },
    { field: 'udp_dst', value: 53 },
  ]);
  assert.ok(typeof at !== 'string');
  assert.equal(at.inPort, 3);
  const m = new FlowMatch();
  m.orig.splice(0, m.orig.length, ...at.packet);
  assert.equal(m.orig[ETH_DST_LO], 0x02);
  assert.equal(m.orig[IP_DST], 0xc0000200, 'the value under its mask');
  assert.equal(m.orig[TP_DST], 53);
  assert.equal(m.orig[IP_SRC], 0, 'a field the match does not name');
  assert.equal(packetOfMatch([{ field: 'eth_dst', value: B }]), 'no in_port', 'not a flow of ours');
});

test('a match as Open vSwitch reports it: the ONF TCP flags field reads as the Nicira one the agent wrote', () => {
  const onf = Buffer.alloc(8);
  onf.writeUInt32BE(0x4f4e4600, 0);
  onf.writeUInt16BE(0, 4);
  onf.writeUInt16BE(5, 6);
  const m = normalizeMatch([
    { field: 'in_port', value: 1 },
    { field: 'raw', oxmClass: 0xffff, oxmField: 42, hasMask: true, payload: onf },
  ]);
  assert.deepEqual(m[1], { field: 'tcp_flags', value: 0, mask: 5 });
  const other = { field: 'raw', oxmClass: 0xffff, oxmField: 7, hasMask: false, payload: onf } as const;
  assert.equal(normalizeMatch([other])[0], other, 'another experimenter field is left as it is');
});

test("a metered flow's first packet goes through table 0, so the port's meter polices it too", async () => {
  const { ctl, p1, p2 } = world();
  const port = ctl.topology.get('port', p1)!;
  const ofctl = () => Promise.resolve('');
  const want = desiredMeters([{ ...port, rateKbps: 1000 }]).meters;
  await ctl.meters.sync(ofctl, 'br-int', want, true);
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(packetIn(2, frame(B, A)), 1000)); // learns B on p2
  // p2 has no meter: its first packet goes out with the flow's actions (a flood).
  assert.ok(sw.packetOuts.at(-1)!.actions.every((a) => a.type !== 'output' || a.port !== OFPP.TABLE));
  const out = ctl.packetIn(packetIn(1, frame(A, B)), 1001);
  sw.apply(out);
  const po = out.findIndex((m) => m.type === 'packet_out');
  const fm = out.findIndex((m) => m.type === 'flow_mod' && m.command === 'add');
  assert.ok(fm >= 0 && fm < po, 'the FLOW_MOD comes before the PACKET_OUT that meets it');
  assert.deepEqual(sw.packetOuts.at(-1), {
    inPort: 1,
    actions: [{ type: 'output', port: OFPP.TABLE, maxLen: 0 }],
  });
  // Through table 0 the packet meets the flow just installed: meter first, then out on p2.
  const r = sw.process(1, frame(A, B));
  assert.ok(r.kind === 'flow');
  assert.equal(r.meterId, port.tunnelKey);
  assert.deepEqual(
    r.outputs.map((o) => o.port),
    [2],
  );
  assert.equal(ctl.topology.get('port', p2)!.rateKbps, null);
});
