// Golden frames: hand-written bytes (laid out from the RFCs, checksums computed independently) parse to
// the expected objects and build back to identical bytes; objects with lengths and checksums left
// undefined build to the same bytes too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEthernet, parseEthernet, TcpFlag, type Ethernet, type Frame } from '../../src/packet/index.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

const EMPTY = new Uint8Array(0);
const ascii = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));

/** Parses, compares with `expected`, and checks that both the parsed object and `unfilled` build to `bytes`. */
function golden(bytes: Uint8Array, expected: Frame, unfilled?: Frame): void {
  const parsed = parseEthernet(bytes);
  assert.deepStrictEqual(parsed, expected);
  assert.deepStrictEqual(buildEthernet(parsed), bytes);
  if (unfilled !== undefined) assert.deepStrictEqual(buildEthernet(unfilled), bytes);
}

const ARP_REQUEST = hex(`
  ffffffffffff 525400123456 0806
  0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002
`);

const ARP_EXPECTED: Ethernet = {
  kind: 'ethernet',
  dst: 'ff:ff:ff:ff:ff:ff',
  src: '52:54:00:12:34:56',
  payload: {
    kind: 'arp',
    op: 1,
    senderMac: '52:54:00:12:34:56',
    senderIp: '10.0.0.1',
    targetMac: '00:00:00:00:00:00',
    targetIp: '10.0.0.2',
  },
};

void test('ARP request', () => {
  golden(ARP_REQUEST, ARP_EXPECTED, ARP_EXPECTED);
});

void test('ARP request padded to the 60-byte minimum keeps the padding', () => {
  const padded = new Uint8Array(60);
  padded.set(ARP_REQUEST);
  golden(padded, { ...ARP_EXPECTED, padding: new Uint8Array(18) });
});

void test('802.1Q-tagged ARP request (PCP 5, VID 100) and a QinQ-tagged one', () => {
  const tagged = hex(`ffffffffffff 525400123456 8100 a064 0806
    0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002`);
  golden(tagged, { ...ARP_EXPECTED, vlan: { pcp: 5, dei: false, vid: 100 } });
  const qinq = hex(`ffffffffffff 525400123456 88a8 1fff 8100 0064 0806
    0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002`);
  golden(qinq, {
    ...ARP_EXPECTED,
    svlan: { pcp: 0, dei: true, vid: 4095 },
    vlan: { pcp: 0, dei: false, vid: 100 },
  });
});

void test('ICMP echo request with known checksums (IPv4 0x9c7a, ICMP 0x5435)', () => {
  const frame = hex(`
    525400aabbcc 525400123456 0800
    45 00 0024 1c46 4000 40 01 9c7a c0a80001 c0a800c7
    08 00 5435 1234 0001 6162636465666768
  `);
  const ip = {
    kind: 'ipv4' as const,
    tos: 0,
    id: 0x1c46,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    src: '192.168.0.1',
    dst: '192.168.0.199',
    options: EMPTY,
  };
  const icmp = {
    kind: 'icmp' as const,
    type: 8,
    code: 0,
    message: { kind: 'echo' as const, id: 0x1234, seq: 1, data: ascii('abcdefgh') },
  };
  const header = { kind: 'ethernet' as const, dst: '52:54:00:aa:bb:cc', src: '52:54:00:12:34:56' };
  golden(
    frame,
    {
      ...header,
      payload: {
        ...ip,
        totalLength: 36,
        checksum: 0x9c7a,
        checksumOk: true,
        payload: { ...icmp, checksum: 0x5435, checksumOk: true },
      },
    },
    { ...header, payload: { ...ip, payload: icmp } },
  );
});

void test('TCP SYN with MSS, SACK-permitted, timestamps, NOP and window scale options', () => {
  const options = hex('020405b4 0402 080a0000000100000000 01 030307');
  const frame = hex(`
    525400aabbcc 525400123456 0800
    45 00 003c beef 4000 40 06 67ca 0a000001 0a000002
    c000 0050 01020304 00000000 a002 faf0 74b5 0000
    020405b4 0402 080a0000000100000000 01 030307
  `);
  const tcp = {
    kind: 'tcp' as const,
    srcPort: 49152,
    dstPort: 80,
    seq: 0x01020304,
    ack: 0,
    flags: TcpFlag.SYN,
    window: 64240,
    urgentPointer: 0,
    options,
    payload: EMPTY,
  };
  const ip = {
    kind: 'ipv4' as const,
    tos: 0,
    id: 0xbeef,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    src: '10.0.0.1',
    dst: '10.0.0.2',
    options: EMPTY,
  };
  const header = { kind: 'ethernet' as const, dst: '52:54:00:aa:bb:cc', src: '52:54:00:12:34:56' };
  golden(
    frame,
    {
      ...header,
      payload: {
        ...ip,
        totalLength: 60,
        checksum: 0x67ca,
        checksumOk: true,
        payload: { ...tcp, checksum: 0x74b5, checksumOk: true },
      },
    },
    { ...header, payload: { ...ip, payload: tcp } },
  );
});

