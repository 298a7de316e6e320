// Port security, table-driven: a port's MAC, addresses and allowed pairs against spoofed frames (source
// MAC, IPv4/IPv6 source, ARP sender, DHCP server messages), the trace's words, the drop effect, and the
// mask: a flow installed for an allowed packet never matches a spoofed variant of it.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatIpv6, macToNumber } from '../../src/addr.js';
import type { TopologyBuilder } from '../../src/sim/builder.js';
import type { PacketFields } from '../../src/sim/packet-fields.js';
import { agreesOnMask } from '../../src/sim/mask.js';
import { linkLocalOf } from '../../src/sim/port-security.js';
import { renderTrace, simulate, type SimDone } from '../../src/sim/index.js';
import { parseFields } from '../../src/state/model-parse.js';
import { IP, MAC, bridgedTcp, packet, standardBuilder, standardState } from '../support/scenario.js';

const PAIR_MAC = '02:00:00:00:00:99';
const OTHER_MAC = '02:00:00:00:00:77';
const V6 = '2001:db8::10';

/** vm1 with port security: its MAC, 192.0.2.10 and 2001:db8::10, a pair (PAIR_MAC, 192.0.2.64/28), a pair 192.0.2.200 on its own MAC. */
function secured(b: TopologyBuilder, extra: Record<string, unknown> = {}): void {
  b.set(b.id('vm1'), {
    portSecurity: true,
    mac: MAC.vm1,
    addresses: [IP.vm1, V6],
    allowedAddressPairs: [
      { ipAddress: '192.0.2.64/28', mac: PAIR_MAC },
      { ipAddress: '192.0.2.200', mac: null },
    ],
    ...extra,
  });
}

function run(p: PacketFields, edit: (b: TopologyBuilder) => void = secured, trace = false): SimDone {
  const b = standardBuilder();
  edit(b);
  const r = simulate(b.build(), packet(p), b.id('vm1'), 1000, { state: standardState(b), trace });
  if (r.kind !== 'done') throw new Error(`needs ${r.need.join(', ')}`);
  return r;
}

function dropReason(r: SimDone): string | null {
  const d = r.actions.find((a) => a.kind === 'drop');
  return d?.kind === 'drop' ? d.reason : null;
}

const denied = (what: string) => `dropped by port security: ${what} not allowed on port vm1`;
const dhcpDiscover: PacketFields = {
  srcMac: MAC.vm1,
  dstMac: 'ff:ff:ff:ff:ff:ff',
  srcIp: '0.0.0.0',
  dstIp: '255.255.255.255',
  proto: 'udp',
  srcPort: 68,
  dstPort: 67,
};
const arp = (extra: Partial<PacketFields>): PacketFields => ({
  srcMac: MAC.vm1,
  dstMac: 'ff:ff:ff:ff:ff:ff',
  arpOp: 2,
  srcIp: IP.vm1,
  dstIp: IP.vm2,
  ...extra,
});
const v6 = (src: string): PacketFields => ({
  srcMac: MAC.vm1,
  dstMac: MAC.vm2,
  ethertype: 0x86dd,
  srcIp6: src,
});

/** A neighbour advertisement from vm1's own address claiming `target`. */
const na = (target: string): PacketFields => ({
  ...v6(V6),
  dstIp6: '2001:db8::11',
  proto: 'icmp',
  icmpType: 136,
  ndTarget: target,
});

interface Case {
  readonly name: string;
  readonly packet: PacketFields;
  readonly edit?: (b: TopologyBuilder) => void;
  /** The drop reason, or null: port security lets it through. */
  readonly dropped: string | null;
  /** The reason counted (the portSecurityDrop effect), when dropped. */
  readonly counted?: string;
}

const linkLocal = formatIpv6(linkLocalOf(macToNumber(MAC.vm1)));

