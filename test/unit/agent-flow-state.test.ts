/**
 * Flow state in the agent's controller (no I/O): an SNAT binding made on this host goes to the host
 * of the router's uplink before the packet leaves; a peer's binding applied here translates the reply
 * the same way; the flows of a tracked TCP connection let its FIN up, which ends the connection; state
 * lives while a flow uses it and goes, with the flows that used it, once they are gone and it aged.
 * A next hop that does not answer ARP is asked again once a second; after three tries the packets held
 * for it get ICMP host unreachable, and it is still asked 2, 4 and 8 s later until it answers. An ARP
 * reply is shared with the other agents every time it comes (issue 21).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowController, type PeerSender } from '../../src/agent/controller.js';
import { buildEthernet } from '../../src/packet/index.js';
import type { PeerMessage } from '../../src/agent/peer-codec.js';
import { createLogger } from '../../src/log.js';
import type { PacketInView } from '../../src/openflow/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { parseIpv4 } from '../../src/addr.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { HV1, HV2, addTwoHosts } from '../support/ipv6-world.js';
import { packetIn } from '../support/packet-in.js';
import { tcpFrame } from '../support/udp-frame.js';

const log = createLogger({ name: 'test', level: 'silent' });
const VM = '02:00:00:00:00:01';
const RMAC = '02:00:00:00:01:01';
const PUBLIC = '203.0.113.1';

function world(knowNextHop = true) {
  const b = new TopologyBuilder();
  addTwoHosts(b);
  const br = b.bridge('tenant');
  b.port(br, 'vm1', { hostId: HV1, interfaceName: 'tap1' });
  const up = b.port(br, 'tenant-up');
  const r = b.router('edge');
  const rl = b.port(r, 'edge-in', { address: '192.0.2.1/24', mac: RMAC });
  b.link(up, rl);
  const uplink = b.port(r, 'edge-up', {
    address: `${PUBLIC}/30`,
    mac: '02:00:00:00:01:02',
    hostId: HV2,
    interfaceName: 'up0',
  });
  b.add('route', { routerId: r, dstPrefix: '0.0.0.0/0', nextHopPortId: uplink, gateway: '203.0.113.2' });
  const fw = b.chain('fw', [
    { action: 'accept', conditions: { conntrack: { value: 'established' } } },
    { action: 'accept', conditions: { conntrack: { value: 'new' }, inPorts: { value: [rl] } } },
    { action: 'drop' },
  ]);
  const natOut = b.chain('nat-out', [
    {
      action: 'snat',
      conditions: { srcPrefix: { value: '192.0.2.0/24' }, outPorts: { value: [uplink] } },
      natTargets: [{ addressFrom: PUBLIC, addressTo: PUBLIC, portFrom: 1024, portTo: 65535 }],
    },
  ]);
  const natIn = b.chain('nat-in', [
    { action: 'rev-snat', conditions: { dstPrefix: { value: `${PUBLIC}/32` } } },
  ]);
  b.set(r, { inboundChainId: fw, natInboundChainId: natIn, natOutboundChainId: natOut });
  const sent: Array<{ to: string; msg: PeerMessage }> = [];
  const peers: PeerSender = {
    send: (to, msg) => (sent.push({ to, msg }), true),
    broadcast: (msg) => void sent.push({ to: '*', msg }),
  };
  const ctl = new FlowController(
    b.build(),
    { hostId: HV1, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    log,
    { peers },
  );
  ctl.ports.ifaceOfport.set('tap1', 1).set('tun-gre', 10);
  ctl.ports.refreshBindings();
  if (knowNextHop) ctl.state.arp.learn(r, parseIpv4('203.0.113.2')!, 0x020000000099, 0);
  ctl.state.nat.setBlocks(parseIpv4(PUBLIC)!, 6, [[40000, 40063]]);
  return { b, ctl, sent, r };
}

function tcp(flags: number, sport = 5000): Buffer {
  return tcpFrame({
    dst: RMAC,
    src: VM,
    srcIp: '192.0.2.10',
    dstIp: '198.51.100.99',
    srcPort: sport,
    dstPort: 80,
    flags,
  });
}

const pin = (data: Buffer): PacketInView => packetIn(data, 1);

test("a new SNAT connection's state goes to the uplink's host before the packet leaves", () => {
  const { ctl, sent } = world();
  const out = ctl.packetIn(pin(tcp(0x02)), 1000);
  const fs = sent.find((s) => s.msg.kind === 'flowState');
  assert.ok(fs, 'flow state sent');
  assert.equal(fs.to, HV2);
  assert.ok(fs.msg.kind === 'flowState' && fs.msg.nat.length === 2 && fs.msg.ct.length === 1);
  const sw = new FakeOfTable().apply(out);
  const r = sw.process(1, tcp(0x10));
  assert.ok(r.kind === 'flow');
  assert.equal(r.outputs[0]!.tunDst, '198.51.100.2', 'through the tunnel to the uplink host');
  assert.deepEqual(sw.outPorts(1, tcp(0x11)), 'miss', 'a FIN misses the flow: it comes to the agent');
});

test('a FIN ends the connection: forwarded without a flow, the connection ends for peers too', () => {
  const { ctl, sent } = world();
  ctl.packetIn(pin(tcp(0x02)), 1000);
  sent.length = 0;
  const out = ctl.packetIn(pin(tcp(0x11)), 2000);
  assert.ok(!out.some((m) => m.type === 'flow_mod' && m.command === 'add'), 'no flow for the FIN');
  assert.ok(
    out.some((m) => m.type === 'packet_out'),
    'the FIN goes on',
  );
  const ended = sent.find((s) => s.msg.kind === 'flowState');
  assert.ok(ended && ended.msg.kind === 'flowState' && ended.msg.ct.every((c) => c.ended));
});

test("state lives while a flow uses it; when the flows are gone it ages, and the sweep takes the others' flows", () => {
  const { ctl } = world();
  const out = ctl.packetIn(pin(tcp(0x02)), 1000);
  const fm = out.find((m) => m.type === 'flow_mod' && m.command === 'add');
  assert.ok(fm && fm.type === 'flow_mod');
  const idle = ctl.flowState.idleMs;
  assert.deepEqual(ctl.sharing.sweep(1000 + idle * 10, false), [], 'pinned by the installed flow');
  assert.equal(ctl.state.nat.entries(1000 + idle * 10).length, 2);
  ctl.flowRemoved(Number(fm.cookie), 5000);
  ctl.sharing.sweep(5000 + idle + 1, false);
  assert.equal(ctl.state.nat.entries(5000 + idle + 1).length, 0, 'aged out after the last flow went');
});

test("a peer's binding translates the reply here the same way", () => {
  const a = world();
  a.ctl.packetIn(pin(tcp(0x02)), 1000);
  const shared = a.sent.find((s) => s.msg.kind === 'flowState')!.msg;
  assert.ok(shared.kind === 'flowState');
  const bWorld = world();
  bWorld.ctl.sharing.apply(shared.nat, shared.ct, 1000);
  assert.deepEqual(
    bWorld.ctl.state.nat
      .entries(1000)
      .map((e) => e.key)
      .sort(),
    a.ctl.state.nat
      .entries(1000)
      .map((e) => e.key)
      .sort(),
  );
});

test('a next hop that never answers ARP: asked once a second, then held packets get ICMP host unreachable', () => {
  const { ctl } = world(false);
  const first = ctl.packetIn(pin(tcp(0x02)), 1000);
  const arps = (msgs: ReturnType<typeof ctl.waits.tick>) =>
    msgs.filter((m) => m.type === 'packet_out' && m.data.readUInt16BE(12) === 0x0806).length;
  assert.equal(arps(first), 1, 'one ARP request at once');
  assert.equal(arps(ctl.waits.tick(1500)), 0, 'not twice within a second');
  assert.equal(arps(ctl.waits.tick(2001)), 1, 'again after a second');
  const end = ctl.waits.tick(4001);
  const icmp = end.filter(
    (m) => m.type === 'packet_out' && m.data.readUInt16BE(12) === 0x0800 && m.data[23] === 1,
  );
  assert.equal(icmp.length, 1, 'ICMP host unreachable for the held packet');
  assert.equal(icmp[0]!.type === 'packet_out' && icmp[0]!.data[34], 3, 'destination unreachable');
  assert.equal(ctl.stats.arpFailures, 1);
});

test('a failed next hop is asked again with a back-off (2, 4, 8 s) until it answers; then packets go through', () => {
  const { ctl, r } = world(false);
  const arps = (msgs: ReturnType<typeof ctl.waits.tick>) =>
    msgs.filter((m) => m.type === 'packet_out' && m.data.readUInt16BE(12) === 0x0806).length;
  ctl.packetIn(pin(tcp(0x02)), 1000);
  ctl.waits.tick(2001);
  ctl.waits.tick(4001); // failed: the held packet got ICMP host unreachable
  assert.equal(ctl.stats.arpFailures, 1);
  const asked: number[] = [];
  for (let t = 4200; t <= 23800; t += 200) if (arps(ctl.waits.tick(t)) > 0) asked.push(t);
  assert.deepEqual(
    asked,
    [6200, 10200, 18200],
    'probes 2, 4 and 8 s apart until the failure ages out (20 s)',
  );
  assert.equal(ctl.stats.arpProbes, 3);

  // Failed again; this time the next hop answers (on another host, which shares the entry).
  ctl.packetIn(pin(tcp(0x02, 5001)), 30000);
  ctl.waits.tick(31001);
  ctl.waits.tick(33001);
  assert.equal(ctl.stats.arpFailures, 2);
  const answer = { table: 'arp' as const, scope: r, key: '203.0.113.2', value: '20000000099', origin: HV2 };
  ctl.applyLearned([{ ...answer, expiresAt: 900_000 }], 34000);
  const out = ctl.packetIn(pin(tcp(0x02, 5002)), 34100);
  assert.ok(
    out.some((m) => m.type === 'packet_out' && m.data.readUInt16BE(12) === 0x0800 && m.data[23] === 6),
    'the next packet goes on to the next hop',
  );
  let later = 0;
  for (let t = 34200; t <= 60000; t += 200) later += arps(ctl.waits.tick(t));
  assert.equal(later, 0, 'no probe once the next hop answered');
});

test('an ARP reply is shared with the other agents every time, so a host whose first message was lost still hears of it', () => {
  const { ctl, sent, r } = world(false);
  const reply = Buffer.from(
    buildEthernet({
      kind: 'ethernet',
      dst: RMAC,
      src: VM,
      payload: {
        kind: 'arp',
        op: 2,
        senderMac: VM,
        senderIp: '192.0.2.10',
        targetMac: RMAC,
        targetIp: '192.0.2.1',
      },
    }),
  );
  const shared = () =>
    sent.filter(
      (s) =>
        s.to === '*' &&
        s.msg.kind === 'learned' &&
        s.msg.entries.some((e) => e.table === 'arp' && e.scope === r && e.key === '192.0.2.10'),
    ).length;
  ctl.packetIn(pin(reply), 1000);
  assert.equal(shared(), 1, 'the first reply is shared');
  // The other host never got it (say the message was lost) and asks again: the answer is shared again,
  // although the value is the same and the store need not hear of it again.
  ctl.packetIn(pin(reply), 2000);
  assert.equal(shared(), 2, 'the second reply is shared too');
  const toStore = ctl.learned.take(2000) ?? [];
  assert.equal(toStore.filter((e) => e.table === 'arp').length, 1, 'the store gets the entry once');
});
