// Malformed input: every failing layer becomes a Malformed node with a clear reason while the outer
// layers stay parsed; bad checksums are reported, not rejected; and nothing is lost (build(parse(b)) = b).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildEthernet,
  buildIpv4,
  buildDhcp,
  findMalformed,
  parseDhcp,
  parseEthernet,
  type Dhcp,
  type Frame,
  type Ipv4,
  type Layer,
} from '../../src/packet/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const EMPTY = new Uint8Array(0);
const ETH_IPV4 = hex('525400aabbcc 525400123456 0800');
const ETH_IPV6 = hex('525400aabbcc 525400123456 86dd');

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** Parses `bytes`, expects the malformed layer and reason, checks the frame builds back to `bytes`. */
function expectMalformed(bytes: Uint8Array, layer: Layer, reason: string): Frame {
  let frame: Frame | undefined;
  assert.doesNotThrow(() => {
    frame = parseEthernet(bytes);
  });
  assert.ok(frame !== undefined);
  const bad = findMalformed(frame);
  assert.ok(bad !== undefined, `expected a malformed ${layer} layer`);
  assert.equal(bad.layer, layer);
  assert.equal(bad.reason, reason);
  assert.deepStrictEqual(buildEthernet(frame), bytes);
  return frame;
}

function ipv4(payload: Ipv4['payload'], extra: Partial<Ipv4> = {}): Ipv4 {
  return {
    kind: 'ipv4',
    tos: 0,
    id: 1,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    options: EMPTY,
    payload,
    ...extra,
  };
}

const UDP_IP = buildIpv4(
  ipv4({ kind: 'udp', srcPort: 1000, dstPort: 2000, payload: { kind: 'raw', bytes: hex('01020304') } }),
);
const TCP_IP = buildIpv4(
  ipv4({
    kind: 'tcp',
    srcPort: 1000,
    dstPort: 80,
    seq: 1,
    ack: 0,
    flags: 2,
    window: 1000,
    urgentPointer: 0,
    options: EMPTY,
    payload: hex('aabb'),
  }),
);

void test('ethernet: frames shorter than the header or a VLAN tag', () => {
  const short = hex('ffffffffffff 525400123456 08');
  const frame = expectMalformed(short, 'ethernet', 'ethernet: truncated header: 13 bytes, need at least 14');
  assert.equal(frame.kind, 'malformed');
  expectMalformed(
    hex('ffffffffffff 525400123456 8100 00'),
    'ethernet',
    'ethernet: truncated 802.1Q tag: 15 bytes, need 18',
  );
  expectMalformed(
    hex('ffffffffffff 525400123456 88a8 0001'),
    'ethernet',
    'ethernet: truncated 802.1ad tag: 16 bytes, need 18',
  );
  expectMalformed(EMPTY, 'ethernet', 'ethernet: truncated header: 0 bytes, need at least 14');
});

void test('arp: truncated, and not Ethernet/IPv4', () => {
  const eth = hex('ffffffffffff 525400123456 0806');
  const frame = expectMalformed(
    concat(eth, hex('0001 0800 06 04 0001 525400123456')),
    'arp',
    'arp: truncated: 14 bytes, need 28',
  );
  assert.ok(frame.kind === 'ethernet', 'the Ethernet header stays parsed');
  assert.equal(frame.src, '52:54:00:12:34:56');
  expectMalformed(concat(eth, hex('0001 08')), 'arp', 'arp: truncated header: 3 bytes, need at least 8');
  expectMalformed(
    concat(eth, hex('0006 0800 06 04 0001'), new Uint8Array(20)),
    'arp',
    'arp: only Ethernet/IPv4 is supported (htype 1, ptype 0x0800, hlen 6, plen 4), got htype 6, ptype 0x0800, hlen 6, plen 4',
  );
});

