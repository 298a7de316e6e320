/**
 * Publication of learned state through a store outage (learned-sync.ts): an entry the store did not
 * take stays pending and is taken again after a back-off (100 ms doubling to 1 s); the newest value of
 * a key wins, also over a publication in flight; the pending table is bounded (oldest dropped,
 * counted); expired entries are not published; an ARP entry goes to the other agents every time it is
 * learned, while the store gets it only when it changed or aged; another host's newer entry replaces
 * one of this host's that still waits. IPv6 neighbours (the `nd` table) go the same way, and one
 * learned on another host releases the packet held here for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerSender } from '../../src/agent/controller.js';
import { LearnedSync, type LearnedCounters } from '../../src/agent/learned-sync.js';
import { decodePeerMessage, encodePeerMessage, type PeerMessage } from '../../src/agent/peer-codec.js';
import { parseIpv6 } from '../../src/addr.js';
import type { Effect } from '../../src/sim/result.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { HV1, HV2, RR, VM3, controllerOn, nd, routedV6, udp6 } from '../support/ipv6-world.js';
import { packetIn as pin } from '../support/packet-in.js';

const HOST = 'hv1';
const mac = (n: number, port = 'p1'): Effect => ({
  kind: 'macLearned',
  bridgeId: 'br',
  vlan: 0,
  mac: n,
  portId: port,
});
const arp = (ip: number, m = 0xaa): Effect => ({ kind: 'arpLearned', routerId: 'r', ip, mac: m });

function sync(maxPending = 100): { s: LearnedSync; c: LearnedCounters } {
  const c: LearnedCounters = { learnedUnpublished: 0, learnedPublishFailures: 0, learnedDropped: 0 };
  return { s: new LearnedSync(HOST, { mac: 300_000, arp: 600_000, nd: 300_000 }, c, maxPending), c };
}

test('a publication the store did not take is kept and taken again after a back-off, until it succeeds', () => {
  const { s, c } = sync();
  s.offer([mac(1), arp(0xc0000201)], 0);
  const first = s.take(0)!;
  assert.equal(first.length, 2);
  assert.equal(s.take(1), undefined, 'one publication in flight at a time');
  s.settle(first, false, 10);
  assert.equal(c.learnedPublishFailures, 1);
  assert.equal(s.take(50), undefined, 'not before the back-off');
  const again = s.take(110)!;
  assert.deepEqual(again, first, 'the same entries, nothing lost');
  s.settle(again, false, 110);
  assert.equal(s.take(250), undefined, 'the back-off doubled (200 ms)');
  // 400, 800, then 1000 ms: the back-off stops growing at 1 s.
  let t = 310;
  for (const wait of [400, 800, 1000, 1000]) {
    s.settle(s.take(t)!, false, t);
    assert.equal(s.take(t + wait - 1), undefined, `no retry within ${wait} ms`);
    t += wait;
  }
  const last = s.take(t)!;
  assert.equal(last.length, 2);
  assert.equal(s.settle(last, true, t), true, 'a success after failures says the store is back');
  assert.equal(s.take(t), undefined, 'nothing left');
  assert.equal(c.learnedUnpublished, 0);
});

test('the newest value of a key wins, also over the publication in flight', () => {
  const { s } = sync();
  s.offer([mac(1, 'p1')], 0);
  const inFlight = s.take(0)!;
  s.offer([mac(1, 'p2')], 5); // the MAC moved while the first value was being published
  s.settle(inFlight, true, 6);
  const next = s.take(6)!;
  assert.deepEqual(
    next.map((e) => e.value),
    ['p2'],
    'the newer value is still to publish',
  );
  s.settle(next, true, 7);
  s.offer([mac(2, 'p1')], 8);
  const failed = s.take(8)!;
  s.offer([mac(2, 'p3')], 9);
  s.settle(failed, false, 9);
  assert.deepEqual(
    s.take(200)!.map((e) => e.value),
    ['p3'],
    'after a failure only the newest value waits',
  );
});

test('the pending table is bounded: the oldest entry goes first, counted', () => {
  const { s, c } = sync(3);
  s.offer([mac(1), mac(2), mac(3), mac(4)], 0);
  assert.equal(c.learnedDropped, 1);
  assert.equal(c.learnedUnpublished, 3);
  assert.deepEqual(
    s.take(0)!.map((e) => e.key),
    ['2', '3', '4'],
  );
});

test('an entry that expired while it waited is not published', () => {
  const { s, c } = sync();
  s.queue([{ table: 'nat', scope: 'r', key: 'k', value: 'v', origin: HOST, expiresAt: 1000 }]);
  s.offer([mac(1)], 0);
  const b = s.take(0)!;
  s.settle(b, false, 0);
  assert.deepEqual(
    s.take(2000)!.map((e) => e.table),
    ['mac'],
  );
  assert.equal(c.learnedUnpublished, 1);
});

test('an ARP entry goes to the other agents every time it is learned; the store gets it once', () => {
  const { s } = sync();
  assert.equal(s.offer([arp(7), mac(1)], 0).length, 2);
  s.settle(s.take(0)!, true, 0);
  const again = s.offer([arp(7), mac(1)], 1000);
  assert.deepEqual(
    again.map((e) => e.table),
    ['arp'],
    'the ARP entry again, the MAC entry not',
  );
  assert.equal(s.take(1000), undefined, 'nothing new for the store');
});

test("another host's newer entry replaces one of this host's still waiting; an older one does not", () => {
  const { s } = sync();
  s.offer([mac(1, 'p1'), mac(2, 'p1')], 0);
  s.settle(s.take(0)!, false, 0);
  const effects = s.effectsOf(
    [
      { table: 'mac', scope: 'br', key: '1', value: 'p9', origin: 'hv2', expiresAt: 300_000 + 50 },
      { table: 'mac', scope: 'br', key: '2', value: 'p9', origin: 'hv2', expiresAt: 100 },
    ],
    10,
  );
  assert.equal(effects.length, 2, 'both are used here');
  assert.deepEqual(
    s.take(1000)!.map((e) => e.key),
    ['2'],
    "only this host's entry newer than the other's still waits",
  );
});

const ndEffect = (ip: string, m = 0xaa): Effect => ({ kind: 'ndLearned', routerId: 'r', ip, mac: m });

test('an IPv6 neighbour is shared like an ARP entry: to the agents every time, to the store once', () => {
  const { s } = sync();
  const sent = s.offer([ndEffect('2001:db8:2::10')], 0);
  assert.deepEqual(sent, [
    { table: 'nd', scope: 'r', key: '2001:db8:2::10', value: 'aa', origin: HOST, expiresAt: 300_000 },
  ]);
  s.settle(s.take(0)!, true, 0);
  assert.deepEqual(
    s.offer([ndEffect('2001:db8:2::10')], 1000).map((e) => e.table),
    ['nd'],
    'to the agents again',
  );
  assert.equal(s.take(1000), undefined, 'nothing new for the store');
});

test("another agent's neighbour entries become ndLearned effects under the canonical address text", () => {
  const { s } = sync();
  const entry = (key: string) => ({
    table: 'nd' as const,
    scope: 'r',
    key,
    value: '20000000003',
    origin: 'hv2',
    expiresAt: 900_000,
  });
  assert.deepEqual(s.effectsOf([entry('2001:DB8:2:0:0:0:0:10'), entry('not an address')], 10), [
    { kind: 'ndLearned', routerId: 'r', ip: '2001:db8:2::10', mac: 0x20000000003 },
  ]);
  assert.deepEqual(s.effectsOf([{ ...entry('2001:db8:2::10'), origin: HOST }], 10), [], 'not its own');
});

// Two agents (no I/O): a VM on hv1 sends to a VM behind the router on hv2. hv1's router solicits the
// next hop; the advertisement enters hv2's switch, whose agent learns it and tells the others; hv1's
// held packet goes on through the tunnel. Without the `nd` table hv1 never hears of the answer.
function twoAgents() {
  const { topo, r } = routedV6(HV2);
  const agent = (hostId: string, tap: string, ofport: number) => {
    const said: PeerMessage[] = [];
    const peers: PeerSender = { send: () => true, broadcast: (m) => void said.push(m) };
    return { ctl: controllerOn(topo, hostId, { [tap]: ofport, 'tun-gre': 10 }, { peers }), said };
  };
  return { hv1: agent(HV1, 'tap1', 1), hv2: agent(HV2, 'tap3', 3), r };
}

test("a neighbour advertisement that enters another host's switch releases the packet held on this one", () => {
  const { hv1, hv2, r: router } = twoAgents();
  const udp = udp6();
  const first = hv1.ctl.packetIn(pin(udp, 1), 1000);
  assert.equal(first.filter((m) => m.type === 'flow_mod').length, 0, 'held while the next hop is unknown');
  // vm3 answers the solicitation (which reached it through the tunnel) on hv2.
  const na = nd(136, '2001:db8:2::10', '2001:db8:2::10', '2001:db8:2::1', VM3, RR);
  hv2.ctl.packetIn(pin(na, 3), 1100);
  const shared = hv2.said.flatMap((m) => (m.kind === 'learned' ? m.entries : []));
  const entry = shared.find((e) => e.table === 'nd');
  assert.ok(entry, `hv2 tells the other agents of the neighbour: ${JSON.stringify(shared)}`);
  assert.equal(entry.key, '2001:db8:2::10');
  // The message as it travels between agents, then applied on hv1.
  const got = decodePeerMessage(encodePeerMessage({ kind: 'learned', from: HV2, entries: [entry] }));
  assert.ok(got.ok && got.msg.kind === 'learned');
  const out = hv1.ctl.applyLearned(got.msg.entries, 1200);
  const sw = new FakeOfTable().apply(out);
  assert.ok(sw.flows.length > 0, 'the held packet installed its flow');
  const r = sw.process(1, udp);
  assert.ok(
    r.kind === 'flow' && r.outputs.length === 1 && r.outputs[0]!.port === 10,
    'out through the tunnel',
  );
  assert.equal(hv1.ctl.state.nd.lookup(router, parseIpv6('2001:db8:2::10')!, 1200)?.mac, 0x020000000003);
});
