// Property tests: random packets built then parsed give back the same object (with the computed
// lengths and checksums filled in and verified); random bytes, truncations and corruptions of valid
// frames never throw and always build back to the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIpv4, formatIpv6, formatMac } from '../../src/addr.js';
import {
  buildEthernet,
  DHCP_OPTIONS,
  parseEthernet,
  type Arp,
  type Dhcp,
  type DhcpOption,
  type Ethernet,
  type Icmp,
  type Icmpv6,
  type Ipv4,
  type Ipv6,
  type Tcp,
  type Udp,
} from '../../src/packet/index.js';

const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mac = bytes(6, 6).map((b) => formatMac(b, 0));
const ipv4Addr = bytes(4, 4).map((b) => formatIpv4(b, 0));
const ipv6Addr = fc
  .array(fc.oneof(fc.constant(0), u16), { minLength: 8, maxLength: 8 })
  .map((groups) => formatIpv6(Uint8Array.from(groups.flatMap((g) => [g >>> 8, g & 0xff])), 0));
const latin1Text = (minLength: number, maxLength: number) =>
  fc
    .array(fc.integer({ min: 1, max: 255 }), { minLength, maxLength })
    .map((codes) => String.fromCharCode(...codes));

/** `value` with `key` added only when `extra` is defined (parsed objects omit absent optional fields). */
function withOptional<T extends object, K extends string, V>(value: T, key: K, extra: V | undefined): T {
  return extra === undefined ? value : { ...value, [key]: extra };
}

const tcp: fc.Arbitrary<Tcp> = fc.record({
  kind: fc.constant('tcp' as const),
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0xfff }),
  window: u16,
  urgentPointer: u16,
  options: fc.integer({ min: 0, max: 10 }).chain((words) => bytes(4 * words, 4 * words)),
  payload: bytes(64),
});

const knownDhcpCodes = new Set(Object.values(DHCP_OPTIONS).map((o) => o.code));

/** A route of option 121: octets past the prefix's significant ones are zero on the wire. */
const classlessRoute = fc
  .record({ len: fc.integer({ min: 0, max: 32 }), dst: bytes(4, 4), router: ipv4Addr })
  .map(({ len, dst, router }) => {
    const kept = new Uint8Array(4);
    kept.set(dst.subarray(0, Math.ceil(len / 8)));
    return { destination: `${formatIpv4(kept, 0)}/${len}`, router };
  });

