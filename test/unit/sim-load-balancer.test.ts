/**
 * The load balancer in the simulation: a connection to a VIP goes to a member chosen by weights (round
 * robin, 5-tuple hash, source-ip persistence), the choice is a NAT binding so later packets and peers
 * keep it, replies leave with the VIP as their source, and a member going down invalidates exactly
 * the flows that chose it. Topology: the standard one, a VIP on r1's right-hand (uplink-like) subnet,
 * members on the left.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LbConnectionCounts } from '../../src/agent/lb-counts.js';
import { macToNumber, parseIpv4 } from '../../src/addr.js';
import { simulate, type SimDone } from '../../src/sim/index.js';
import { renderTrace } from '../../src/sim/trace.js';
import { Tags } from '../../src/sim/tags.js';
import type { Obj } from '../../src/state/model.js';
import { IP, MAC, packet, standardBuilder, standardState } from '../support/scenario.js';

const VIP = '198.51.100.100';
const M3 = '192.0.2.12';

interface World {
  b: ReturnType<typeof standardBuilder>;
  t: ReturnType<ReturnType<typeof standardBuilder>['build']>;
  s: ReturnType<typeof standardState>;
  members: Obj<'pool-member'>[];
}

function lbWorld(
  opts: { weights?: number[]; algorithm?: 'round-robin' | 'hash'; sticky?: boolean } = {},
): World {
  const b = standardBuilder();
  const lb = b.add('load-balancer', { name: 'lb1', routerId: b.id('r1') });
  const pool = b.add('pool', {
    name: 'web',
    loadBalancerId: lb.id,
    algorithm: opts.algorithm ?? 'round-robin',
  });
  b.add('vip', {
    name: 'web-vip',
    loadBalancerId: lb.id,
    poolId: pool.id,
    address: VIP,
    port: 80,
    sessionPersistence: opts.sticky === true ? 'source-ip' : 'none',
  });
  const weights = opts.weights ?? [1, 1, 1];
  const members = [IP.vm1, IP.vm2, M3].map((address, i) =>
    b.add('pool-member', { name: `m${i + 1}`, poolId: pool.id, address, port: 8080, weight: weights[i] }),
  );
  b.add('health-monitor', { name: 'web-hm', poolId: pool.id });
  const t = b.build();
  const s = standardState(b);
  s.arp.learn(b.id('r1'), parseIpv4(M3)!, macToNumber('02:00:00:00:00:0c'), 0);
  return { b, t, s, members };
}

/** A client (vm3) connection to the VIP from `sport` (and `src`). */
function toVip(sport: number, src: string = IP.vm3, tcpFlags = 0x10) {
  return packet({
    tcpFlags,
    srcMac: MAC.vm3,
    dstMac: MAC.rRight,
    srcIp: src,
    dstIp: VIP,
    proto: 'tcp',
    srcPort: sport,
    dstPort: 80,
  });
}

function setFields(r: SimDone): Record<string, number> {
  const set: Record<string, number> = {};
  for (const a of r.actions) if (a.kind === 'setField') set[a.field] = a.value;
  return set;
}

/** Which member (index) a first packet chose; commits its effects. */
function choose(w: World, sport: number, src?: string): number {
  const r = simulate(w.t, toVip(sport, src), w.b.id('vm3'), 0, { state: w.s }) as SimDone;
  assert.equal(r.kind, 'done');
  w.s.commit(r.effects, 0);
  const ip = setFields(r).ip_dst;
  return w.members.findIndex((m) => parseIpv4(m.address) === ip);
}

function split(w: World, n: number, src?: (i: number) => string): number[] {
  const counts = w.members.map(() => 0);
  for (let i = 0; i < n; i++) counts[choose(w, 20000 + i, src?.(i))]!++;
  return counts;
}

