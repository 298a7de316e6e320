/**
 * The load balancer over IPv6 in the simulation: a connection to an IPv6 VIP goes to an IPv6 member
 * (the destination address and port rewritten whole, exact on the 5-tuple), the choice is a NAT
 * binding with an IPv6 address that peers and the store carry, replies leave with the VIP as their
 * source, a member going down takes it out, and the router answers neighbour solicitations for the
 * VIP. Topology: the standard one made dual stack, the VIP on r1's right-hand /64 (vm3, the client),
 * members vm1 and vm2 on the left.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatIpv6, macToNumber, parseIpv6 } from '../../src/addr.js';
import { FlowStateSync } from '../../src/agent/flow-state-sync.js';
import { decodePeerMessage, encodePeerMessage } from '../../src/agent/peer-codec.js';
import { translateActions } from '../../src/agent/translate.js';
import type { PacketFields } from '../../src/sim/packet-fields.js';
import { formatAction, formatMask, portNamer, simulate, type SimDone } from '../../src/sim/index.js';
import { natKey6, reverseOfForward } from '../../src/sim/nat.js';
import { MemoryRuntimeState } from '../../src/sim/runtime-state.js';
import { conntrackKeyOf } from '../../src/sim/rule-match.js';
import { reverseKey } from '../../src/sim/flow-state.js';
import { renderTrace } from '../../src/sim/trace.js';
import { Tags } from '../../src/sim/tags.js';
import type { Obj } from '../../src/state/model.js';
import { MAC, packet, standardBuilder, standardState } from '../support/scenario.js';

const VIP = '2001:db8:2::100';
const IP6 = { vm1: '2001:db8:1::10', vm2: '2001:db8:1::11', vm3: '2001:db8:2::10' };

interface World {
  b: ReturnType<typeof standardBuilder>;
  t: ReturnType<ReturnType<typeof standardBuilder>['build']>;
  s: MemoryRuntimeState;
  members: Obj<'pool-member'>[];
}

function world(opts: { weights?: number[]; down?: number; sticky?: boolean } = {}): World {
  const b = standardBuilder();
  b.set(b.id('r1-left'), { address6: '2001:db8:1::1/64' });
  b.set(b.id('r1-right'), { address6: '2001:db8:2::1/64' });
  const lb = b.add('load-balancer', { name: 'lb6', routerId: b.id('r1') });
  const pool = b.add('pool', { name: 'web6', loadBalancerId: lb.id });
  b.add('vip', {
    name: 'web6-vip',
    loadBalancerId: lb.id,
    poolId: pool.id,
    address: VIP,
    port: 80,
    sessionPersistence: opts.sticky === true ? 'source-ip' : 'none',
  });
  const weights = opts.weights ?? [1, 1];
  const members = [IP6.vm1, IP6.vm2].map((address, i) =>
    b.add('pool-member', {
      name: `m${i + 1}`,
      poolId: pool.id,
      address,
      port: 8080,
      weight: weights[i],
      status: opts.down === i ? 'down' : 'up',
    }),
  );
  b.add('health-monitor', { name: 'web6-hm', poolId: pool.id });
  const t = b.build();
  const s = standardState(b);
  const r1 = b.id('r1');
  s.nd.learn(r1, parseIpv6(IP6.vm1)!, macToNumber(MAC.vm1), 0);
  s.nd.learn(r1, parseIpv6(IP6.vm2)!, macToNumber(MAC.vm2), 0);
  s.nd.learn(r1, parseIpv6(IP6.vm3)!, macToNumber(MAC.vm3), 0);
  return { b, t, s, members };
}

function toVip(sport: number, extra: Partial<PacketFields> = {}): PacketFields {
  return {
    srcMac: MAC.vm3,
    dstMac: MAC.rRight,
    ethertype: 0x86dd,
    srcIp6: IP6.vm3,
    dstIp6: VIP,
    proto: 'tcp',
    tcpFlags: 0x02,
    srcPort: sport,
    dstPort: 80,
    ...extra,
  };
}

/** vm1's (member m1's) reply from :8080 to the client's port. */
function fromMember(dport: number): PacketFields {
  return {
    srcMac: MAC.vm1,
    dstMac: MAC.rLeft,
    ethertype: 0x86dd,
    srcIp6: IP6.vm1,
    dstIp6: IP6.vm3,
    proto: 'tcp',
    tcpFlags: 0x12,
    srcPort: 8080,
    dstPort: dport,
  };
}

function run(w: World, p: PacketFields, inPort: string, trace = false, s: MemoryRuntimeState = w.s): SimDone {
  const r = simulate(w.t, packet(p), w.b.id(inPort), 0, { state: s, trace });
  assert.equal(r.kind, 'done', JSON.stringify(r));
  return r;
}