const dhcpOption: fc.Arbitrary<DhcpOption> = fc.oneof(
  fc.record({ type: fc.constant('messageType' as const), value: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ type: fc.constant('serverId' as const), value: ipv4Addr }),
  fc.record({ type: fc.constant('requestedIp' as const), value: ipv4Addr }),
  fc.record({ type: fc.constant('subnetMask' as const), value: ipv4Addr }),
  fc.record({ type: fc.constant('leaseTime' as const), value: u32 }),
  fc.record({
    type: fc.constant('router' as const),
    value: fc.array(ipv4Addr, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ type: fc.constant('dns' as const), value: fc.array(ipv4Addr, { minLength: 1, maxLength: 4 }) }),
  fc.record({ type: fc.constant('hostname' as const), value: latin1Text(1, 40) }),
  fc.record({
    type: fc.constant('parameterRequestList' as const),
    value: fc.array(u8, { minLength: 1, maxLength: 20 }),
  }),
  fc.record({ type: fc.constant('domainName' as const), value: latin1Text(1, 40) }),
  fc.record({
    type: fc.constant('classlessRoutes' as const),
    value: fc.array(classlessRoute, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    type: fc.constant('raw' as const),
    // Codes the parser decodes come back decoded, never raw.
    code: fc.integer({ min: 1, max: 254 }).filter((c) => !knownDhcpCodes.has(c)),
    data: bytes(20),
  }),
  fc.constant({ type: 'pad' as const }),
);

const dhcp: fc.Arbitrary<Dhcp> = fc
  .record({
    kind: fc.constant('dhcp' as const),
    op: fc.constantFrom(1, 2),
    hops: u8,
    xid: u32,
    secs: u16,
    flags: u16,
    ciaddr: ipv4Addr,
    yiaddr: ipv4Addr,
    siaddr: ipv4Addr,
    giaddr: ipv4Addr,
    chaddr: mac,
    sname: fc.oneof(fc.constant(''), latin1Text(1, 64)),
    file: fc.oneof(fc.constant(''), latin1Text(1, 128)),
    options: fc.array(dhcpOption, { maxLength: 8 }),
  })
  .chain((d) =>
    fc.option(bytes(16, 1), { nil: undefined }).map((trailer) => withOptional(d, 'trailer', trailer)),
  );

const isDhcpPort = (p: number): boolean => p === 67 || p === 68;

const udp: fc.Arbitrary<Udp> = fc.oneof(
  fc.record({
    kind: fc.constant('udp' as const),
    srcPort: fc.constantFrom(67, 68),
    dstPort: fc.constantFrom(67, 68),
    payload: dhcp,
  }),
  fc
    .record({
      kind: fc.constant('udp' as const),
      srcPort: u16,
      dstPort: u16,
      payload: fc.record({ kind: fc.constant('raw' as const), bytes: bytes(64) }),
    })
    .filter((u) => !(isDhcpPort(u.srcPort) && isDhcpPort(u.dstPort))),
);

const icmp: fc.Arbitrary<Icmp> = fc.oneof(
  fc.record({
    kind: fc.constant('icmp' as const),
    type: fc.constantFrom(0, 8),
    code: u8,
    message: fc.record({ kind: fc.constant('echo' as const), id: u16, seq: u16, data: bytes(64) }),
  }),
  fc.record({
    kind: fc.constant('icmp' as const),
    type: fc.constantFrom(3, 4, 5, 11, 12),
    code: u8,
    message: fc.record({ kind: fc.constant('error' as const), restOfHeader: u32, original: bytes(64) }),
  }),
  fc.record({
    kind: fc.constant('icmp' as const),
    type: u8.filter((t) => ![0, 3, 4, 5, 8, 11, 12].includes(t)),
    code: u8,
    message: fc.record({ kind: fc.constant('other' as const), body: bytes(64, 4) }),
  }),
);

const icmpv6: fc.Arbitrary<Icmpv6> = fc.record({
  kind: fc.constant('icmpv6' as const),
  type: u8,
  code: u8,
  body: bytes(64),
});

const rawIp = (excluded: number[]) =>
  fc.record({
    kind: fc.constant('raw' as const),
    protocol: u8.filter((p) => !excluded.includes(p)),
    bytes: bytes(64),
  });

const ipv4: fc.Arbitrary<Ipv4> = fc
  .record({
    kind: fc.constant('ipv4' as const),
    tos: u8,
    id: u16,
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragmentOffset: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0x1fff })),
    ttl: u8,
    src: ipv4Addr,
    dst: ipv4Addr,
    options: fc.integer({ min: 0, max: 10 }).chain((words) => bytes(4 * words, 4 * words)),
    reservedFlag: fc.option(fc.constant(true as const), { nil: undefined }),
  })
  .chain(({ reservedFlag, ...ip }) =>
    (ip.moreFragments || ip.fragmentOffset !== 0
      ? rawIp([])
      : fc.oneof(tcp, udp, icmp, rawIp([1, 6, 17]))
    ).map((payload): Ipv4 => withOptional({ ...ip, payload }, 'reservedFlag', reservedFlag)),
  );

const ipv6: fc.Arbitrary<Ipv6> = fc.record({
  kind: fc.constant('ipv6' as const),
  trafficClass: u8,
  flowLabel: fc.integer({ min: 0, max: 0xfffff }),
  hopLimit: u8,
  src: ipv6Addr,
  dst: ipv6Addr,
  payload: fc.oneof(tcp, udp, icmpv6, rawIp([6, 17, 58])),
});

const arp: fc.Arbitrary<Arp> = fc.record({
  kind: fc.constant('arp' as const),
  op: u16,
  senderMac: mac,
  senderIp: ipv4Addr,
  targetMac: mac,
  targetIp: ipv4Addr,
});

