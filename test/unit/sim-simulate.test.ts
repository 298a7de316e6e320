// Table-driven simulation tests: topology builder, packet builder, expected actions, mask and tags.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { macToNumber, parseIpv4 } from '../../src/addr.js';
import type { TopologyBuilder } from '../../src/sim/builder.js';
import type { PacketFields } from '../../src/sim/packet-fields.js';
import {
  formatAction,
  formatMask,
  MemoryRuntimeState,
  portNamer,
  simulate,
  Tags,
  type SimDone,
  type Topology,
} from '../../src/sim/index.js';
import {
  IP,
  MAC,
  bridgedTcp,
  packet,
  routedTcp,
  standardBuilder,
  standardState,
} from '../support/scenario.js';

interface Case {
  readonly name: string;
  readonly edit?: (b: TopologyBuilder) => void;
  readonly state?: (b: TopologyBuilder, s: MemoryRuntimeState) => void;
  readonly noState?: boolean;
  readonly from?: string;
  readonly packet: PacketFields;
  readonly actions: string;
  readonly mask?: string;
  readonly cacheable?: boolean;
  /** Names of objects (ports, bridges, routers, chains) whose tags must be present. */
  readonly tags?: readonly string[];
  readonly check?: (r: SimDone, b: TopologyBuilder, t: Topology) => void;
}

function run(c: Case): { r: SimDone; b: TopologyBuilder; t: Topology } {
  const b = standardBuilder();
  c.edit?.(b);
  const t = b.build();
  const s = c.noState === true ? new MemoryRuntimeState() : standardState(b);
  c.state?.(b, s);
  const m = packet(c.packet);
  const r = simulate(t, m, b.id(c.from ?? 'vm1'), 1000, { state: s });
  assert.equal(r.kind, 'done', JSON.stringify(r));
  return { r: r, b, t };
}

const routedMask =
  'in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:01:01 vlan_vid=0 eth_type=0x800 ip_dst=198.51.100.10';

