/**
 * The end of a tracked TCP connection through a stateful router on one host: the first RST ends the
 * connection (no flow: the agent sees it); the RSTs that follow (a server answering each segment
 * still in flight) end nothing more and get a flow, so the burst costs one packet-in more, not one
 * each. The connection still lives only its closing time after its first end, even when the flows
 * that pinned it went and a flow of its RSTs is installed, and its flows go with it; a peer's word
 * that it ended, once it has here, changes nothing; a new SYN on its 5-tuple in its closing time
 * opens it again. The same holds for IPv6.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowController, deleteByCookie } from '../../src/agent/controller.js';
import { createLogger } from '../../src/log.js';
import type { Outgoing } from '../../src/openflow/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { conntrackKey } from '../../src/sim/flow-state.js';
import { parseIpv4, parseIpv6 } from '../../src/addr.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { HV1, addTwoHosts, v6 } from '../support/ipv6-world.js';
import { packetIn } from '../support/packet-in.js';
import { tcpFrame } from '../support/udp-frame.js';

const log = createLogger({ name: 'test', level: 'silent' });
const RA = '02:00:00:00:01:01';
const RB = '02:00:00:00:01:02';
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/**
 * vm1 on bridge a and vm2 on bridge b, joined by router r with the stateful chain `fw` inbound; the
 * router's ports IPv4-only, or IPv6-only for `v6`. The router knows both VMs, and their bridges too
 * (they talked before), so no flow floods.
 */