const vlan = fc.record({
  pcp: fc.integer({ min: 0, max: 7 }),
  dei: fc.boolean(),
  vid: fc.integer({ min: 0, max: 4095 }),
});
const KNOWN_ETHERTYPES = [0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8];

const ethernet: fc.Arbitrary<Ethernet> = fc
  .record({
    dst: mac,
    src: mac,
    svlan: fc.option(vlan, { nil: undefined }),
    vlan: fc.option(vlan, { nil: undefined }),
    payload: fc.oneof(
      arp,
      ipv4,
      ipv6,
      fc.record({
        kind: fc.constant('raw' as const),
        ethertype: u16.filter((t) => !KNOWN_ETHERTYPES.includes(t)),
        bytes: bytes(64),
      }),
    ),
    padding: fc.option(bytes(32, 1), { nil: undefined }),
  })
  .map(({ svlan, vlan, padding, ...rest }) => {
    let frame: Ethernet = { kind: 'ethernet', ...rest };
    frame = withOptional(frame, 'svlan', svlan);
    frame = withOptional(frame, 'vlan', vlan);
    return rest.payload.kind === 'raw' ? frame : withOptional(frame, 'padding', padding);
  });

const COMPUTED = new Set(['checksum', 'totalLength', 'length', 'payloadLength']);

/**
 * Removes the fields the builder computes, asserting on the way that every checksum verified, and
 * rebuilds objects with the plain prototype (fast-check records have none).
 */
function stripComputed(value: unknown): unknown {
  if (value instanceof Uint8Array || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(stripComputed);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'checksumOk') {
      assert.equal(field, true, 'a checksum the builder computed must verify');
    } else if (!COMPUTED.has(key)) {
      out[key] = stripComputed(field);
    }
  }
  return out;
}

void test('build then parse gives back the same packet', () => {
  fc.assert(
    fc.property(ethernet, (frame) => {
      const built = buildEthernet(frame);
      const parsed = parseEthernet(built);
      assert.deepStrictEqual(stripComputed(parsed), stripComputed(frame));
      assert.deepStrictEqual(buildEthernet(parsed), built);
    }),
    { numRuns: 1000 },
  );
});

/** Parsing must not throw, and must lose nothing. */
function roundTrips(b: Uint8Array): void {
  const frame = parseEthernet(b);
  assert.deepStrictEqual(buildEthernet(frame), b);
}

void test('random bytes never throw and build back to themselves', () => {
  const prefixes = [
    '',
    '525400aabbcc5254001234560800',
    '525400aabbcc5254001234560800 45',
    '525400aabbcc52540012345686dd 60',
    '525400aabbcc5254001234560806 0001080006040001',
    '525400aabbcc525400123456 8100 0001 0800 45',
  ].map((h) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex')));
  fc.assert(
    fc.property(fc.constantFrom(...prefixes), bytes(300), (prefix, tail) => {
      const b = new Uint8Array(prefix.length + tail.length);
      b.set(prefix);
      b.set(tail, prefix.length);
      roundTrips(b);
    }),
    { numRuns: 2000 },
  );
});

void test('truncations and single-byte corruptions of valid frames never throw and build back', () => {
  fc.assert(
    fc.property(ethernet, fc.nat(), fc.nat(), u8, (frame, cut, at, value) => {
      const built = buildEthernet(frame);
      roundTrips(built.subarray(0, cut % (built.length + 1)));
      const corrupt = built.slice();
      corrupt[at % corrupt.length] = value;
      roundTrips(corrupt);
    }),
    { numRuns: 1000 },
  );
});

void test('a Node Buffer parses to plain Uint8Array views of the same memory', () => {
  fc.assert(
    fc.property(ethernet, (frame) => {
      const buf = Buffer.from(buildEthernet(frame));
      const parsed = parseEthernet(buf);
      assert.deepStrictEqual(stripComputed(parsed), stripComputed(frame));
    }),
    { numRuns: 200 },
  );
});
