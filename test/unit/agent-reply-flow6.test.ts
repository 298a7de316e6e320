/**
 * The predicted reply over IPv6 (reply-flow.ts): the reply's headers for UDP, ICMPv6 echo and a
 * unicast neighbour solicitation, what is not predicted, and, through the controller and a fake
 * switch, the reply's flow installed with the forward one on a bridge, across a router (where the
 * reply needs a neighbour the router solicits at once) and on the egress host of another agent; the
 * reply's flow goes when the MAC entry it read changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerSender } from '../../src/agent/controller.js';
import { decodePeerMessage, encodePeerMessage, type PeerMessage } from '../../src/agent/peer-codec.js';
import { predictReply } from '../../src/agent/reply-flow.js';
import {
  ETH_DST_HI,
  ETH_DST_LO,
  ETH_SRC_HI,
  ETH_SRC_LO,
  FlowMatch,
  IP_TTL,
} from '../../src/sim/flow-match.js';
import { buildFlowMatch, packetFieldsOf, type PacketFields } from '../../src/sim/packet-fields.js';
import type { Action, SimDone } from '../../src/sim/result.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { bridgeWorld, HOST, OTHER } from '../support/bridge-world.js';
import { HV1, RR, VM1, VM3, controllerOn, nd, routedV6, udp6, udp6Frame, v6 } from '../support/ipv6-world.js';
import { packetIn as pin } from '../support/packet-in.js';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const C = '02:00:00:00:00:03';
const IP_A = '2001:db8::a';
const IP_B = '2001:db8::b';

function fields(p: PacketFields): FlowMatch {
  const r = buildFlowMatch({ ethertype: 0x86dd, ...p });
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.match;
}

/** A forward result: `p` entering port 'in', leaving through 'out' after `actions`. */
function done(p: PacketFields, extra: Partial<SimDone> = {}, actions: readonly Action[] = []): SimDone {
  const m = fields(p);
  return {
    kind: 'done',
    actions: [...actions, { kind: 'output', portId: 'out' }],
    mask: m.mask.slice(),
    packet: m.orig.slice(),
    inPort: 'in',
    tags: [],
    effects: [],
    cacheable: true,
    uncacheableReason: null,
    ttlHops: 0,
    flooded: false,
    trace: null,
    ...extra,
  };
}

/** The predicted reply's fields, or undefined; `into` must stay untouched when nothing is predicted. */
function predict(res: SimDone): PacketFields | undefined {
  const into = new FlowMatch();
  into.orig.fill(7);
  const port = predictReply(res, into);
  if (port === undefined) {
    assert.ok(
      into.orig.every((v) => v === 7),
      'nothing predicted, nothing written',
    );
    return undefined;
  }
  assert.equal(port, 'out', 'the reply enters where the forward packet left');
  return packetFieldsOf(into);
}

const udp: PacketFields = {
  srcMac: A,
  dstMac: B,
  srcIp6: IP_A,
  dstIp6: IP_B,
  proto: 'udp',
  srcPort: 4000,
  dstPort: 53,
  tos: 0x20,
};

test('IPv6 UDP: the reply swaps MACs, addresses and ports and keeps the traffic class', () => {
  const r = predict(done(udp));
  assert.ok(r);
  assert.equal(r.ethertype, 0x86dd);
  assert.deepEqual(
    [r.srcMac, r.dstMac, r.srcIp6, r.dstIp6, r.proto, r.srcPort, r.dstPort, r.tos],
    [B, A, IP_B, IP_A, 17, 53, 4000, 0x20],
  );
  assert.equal(r.srcIp, '0.0.0.0', 'no IPv4 address on an IPv6 reply');
});

test('the reply is predicted from the headers at the egress: a rewritten MAC is the reply destination', () => {
  const routed = done(udp, {}, [
    { kind: 'setField', field: 'eth_src', value: 0x020000000101 },
    { kind: 'setField', field: 'eth_dst', value: 0x020000000003 },
    { kind: 'decTtl' },
  ]);
  const r = predict(routed);
  assert.ok(r);
  assert.deepEqual([r.srcMac, r.dstMac], [C, '02:00:00:00:01:01']);
});

test('IPv6 TCP: a SYN is answered by SYN+ACK', () => {
  const r = predict(done({ ...udp, proto: 'tcp', tcpFlags: ['syn'] }));
  assert.ok(r);
  assert.equal(r.proto, 6);
  assert.equal(r.tcpFlags, 0x12);
});

test('ICMPv6: an echo request is answered by an echo reply', () => {
  const r = predict(done({ ...udp, proto: 58, srcPort: undefined, dstPort: undefined, icmpType: 128 }));
  assert.ok(r);
  assert.deepEqual([r.proto, r.icmpType, r.icmpCode, r.srcIp6, r.dstIp6], [58, 129, 0, IP_B, IP_A]);
});