void test('ipv4: truncated header, wrong version, IHL < 5, IHL past the buffer', () => {
  expectMalformed(
    concat(ETH_IPV4, UDP_IP.subarray(0, 19)),
    'ipv4',
    'ipv4: truncated header: 19 bytes, need at least 20',
  );
  const v6 = UDP_IP.slice();
  v6[0] = 0x65;
  expectMalformed(concat(ETH_IPV4, v6), 'ipv4', 'ipv4: version 6 is not 4');
  const ihl4 = UDP_IP.slice();
  ihl4[0] = 0x44;
  expectMalformed(concat(ETH_IPV4, ihl4), 'ipv4', 'ipv4: header length 4 words is below the minimum of 5');
  const ihl15 = UDP_IP.slice(0, 24);
  ihl15[0] = 0x4f;
  expectMalformed(
    concat(ETH_IPV4, ihl15),
    'ipv4',
    'ipv4: header length 15 words (60 bytes) runs past the end of the buffer (24 bytes)',
  );
});

void test('ipv4: total length shorter than the header or past the buffer', () => {
  const short = UDP_IP.slice();
  short[2] = 0;
  short[3] = 19;
  expectMalformed(
    concat(ETH_IPV4, short),
    'ipv4',
    'ipv4: total length 19 is shorter than the header (20 bytes)',
  );
  const long = UDP_IP.slice();
  long[2] = 0x05;
  long[3] = 0xdc;
  expectMalformed(
    concat(ETH_IPV4, long),
    'ipv4',
    'ipv4: total length 1500 runs past the end of the buffer (32 bytes)',
  );
});

void test('ipv4: a bad header checksum is reported, the packet still parsed', () => {
  const bytes = concat(ETH_IPV4, UDP_IP);
  bytes[14 + 8] = 3; // TTL changed without fixing the checksum
  const frame = parseEthernet(bytes);
  assert.ok(frame.kind === 'ethernet' && frame.payload.kind === 'ipv4');
  assert.equal(frame.payload.checksumOk, false);
  assert.equal(frame.payload.ttl, 3);
  assert.equal(frame.payload.payload.kind, 'udp');
  assert.equal(findMalformed(frame), undefined);
  assert.deepStrictEqual(buildEthernet(frame), bytes);
});

void test('tcp: truncated, data offset < 5, data offset past the segment, bad checksum', () => {
  const ihl = 20;
  const withTcp = (mutate: (tcp: Uint8Array) => void, length = TCP_IP.length): Uint8Array => {
    const ip = TCP_IP.slice(0, length);
    ip[2] = length >>> 8;
    ip[3] = length & 0xff;
    mutate(ip.subarray(ihl));
    return concat(ETH_IPV4, ip);
  };
  expectMalformed(
    withTcp(() => {}, 30),
    'tcp',
    'tcp: truncated header: 10 bytes, need at least 20',
  );
  expectMalformed(
    withTcp((t) => {
      t[12] = 0x40;
    }),
    'tcp',
    'tcp: data offset 4 words is below the minimum of 5',
  );
  const frame = expectMalformed(
    withTcp((t) => {
      t[12] = 0x80;
    }),
    'tcp',
    'tcp: data offset 8 words (32 bytes) runs past the end of the segment (22 bytes)',
  );
  assert.ok(frame.kind === 'ethernet' && frame.payload.kind === 'ipv4', 'IPv4 stays parsed');
  assert.equal(frame.payload.dst, '10.0.0.2');
  const corrupt = parseEthernet(
    withTcp((t) => {
      t[21] = (t[21] ?? 0) ^ 1;
    }),
  );
  assert.ok(corrupt.kind === 'ethernet' && corrupt.payload.kind === 'ipv4');
  assert.ok(corrupt.payload.payload.kind === 'tcp');
  assert.equal(corrupt.payload.payload.checksumOk, false);
});