function world(v6only = false) {
  const b = new TopologyBuilder();
  addTwoHosts(b);
  const r = b.router('r');
  const ra = b.port(
    r,
    'ra',
    v6only ? { address6: '2001:db8:1::1/64', mac: RA } : { address: '10.0.1.1/24', mac: RA },
  );
  const rb = b.port(
    r,
    'rb',
    v6only ? { address6: '2001:db8:2::1/64', mac: RB } : { address: '10.0.2.1/24', mac: RB },
  );
  const ba = b.bridge('a');
  const bb = b.bridge('b');
  const vm1 = b.port(ba, 'vm1', { hostId: HV1, interfaceName: 'tap1' });
  const vm2 = b.port(bb, 'vm2', { hostId: HV1, interfaceName: 'tap2' });
  b.link(b.port(ba, 'a-up'), ra);
  b.link(b.port(bb, 'b-up'), rb);
  const fw = b.chain('fw', [
    { action: 'accept', conditions: { conntrack: { value: 'established' } } },
    { action: 'accept', conditions: { conntrack: { value: 'new' } } },
    { action: 'drop' },
  ]);
  b.set(r, { inboundChainId: fw });
  const ctl = new FlowController(
    b.build(),
    { hostId: HV1, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    log,
  );
  ctl.ports.ifaceOfport.set('tap1', 1).set('tap2', 2).set('tun-gre', 10);
  ctl.ports.refreshBindings();
  if (v6only) {
    ctl.state.nd.learn(r, parseIpv6('2001:db8:1::10')!, 0x020000000001, 0);
    ctl.state.nd.learn(r, parseIpv6('2001:db8:2::10')!, 0x020000000002, 0);
  } else {
    ctl.state.arp.learn(r, parseIpv4('10.0.1.10')!, 0x020000000001, 0);
    ctl.state.arp.learn(r, parseIpv4('10.0.2.10')!, 0x020000000002, 0);
  }
  ctl.state.macs.learn(ba, 0, 0x020000000001, vm1, 0);
  ctl.state.macs.learn(bb, 0, 0x020000000002, vm2, 0);
  return { ctl, r, key: conntrackKey(r, 6, parseIpv4('10.0.1.10')!, 5000, parseIpv4('10.0.2.10')!, 5201) };
}

/** TCP between vm1 (10.0.1.10:5000) and vm2 (10.0.2.10:5201); `fwd` from vm1. */
function tcp(fwd: boolean, flags: number): Buffer {
  return tcpFrame({
    dst: fwd ? RA : RB,
    src: fwd ? '02:00:00:00:00:01' : '02:00:00:00:00:02',
    srcIp: fwd ? '10.0.1.10' : '10.0.2.10',
    dstIp: fwd ? '10.0.2.10' : '10.0.1.10',
    srcPort: fwd ? 5000 : 5201,
    dstPort: fwd ? 5201 : 5000,
    flags,
  });
}

/** The same over IPv6: vm1 2001:db8:1::10 port 5000, vm2 2001:db8:2::10 port 5201. */
function tcp6(fwd: boolean, flags: number): Buffer {
  return v6(
    fwd ? '2001:db8:1::10' : '2001:db8:2::10',
    fwd ? '2001:db8:2::10' : '2001:db8:1::10',
    fwd ? '02:00:00:00:00:01' : '02:00:00:00:00:02',
    fwd ? RA : RB,
    {
      kind: 'tcp',
      srcPort: fwd ? 5000 : 5201,
      dstPort: fwd ? 5201 : 5000,
      seq: 1,
      ack: 0,
      flags,
      window: 1000,
      urgentPointer: 0,
      options: new Uint8Array(0),
      payload: new Uint8Array(0),
    },
  );
}

const adds = (out: readonly Outgoing[]) =>
  out.flatMap((m) => (m.type === 'flow_mod' && m.command === 'add' ? [Number(m.cookie)] : []));

/** Sends a segment through the switch; a miss goes to the agent, whose answer the switch applies. */
function send(ctl: FlowController, sw: FakeOfTable, fwd: boolean, flags: number, now: number, frame = tcp) {
  const f = frame(fwd, flags);
  const inPort = fwd ? 1 : 2;
  if (sw.process(inPort, f).kind !== 'miss') return { missed: false, out: [] as Outgoing[] };
  const out = ctl.packetIn(packetIn(f, inPort), now);
  sw.apply(out);
  return { missed: true, out };
}

test('the first RST ends the connection; the RSTs after it get a flow and stop coming up', () => {
  const { ctl } = world();
  const sw = new FakeOfTable();
  assert.equal(adds(send(ctl, sw, true, SYN, 1000).out).length, 2, 'the SYN: its flow and its reply');
  assert.equal(send(ctl, sw, false, SYN | ACK, 1001).missed, false);
  assert.equal(send(ctl, sw, true, ACK, 1002).missed, false);
  const first = send(ctl, sw, false, RST | ACK, 1003);
  assert.ok(first.missed, 'an RST misses the flows: it comes to the agent');
  assert.deepEqual(adds(first.out), [], 'the end is seen packet by packet: no flow');
  assert.ok(
    first.out.some((m) => m.type === 'packet_out'),
    'the RST goes on',
  );
  const second = send(ctl, sw, false, RST, 1004);
  assert.ok(second.missed);
  assert.equal(adds(second.out).length >= 1, true, 'an RST of an ended connection gets a flow');
  for (let i = 0; i < 5; i++)
    assert.equal(send(ctl, sw, false, RST, 1005 + i).missed, false, 'the RSTs after it stay in the switch');
});

test('an ended connection lives its closing time from its first end, not pinned by the flow of its RSTs', () => {
  const { ctl, key } = world();
  const sw = new FakeOfTable();
  const installed = adds(send(ctl, sw, true, SYN, 1000).out);
  send(ctl, sw, false, RST | ACK, 2000);
  // Every flow of the connection goes (idle), then a late RST comes: its flow is the only one.
  for (const c of installed) ctl.flowRemoved(c, 2500);
  sw.apply(installed.map((c) => deleteByCookie(c)));
  const late = adds(send(ctl, sw, false, RST, 3000).out);
  assert.equal(late.length >= 1, true, 'the late RST gets a flow');
  const closing = ctl.state.conntrack.closingMs;
  assert.deepEqual(ctl.sharing.sweep(2000 + closing - 1, false), [], 'alive within its closing time');
  assert.equal(ctl.state.conntrack.state(key, 2000 + closing - 1), 'established');
  const gone = ctl.sharing.sweep(2000 + closing + 1, false);
  assert.equal(ctl.state.conntrack.state(key, 2000 + closing + 1), 'new', 'gone after it');
  for (const c of late)
    assert.ok(
      gone.some((m) => m.type === 'flow_mod' && m.command === 'delete' && Number(m.cookie) === c),
      'the flow of its RSTs goes with it',
    );
});

test("a peer's word that a connection ended, when it had ended here already, changes nothing", () => {
  const { ctl, key } = world();
  const sw = new FakeOfTable();
  send(ctl, sw, true, SYN, 1000);
  send(ctl, sw, false, RST | ACK, 2000);
  assert.equal(adds(send(ctl, sw, false, RST, 2001).out).length >= 1, true);
  const closing = ctl.state.conntrack.closingMs;
  const ended = [{ key, expiresAt: 2500 + closing, ended: true }];
  assert.deepEqual(ctl.sharing.apply([], ended, 2500), [], 'no flow of the connection deleted');
  ctl.sharing.sweep(2000 + closing + 1, false);
  assert.equal(ctl.state.conntrack.state(key, 2000 + closing + 1), 'new', 'its closing time not restarted');
});

test('a SYN on the 5-tuple of a connection in its closing time opens it again, here and at a peer', () => {
  const { ctl, key } = world();
  const sw = new FakeOfTable();
  send(ctl, sw, true, SYN, 1000);
  send(ctl, sw, false, RST | ACK, 2000);
  const lateRst = adds(send(ctl, sw, false, RST, 2001).out);
  assert.ok(lateRst.length >= 1, 'the late RST has its flow');
  assert.equal(ctl.state.conntrack.ended(key, 2500), true);
  const again = send(ctl, sw, true, SYN, 2500);
  assert.ok(again.missed, 'the new SYN comes to the agent');
  assert.equal(ctl.state.conntrack.ended(key, 2500), false, 'the connection is open again');
  assert.ok(adds(again.out).length >= 1, 'the new SYN gets its flow');
  for (const c of lateRst)
    assert.ok(
      again.out.some((m) => m.type === 'flow_mod' && m.command === 'delete' && Number(m.cookie) === c),
      'the flow that read the connection as ended goes',
    );
  const closing = ctl.state.conntrack.closingMs;
  ctl.sharing.sweep(2000 + closing + 1, false);
  assert.equal(
    ctl.state.conntrack.state(key, 2000 + closing + 1),
    'established',
    'past the old closing time',
  );
  // A peer that saw it end learns it opened again from the entry the opening host shares.
  const peer = world();
  peer.ctl.sharing.apply([], [{ key, expiresAt: 1000 + 60_000, ended: false }], 1000);
  peer.ctl.sharing.apply([], [{ key, expiresAt: 2000 + closing, ended: true }], 2000);
  assert.equal(peer.ctl.state.conntrack.ended(key, 2500), true);
  peer.ctl.sharing.apply([], [{ key, expiresAt: 2500 + 60_000, ended: false }], 2500);
  assert.equal(peer.ctl.state.conntrack.ended(key, 2500), false, 'open again at the peer');
});

test('an IPv6 TCP connection through a stateful router ends with its RST and opens again with a SYN', () => {
  const { ctl } = world(true);
  const sw = new FakeOfTable();
  const go = (fwd: boolean, flags: number) => send(ctl, sw, fwd, flags, 1000, tcp6);
  assert.ok(adds(go(true, SYN).out).length >= 1, 'the SYN gets its flow');
  assert.equal(go(true, ACK).missed, false, 'later segments stay in the switch');
  const rst = go(false, RST | ACK);
  assert.ok(rst.missed, 'an RST misses the flows: it comes to the agent');
  assert.deepEqual(adds(rst.out), [], 'and ends the connection (no flow)');
  const key = ctl.state.conntrack.entries(1000)[0]?.key ?? '';
  assert.match(key, /\[2001:db8:1::10\]:5000>\[2001:db8:2::10\]:5201$/);
  assert.equal(ctl.state.conntrack.ended(key, 1000), true);
  assert.ok(go(true, SYN).missed, 'a new SYN reaches the agent');
  assert.equal(ctl.state.conntrack.ended(key, 1000), false, 'and opens it again');
});
