/**
 * NAT in the simulation: SNAT of a private network to the router's uplink address and its reverse,
 * DNAT (a port forward) and its reverse, static NAT (a floating IP), connection tracking for a
 * stateful firewall, SNAT ports that never collide, and the masks and tags a translation records.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { simulate, type SimDone } from '../../src/sim/index.js';
import { agreesOnMask } from '../../src/sim/mask.js';
import { Tags } from '../../src/sim/tags.js';
import { parseIpv4 } from '../../src/addr.js';
import { IP, MAC, packet, routedTcp, standardBuilder, standardState } from '../support/scenario.js';
import { holds } from './property.js';

const PUBLIC = IP.rRight; // 198.51.100.1, the router's address on the "outside" bridge
const pub = parseIpv4(PUBLIC)!;

/** r1 with SNAT of 192.0.2.0/24 to its right-hand address and the reverse for replies. */
function snatWorld() {
  const b = standardBuilder();
  const natOut = b.chain('nat-out', [
    {
      action: 'snat',
      conditions: { srcPrefix: { value: '192.0.2.0/24' }, outPorts: { value: [b.id('r1-right')] } },
      natTargets: [{ addressFrom: PUBLIC, addressTo: PUBLIC, portFrom: 1024, portTo: 65535 }],
    },
  ]);
  const natIn = b.chain('nat-in', [
    { action: 'rev-snat', conditions: { dstPrefix: { value: `${PUBLIC}/32` } } },
  ]);
  b.set(b.id('r1'), { natInboundChainId: natIn, natOutboundChainId: natOut });
  const t = b.build();
  const s = standardState(b);
  s.nat.setBlocks(pub, 6, [[20000, 20063]]);
  s.nat.setBlocks(pub, 17, [[20000, 20063]]);
  return { b, t, s };
}

function out(r: SimDone): { portId: string; set: Record<string, number> } {
  const set: Record<string, number> = {};
  let portId = '';
  for (const a of r.actions) {
    if (a.kind === 'setField') set[a.field] = a.value;
    if (a.kind === 'output') portId = a.portId;
  }
  return { portId, set };
}