void test('udp: truncated, length below 8, length past the IP payload, bad and absent checksums', () => {
  const withUdp = (mutate: (udp: Uint8Array) => void, length = UDP_IP.length): Uint8Array => {
    const ip = UDP_IP.slice(0, length);
    ip[2] = length >>> 8;
    ip[3] = length & 0xff;
    mutate(ip.subarray(20));
    return concat(ETH_IPV4, ip);
  };
  expectMalformed(
    withUdp(() => {}, 27),
    'udp',
    'udp: truncated header: 7 bytes, need at least 8',
  );
  expectMalformed(
    withUdp((u) => {
      u[5] = 7;
    }),
    'udp',
    'udp: length 7 is below the minimum of 8',
  );
  expectMalformed(
    withUdp((u) => {
      u[5] = 40;
    }),
    'udp',
    'udp: length 40 runs past the end of the IP payload (12 bytes)',
  );
  const udpOf = (bytes: Uint8Array) => {
    const frame = parseEthernet(bytes);
    assert.ok(
      frame.kind === 'ethernet' && frame.payload.kind === 'ipv4' && frame.payload.payload.kind === 'udp',
    );
    return frame.payload.payload;
  };
  assert.equal(udpOf(withUdp((u) => (u[11] = (u[11] ?? 0) ^ 0xff))).checksumOk, false);
  const none = udpOf(withUdp((u) => u.fill(0, 6, 8)));
  assert.equal(none.checksum, 0);
  assert.equal(none.checksumOk, true, 'zero means no checksum over IPv4');
  const shorter = udpOf(withUdp((u) => (u[5] = 10)));
  assert.deepStrictEqual(shorter.padding, hex('0304'), 'IP payload bytes past the UDP length are kept');
});

void test('udp over IPv6: a zero checksum is invalid', () => {
  const frame = parseEthernet(
    concat(ETH_IPV6, hex('60000000 000c 11 40'), new Uint8Array(32), hex('0001 0002 000c 0000 01020304')),
  );
  assert.ok(
    frame.kind === 'ethernet' && frame.payload.kind === 'ipv6' && frame.payload.payload.kind === 'udp',
  );
  assert.equal(frame.payload.payload.checksumOk, false);
});

void test('ipv6: truncated, wrong version, payload length past the buffer; icmp and icmpv6 truncated', () => {
  const header = concat(hex('60000000 0004 3a 40'), new Uint8Array(32));
  expectMalformed(
    concat(ETH_IPV6, header.subarray(0, 39)),
    'ipv6',
    'ipv6: truncated header: 39 bytes, need at least 40',
  );
  const v4 = header.slice();
  v4[0] = 0x40;
  expectMalformed(concat(ETH_IPV6, v4, hex('80000000')), 'ipv6', 'ipv6: version 4 is not 6');
  expectMalformed(
    concat(ETH_IPV6, header, hex('80')),
    'ipv6',
    'ipv6: payload length 4 runs past the end of the buffer (1 bytes after the header)',
  );
  const three = header.slice();
  three[5] = 3;
  expectMalformed(
    concat(ETH_IPV6, three, hex('800000')),
    'icmpv6',
    'icmpv6: truncated header: 3 bytes, need at least 4',
  );
  const icmp = buildIpv4(ipv4({ kind: 'raw', protocol: 1, bytes: hex('0800 0000 0001') }));
  expectMalformed(concat(ETH_IPV4, icmp), 'icmp', 'icmp: truncated header: 6 bytes, need at least 8');
});

const DISCOVER: Dhcp = {
  kind: 'dhcp',
  op: 1,
  hops: 0,
  xid: 42,
  secs: 0,
  flags: 0,
  ciaddr: '0.0.0.0',
  yiaddr: '0.0.0.0',
  siaddr: '0.0.0.0',
  giaddr: '0.0.0.0',
  chaddr: '52:54:00:12:34:56',
  sname: '',
  file: '',
  options: [{ type: 'messageType', value: 1 }],
};