const cases: Case[] = [
  { name: 'own MAC and address pass', packet: bridgedTcp(), dropped: null },
  {
    name: 'a foreign source IP is dropped',
    packet: bridgedTcp({ srcIp: '192.0.2.99' }),
    dropped: denied('source IP 192.0.2.99'),
    counted: 'ip',
  },
  {
    name: 'a foreign source MAC is dropped',
    packet: bridgedTcp({ srcMac: OTHER_MAC }),
    dropped: denied(`source MAC ${OTHER_MAC}`),
    counted: 'mac',
  },
  {
    name: "a pair's MAC with an address of its prefix passes",
    packet: bridgedTcp({ srcMac: PAIR_MAC, srcIp: '192.0.2.70' }),
    dropped: null,
  },
  {
    name: "a pair's MAC with the port's own address is dropped (addresses go with their MAC)",
    packet: bridgedTcp({ srcMac: PAIR_MAC }),
    dropped: denied('source IP 192.0.2.10'),
  },
  {
    name: "a pair's MAC just outside its prefix is dropped",
    packet: bridgedTcp({ srcMac: PAIR_MAC, srcIp: '192.0.2.80' }),
    dropped: denied('source IP 192.0.2.80'),
  },
  {
    name: 'a pair without a MAC uses the port MAC',
    packet: bridgedTcp({ srcIp: '192.0.2.200' }),
    dropped: null,
  },
  { name: 'a DHCP client message from 0.0.0.0 passes', packet: dhcpDiscover, dropped: null },
  {
    name: '0.0.0.0 other than a DHCP client message is dropped',
    packet: { ...dhcpDiscover, srcPort: 1000 },
    dropped: denied('source IP 0.0.0.0 (only DHCP client messages may use it)'),
  },
  {
    name: 'a DHCP server message (OFFER/ACK, UDP 67 -> 68) from the VM is dropped',
    packet: bridgedTcp({ proto: 'udp', srcPort: 67, dstPort: 68, tcpFlags: undefined }),
    dropped: denied('a DHCP server message (UDP source port 67)'),
    counted: 'dhcp-server',
  },
  {
    name: 'an ARP reply claiming the gateway is dropped',
    packet: arp({ srcIp: IP.rLeft }),
    dropped: denied(`ARP sender IP ${IP.rLeft}`),
    counted: 'arp',
  },
  {
    name: 'ARP with a foreign sender MAC under the own Ethernet source is dropped',
    packet: arp({ arpSha: OTHER_MAC }),
    dropped: denied(`ARP sender MAC ${OTHER_MAC}`),
    counted: 'arp',
  },
  { name: 'ARP from the own MAC and address passes', packet: arp({}), dropped: null },
  {
    name: 'an ARP probe (sender 0.0.0.0) passes',
    packet: arp({ arpOp: 1, srcIp: '0.0.0.0' }),
    dropped: null,
  },
  { name: 'IPv6 from a fixed IPv6 address passes', packet: v6(V6), dropped: null },
  { name: 'IPv6 from the EUI-64 link-local address passes', packet: v6(linkLocal), dropped: null },
  { name: 'IPv6 from :: (duplicate address detection) passes', packet: v6('::'), dropped: null },
  {
    name: 'IPv6 from a foreign address is dropped',
    packet: v6('2001:db8::99'),
    dropped: denied('source IP 2001:db8::99'),
    counted: 'ip',
  },
  {
    name: 'a neighbour advertisement for its own address passes',
    packet: na(V6),
    dropped: null,
  },
  {
    name: 'a neighbour advertisement for its link-local address passes',
    packet: na(linkLocal),
    dropped: null,
  },
  {
    name: "a neighbour advertisement for another's address is dropped (ND spoofing)",
    packet: na('2001:db8::1'),
    dropped: denied('neighbour advertisement for 2001:db8::1'),
    counted: 'nd',
  },
  {
    name: 'other ethertypes pass once the MAC is allowed',
    packet: { srcMac: MAC.vm1, dstMac: MAC.vm2, ethertype: 0x88cc },
    dropped: null,
  },
  {
    name: 'with port security off, anything goes',
    packet: bridgedTcp({ srcMac: OTHER_MAC, srcIp: '192.0.2.99' }),
    edit: (b) => secured(b, { portSecurity: false }),
    dropped: null,
  },
  {
    name: 'a DHCP host entry does not count without --addresses-from-dhcp',
    packet: bridgedTcp({ srcIp: '192.0.2.50' }),
    edit: (b) => {
      secured(b);
      b.dhcp(b.id('br-left'), 'd', '192.0.2.0/24', [{ mac: MAC.vm1, address: '192.0.2.50' }]);
    },
    dropped: denied('source IP 192.0.2.50'),
  },
  {
    name: 'a DHCP host entry counts with --addresses-from-dhcp',
    packet: bridgedTcp({ srcIp: '192.0.2.50' }),
    edit: (b) => {
      secured(b, { addressesFromDhcp: true });
      b.dhcp(b.id('br-left'), 'd', '192.0.2.0/24', [{ mac: MAC.vm1, address: '192.0.2.50' }]);
    },
    dropped: null,
  },
  {
    name: "another MAC's DHCP host entry does not count",
    packet: bridgedTcp({ srcIp: '192.0.2.51' }),
    edit: (b) => {
      secured(b, { addressesFromDhcp: true });
      b.dhcp(b.id('br-left'), 'd', '192.0.2.0/24', [{ mac: MAC.vm2, address: '192.0.2.51' }]);
    },
    dropped: denied('source IP 192.0.2.51'),
  },
];

