// The virtual router's IPv6 step, table-driven on the standard topology made dual stack: routing with
// longest prefix and ECMP, hop limit, ICMPv6 errors and echo, neighbour discovery (NS, NA, RS -> RA),
// the neighbour cache (miss -> solicitation, failed -> address unreachable).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { macToNumber, parseIpv6 } from '../../src/addr.js';
import type { TopologyBuilder } from '../../src/sim/builder.js';
import type { PacketFields } from '../../src/sim/packet-fields.js';
import { formatAction, formatMask, portNamer, simulate, type SimDone } from '../../src/sim/index.js';
import { ndTag } from '../../src/sim/ndp.js';
import { matchFromMask } from '../../src/agent/translate.js';
import { MAC, packet, standardBuilder, standardState } from '../support/scenario.js';

const IP6 = {
  vm1: '2001:db8:1::10',
  vm3: '2001:db8:2::10',
  rLeft: '2001:db8:1::1',
  rRight: '2001:db8:2::1',
  /** fe80:: with the EUI-64 of r1-left's MAC 02:00:00:00:01:01. */
  rLeftLL: 'fe80::ff:fe00:101',
};

function dualStack(): TopologyBuilder {
  const b = standardBuilder();
  b.set(b.id('r1-left'), { address6: '2001:db8:1::1/64' });
  b.set(b.id('r1-right'), { address6: '2001:db8:2::1/64' });
  return b;
}

function routed6(extra: Partial<PacketFields> = {}): PacketFields {
  return {
    srcMac: MAC.vm1,
    dstMac: MAC.rLeft,
    ethertype: 0x86dd,
    srcIp6: IP6.vm1,
    dstIp6: IP6.vm3,
    proto: 'tcp',
    srcPort: 40000,
    dstPort: 80,
    ...extra,
  };
}

function icmp6(type: number, extra: Partial<PacketFields> = {}): PacketFields {
  return routed6({
    proto: 'icmp',
    srcPort: undefined,
    dstPort: undefined,
    icmpType: type,
    icmpCode: 0,
    ...extra,
  });
}

interface Case {
  readonly name: string;
  readonly edit?: (b: TopologyBuilder) => void;
  /** Neighbours the router knows (address -> MAC, or 'failed'). */
  readonly neighbours?: Readonly<Record<string, string>>;
  readonly packet: PacketFields;
  readonly actions: string;
  readonly mask?: string;
  readonly cacheable?: boolean;
  readonly check?: (r: SimDone, b: TopologyBuilder) => void;
}

function run(c: Case): { r: SimDone; b: TopologyBuilder; got: string } {
  const b = dualStack();
  c.edit?.(b);
  const t = b.build();
  const s = standardState(b);
  for (const [ip, mac] of Object.entries(c.neighbours ?? { [IP6.vm3]: MAC.vm3, [IP6.vm1]: MAC.vm1 })) {
    if (mac === 'failed') s.nd.fail(b.id('r1'), parseIpv6(ip)!, 1000);
    else s.nd.learn(b.id('r1'), parseIpv6(ip)!, macToNumber(mac), 1000);
  }
  const r = simulate(t, packet(c.packet), b.id('vm1'), 1000, { state: s });
  assert.equal(r.kind, 'done', JSON.stringify(r));
  const done = r;
  return { r: done, b, got: done.actions.map((a) => formatAction(a, portNamer(t))).join(', ') };
}