function actions(w: World, r: SimDone): string {
  return r.actions.map((a) => formatAction(a, portNamer(w.t))).join(', ');
}

/** The member (index) a first packet chose; commits its effects. */
function choose(w: World, sport: number): number {
  const r = run(w, toVip(sport), 'vm3');
  w.s.commit(r.effects, 0);
  const set = r.actions.find((a) => a.kind === 'setField6' && a.field === 'ipv6_dst');
  assert.ok(set !== undefined && set.kind === 'setField6', actions(w, r));
  return w.members.findIndex((m) => m.address === formatIpv6(set.value));
}

describe('simulate: load balancer over IPv6', () => {
  it('translates the first packet to a member, exact on the 5-tuple, and records an IPv6 binding', () => {
    const w = world();
    const r = run(w, toVip(30000), 'vm3', true);
    assert.equal(
      actions(w, r),
      'set_field:02:00:00:00:01:01->eth_src, set_field:02:00:00:00:00:01->eth_dst, ' +
        'set_field:8080->tp_dst, set_field:2001:db8:1::10->ipv6_dst, dec_ttl, output:vm1',
    );
    assert.ok(r.cacheable, 'later packets are handled by the installed flow');
    const mask = formatMask(r.mask, r.packet, 'vm3');
    assert.match(mask, /ipv6_src=2001:db8:2::10 /);
    assert.match(mask, /ipv6_dst=2001:db8:2::100 /);
    assert.match(mask, /tp_src=30000 tp_dst=80/);
    const created = r.effects.find((e) => e.kind === 'natCreated');
    assert.ok(created !== undefined && created.kind === 'natCreated');
    assert.equal(
      created.forwardKey,
      natKey6(w.b.id('r1'), 'd', 6, parseIpv6(IP6.vm3)!, 30000, parseIpv6(VIP)!, 80),
    );
    assert.deepEqual(created.forward, { ip: 0, port: 8080, ip6: parseIpv6(IP6.vm1) });
    assert.deepEqual(created.reverse, { ip: 0, port: 80, ip6: parseIpv6(VIP) });
    assert.equal(reverseOfForward(created.forwardKey, created.forward), created.reverseKey);
    assert.equal(created.lbMember, w.members[0]!.id);
    assert.ok(r.tags.includes(Tags.of('lb-member', w.members[0]!.id)));
    assert.ok(!r.tags.includes(Tags.of('lb-member', w.members[1]!.id)));
    assert.match(
      renderTrace(r),
      /load balancer lb6: VIP web6-vip \[2001:db8:2::100\]:80: new connection, member m1 \[2001:db8:1::10\]:8080 by round robin/,
    );
  });

  it('round robin with weights 3:1 splits 400 connections 300:100; a known connection keeps its member', () => {
    const w = world({ weights: [3, 1] });
    const counts = [0, 0];
    for (let i = 0; i < 400; i++) counts[choose(w, 20000 + i)]!++;
    assert.deepEqual(counts, [300, 100]);
    const first = choose(w, 20001);
    assert.equal(first, 0, 'port 20001 chose m1 (position 1 of 3:1) and keeps it');
    const again = run(w, toVip(20001), 'vm3');
    assert.ok(again.effects.some((e) => e.kind === 'natCreated' && e.lbMember === undefined));
  });

  it("the member's reply leaves with the VIP and port 80 as its source", () => {
    const w = world();
    w.s.commit(run(w, toVip(30001), 'vm3').effects, 0);
    const reply = run(w, fromMember(30001), 'vm1', true);
    assert.equal(
      actions(w, reply),
      'set_field:02:00:00:00:01:02->eth_src, set_field:02:00:00:00:00:03->eth_dst, ' +
        'set_field:80->tp_src, set_field:2001:db8:2::100->ipv6_src, dec_ttl, output:vm3',
    );
    assert.match(renderTrace(reply), /reply from member m1, source back to 2001:db8:2::100:80/);
  });

  it('a member that is down gets no new connection; its known connections choose again', () => {
    const up = world();
    up.s.commit(run(up, toVip(30002), 'vm3').effects, 0);
    const w = world({ down: 0 });
    w.s = up.s; // the binding to m1 made while it was up
    const r = run(w, toVip(30002), 'vm3', true);
    assert.match(actions(w, r), /set_field:2001:db8:1::11->ipv6_dst/);
    assert.match(renderTrace(r), /no longer usable; choosing again/);
    for (let i = 0; i < 10; i++) assert.equal(choose(w, 31000 + i), 1);
  });

  it('no usable member: dropped without a flow', () => {
    const w = world({ weights: [0, 0] });
    const r = run(w, toVip(30003), 'vm3');
    assert.match(actions(w, r), /drop\(VIP web6-vip: pool web6 has no healthy member\)/);
    assert.equal(r.cacheable, false);
  });

  it('source-ip persistence keeps a client on one member across connections', () => {
    const w = world({ sticky: true });
    const firsts = new Set<number>();
    for (let i = 0; i < 20; i++) firsts.add(choose(w, 32000 + i));
    assert.equal(firsts.size, 1);
  });

  it('the router answers a neighbour solicitation for the VIP on its subnet with its own MAC', () => {
    const w = world();
    const ns = run(
      w,
      {
        srcMac: MAC.vm3,
        dstMac: '33:33:ff:00:01:00',
        ethertype: 0x86dd,
        srcIp6: IP6.vm3,
        dstIp6: 'ff02::1:ff00:100',
        proto: 'icmp',
        icmpType: 135,
        icmpCode: 0,
        ndTarget: VIP,
        ttl: 255,
      },
      'vm3',
    );
    const emit = ns.actions.find((a) => a.kind === 'emit');
    assert.ok(emit !== undefined && emit.kind === 'emit', actions(w, ns));
    assert.equal(emit.packet.icmpType, 136);
    assert.equal(emit.packet.srcMac, MAC.rRight);
  });

  it('the binding travels to a peer (wire and store forms) and serves the reply there', () => {
    const w = world();
    const r = run(w, toVip(30004), 'vm3');
    const sync = new FlowStateSync('hv1', w.s, () => w.t);
    const out = sync.outgoing(r.effects, ['hv2'], 1000);
    assert.ok(out !== undefined);
    const bytes = encodePeerMessage(out.msg);
    assert.equal(bytes[2], 2, 'a message with an IPv6 binding has the family byte (version 2)');
    const dec = decodePeerMessage(bytes);
    assert.ok(dec.ok && dec.msg.kind === 'flowState', JSON.stringify(dec));
    assert.deepEqual(dec.msg, out.msg);
    // The store's form of the same entries comes back the same.
    if (out.msg.kind !== 'flowState') return;
    const back = sync.fromStore(sync.toStore(out.msg.nat, out.msg.ct));
    assert.deepEqual(back.nat, out.msg.nat);
    // Another host with only the shared state translates the member's reply back to the VIP.
    const other = standardState(w.b);
    other.nd.learn(w.b.id('r1'), parseIpv6(IP6.vm3)!, macToNumber(MAC.vm3), 0);
    const tags = new FlowStateSync('hv2', other, () => w.t).apply(dec.msg.nat, dec.msg.ct, 1000);
    assert.equal(tags.length, 2);
    const reply = run(w, fromMember(30004), 'vm1', false, other);
    assert.match(actions(w, reply), /set_field:80->tp_src, set_field:2001:db8:2::100->ipv6_src/);
  });

  it('the agent turns the IPv6 rewrite into set_field ipv6_dst (OVS fixes the L4 checksum)', () => {
    const w = world();
    const r = run(w, toVip(30005), 'vm3');
    const t = translateActions(r.actions, r.packet, 3, () => ({ kind: 'local', ofport: 1 }));
    assert.deepEqual(
      t.actions.filter((a) => a.type === 'set_field' && a.field.field.startsWith('ipv6')),
      [{ type: 'set_field', field: { field: 'ipv6_dst', value: '2001:db8:1::10' } }],
    );
  });

  it('conntrack keys IPv6 connections by their 5-tuple; the reply has the reverse key', () => {
    const fwd = packet(toVip(40000));
    const other = packet(toVip(40001));
    const back = packet(toVip(80, { srcIp6: VIP, dstIp6: IP6.vm3, dstPort: 40000 }));
    const k = conntrackKeyOf(fwd, 'z');
    assert.equal(k, 'z|6/[2001:db8:2::10]:40000>[2001:db8:2::100]:80');
    assert.notEqual(conntrackKeyOf(other, 'z'), k);
    assert.equal(conntrackKeyOf(back, 'z'), reverseKey(k));
  });

  it("a balancer made after a member's flows were installed invalidates them (its reply flow would keep the member's source)", () => {
    const b = standardBuilder();
    b.set(b.id('r1-left'), { address6: '2001:db8:1::1/64' });
    b.set(b.id('r1-right'), { address6: '2001:db8:2::1/64' });
    const t = b.build();
    const s = standardState(b);
    s.nd.learn(b.id('r1'), parseIpv6(IP6.vm3)!, macToNumber(MAC.vm3), 0);
    const reply = fromMember(30010);
    const before = simulate(t, packet(reply), b.id('vm1'), 0, { state: s });
    assert.equal(before.kind, 'done');
    const lb = b.add('load-balancer', { name: 'lb6', routerId: b.id('r1') });
    const tags = t.apply([{ op: 'create', kind: 'load-balancer', object: lb }]);
    assert.ok(
      before.tags.some((x) => tags.includes(x)),
      `the new balancer's tags ${tags.join(' ')} reach the flow made without it`,
    );
  });
});