void test('UDP DNS query for example.com (checksum 0x9b1a)', () => {
  const dns = hex('abcd 0100 0001 0000 0000 0000 076578616d706c6503636f6d00 0001 0001');
  const frame = hex(`
    525400aabbcc 525400123456 0800
    45 00 0039 0001 0000 40 11 60a3 0a000001 08080808
    cf08 0035 0025 9b1a
    abcd 0100 0001 0000 0000 0000 076578616d706c6503636f6d00 0001 0001
  `);
  const ip = {
    kind: 'ipv4' as const,
    tos: 0,
    id: 1,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    src: '10.0.0.1',
    dst: '8.8.8.8',
    options: EMPTY,
  };
  const header = { kind: 'ethernet' as const, dst: '52:54:00:aa:bb:cc', src: '52:54:00:12:34:56' };
  golden(
    frame,
    {
      ...header,
      payload: {
        ...ip,
        totalLength: 57,
        checksum: 0x60a3,
        checksumOk: true,
        payload: {
          kind: 'udp',
          srcPort: 53000,
          dstPort: 53,
          length: 37,
          checksum: 0x9b1a,
          checksumOk: true,
          payload: { kind: 'raw', bytes: dns },
        },
      },
    },
    {
      ...header,
      payload: {
        ...ip,
        payload: { kind: 'udp', srcPort: 53000, dstPort: 53, payload: { kind: 'raw', bytes: dns } },
      },
    },
  );
});

void test('DHCP DISCOVER: BOOTP header, magic cookie, known and unknown options', () => {
  const frame = hex(`
    ffffffffffff 525400123456 0800
    45 00 012b 0000 0000 40 11 79c3 00000000 ffffffff
    0044 0043 0117 3060
    01 01 06 00 3903f326 0000 8000 00000000 00000000 00000000 00000000
    525400123456 00000000000000000000
    ${'00'.repeat(64)} ${'00'.repeat(128)}
    63825363
    35 01 01
    3d 07 01525400123456
    0c 04 686f7374
    37 04 0103060f
    32 04 c0a80064
    ff
  `);
  const dhcp = {
    kind: 'dhcp' as const,
    op: 1,
    hops: 0,
    xid: 0x3903f326,
    secs: 0,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: '52:54:00:12:34:56',
    sname: '',
    file: '',
    options: [
      { type: 'messageType' as const, value: 1 },
      { type: 'raw' as const, code: 61, data: hex('01525400123456') },
      { type: 'hostname' as const, value: 'host' },
      { type: 'parameterRequestList' as const, value: [1, 3, 6, 15] },
      { type: 'requestedIp' as const, value: '192.168.0.100' },
    ],
  };
  const ip = {
    kind: 'ipv4' as const,
    tos: 0,
    id: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    src: '0.0.0.0',
    dst: '255.255.255.255',
    options: EMPTY,
  };
  const header = { kind: 'ethernet' as const, dst: 'ff:ff:ff:ff:ff:ff', src: '52:54:00:12:34:56' };
  golden(
    frame,
    {
      ...header,
      payload: {
        ...ip,
        totalLength: 299,
        checksum: 0x79c3,
        checksumOk: true,
        payload: {
          kind: 'udp',
          srcPort: 68,
          dstPort: 67,
          length: 279,
          checksum: 0x3060,
          checksumOk: true,
          payload: dhcp,
        },
      },
    },
    { ...header, payload: { ...ip, payload: { kind: 'udp', srcPort: 68, dstPort: 67, payload: dhcp } } },
  );
});

void test('IPv6 ICMPv6 echo request between link-local addresses (checksum 0xdee5)', () => {
  const frame = hex(`
    333300000002 525400123456 86dd
    60000000 0010 3a 40
    fe800000000000000000000000000001
    fe800000000000000000000000000002
    80 00 dee5 1234 0001 6162636465666768
  `);
  const body = hex('1234 0001 6162636465666768');
  const ip = {
    kind: 'ipv6' as const,
    trafficClass: 0,
    flowLabel: 0,
    hopLimit: 64,
    src: 'fe80::1',
    dst: 'fe80::2',
  };
  const header = { kind: 'ethernet' as const, dst: '33:33:00:00:00:02', src: '52:54:00:12:34:56' };
  golden(
    frame,
    {
      ...header,
      payload: {
        ...ip,
        payloadLength: 16,
        payload: { kind: 'icmpv6', type: 128, code: 0, checksum: 0xdee5, checksumOk: true, body },
      },
    },
    { ...header, payload: { ...ip, payload: { kind: 'icmpv6', type: 128, code: 0, body } } },
  );
});

void test('IPv4 with options and a fragment: options kept as bytes, fragment payload raw', () => {
  // Router alert option (94 04 0000), MF set, offset 0 with protocol UDP: the payload stays raw.
  const unfilled: Ethernet = {
    kind: 'ethernet',
    dst: '52:54:00:aa:bb:cc',
    src: '52:54:00:12:34:56',
    payload: {
      kind: 'ipv4',
      tos: 0xb8,
      id: 7,
      dontFragment: false,
      moreFragments: true,
      fragmentOffset: 0,
      ttl: 1,
      src: '10.1.2.3',
      dst: '10.3.2.1',
      options: hex('94040000'),
      payload: { kind: 'raw', protocol: 17, bytes: hex('00350035 0010 0000 0102030405060708') },
    },
  };
  const bytes = buildEthernet(unfilled);
  const parsed = parseEthernet(bytes);
  assert.ok(parsed.kind === 'ethernet' && parsed.payload.kind === 'ipv4');
  assert.equal(parsed.payload.checksumOk, true);
  assert.equal(bytes[14], 0x46);
  assert.deepStrictEqual(
    parsed.payload.payload,
    unfilled.payload.kind === 'ipv4' && unfilled.payload.payload,
  );
  assert.deepStrictEqual(buildEthernet(parsed), bytes);
});

void test('unknown EtherType is kept raw', () => {
  const frame = hex('0180c2000000 525400123456 88cc 0207 04525400123456');
  golden(frame, {
    kind: 'ethernet',
    dst: '01:80:c2:00:00:00',
    src: '52:54:00:12:34:56',
    payload: { kind: 'raw', ethertype: 0x88cc, bytes: hex('0207 04525400123456') },
  });
});