describe('simulate: load balancer', () => {
  it('round robin with weights 3:1:0 splits 400 connections 300:100:0', () => {
    assert.deepEqual(split(lbWorld({ weights: [3, 1, 0] }), 400), [300, 100, 0]);
  });

  it('5-tuple hash spreads connections by weight and repeats its choice for the same tuple', () => {
    const w = lbWorld({ algorithm: 'hash', weights: [3, 1, 0] });
    const counts = split(w, 400);
    assert.equal(counts[2], 0);
    assert.ok(Math.abs(counts[0]! / 400 - 0.75) < 0.1, `3:1 within 10 points: ${counts.join(':')}`);
    const again = lbWorld({ algorithm: 'hash', weights: [3, 1, 0] });
    assert.deepEqual(split(again, 400), counts, 'a hash: another host chooses alike');
  });

  it('the first packet is translated to the member, exact on the 5-tuple, and records the binding', () => {
    const w = lbWorld();
    const r = simulate(w.t, toVip(30000), w.b.id('vm3'), 0, { state: w.s, trace: true }) as SimDone;
    const set = setFields(r);
    assert.equal(set.ip_dst, parseIpv4(IP.vm1));
    assert.equal(set.tp_dst, 8080);
    assert.ok(r.actions.some((a) => a.kind === 'output' && a.portId === w.b.id('vm1')));
    assert.ok(r.cacheable, 'later packets are handled by the installed flow');
    const created = r.effects.find((e) => e.kind === 'natCreated');
    assert.ok(created, 'the choice is flow state');
    assert.equal(created.zone, w.b.id('r1'));
    assert.ok(r.tags.includes(Tags.of('lb-member', w.members[0]!.id)), 'tagged with the member it chose');
    assert.ok(!r.tags.includes(Tags.of('lb-member', w.members[1]!.id)), 'not with the others');
    const text = renderTrace(r);
    assert.match(
      text,
      /load balancer lb1: VIP web-vip 198\.51\.100\.100:80: new connection, member m1 192\.0\.2\.10:8080 by round robin/,
    );
  });

  it('a new connection names the member it chose (counted per member by the agent); a known one does not', () => {
    const w = lbWorld({ weights: [3, 1, 0] });
    const counts = new LbConnectionCounts();
    const run = (sport: number) => {
      const r = simulate(w.t, toVip(sport), w.b.id('vm3'), 0, { state: w.s }) as SimDone;
      w.s.commit(r.effects, 0);
      counts.count(r.effects);
      return r;
    };
    for (let i = 0; i < 40; i++) run(21000 + i);
    assert.deepEqual(counts.snapshot(), { [w.members[0]!.id]: 30, [w.members[1]!.id]: 10 });
    const again = run(21000);
    assert.ok(
      again.effects.some((e) => e.kind === 'natCreated' && e.lbMember === undefined),
      'a known connection binds again without naming a choice',
    );
    assert.equal(counts.snapshot()[w.members[0]!.id], 30, 'and is not counted again');
  });

  it('a known connection keeps its member; its reply leaves with the VIP as source', () => {
    const w = lbWorld();
    const first = choose(w, 30000);
    // Another connection moves the rotation on; the first one's later packets stay.
    choose(w, 30001);
    assert.equal(choose(w, 30000), first);
    const member = w.members[first]!;
    const reply = packet({
      srcMac: first === 0 ? MAC.vm1 : MAC.vm2,
      dstMac: MAC.rLeft,
      srcIp: member.address,
      dstIp: IP.vm3,
      proto: 'tcp',
      srcPort: 8080,
      dstPort: 30000,
      tcpFlags: 0x12,
    });
    const back = simulate(w.t, reply, w.b.id(first === 0 ? 'vm1' : 'vm2'), 0, { state: w.s }) as SimDone;
    const set = setFields(back);
    assert.equal(set.ip_src, parseIpv4(VIP));
    assert.equal(set.tp_src, 80);
    assert.ok(back.actions.some((a) => a.kind === 'output' && a.portId === w.b.id('vm3')));
    assert.ok(back.tags.includes(Tags.of('lb-member', member.id)));
  });

  it('a member going down invalidates exactly its flows; its connections move, others stay', () => {
    const w = lbWorld();
    const flows = [30000, 30001, 30002].map(
      (p) => simulate(w.t, toVip(p), w.b.id('vm3'), 0, { state: w.s }) as SimDone,
    );
    for (const f of flows) w.s.commit(f.effects, 0);
    const down = w.members[1]!;
    const tags = w.t.apply([
      { op: 'update', kind: 'pool-member', object: { ...down, status: 'down', version: 2 } },
    ]);
    const hit = flows.filter((f) => f.tags.some((t) => tags.includes(t)));
    assert.equal(hit.length, 1, 'only the flow that chose the member');
    assert.equal(setFields(hit[0]!).ip_dst, parseIpv4(down.address));
    // Its next packet is simulated again and goes to a usable member; the others keep theirs.
    assert.notEqual(choose(w, 30001), 1);
    assert.equal(choose(w, 30000), 0);
    assert.equal(choose(w, 30002), 2);
  });

  it('source-ip persistence: one client, one member; a member down moves only its own clients', () => {
    const w = lbWorld({ sticky: true });
    const clients = Array.from({ length: 40 }, (_, i) => `198.51.100.${20 + i}`);
    const before = clients.map((c, i) => {
      const a = choose(w, 41000 + i, c);
      for (let k = 1; k < 5; k++)
        assert.equal(choose(w, 41000 + i + 100 * k, c), a, 'same client, same member');
      return a;
    });
    assert.ok(new Set(before).size === 3, 'clients are spread over every member');
    const down = w.members[0]!;
    w.t.apply([{ op: 'update', kind: 'pool-member', object: { ...down, status: 'down', version: 2 } }]);
    clients.forEach((c, i) => {
      const now = choose(w, 45000 + i, c);
      if (before[i] === 0) assert.notEqual(now, 0);
      else assert.equal(now, before[i], 'a client of a healthy member keeps it');
    });
  });

  it('a status left by a removed monitor does not keep a member out', () => {
    const w = lbWorld({ weights: [1, 0, 0] });
    const m1 = w.members[0]!;
    w.t.apply([{ op: 'update', kind: 'pool-member', object: { ...m1, status: 'down', version: 2 } }]);
    const none = simulate(w.t, toVip(30000), w.b.id('vm3'), 0, { state: w.s }) as SimDone;
    assert.ok(!none.actions.some((a) => a.kind === 'output'), 'down while monitored');
    assert.ok(!none.cacheable, 'no drop flow: the first member back up gets the next retransmission');
    const hm = w.t.all('health-monitor')[0]!;
    w.t.apply([{ op: 'delete', kind: 'health-monitor', object: hm }]);
    assert.equal(choose(w, 30001), 0, 'chosen again without a monitor');
  });

  it('no usable member: dropped; traffic to other addresses through the router is not touched', () => {
    const w = lbWorld({ weights: [0, 0, 0] });
    const r = simulate(w.t, toVip(30000), w.b.id('vm3'), 0, { state: w.s }) as SimDone;
    assert.ok(!r.actions.some((a) => a.kind === 'output'));
    const other = packet({
      srcMac: MAC.vm3,
      dstMac: MAC.rRight,
      srcIp: IP.vm3,
      dstIp: IP.vm1,
      proto: 'tcp',
      srcPort: 30000,
      dstPort: 80,
    });
    const o = simulate(w.t, other, w.b.id('vm3'), 0, { state: w.s }) as SimDone;
    assert.ok(o.actions.some((a) => a.kind === 'output' && a.portId === w.b.id('vm1')));
    assert.deepEqual(setFields(o).ip_dst, undefined, 'no translation');
    assert.equal(o.effects.filter((e) => e.kind === 'natCreated').length, 0);
  });
});