describe('port security', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = run(c.packet, c.edit);
      const reason = dropReason(r);
      if (c.dropped === null) assert.ok(reason === null || !reason.includes('port security'), String(reason));
      else assert.equal(reason, c.dropped);
      const counted = r.effects.filter((e) => e.kind === 'portSecurityDrop');
      assert.equal(counted.length, c.dropped === null ? 0 : 1);
      if (c.counted !== undefined)
        assert.equal(counted[0]?.kind === 'portSecurityDrop' && counted[0].reason, c.counted);
      // A drop happens at the port: no chain, no device, no MAC learned.
      if (c.dropped !== null)
        assert.deepEqual(
          r.effects.map((e) => e.kind),
          ['portSecurityDrop'],
        );
      assert.equal(r.cacheable, true, 'port security decisions are flows');
    });
  }

  it('the trace says why, at the port', () => {
    const text = renderTrace(run(bridgedTcp({ srcIp: '192.0.2.99' }), secured, true));
    assert.match(
      text,
      /port vm1 \(ingress\)\n\s+drop: dropped by port security: source IP 192\.0\.2\.99 not allowed on port vm1/,
    );
  });

  it('the trace says why for IPv6 too: the packet line, the source or the ND target, the mask', () => {
    const text = renderTrace(run(v6('2001:db8::99'), secured, true));
    assert.match(text, /^packet 02:00:00:00:00:01 > 02:00:00:00:00:02 ip6 2001:db8::99 > :: hlim 64/);
    assert.match(text, /drop: dropped by port security: source IP 2001:db8::99 not allowed on port vm1/);
    assert.match(text, /Mask: .*eth_type=0x86dd ipv6_src=2001:db8::99/);
    const nd = renderTrace(run(na('2001:db8::1'), secured, true));
    assert.match(nd, /icmp6 type 136 code 0 target 2001:db8::1/);
    assert.match(
      nd,
      /dropped by port security: neighbour advertisement for 2001:db8::1 not allowed on port vm1/,
    );
    assert.match(nd, /Mask: .*nd_target=2001:db8::1 .*icmp_type=136 icmp_code=0/);
  });

  // The flow an allowed packet installs must not cover a spoofed variant of it: the check's reads are
  // in the mask (flow-match.ts invariant), whichever field the spoof changes.
  const spoofs: Array<[string, PacketFields, PacketFields]> = [
    ['source IP', bridgedTcp(), bridgedTcp({ srcIp: '192.0.2.99' })],
    ['source MAC', bridgedTcp(), bridgedTcp({ srcMac: OTHER_MAC })],
    [
      'DHCP server port',
      bridgedTcp({ proto: 'udp', srcPort: 1000, dstPort: 68, tcpFlags: undefined }),
      bridgedTcp({ proto: 'udp', srcPort: 67, dstPort: 68, tcpFlags: undefined }),
    ],
    ['ARP sender IP', arp({}), arp({ srcIp: IP.rLeft })],
    ['ARP sender MAC', arp({}), arp({ arpSha: OTHER_MAC })],
    ['IPv6 source', v6(V6), v6('2001:db8::99')],
    ['ND target', na(V6), na('2001:db8::1')],
    ['0.0.0.0 non-DHCP', dhcpDiscover, { ...dhcpDiscover, dstPort: 1000 }],
  ];
  for (const [what, ok, spoof] of spoofs) {
    it(`the flow of an allowed packet does not match a spoofed ${what}`, () => {
      const good = run(ok);
      assert.equal(dropReason(good)?.includes('port security') ?? false, false);
      const bad = run(spoof);
      assert.match(String(dropReason(bad)), /port security/);
      assert.equal(agreesOnMask(good.mask, good.packet, bad.packet), false);
    });
  }

  it('links local addresses by modified EUI-64', () => {
    assert.equal(formatIpv6(linkLocalOf(macToNumber('52:54:00:12:34:56'))), 'fe80::5054:ff:fe12:3456');
  });
});