void test('dhcp: every malformation is a Malformed dhcp node under a parsed UDP header', () => {
  const good = buildDhcp(DISCOVER);
  const cases: [(d: Uint8Array) => Uint8Array, string][] = [
    [(d) => d.subarray(0, 239), 'dhcp: truncated: 239 bytes, need at least 240 (header and magic cookie)'],
    [(d) => ((d[236] = 1), d), 'dhcp: bad magic cookie 0x01825363, expected 0x63825363'],
    [(d) => ((d[1] = 6), d), 'dhcp: hardware type 6 length 6 is not Ethernet (1, 6)'],
    [(d) => ((d[40] = 1), d), 'dhcp: client hardware address has non-zero bytes past the 6-byte MAC'],
    [(d) => d.subarray(0, 243), 'dhcp: options end without an End option (255)'],
    [(d) => concat(d.subarray(0, 243), hex('0c')), 'dhcp: option 12 at offset 243 has no length byte'],
    [
      (d) => concat(d.subarray(0, 243), hex('0c 05 6162')),
      'dhcp: option 12 length 5 at offset 243 runs past the end (2 bytes left)',
    ],
    [
      (d) => concat(d.subarray(0, 240), hex('35 02 0101 ff')),
      'dhcp: option 53 (messageType) has length 2, expected 1',
    ],
    [
      (d) => concat(d.subarray(0, 240), hex('03 06 010203040506 ff')),
      'dhcp: option 3 (router) has length 6, expected a positive multiple of 4',
    ],
    [
      (d) => concat(d.subarray(0, 240), hex('0c 00 ff')),
      'dhcp: option 12 (hostname) has length 0, expected at least 1',
    ],
  ];
  for (const [corrupt, reason] of cases) {
    const body = corrupt(good.slice());
    const direct = parseDhcp(body);
    assert.ok(direct.kind === 'malformed');
    assert.equal(direct.reason, reason);
    const ip = buildIpv4(
      ipv4({ kind: 'udp', srcPort: 68, dstPort: 67, payload: { kind: 'raw', bytes: body } }),
    );
    const frame = expectMalformed(concat(ETH_IPV4, ip), 'dhcp', reason);
    assert.ok(
      frame.kind === 'ethernet' && frame.payload.kind === 'ipv4' && frame.payload.payload.kind === 'udp',
    );
    assert.equal(frame.payload.payload.checksumOk, true, 'the UDP header stays parsed and verified');
  }
});

void test('dhcp: bytes after End are kept as the trailer; pads are kept in place', () => {
  const bytes = concat(buildDhcp(DISCOVER).subarray(0, 240), hex('00 3501 05 00 ff 000000'));
  const parsed = parseDhcp(bytes);
  assert.ok(parsed.kind === 'dhcp');
  assert.deepStrictEqual(parsed.options, [
    { type: 'pad' },
    { type: 'messageType', value: 5 },
    { type: 'pad' },
  ]);
  assert.deepStrictEqual(parsed.trailer, hex('000000'));
  assert.deepStrictEqual(buildDhcp(parsed), bytes);
});

void test('builders reject values no wire format can hold', () => {
  assert.throws(
    () => buildIpv4(ipv4({ kind: 'raw', protocol: 99, bytes: EMPTY }, { src: '10.0.0.256' })),
    RangeError,
  );
  assert.throws(
    () => buildIpv4(ipv4({ kind: 'raw', protocol: 99, bytes: EMPTY }, { options: hex('01') })),
    RangeError,
  );
  assert.throws(
    () => buildIpv4(ipv4({ kind: 'malformed', layer: 'dhcp', reason: 'x', bytes: EMPTY })),
    /cannot be an IP payload/,
  );
  assert.throws(
    () =>
      buildEthernet({
        kind: 'ethernet',
        dst: 'ff:ff:ff:ff:ff:ff',
        src: 'not a mac',
        payload: { kind: 'raw', ethertype: 0x88b5, bytes: EMPTY },
      }),
    RangeError,
  );
});