const cases: Case[] = [
  {
    name: 'routes vm1 -> vm3 over the connected /64, decrementing the hop limit; the flow matches the prefix bits read',
    packet: routed6(),
    actions:
      'set_field:02:00:00:00:01:02->eth_src, set_field:02:00:00:00:00:03->eth_dst, dec_ttl, output:vm3',
    mask: 'in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:01:01 vlan_vid=0 eth_type=0x86dd ipv6_dst=2001:db8:2::10 ip_proto=6',
    cacheable: true,
    check: (r, b) => assert.ok(r.tags.includes(ndTag(b.id('r1'), parseIpv6(IP6.vm3)!))),
  },
  {
    name: 'a static IPv6 route via a gateway resolves the gateway, not the destination',
    edit: (b) =>
      b.route(b.id('r1'), '2001:db8:99::/48', { nextHopPortId: b.id('r1-right'), gateway: '2001:db8:2::fe' }),
    neighbours: { '2001:db8:2::fe': '02:00:00:00:00:fe' },
    packet: routed6({ dstIp6: '2001:db8:99::5' }),
    actions:
      'set_field:02:00:00:00:01:02->eth_src, set_field:02:00:00:00:00:fe->eth_dst, dec_ttl, output:vm3',
  },
  {
    name: 'hop limit 1: ICMPv6 time exceeded from the ingress port address, no flow',
    packet: routed6({ ttl: 1 }),
    actions: 'emit(ICMPv6 hop limit exceeded) from r1-left, drop(hop limit expired)',
    cacheable: false,
  },
  {
    name: 'no route: ICMPv6 destination unreachable (no route)',
    packet: routed6({ dstIp6: '2001:db8:99::1' }),
    actions: 'emit(ICMPv6 no route to destination) from r1-left, drop(no IPv6 route)',
    cacheable: false,
    check: (r) => {
      const e = r.actions[0]!;
      assert.ok(e.kind === 'emit');
      assert.equal(e.packet.icmpType, 1);
      assert.equal(e.packet.icmpCode, 0);
      assert.equal(e.packet.srcIp6, IP6.rLeft);
      assert.equal(e.packet.dstIp6, IP6.vm1);
    },
  },
  {
    name: 'a reject route: ICMPv6 administratively prohibited',
    edit: (b) => b.route(b.id('r1'), '2001:db8:66::/48', { type: 'reject', nextHopPortId: null }),
    packet: routed6({ dstIp6: '2001:db8:66::1' }),
    actions: 'emit(ICMPv6 administratively prohibited) from r1-left, drop(reject route)',
  },
  {
    name: 'echo request to the far port address gets an echo reply from that address',
    packet: icmp6(128, { dstIp6: IP6.rRight }),
    actions: 'emit(ICMPv6 echo reply) from r1-left, drop(answered by the router)',
    check: (r) => {
      const e = r.actions[0]!;
      assert.ok(e.kind === 'emit');
      assert.deepEqual([e.packet.srcIp6, e.packet.dstIp6, e.packet.icmpType], [IP6.rRight, IP6.vm1, 129]);
    },
  },
  {
    name: "echo request to the port's link-local address gets an echo reply",
    packet: icmp6(128, { dstIp6: IP6.rLeftLL }),
    actions: 'emit(ICMPv6 echo reply) from r1-left, drop(answered by the router)',
  },
  {
    name: 'a link-local destination that is not the port is never forwarded',
    packet: routed6({ dstIp6: 'fe80::1234' }),
    actions: 'drop(link-local destination is not forwarded)',
  },
  {
    name: "the bridge answers a VM's solicitation for the router port address (ND suppression); the router learns the asker",
    neighbours: {},
    packet: icmp6(135, {
      dstMac: '33:33:ff:00:00:01',
      dstIp6: 'ff02::1:ff00:1',
      ndTarget: IP6.rLeft,
      ttl: 255,
    }),
    actions:
      'emit(neighbour advertisement 2001:db8:1::1 is-at 02:00:00:00:01:01) from vm1, drop(answered by neighbour discovery suppression)',
    cacheable: false,
    check: (r, b) => {
      assert.deepEqual(
        r.effects.filter((e) => e.kind === 'ndLearned'),
        [{ kind: 'ndLearned', routerId: b.id('r1'), ip: IP6.vm1, mac: macToNumber(MAC.vm1) }],
      );
      const e = r.actions.find((a) => a.kind === 'emit')!;
      assert.ok(e.kind === 'emit');
      assert.deepEqual(e.ndp, { kind: 'na', solicited: true, router: true });
      assert.deepEqual([e.packet.dstIp6, e.packet.dstMac, e.packet.ndTarget], [IP6.vm1, MAC.vm1, IP6.rLeft]);
    },
  },
  {
    name: "the bridge answers for a port's fixed IPv6 address, without the router flag",
    edit: (b) => b.set(b.id('vm2'), { mac: MAC.vm2, addresses: ['2001:db8:1::11'] }),
    packet: icmp6(135, {
      dstMac: '33:33:ff:00:00:11',
      dstIp6: 'ff02::1:ff00:11',
      ndTarget: '2001:db8:1::11',
    }),
    actions:
      'emit(neighbour advertisement 2001:db8:1::11 is-at 02:00:00:00:00:02) from vm1, drop(answered by neighbour discovery suppression)',
    check: (r) => {
      const e = r.actions.find((a) => a.kind === 'emit')!;
      assert.ok(e.kind === 'emit');
      assert.deepEqual(e.ndp, { kind: 'na', solicited: true, router: false });
    },
  },
  {
    name: 'a unicast solicitation for the port address (unreachability detection) is answered by the router',
    neighbours: {},
    packet: icmp6(135, { dstIp6: IP6.rLeft, ndTarget: IP6.rLeft, ttl: 255 }),
    actions:
      'emit(neighbour advertisement 2001:db8:1::1 is-at 02:00:00:00:01:01) from r1-left, drop(answered by the router)',
    cacheable: false,
    check: (r) => assert.equal(r.effects.filter((e) => e.kind === 'ndLearned').length, 1),
  },
  {
    name: 'a neighbour solicitation for another address is dropped by the router',
    packet: icmp6(135, {
      dstMac: '33:33:ff:00:00:99',
      dstIp6: 'ff02::1:ff00:99',
      ndTarget: '2001:db8:1::99',
    }),
    actions: 'output:vm2',
    check: (r) => assert.ok(r.cacheable, 'the router branch drops, the flood is a flow'),
  },
  {
    name: 'a router solicitation gets a router advertisement with the /64 for SLAAC, from the link-local address',
    packet: icmp6(133, { dstMac: '33:33:00:00:00:02', dstIp6: 'ff02::2', srcIp6: 'fe80::1', ttl: 255 }),
    actions: 'output:vm2, emit(router advertisement 2001:db8:1::/64) from r1-left',
    check: (r) => {
      const e = r.actions.find((a) => a.kind === 'emit')!;
      assert.ok(e.kind === 'emit');
      assert.deepEqual(e.ndp, { kind: 'ra', prefix: '2001:db8:1::', prefixLen: 64, mtu: 1450 });
      assert.deepEqual([e.packet.srcIp6, e.packet.dstIp6, e.packet.icmpType], [IP6.rLeftLL, 'fe80::1', 134]);
    },
  },
  {
    name: 'a neighbour advertisement teaches the router',
    neighbours: {},
    packet: icmp6(136, { ndTarget: IP6.vm1 }),
    actions: 'drop(neighbour advertisement consumed)',
    cacheable: false,
    check: (r) => assert.equal(r.effects.filter((e) => e.kind === 'ndLearned').length, 1),
  },
  {
    name: 'an unknown next hop asks for a neighbour solicitation and installs no flow',
    neighbours: {},
    packet: routed6(),
    actions: 'drop(neighbour cache miss for 2001:db8:2::10)',
    cacheable: false,
    check: (r, b) =>
      assert.deepEqual(
        r.effects.filter((e) => e.kind === 'ndWanted'),
        [{ kind: 'ndWanted', routerId: b.id('r1'), portId: b.id('r1-right'), ip: IP6.vm3 }],
      ),
  },
  {
    name: 'a next hop that never answered gives ICMPv6 address unreachable',
    neighbours: { [IP6.vm3]: 'failed' },
    packet: routed6(),
    actions:
      'emit(ICMPv6 address unreachable) from r1-left, drop(2001:db8:2::10 does not answer neighbour solicitations)',
  },
  {
    name: 'a chain rule with an IPv6 prefix drops matching IPv6; the flow matches the prefix bits only',
    edit: (b) => {
      const fw = b.chain('fw', [{ action: 'drop', conditions: { dstPrefix: { value: '2001:db8:2::/64' } } }]);
      b.set(b.id('r1'), { inboundChainId: fw });
    },
    packet: routed6(),
    actions: 'drop(dropped by router r1 inbound chain)',
    cacheable: true,
    check: (r) => {
      const m = matchFromMask(r.mask, r.packet, 1);
      assert.deepEqual(
        m.find((f) => f.field === 'ipv6_dst'),
        { field: 'ipv6_dst', value: '2001:db8:2::', mask: 'ffff:ffff:ffff:ffff::' },
      );
    },
  },
  {
    name: 'an IPv6 prefix rule does not match IPv6 outside it (and an IPv4 prefix rule matches no IPv6)',
    edit: (b) => {
      const fw = b.chain('fw', [
        { action: 'drop', conditions: { dstPrefix: { value: '2001:db8:3::/64' } } },
        { action: 'drop', conditions: { dstPrefix: { value: '0.0.0.0/0' } } },
      ]);
      b.set(b.id('r1'), { inboundChainId: fw });
    },
    packet: routed6(),
    actions:
      'set_field:02:00:00:00:01:02->eth_src, set_field:02:00:00:00:00:03->eth_dst, dec_ttl, output:vm3',
  },
  {
    name: 'an IP address group holds both families: its IPv6 member matches the IPv6 destination',
    edit: (b) => {
      const g = b.ipGroup('servers', ['198.51.100.10', '2001:DB8:2::10']);
      const fw = b.chain('fw', [{ action: 'drop', conditions: { ipAddrGroupDst: { value: g } } }]);
      b.set(b.id('r1'), { inboundChainId: fw });
    },
    packet: routed6(),
    actions: 'drop(dropped by router r1 inbound chain)',
    check: (r, b) => assert.ok(r.tags.some((t) => t.endsWith(b.id('servers')))),
  },
  {
    name: 'an IPv6 address not in the group does not match it',
    edit: (b) => {
      const g = b.ipGroup('servers', ['198.51.100.10', '2001:db8:2::99']);
      const fw = b.chain('fw', [{ action: 'drop', conditions: { ipAddrGroupDst: { value: g } } }]);
      b.set(b.id('r1'), { inboundChainId: fw });
    },
    packet: routed6(),
    actions:
      'set_field:02:00:00:00:01:02->eth_src, set_field:02:00:00:00:00:03->eth_dst, dec_ttl, output:vm3',
  },
  {
    name: 'a port without an IPv6 address drops IPv6',
    edit: (b) => b.set(b.id('r1-left'), { address6: null }),
    packet: routed6(),
    actions: 'drop(router port r1-left has no IPv6 address)',
  },
];