const cases: Case[] = [
  {
    name: 'L2: known unicast goes to the learned port; mask is MACs only',
    packet: bridgedTcp(),
    actions: 'output:vm2',
    mask: 'in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:00:02 vlan_vid=0',
    tags: ['vm1', 'br-left', 'vm2'],
    check: (r, b) => assert.ok(r.tags.includes(Tags.mac(b.id('br-left'), 0, macToNumber(MAC.vm2)))),
  },
  {
    name: 'L2: unknown unicast floods to the other exterior ports; the miss is tagged',
    noState: true,
    packet: bridgedTcp(),
    actions: 'output:vm2',
    mask: 'in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:00:02 vlan_vid=0',
    check: (r, b) => {
      assert.ok(r.tags.includes(Tags.mac(b.id('br-left'), 0, macToNumber(MAC.vm2))));
      assert.deepEqual(r.effects[0], {
        kind: 'macLearned',
        bridgeId: b.id('br-left'),
        vlan: 0,
        mac: macToNumber(MAC.vm1),
        portId: b.id('vm1'),
      });
    },
  },
  {
    name: 'L2: a multicast source is dropped reading one bit of eth_src',
    packet: bridgedTcp({ srcMac: '03:00:00:00:00:01' }),
    actions: 'drop(multicast source MAC)',
    mask: 'in_port=vm1 eth_src=01:00:00:00:00:00/01:00:00:00:00:00',
  },
  {
    name: 'L2: frames for the ingress port are dropped',
    packet: bridgedTcp({ dstMac: MAC.vm1 }),
    actions: 'drop(destination is behind the ingress port)',
  },
  {
    name: 'L2: ARP suppression answers for a router port address',
    packet: { srcMac: MAC.vm1, dstMac: MAC.bcast, arpOp: 1, srcIp: IP.vm1, dstIp: IP.rLeft },
    actions: 'emit(ARP reply 192.0.2.1 is-at 02:00:00:00:01:01) from vm1, drop(answered by ARP suppression)',
    cacheable: false,
  },
  {
    name: 'L2: ARP suppression answers for a DHCP host',
    edit: (b) => b.dhcp(b.id('br-left'), 'd1', '192.0.2.0/24', [{ mac: MAC.vm2, address: IP.vm2 }]),
    packet: { srcMac: MAC.vm1, dstMac: MAC.bcast, arpOp: 1, srcIp: IP.vm1, dstIp: IP.vm2 },
    actions: 'emit(ARP reply 192.0.2.11 is-at 02:00:00:00:00:02) from vm1, drop(answered by ARP suppression)',
    cacheable: false,
  },
  {
    name: 'L2: an ARP request for an unknown address floods',
    packet: { srcMac: MAC.vm1, dstMac: MAC.bcast, arpOp: 1, srcIp: IP.vm1, dstIp: '192.0.2.99' },
    actions: 'output:vm2',
  },
  {
    name: 'L2: a down bridge drops',
    edit: (b) => b.set(b.id('br-left'), { adminStateUp: false }),
    packet: bridgedTcp(),
    actions: 'drop(bridge br-left is down)',
    mask: 'in_port=vm1',
  },
  {
    name: 'L2: a down ingress port drops',
    edit: (b) => b.set(b.id('vm1'), { adminStateUp: false }),
    packet: bridgedTcp(),
    actions: 'drop(port vm1 is down)',
  },
  {
    name: 'L2: a down egress port drops',
    edit: (b) => b.set(b.id('vm2'), { adminStateUp: false }),
    packet: bridgedTcp(),
    actions: 'drop(port vm2 is down)',
  },
  {
    name: 'L3: routed packet: MACs rewritten, TTL decremented, out the far bridge',
    packet: routedTcp(),
    actions:
      'set_field:02:00:00:00:01:02->eth_src, set_field:02:00:00:00:00:03->eth_dst, dec_ttl, output:vm3',
    mask: routedMask,
    tags: [
      'vm1',
      'br-left',
      'br-left-uplink',
      'r1-left',
      'r1',
      'r1-right',
      'br-right-uplink',
      'br-right',
      'vm3',
    ],
    check: (r, b) => {
      assert.ok(r.tags.includes(Tags.routes(b.id('r1'))));
      assert.ok(r.tags.includes(Tags.arp(b.id('r1'), parseIpv4(IP.vm3)!)));
    },
  },
  {
    name: 'L3: ARP miss asks for a request and is not cached',
    state: (b, s) => s.arp.forget(b.id('r1'), parseIpv4(IP.vm3)!),
    packet: routedTcp(),
    actions: 'drop(ARP cache miss for 198.51.100.10)',
    cacheable: false,
    check: (r, b) =>
      assert.ok(
        r.effects.some(
          (e) => e.kind === 'arpWanted' && e.portId === b.id('r1-right') && e.ip === parseIpv4(IP.vm3),
        ),
      ),
  },
  {
    name: 'L3: a failed ARP entry gives ICMP host unreachable',
    state: (b, s) => s.arp.fail(b.id('r1'), parseIpv4(IP.vm3)!, 1000),
    packet: routedTcp(),
    actions: 'emit(ICMP host unreachable) from r1-left, drop(198.51.100.10 does not answer ARP)',
    cacheable: false,
  },
  {
    name: 'L3: TTL 1 gives ICMP time exceeded, uncached',
    packet: routedTcp({ ttl: 1 }),
    actions: 'emit(ICMP time exceeded) from r1-left, drop(TTL expired)',
    cacheable: false,
  },
  {
    name: 'L3: no route gives ICMP net unreachable',
    packet: routedTcp({ dstIp: '203.0.113.5' }),
    actions: 'emit(ICMP net unreachable) from r1-left, drop(no route)',
    cacheable: false,
  },
  {
    name: 'L3: echo request to the router port address gets an echo reply',
    packet: routedTcp({
      dstIp: IP.rLeft,
      proto: 'icmp',
      srcPort: undefined,
      dstPort: undefined,
      icmpType: 8,
    }),
    actions: 'emit(ICMP echo reply) from r1-left, drop(answered by the router)',
    cacheable: false,
  },
  {
    name: 'L3: the router answers ARP for its port address',
    from: 'r1-left',
    packet: { srcMac: MAC.vm1, dstMac: MAC.bcast, arpOp: 1, srcIp: IP.vm1, dstIp: IP.rLeft },
    actions: 'emit(ARP reply 192.0.2.1 is-at 02:00:00:00:01:01) from r1-left, drop(answered by the router)',
    cacheable: false,
    check: (r) => assert.ok(r.effects.some((e) => e.kind === 'arpLearned' && e.ip === parseIpv4(IP.vm1))),
  },
  {
    name: 'L3: blackhole route drops (cacheable)',
    edit: (b) => b.route(b.id('r1'), '203.0.113.0/24', { type: 'blackhole' }),
    packet: routedTcp({ dstIp: '203.0.113.5' }),
    actions: 'drop(blackhole route)',
    cacheable: true,
  },
  {
    name: 'L3: reject route gives ICMP admin prohibited',
    edit: (b) => b.route(b.id('r1'), '203.0.113.0/24', { type: 'reject' }),
    packet: routedTcp({ dstIp: '203.0.113.5' }),
    actions: 'emit(ICMP admin prohibited) from r1-left, drop(reject route)',
    cacheable: false,
  },
  {
    name: 'L3: a gateway route resolves the gateway, not the destination',
    edit: (b) => b.route(b.id('r1'), '203.0.113.0/24', { nextHopPortId: b.id('r1-right'), gateway: IP.vm3 }),
    packet: routedTcp({ dstIp: '203.0.113.5' }),
    actions:
      'set_field:02:00:00:00:01:02->eth_src, set_field:02:00:00:00:00:03->eth_dst, dec_ttl, output:vm3',
    mask: 'in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:01:01 vlan_vid=0 eth_type=0x800 ip_dst=203.0.113.0/255.255.255.0',
  },
  {
    name: 'L3: source-prefix route wins only for its sources',
    edit: (b) => {
      b.route(b.id('r1'), '203.0.113.0/24', { srcPrefix: '192.0.2.0/25', type: 'blackhole' });
      b.route(b.id('r1'), '203.0.113.0/24', { type: 'reject', weight: 200 });
    },
    packet: routedTcp({ dstIp: '203.0.113.5' }),
    actions: 'drop(blackhole route)',
    mask: 'in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:01:01 vlan_vid=0 eth_type=0x800 ip_src=192.0.2.0/255.255.255.128 ip_dst=203.0.113.0/255.255.255.0',
  },
  {
    name: 'L3: ECMP records the 5-tuple in the mask',
    edit: (b) => {
      b.route(b.id('r1'), '203.0.113.0/24', { type: 'blackhole' });
      b.route(b.id('r1'), '203.0.113.0/24', { type: 'blackhole' });
    },
    packet: routedTcp({ dstIp: '203.0.113.5' }),
    actions: 'drop(blackhole route)',
    mask: 'in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:01:01 vlan_vid=0 eth_type=0x800 ip_src=192.0.2.10 ip_dst=203.0.113.5 ip_proto=6 tp_src=40000 tp_dst=80',
  },
  {
    name: 'L3: a frame not for the router port MAC is dropped by the router',
    packet: routedTcp({ dstMac: '02:00:00:00:09:09' }),
    noState: true,
    actions: 'output:vm2',
  },
  {
    name: 'L3: a down router drops',
    edit: (b) => b.set(b.id('r1'), { adminStateUp: false }),
    packet: routedTcp(),
    actions: 'drop(router r1 is down)',
  },
  {
    name: 'chains: port inbound drop on tcp dst 22; other ports pass and the mask gains tp_dst',
    edit: (b) =>
      b.set(b.id('vm1'), {
        inboundChainId: b.chain('in', [{ action: 'drop', conditions: { dstPort: { value: '22' } } }]),
      }),
    packet: bridgedTcp(),
    actions: 'output:vm2',
    mask: 'in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:00:02 vlan_vid=0 eth_type=0x800 ip_proto=6 tp_dst=80',
    tags: ['in'],
  },
  {
    name: 'chains: drop on tcp dst 22',
    edit: (b) =>
      b.set(b.id('vm1'), {
        inboundChainId: b.chain('in', [{ action: 'drop', conditions: { dstPort: { value: '22' } } }]),
      }),
    packet: bridgedTcp({ dstPort: 22 }),
    actions: 'drop(dropped by port vm1 inbound chain)',
    mask: 'in_port=vm1 eth_type=0x800 ip_proto=6 tp_dst=22',
  },
  {
    name: 'chains: reject a TCP packet with a reset',
    edit: (b) =>
      b.set(b.id('r1'), {
        inboundChainId: b.chain('fw', [
          { action: 'reject', conditions: { dstPrefix: { value: '198.51.100.0/24' } } },
        ]),
      }),
    packet: routedTcp(),
    actions: 'emit(TCP reset) from r1-left, drop(rejected by router r1 inbound chain)',
    cacheable: false,
  },
  {
    name: 'chains: reject UDP with ICMP admin prohibited',
    edit: (b) =>
      b.set(b.id('r1'), {
        inboundChainId: b.chain('fw', [{ action: 'reject', conditions: { ipProto: { value: 17 } } }]),
      }),
    packet: routedTcp({ proto: 'udp' }),
    actions: 'emit(ICMP admin prohibited) from r1-left, drop(rejected by router r1 inbound chain)',
    cacheable: false,
  },
  {
    name: 'chains: inverted condition',
    edit: (b) =>
      b.set(b.id('vm1'), {
        inboundChainId: b.chain('in', [
          { action: 'drop', conditions: { srcPrefix: { value: '192.0.2.0/24', invert: true } } },
        ]),
      }),
    packet: bridgedTcp({ srcIp: '10.0.0.1' }),
    actions: 'drop(dropped by port vm1 inbound chain)',
    mask: 'in_port=vm1 eth_type=0x800 ip_src=10.0.0.0/255.255.255.0',
  },
  {
    name: 'chains: a TCP window condition makes the result uncacheable',
    edit: (b) =>
      b.set(b.id('vm1'), {
        inboundChainId: b.chain('in', [{ action: 'drop', conditions: { tcpWindow: { value: '0-100' } } }]),
      }),
    packet: bridgedTcp({ tcpWindow: 5000 }),
    actions: 'output:vm2',
    cacheable: false,
  },
  {
    name: 'chains: jump, return and continue',
    edit: (b) => {
      const sub = b.chain('sub', [
        { action: 'return', conditions: { dstPort: { value: '80' } } },
        { action: 'drop' },
      ]);
      b.set(b.id('vm1'), {
        inboundChainId: b.chain('main', [
          { action: 'continue', conditions: { ipProto: { value: 6 } } },
          { action: 'jump', jumpChainId: sub },
          { action: 'drop', conditions: { dstPort: { value: '80' }, srcPort: { value: '40000' } } },
        ]),
      });
    },
    packet: bridgedTcp({ srcPort: 40001 }),
    actions: 'output:vm2',
    tags: ['main', 'sub'],
  },
  {
    name: 'chains: jumped-to chain drop ends everything',
    edit: (b) => {
      const sub = b.chain('sub', [{ action: 'drop' }]);
      b.set(b.id('vm1'), {
        inboundChainId: b.chain('main', [{ action: 'jump', jumpChainId: sub }, { action: 'accept' }]),
      });
    },
    packet: bridgedTcp(),
    actions: 'drop(dropped by port vm1 inbound chain)',
  },
  {
    name: 'chains: port group and ip address group conditions',
    edit: (b) => {
      const pg = b.portGroup('pg', [b.id('vm1')]);
      const ig = b.ipGroup('ig', [IP.vm2]);
      b.set(b.id('br-left'), {
        inboundChainId: b.chain('in', [
          { action: 'drop', conditions: { inPortGroup: { value: pg }, ipAddrGroupDst: { value: ig } } },
        ]),
      });
    },
    packet: bridgedTcp(),
    actions: 'drop(dropped by bridge br-left inbound chain)',
    tags: ['pg', 'ig'],
  },
  {
    name: 'chains: router outbound chain sees the output port',
    edit: (b) =>
      b.set(b.id('r1'), {
        outboundChainId: b.chain('out', [
          { action: 'drop', conditions: { outPorts: { value: [b.id('r1-right')] } } },
        ]),
      }),
    packet: routedTcp(),
    actions: 'drop(dropped by router r1 outbound chain)',
  },
  {
    name: 'chains: tcp flags and fragment policy',
    edit: (b) =>
      b.set(b.id('vm1'), {
        inboundChainId: b.chain('in', [
          { action: 'drop', conditions: { tcpFlags: { value: { set: 2, mask: 0x12 } } } },
          { action: 'drop', conditions: { fragmentPolicy: { value: 'nonheader' } } },
        ]),
      }),
    packet: bridgedTcp({ tcpFlags: ['syn'] }),
    actions: 'drop(dropped by port vm1 inbound chain)',
    mask: 'in_port=vm1 eth_type=0x800 ip_proto=6 tcp_flags=0x2/0x12',
  },
  {
    name: 'VLAN-aware bridge: access port to trunk pushes the tag',
    edit: (b) => {
      b.set(b.id('br-left'), { vlanAware: true });
      b.set(b.id('vm1'), { vlanId: 10 });
    },
    noState: true,
    packet: bridgedTcp(),
    actions: 'set_field:10->vlan_vid, output:vm2',
  },
  {
    name: 'loop guard: two bridges linked twice stop flooding',
    edit: (b) => {
      const x = b.bridge('bx');
      const a1 = b.port(b.id('br-left'), 'a1');
      const a2 = b.port(b.id('br-left'), 'a2');
      const c1 = b.port(x, 'c1');
      const c2 = b.port(x, 'c2');
      b.link(a1, c1);
      b.link(a2, c2);
    },
    noState: true,
    packet: bridgedTcp({ dstMac: MAC.bcast }),
    actions: 'output:vm2',
    check: (r) => assert.ok(r.actions.filter((a) => a.kind === 'output').length >= 1),
  },
];