describe('port security fields', () => {
  const port = (extra: Record<string, unknown>) =>
    parseFields('port', {
      name: 'p',
      deviceId: '00000000-0000-4000-8000-000000000001',
      deviceKind: 'bridge',
      tunnelKey: 5,
      ...extra,
    });
  const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'a multicast pair MAC',
      { allowedAddressPairs: [{ ipAddress: '192.0.2.1', mac: '01:00:5e:00:00:01' }] },
      'allowedAddressPairs.0.mac',
      /multicast/,
    ],
    [
      'an IPv6 prefix over 128',
      { allowedAddressPairs: [{ ipAddress: '2001:db8::/129' }] },
      'allowedAddressPairs.0.ipAddress',
      /0 to 128/,
    ],
    [
      'an IPv4 prefix over 32',
      { allowedAddressPairs: [{ ipAddress: '192.0.2.0/33' }] },
      'allowedAddressPairs.0.ipAddress',
      /0 to 32/,
    ],
    [
      'host bits in a pair prefix',
      { allowedAddressPairs: [{ ipAddress: '192.0.2.1/24' }] },
      'allowedAddressPairs.0.ipAddress',
      /host bits/,
    ],
    [
      'a fixed address that is neither family',
      { addresses: ['192.0.2.300'] },
      'addresses.0',
      /IPv4 address .* or an IPv6/,
    ],
  ];
  for (const [what, extra, field, message] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      const r = port(extra);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.issues[0]!.field, field);
      assert.match(r.issues[0]!.message, message);
    });
  }
  it('stores values in canonical form', () => {
    const r = port({
      addresses: ['2001:DB8:0:0::10'],
      allowedAddressPairs: [
        { ipAddress: '2001:db8::1/128' },
        { ipAddress: '192.0.2.0/32', mac: '02:AA:00:00:00:01' },
      ],
    });
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.fields.addresses, ['2001:db8::10']);
    assert.deepEqual(r.fields.allowedAddressPairs, [
      { ipAddress: '2001:db8::1', mac: null },
      { ipAddress: '192.0.2.0', mac: '02:aa:00:00:00:01' },
    ]);
  });
});