test('a unicast neighbour solicitation is answered by its target, to the solicitor, hop limit 255', () => {
  const ns: PacketFields = {
    srcMac: A,
    dstMac: B,
    srcIp6: IP_A,
    dstIp6: IP_B,
    proto: 58,
    icmpType: 135,
    ndTarget: '2001:db8::bb',
    ttl: 255,
  };
  const r = predict(done(ns));
  assert.ok(r);
  assert.deepEqual(
    [r.srcMac, r.dstMac, r.icmpType, r.ndTarget, r.srcIp6, r.dstIp6, r.ttl],
    [B, A, 136, '2001:db8::bb', '2001:db8::bb', IP_A, 255],
  );
  // Duplicate address detection (from ::) is answered to all nodes: no single destination.
  assert.equal(predict(done({ ...ns, srcIp6: '::' })), undefined);
});

test('not predicted: other ICMPv6, advertisements, fragments, floods, uncacheable results, two egresses', () => {
  const icmp6 = { ...udp, proto: 58, srcPort: undefined, dstPort: undefined };
  assert.equal(predict(done({ ...icmp6, icmpType: 129 })), undefined, 'an echo reply');
  assert.equal(predict(done({ ...icmp6, icmpType: 133 })), undefined, 'a router solicitation');
  assert.equal(predict(done({ ...icmp6, icmpType: 136, ndTarget: IP_A })), undefined, 'an advertisement');
  assert.equal(predict(done({ ...icmp6, icmpType: 8 })), undefined, 'ICMPv4 echo type over IPv6');
  assert.equal(predict(done({ ...udp, fragment: 'first' })), undefined, 'a fragment');
  assert.equal(predict(done(udp, { flooded: true })), undefined, 'a flood');
  assert.equal(predict(done(udp, { cacheable: false })), undefined, 'uncacheable');
  assert.equal(predict(done(udp, {}, [{ kind: 'output', portId: 'other' }])), undefined, 'two egresses');
  assert.equal(predict(done({ ...udp, proto: 132 })), undefined, 'SCTP');
});

test('IPv4 stays as it was: ICMP echo reply with IPv4 addresses, ICMPv6 types not taken for ICMP', () => {
  const v4: PacketFields = {
    ethertype: 0x0800,
    srcMac: A,
    dstMac: B,
    srcIp: '192.0.2.1',
    dstIp: '192.0.2.2',
  };
  const r = predict(done({ ...v4, proto: 'icmp', icmpType: 8 }));
  assert.ok(r);
  assert.deepEqual([r.ethertype, r.srcIp, r.dstIp, r.icmpType], [0x0800, '192.0.2.2', '192.0.2.1', 0]);
  assert.equal(predict(done({ ...v4, proto: 'icmp', icmpType: 128 })), undefined);
});

// ---- through the controller ------------------------------------------------------------------------

const udpFrame = udp6Frame;

test('a bridge: the IPv6 reply never reaches the controller, and goes when its MAC entry changes', () => {
  const { ctl } = bridgeWorld();
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(pin(udpFrame(B, A, IP_B, IP_A, 1, 2), 2), 1000)); // B learned on p2
  sw.apply(ctl.packetIn(pin(udpFrame(A, B, IP_A, IP_B, 4000, 53), 1), 1001));
  assert.equal(ctl.stats.replyFlows, 1);
  const reply = udpFrame(B, A, IP_B, IP_A, 53, 4000);
  assert.deepEqual(sw.outPorts(2, reply), [1], 'the reply rides its predicted flow');
  // The ICMPv6 echo of the same pair, and the neighbour advertisement answering a unicast solicitation
  // (vm A checking B is still there), ride the same flows: a bridge reads MACs.
  const na = nd(136, IP_B, IP_B, IP_A, B, A);
  assert.deepEqual(sw.outPorts(2, na), [1]);
  // A moves to p2: the reply's flow read A's MAC entry, so it goes.
  sw.apply(ctl.packetIn(pin(udpFrame(A, B, IP_A, IP_B, 4001, 53), 2), 1002));
  assert.notDeepEqual(sw.outPorts(2, reply), [1], 'no flow sends B -> A to the old port');
});

test('a unicast neighbour solicitation as a first packet brings the advertisement flow along', () => {
  const { ctl } = bridgeWorld();
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(pin(udpFrame(B, A, IP_B, IP_A, 1, 2), 2), 1000));
  sw.apply(ctl.packetIn(pin(nd(135, IP_B, IP_A, IP_B, A, B), 1), 1001));
  assert.equal(ctl.stats.replyFlows, 1);
  assert.deepEqual(sw.outPorts(2, nd(136, IP_B, IP_B, IP_A, B, A)), [1]);
});