describe('simulate: table-driven cases', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { r, b, t } = run(c);
      const name = portNamer(t);
      const got = r.actions.map((a) => formatAction(a, name)).join(', ');
      if (c.name.startsWith('loop guard')) assert.ok(got.includes('output:vm2'), got);
      else assert.equal(got, c.actions);
      if (c.mask !== undefined) assert.equal(formatMask(r.mask, r.packet, 'vm1'), c.mask);
      if (c.cacheable !== undefined) assert.equal(r.cacheable, c.cacheable, r.uncacheableReason ?? '');
      for (const n of c.tags ?? []) {
        const id = b.id(n);
        assert.ok(
          r.tags.some((tag) => tag.endsWith(id)),
          `tag of ${n} missing in ${r.tags.join(' ')}`,
        );
      }
      c.check?.(r, b, t);
    });
  }
});

describe('simulate: runtime state', () => {
  it('MAC entries age out: after the lifetime the destination floods again', () => {
    const b = standardBuilder();
    const t = b.build();
    const s = standardState(b, 0);
    const opts = { state: s };
    const r1 = simulate(t, packet(bridgedTcp()), b.id('vm1'), 1000, opts) as SimDone;
    assert.ok(r1.tags.includes(Tags.mac(b.id('br-left'), 0, macToNumber(MAC.vm2))));
    const later = s.macs.lifetimeMs + 1;
    const r2 = simulate(t, packet(bridgedTcp({ dstMac: MAC.vm2 })), b.id('vm1'), later, opts) as SimDone;
    assert.deepEqual(r2.actions, [{ kind: 'output', portId: b.id('vm2') }]);
    const bcast = simulate(
      t,
      packet(bridgedTcp({ srcMac: MAC.vm2, dstMac: MAC.vm1 })),
      b.id('vm2'),
      later,
      opts,
    ) as SimDone;
    // vm1's entry expired too: the frame floods (vm1 and nothing else exterior).
    assert.deepEqual(bcast.actions, [{ kind: 'output', portId: b.id('vm1') }]);
  });

  it('committing effects teaches the MAC table and returns the changed tags', () => {
    const b = standardBuilder();
    const t = b.build();
    const s = new MemoryRuntimeState();
    const r = simulate(t, packet(bridgedTcp()), b.id('vm1'), 0, { state: s }) as SimDone;
    const changed = s.commit(r.effects, 0);
    assert.deepEqual(changed, [Tags.mac(b.id('br-left'), 0, macToNumber(MAC.vm1))]);
    const back = simulate(t, packet(bridgedTcp({ srcMac: MAC.vm2, dstMac: MAC.vm1 })), b.id('vm2'), 0, {
      state: s,
    }) as SimDone;
    assert.deepEqual(back.actions, [{ kind: 'output', portId: b.id('vm1') }]);
    assert.ok(back.tags.some((x) => changed.includes(x)));
  });

  it('conntrack: a reply is established once the forward flow is committed (a stateful firewall)', () => {
    const b = standardBuilder();
    b.set(b.id('vm2'), {
      inboundChainId: b.chain('established-only', [
        { action: 'accept', conditions: { conntrack: { value: 'established' } } },
        { action: 'drop' },
      ]),
    });
    b.set(b.id('vm1'), {
      inboundChainId: b.chain('track', [{ action: 'accept', conditions: { conntrack: { value: 'new' } } }]),
    });
    const t = b.build();
    const s = standardState(b);
    const fwd = simulate(t, packet(bridgedTcp()), b.id('vm1'), 0, { state: s }) as SimDone;
    assert.deepEqual(fwd.actions, [{ kind: 'output', portId: b.id('vm2') }]);
    const reply = bridgedTcp({
      srcMac: MAC.vm2,
      dstMac: MAC.vm1,
      srcIp: IP.vm2,
      dstIp: IP.vm1,
      srcPort: 80,
      dstPort: 40000,
    });
    const before = simulate(t, packet(reply), b.id('vm2'), 0, { state: s }) as SimDone;
    assert.equal(before.actions[0]!.kind, 'drop');
    const changed = s.commit(fwd.effects, 0);
    assert.ok(
      before.tags.some((x) => changed.includes(x)),
      'the dropped reply flow is invalidated by the commit',
    );
    const after = simulate(t, packet(reply), b.id('vm2'), 0, { state: s }) as SimDone;
    assert.deepEqual(after.actions, [{ kind: 'output', portId: b.id('vm1') }]);
    assert.equal(formatMask(after.mask, after.packet, 'vm2').includes('tp_src=80'), true);
  });
});