describe('simulate: NAT', () => {
  it('SNAT: a private source leaves as the router address; the reply is translated back', () => {
    const { b, t, s } = snatWorld();
    const fwd = simulate(t, packet(routedTcp()), b.id('vm1'), 0, { state: s }) as SimDone;
    const o = out(fwd);
    assert.equal(o.portId, b.id('vm3'));
    assert.equal(o.set.ip_src, pub);
    assert.ok(o.set.tp_src! >= 20000 && o.set.tp_src! <= 20063, `a leased port: ${o.set.tp_src}`);
    assert.ok(fwd.cacheable, 'the translated flow is installed: later packets never reach the agent');
    const created = fwd.effects.find((e) => e.kind === 'natCreated');
    assert.ok(created);
    s.commit(fwd.effects, 0);
    // The reply from vm3 to the public address and port.
    const reply = packet({
      srcMac: MAC.vm3,
      dstMac: MAC.rRight,
      srcIp: IP.vm3,
      dstIp: PUBLIC,
      proto: 'tcp',
      srcPort: 80,
      dstPort: o.set.tp_src!,
    });
    const back = simulate(t, reply, b.id('vm3'), 0, { state: s }) as SimDone;
    const ob = out(back);
    assert.equal(ob.portId, b.id('vm1'));
    assert.equal(ob.set.ip_dst, parseIpv4(IP.vm1));
    assert.equal(ob.set.tp_dst, 40000);
    assert.ok(back.tags.includes(Tags.nat(created.reverseKey)), 'the reply flow depends on the binding');
    // The same connection again: the same translation, no new binding.
    const again = simulate(t, packet(routedTcp()), b.id('vm1'), 1, { state: s }) as SimDone;
    assert.deepEqual(out(again), o);
    assert.ok(!again.effects.some((e) => e.kind === 'natCreated'));
  });

  it('ICMP echo through SNAT: the identifier tells two VMs pinging one host apart; never a flow', () => {
    const { b, t, s } = snatWorld();
    const echo = (vm: 'vm1' | 'vm2', id: number) =>
      packet({
        srcMac: MAC[vm],
        dstMac: MAC.rLeft,
        srcIp: IP[vm],
        dstIp: IP.vm3,
        proto: 'icmp',
        icmpType: 8,
        icmpId: id,
      });
    const reply = (id: number) =>
      packet({
        srcMac: MAC.vm3,
        dstMac: MAC.rRight,
        srcIp: IP.vm3,
        dstIp: PUBLIC,
        proto: 'icmp',
        icmpType: 0,
        icmpId: id,
      });
    for (const [vm, id] of [
      ['vm1', 7],
      ['vm2', 9],
    ] as const) {
      const r = simulate(t, echo(vm, id), b.id(vm), 0, { state: s }) as SimDone;
      assert.equal(out(r).set.ip_src, pub);
      assert.ok(!r.cacheable, 'the datapath cannot match the identifier');
      s.commit(r.effects, 0);
    }
    for (const [vm, id] of [
      ['vm1', 7],
      ['vm2', 9],
    ] as const) {
      const back = simulate(t, reply(id), b.id('vm3'), 0, { state: s }) as SimDone;
      assert.equal(out(back).portId, b.id(vm), `the reply with identifier ${id} goes to ${vm}`);
      assert.equal(out(back).set.ip_dst, parseIpv4(IP[vm]));
    }
    // vm2 using vm1's identifier to the same host while vm1's binding lives: dropped, not misdelivered.
    const clash = simulate(t, echo('vm2', 7), b.id('vm2'), 0, { state: s }) as SimDone;
    assert.equal(out(clash).portId, '');
    assert.ok(!clash.effects.some((e) => e.kind === 'natCreated'));
  });

  it('a reply of no known connection waits for its flow state when asked to (the agent first time), never a flow', () => {
    const { b, t, s } = snatWorld();
    const reply = (flags: string[]) =>
      packet({
        srcMac: MAC.vm3,
        dstMac: MAC.rRight,
        srcIp: IP.vm3,
        dstIp: PUBLIC,
        proto: 'tcp',
        srcPort: 80,
        dstPort: 20001,
        tcpFlags: flags,
      });
    const r = simulate(t, reply(['ack']), b.id('vm3'), 0, { state: s, waitForFlowState: true }) as SimDone;
    const wanted = r.effects.find((e) => e.kind === 'natStateWanted');
    assert.ok(wanted, 'asks for the flow state');
    assert.ok(!r.cacheable);
    assert.ok(
      r.actions.every((a) => a.kind !== 'output'),
      'held, not forwarded',
    );
    const syn = simulate(t, reply(['syn']), b.id('vm3'), 0, { state: s, waitForFlowState: true }) as SimDone;
    assert.ok(!syn.effects.some((e) => e.kind === 'natStateWanted'), 'a SYN starts something: no wait');
    const again = simulate(t, reply(['ack']), b.id('vm3'), 0, { state: s }) as SimDone;
    assert.ok(
      !again.effects.some((e) => e.kind === 'natStateWanted'),
      'after the wait: the next rule decides',
    );
  });

  it('a reply of no known connection is not translated (the reverse rule lets the next rule decide)', () => {
    const { b, t, s } = snatWorld();
    const stray = packet({
      srcMac: MAC.vm3,
      dstMac: MAC.rRight,
      srcIp: IP.vm3,
      dstIp: PUBLIC,
      proto: 'tcp',
      srcPort: 80,
      dstPort: 20001,
    });
    const r = simulate(t, stray, b.id('vm3'), 0, { state: s }) as SimDone;
    assert.ok(r.actions.every((a) => a.kind !== 'output' || a.portId !== b.id('vm1')));
  });

  it('SNAT ports never collide: distinct ports until the blocks are full, then a wait for another block, then an ICMP error once none is left', () => {
    const { b, t, s } = snatWorld();
    const used = new Set<number>();
    for (let i = 0; i < 64; i++) {
      const r = simulate(t, packet(routedTcp({ srcPort: 30000 + i })), b.id('vm1'), i, {
        state: s,
      }) as SimDone;
      const p = out(r).set.tp_src!;
      assert.ok(!used.has(p), `port ${p} handed out twice`);
      used.add(p);
      s.commit(r.effects, i);
    }
    const wait = simulate(t, packet(routedTcp({ srcPort: 31000 })), b.id('vm1'), 100, {
      state: s,
    }) as SimDone;
    assert.ok(
      wait.effects.some((e) => e.kind === 'natPortsWanted'),
      'the blocks are full: ask for another',
    );
    assert.equal(wait.cacheable, false);
    s.nat.setExhausted(pub, 6, true);
    const full = simulate(t, packet(routedTcp({ srcPort: 31000 })), b.id('vm1'), 100, {
      state: s,
    }) as SimDone;
    assert.ok(full.effects.some((e) => e.kind === 'natExhausted'));
    assert.ok(
      full.actions.some((a) => a.kind === 'emit'),
      'the sender gets a TCP reset / ICMP error',
    );
    assert.ok(!full.actions.some((a) => a.kind === 'output'));
  });

  it('with no port block leased yet the packet waits (an effect asks for a block), uncached', () => {
    const { b, t, s } = snatWorld();
    s.nat.setBlocks(pub, 6, []);
    const r = simulate(t, packet(routedTcp()), b.id('vm1'), 0, { state: s }) as SimDone;
    assert.ok(r.effects.some((e) => e.kind === 'natPortsWanted' && e.ip === pub && e.proto === 6));
    assert.equal(r.cacheable, false);
  });

  it('DNAT (port forward): public:8080 reaches vm1:80; the reply leaves as public:8080', () => {
    const b = standardBuilder();
    const natIn = b.chain('nat-in', [
      {
        action: 'dnat',
        conditions: {
          dstPrefix: { value: `${PUBLIC}/32` },
          ipProto: { value: 6 },
          dstPort: { value: '8080' },
        },
        natTargets: [{ addressFrom: IP.vm1, addressTo: IP.vm1, portFrom: 80, portTo: 80 }],
      },
    ]);
    const natOut = b.chain('nat-out', [
      { action: 'rev-dnat', conditions: { srcPrefix: { value: `${IP.vm1}/32` } } },
    ]);
    b.set(b.id('r1'), { natInboundChainId: natIn, natOutboundChainId: natOut });
    const t = b.build();
    const s = standardState(b);
    const inbound = packet({
      srcMac: MAC.vm3,
      dstMac: MAC.rRight,
      srcIp: IP.vm3,
      dstIp: PUBLIC,
      proto: 'tcp',
      srcPort: 5555,
      dstPort: 8080,
    });
    const r = simulate(t, inbound, b.id('vm3'), 0, { state: s }) as SimDone;
    assert.deepEqual(out(r), {
      portId: b.id('vm1'),
      set: { eth_src: 0x020000000101, eth_dst: 0x020000000001, ip_dst: parseIpv4(IP.vm1)!, tp_dst: 80 },
    });
    s.commit(r.effects, 0);
    const reply = packet({
      srcMac: MAC.vm1,
      dstMac: MAC.rLeft,
      srcIp: IP.vm1,
      dstIp: IP.vm3,
      proto: 'tcp',
      srcPort: 80,
      dstPort: 5555,
    });
    const back = simulate(t, reply, b.id('vm1'), 0, { state: s }) as SimDone;
    const ob = out(back);
    assert.equal(ob.portId, b.id('vm3'));
    assert.equal(ob.set.ip_src, pub);
    assert.equal(ob.set.tp_src, 8080);
  });

  it('static NAT (a floating IP): both directions rewrite one address, with no state', () => {
    const b = standardBuilder();
    const fip = '198.51.100.50';
    const natIn = b.chain('nat-in', [
      {
        action: 'static-dnat',
        conditions: { dstPrefix: { value: `${fip}/32` } },
        natTargets: [{ addressFrom: IP.vm1, addressTo: IP.vm1 }],
      },
    ]);
    const natOut = b.chain('nat-out', [
      {
        action: 'static-snat',
        conditions: { srcPrefix: { value: `${IP.vm1}/32` }, outPorts: { value: [b.id('r1-right')] } },
        natTargets: [{ addressFrom: fip, addressTo: fip }],
      },
    ]);
    b.set(b.id('r1'), { natInboundChainId: natIn, natOutboundChainId: natOut });
    const t = b.build();
    const s = standardState(b);
    const r = simulate(
      t,
      packet({ srcMac: MAC.vm3, dstMac: MAC.rRight, srcIp: IP.vm3, dstIp: fip, proto: 'icmp', icmpType: 8 }),
      b.id('vm3'),
      0,
      { state: s },
    ) as SimDone;
    assert.equal(out(r).portId, b.id('vm1'));
    assert.equal(out(r).set.ip_dst, parseIpv4(IP.vm1));
    assert.equal(r.effects.filter((e) => e.kind === 'natCreated').length, 0, 'no state');
    const o = simulate(t, packet(routedTcp()), b.id('vm1'), 0, { state: s }) as SimDone;
    assert.equal(out(o).set.ip_src, parseIpv4(fip));
  });

  it('the mask of a translated flow covers the 5-tuple: packets agreeing on it get the same translation', () => {
    const { b, t, s } = snatWorld();
    const r = simulate(t, packet(routedTcp()), b.id('vm1'), 0, { state: s }) as SimDone;
    s.commit(r.effects, 0);
    const first = simulate(t, packet(routedTcp()), b.id('vm1'), 0, { state: s }) as SimDone;
    holds(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 }), (sport, dport) => {
        const p = packet(routedTcp({ srcPort: sport, dstPort: dport }));
        if (!agreesOnMask(first.mask, first.packet, p.orig)) return;
        const r2 = simulate(t, p, b.id('vm1'), 0, { state: s }) as SimDone;
        assert.deepEqual(r2.actions, first.actions);
      }),
      { numRuns: 300, seed: 4 },
    );
    assert.equal(first.mask[12], 0xffff, 'tp_src exact');
    assert.equal(first.mask[13], 0xffff, 'tp_dst exact');
  });
});