describe('router: IPv6', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { r, b, got } = run(c);
      assert.equal(got, c.actions);
      if (c.mask !== undefined) assert.equal(formatMask(r.mask, r.packet, 'vm1'), c.mask);
      if (c.cacheable !== undefined) assert.equal(r.cacheable, c.cacheable, r.uncacheableReason ?? '');
      c.check?.(r, b);
    });
  }

  it('spreads flows over two equal IPv6 routes by the 5-tuple (ECMP), each flow on one path', () => {
    const b = dualStack();
    b.route(b.id('r1'), '2001:db8:99::/48', { nextHopPortId: b.id('r1-right'), gateway: '2001:db8:2::a' });
    b.route(b.id('r1'), '2001:db8:99::/48', { nextHopPortId: b.id('r1-right'), gateway: '2001:db8:2::b' });
    const t = b.build();
    const s = standardState(b);
    s.nd.learn(b.id('r1'), parseIpv6('2001:db8:2::a')!, macToNumber('02:00:00:00:00:0a'), 0);
    s.nd.learn(b.id('r1'), parseIpv6('2001:db8:2::b')!, macToNumber('02:00:00:00:00:0b'), 0);
    const count = new Map<string, number>();
    for (let sport = 2000; sport < 2100; sport++) {
      const r = simulate(t, packet(routed6({ dstIp6: '2001:db8:99::1', srcPort: sport })), b.id('vm1'), 0, {
        state: s,
      }) as SimDone;
      const set = r.actions.find((a) => a.kind === 'setField' && a.field === 'eth_dst');
      assert.ok(set !== undefined && set.kind === 'setField');
      count.set(String(set.value), (count.get(String(set.value)) ?? 0) + 1);
      assert.match(formatMask(r.mask, r.packet, 'vm1'), /tp_src=\d+/, 'ECMP reads the ports');
    }
    assert.equal(count.size, 2, JSON.stringify([...count]));
  });
});