describe('simulate: results', () => {
  it('returns notYet naming a missing chain', () => {
    const b = standardBuilder();
    const missing = '00000000-0000-4000-8000-0000000000ff';
    b.set(b.id('vm1'), { inboundChainId: missing });
    const r = simulate(b.build(), packet(bridgedTcp()), b.id('vm1'), 0);
    assert.deepEqual(r, { kind: 'notYet', need: [missing] });
  });
  it('returns notYet for a missing peer port', () => {
    const b = standardBuilder();
    const missing = '00000000-0000-4000-8000-0000000000fe';
    b.set(b.id('br-left-uplink'), { peerId: missing });
    const r = simulate(b.build(), packet(routedTcp()), b.id('vm1'), 0, { state: standardState(b) });
    assert.equal(r.kind, 'notYet');
  });
  it('returns notYet for a MAC table entry naming a port that is not loaded, never floods past it', () => {
    const b = standardBuilder();
    const s = standardState(b);
    const missing = '00000000-0000-4000-8000-0000000000fd';
    s.macs.learn(b.id('br-left'), 0, 0x020000000002, missing, 0);
    const r = simulate(b.build(), packet(bridgedTcp()), b.id('vm1'), 0, { state: s });
    assert.deepEqual(r, { kind: 'notYet', need: [missing] });
  });
  it('forgets the MAC entries of a deleted port', () => {
    const b = standardBuilder();
    const s = standardState(b);
    const gone = s.macs.forgetPort(b.id('vm2'));
    assert.equal(gone.length, 1);
    assert.equal(s.macs.lookup(b.id('br-left'), 0, 0x020000000002, 0), undefined);
  });
  it('a generated reply can be simulated leaving its port', () => {
    const b = standardBuilder();
    const t = b.build();
    const r = simulate(
      t,
      packet({ srcMac: MAC.rLeft, dstMac: MAC.vm1, srcIp: IP.rLeft, dstIp: IP.vm1, proto: 'icmp' }),
      b.id('r1-left'),
      0,
      {
        state: standardState(b),
        direction: 'egress',
      },
    );
    assert.equal(r.kind, 'done');
    assert.deepEqual(r.actions, [{ kind: 'output', portId: b.id('vm1') }]);
  });
  it("a router's own ARP request floods to the VMs, even for a DHCP host's address (no suppression)", () => {
    const b = standardBuilder();
    b.dhcp(b.id('br-left'), 'd', '192.0.2.0/24', [{ mac: MAC.vm2, address: IP.vm2 }]);
    const t = b.build();
    const arpFrom = (portId: string, direction: 'ingress' | 'egress', srcMac: string, srcIp: string) =>
      simulate(
        t,
        packet({ srcMac, dstMac: 'ff:ff:ff:ff:ff:ff', arpOp: 1, srcIp, dstIp: IP.vm2 }),
        portId,
        0,
        { state: standardState(b), direction },
      );
    const fromRouter = arpFrom(b.id('r1-left'), 'egress', MAC.rLeft, IP.rLeft);
    assert.equal(fromRouter.kind, 'done');
    const outs = fromRouter.kind === 'done' ? fromRouter.actions.filter((a) => a.kind === 'output') : [];
    assert.deepEqual(
      outs.map((a) => a.kind === 'output' && a.portId).sort(),
      [b.id('vm1'), b.id('vm2')].sort(),
    );
    // A VM's request is still answered by the bridge itself.
    const fromVm = arpFrom(b.id('vm1'), 'ingress', MAC.vm1, IP.vm1);
    assert.ok(fromVm.kind === 'done' && fromVm.actions.some((a) => a.kind === 'emit'));
  });
});