const routedReply = (dport: number) =>
  v6('2001:db8:2::10', '2001:db8:1::10', VM3, RR, {
    kind: 'udp',
    srcPort: 53,
    dstPort: dport,
    payload: { kind: 'raw', bytes: new Uint8Array(8) },
  });
/** vm3's answer to the router's solicitation for it. */
const vm3Advert = () => nd(136, '2001:db8:2::10', '2001:db8:2::10', '2001:db8:2::1', VM3, RR);

test('across a router: a neighbour the reply needs is solicited while the forward packet travels', () => {
  const ctl = controllerOn(routedV6(HV1).topo, HV1, { tap1: 1, tap3: 3, 'tun-gre': 10 });
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(pin(udp6(), 1), 1000)); // held: the router solicits vm3
  sw.apply(ctl.packetIn(pin(vm3Advert(), 3), 1001)); // released; the router does not know vm1
  assert.equal(ctl.stats.replyFlows, 0, 'no reply flow before vm1 is resolved');
  const toVm1 = sw.packetOuts.filter((p) => p.actions.some((a) => a.type === 'output' && a.port === 1));
  assert.equal(toVm1.length, 1, 'the router solicits vm1 at once');
});

test('across a router: the reply is routed by its predicted flow', () => {
  const ctl = controllerOn(routedV6(HV1).topo, HV1, { tap1: 1, tap3: 3, 'tun-gre': 10 });
  const sw = new FakeOfTable();
  // vm1 resolves its gateway (the bridge answers; the router learns vm1), then sends.
  const solicit = nd(135, '2001:db8:1::1', '2001:db8:1::10', 'ff02::1:ff00:1', VM1, '33:33:ff:00:00:01');
  sw.apply(ctl.packetIn(pin(solicit, 1), 999));
  sw.apply(ctl.packetIn(pin(udp6(), 1), 1000));
  sw.apply(ctl.packetIn(pin(vm3Advert(), 3), 1001));
  assert.equal(ctl.stats.replyFlows, 1);
  const r = sw.process(3, routedReply(5000));
  assert.ok(r.kind === 'flow' && r.outputs.length === 1, `a flow with one output, got ${r.kind}`);
  assert.equal(r.outputs[0]!.port, 1);
  const h = r.outputs[0]!.headers;
  assert.equal(h[ETH_SRC_HI]! * 0x100000000 + h[ETH_SRC_LO]!, 0x020000000101, "from the router's left port");
  assert.equal(h[ETH_DST_HI]! * 0x100000000 + h[ETH_DST_LO]!, 0x020000000001, 'to vm1');
  assert.equal(h[IP_TTL], 63, 'hop limit decremented');
});

test("across hosts: the egress host's agent installs the reply's flow it is asked for", () => {
  const { b } = bridgeWorld();
  const told: PeerMessage[] = [];
  const said: PeerMessage[] = [];
  const peers: PeerSender = {
    send: (_host, m) => {
      told.push(m);
      return true;
    },
    broadcast: (m) => void said.push(m),
  };
  const hv1 = controllerOn(b.build(), HOST, { tap1: 1, tap2: 2, 'tun-gre': 10 }, { peers });
  const hv2 = controllerOn(b.build(), OTHER, { tap3: 3, 'tun-gre': 10 }, { peers });
  // C (on hv2) is learned there and the news reaches hv1; A's news reaches hv2 the same way.
  hv2.packetIn(pin(udpFrame(C, A, '2001:db8::c', IP_A, 1, 2), 3), 1000);
  for (const m of said.splice(0)) if (m.kind === 'learned') hv1.applyLearned(m.entries, 1001);
  const sw1 = new FakeOfTable().apply(
    hv1.packetIn(pin(udpFrame(A, C, IP_A, '2001:db8::c', 4000, 53), 1), 1002),
  );
  for (const m of said.splice(0)) if (m.kind === 'learned') hv2.applyLearned(m.entries, 1003);
  assert.deepEqual(sw1.outPorts(1, udpFrame(A, C, IP_A, '2001:db8::c', 4000, 53)), [10], 'out on the tunnel');
  const ask = told.find((m) => m.kind === 'replyFlow');
  assert.ok(ask && ask.kind === 'replyFlow', 'hv1 asks hv2 for the reply flow');
  assert.equal(hv1.stats.replyFlowRequests, 1);
  const got = decodePeerMessage(encodePeerMessage(ask));
  assert.ok(got.ok && got.msg.kind === 'replyFlow');
  const sw2 = new FakeOfTable().apply(hv2.remoteReply(got.msg.portId, got.msg.packet, 1004));
  assert.equal(hv2.stats.replyFlows, 1);
  assert.deepEqual(
    sw2.outPorts(3, udpFrame(C, A, '2001:db8::c', IP_A, 53, 4000)),
    [10],
    'the reply goes back',
  );
});
