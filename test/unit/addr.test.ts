// The address module (src/addr.ts): examples from RFC 4291 and RFC 5952, and properties checked against
// Node's own parsers (net.isIPv4/isIPv6, the WHATWG URL serializer's IPv6 compression) and against
// plain arithmetic on the representations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import {
  canonicalIpv6,
  formatIpv4,
  formatIpv6,
  formatMac,
  ipv6FromBytes,
  ipv6Network,
  ipv6PrefixContains,
  ipv6PrefixMask,
  ipv6ToBytes,
  isMulticastMac,
  macToNumber,
  normalizeMac,
  parseCidr,
  parseIpv4,
  parseIpv6,
  parseIpv6Cidr,
  parseMac,
  prefixContains,
  prefixMask,
  writeIpv4,
  writeIpv6,
  writeMac,
  type Ipv6Words,
} from '../../src/addr.js';
import { holds } from './property.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Words with many zero groups, so that "::" runs of every length and position come up. */
const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const words: fc.Arbitrary<Ipv6Words> = fc
  .array(group, { minLength: 8, maxLength: 8 })
  .map((g) => [0, 2, 4, 6].map((i) => ((g[i]! << 16) | g[i + 1]!) >>> 0) as unknown as Ipv6Words);

void test('IPv6 text: RFC 5952 canonical form', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:DB8::AAAA', '2001:db8::aaaa'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['fe80::0:1', 'fe80::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, canonical] of cases) assert.equal(canonicalIpv6(input), canonical, input);
  assert.equal(formatIpv6(new Uint8Array(16).fill(0xff), 0), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  assert.deepEqual(parseIpv6('2001:db8::c000:221'), [0x20010db8, 0, 0, 0xc0000221]);
});

void test('text that is not an address is refused: parsers say undefined, writers throw', () => {
  const out = new Uint8Array(16);
  const badIpv6 = ['1:2:3:4:5:6:7:8:9', '1::2::3', ':1::', '12345::', 'g::', '1:2:3:4:5:6:7', '::1.2.3'];
  for (const bad of [...badIpv6, '', ':::', '1.2.3.4', 'fe80::1%eth0', '1.2.3.4::', '::1.2.3.4:5']) {
    assert.equal(parseIpv6(bad), undefined, bad);
    assert.throws(() => writeIpv6(bad, out, 0), RangeError, bad);
  }
  for (const bad of [
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '01.2.3.4',
    '1..3.4',
    '',
    'a.b.c.d',
    '1.2.3.4 ',
    '0001.2.3.4',
  ]) {
    assert.equal(parseIpv4(bad), undefined, bad);
    assert.throws(() => writeIpv4(bad, out, 0), RangeError, bad);
  }
  for (const bad of [
    'aa:bb:cc:dd:ee',
    'aa:bb:cc:dd:ee:fg',
    'aa:bb-cc:dd:ee:ff',
    'aabbccddeeff',
    'aa:bb:cc:dd:ee:ff:',
  ]) {
    assert.equal(parseMac(bad), undefined, bad);
    assert.throws(() => writeMac(bad, out, 0), RangeError, bad);
    assert.throws(() => macToNumber(bad), RangeError, bad);
  }
  assert.throws(() => writeMac('aa-bb-cc-dd-ee-ff', out, 0), RangeError, 'the wire form takes colons only');
  writeMac('AA:BB:CC:DD:EE:FF', out, 0);
  assert.deepStrictEqual(out.subarray(0, 6), hex('aabbccddeeff'));
});

void test('MACs: text, number and bytes agree; normalizeMac lowercases and takes dashes', () => {
  assert.equal(normalizeMac('02-00-00-AB-cd-01'), '02:00:00:ab:cd:01');
  assert.equal(macToNumber('ff:ff:ff:ff:ff:ff'), 2 ** 48 - 1);
  assert.equal(isMulticastMac(macToNumber('01:00:5e:00:00:01')), true);
  assert.equal(isMulticastMac(macToNumber('ff:ff:ff:ff:ff:ff')), true);
  assert.equal(isMulticastMac(macToNumber('02:00:00:00:00:01')), false);
  holds(
    fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (b) => {
      const text = formatMac(b, 0);
      assert.match(text, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      const n = macToNumber(text);
      assert.equal(n, parseInt(Buffer.from(b).toString('hex'), 16));
      assert.equal(formatMac(n), text);
      assert.equal(normalizeMac(text.toUpperCase()), text);
      const back = new Uint8Array(6);
      writeMac(text, back, 0);
      assert.deepStrictEqual(back, b);
      assert.equal(isMulticastMac(n), (b[0]! & 1) === 1);
    }),
    { seed: 1, numRuns: 2000 },
  );
});

void test('IPv4: text, number and bytes agree; the parser accepts exactly what net.isIPv4 does', () => {
  holds(
    fc.property(u32, (n) => {
      const text = formatIpv4(n);
      assert.equal(parseIpv4(text), n);
      const b = new Uint8Array(4);
      writeIpv4(text, b, 0);
      assert.equal(formatIpv4(b, 0), text);
    }),
    { seed: 2, numRuns: 2000 },
  );
  const octet = fc.oneof(
    fc.integer({ min: 0, max: 300 }).map(String),
    fc.constantFrom('00', '01', '007', '0x1', '', ' 1', '1a', '-1', '+1'),
  );
  holds(
    fc.property(fc.array(octet, { minLength: 1, maxLength: 6 }), (parts) => {
      const s = parts.join('.');
      assert.equal(parseIpv4(s) !== undefined, isIPv4(s), s);
    }),
    { seed: 3, numRuns: 5000 },
  );
});

void test('IPv6: format is RFC 5952 (the URL serializer agrees), parse(format(w)) is w, bytes round trip', () => {
  holds(
    fc.property(words, (w) => {
      const text = formatIpv6(w);
      assert.deepEqual(parseIpv6(text), w);
      const mapped = w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
      if (mapped) assert.equal(text, `::ffff:${formatIpv4(w[3])}`);
      else assert.equal(text, new URL(`http://[${text}]/`).hostname.slice(1, -1), 'WHATWG compression');
      assert.equal(text, text.toLowerCase());
      const b = new Uint8Array(20);
      ipv6ToBytes(w, b, 2);
      assert.deepEqual(ipv6FromBytes(b, 2), w);
      assert.equal(formatIpv6(b, 2), text);
    }),
    { seed: 4, numRuns: 3000 },
  );
});

/** Text forms of an address other than the canonical one: leading zeros, upper case, other "::" runs, a dotted tail. */
const spelled: fc.Arbitrary<[Ipv6Words, string]> = fc
  .tuple(
    words,
    fc.integer({ min: 0, max: 8 }),
    fc.integer({ min: 0, max: 8 }),
    fc.boolean(),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([w, a, len, pad, upper, dotted]) => {
    const g = [0, 1, 2, 3].flatMap((i) => [w[i as 0] >>> 16, w[i as 0] & 0xffff]);
    const grp = (v: number) => {
      const h = pad ? v.toString(16).padStart(4, '0') : v.toString(16);
      return upper ? h.toUpperCase() : h;
    };
    const tail = dotted ? [formatIpv4(w[3])] : [];
    const groups = (dotted ? g.slice(0, 6) : g).map(grp);
    // Compress groups [a, a+len) when they are all zero and the run is non-empty.
    const start = Math.min(a, groups.length);
    const end = Math.min(groups.length, start + len);
    const zeroRun = end > start && g.slice(start, end).every((v) => v === 0);
    const text = zeroRun
      ? `${groups.slice(0, start).join(':')}::${[...groups.slice(end), ...tail].join(':')}`
      : [...groups, ...tail].join(':');
    return [w, text] as [Ipv6Words, string];
  });

void test('IPv6: every RFC 4291 spelling parses to the same words, and net.isIPv6 agrees', () => {
  holds(
    fc.property(spelled, ([w, text]) => {
      assert.ok(isIPv6(text), `node accepts ${text}`);
      assert.deepEqual(parseIpv6(text), w, text);
    }),
    { seed: 5, numRuns: 5000 },
  );
  const piece = fc.oneof(
    fc.constantFrom(
      '',
      '0',
      '1',
      'ffff',
      'FFFF',
      '12345',
      'g',
      '0000',
      '00000',
      '192.0.2.1',
      '1.2.3',
      '01.2.3.4',
    ),
    fc.integer({ min: 0, max: 0xffff }).map((v) => v.toString(16)),
  );
  holds(
    fc.property(fc.array(piece, { minLength: 1, maxLength: 10 }), (parts) => {
      const s = parts.join(':');
      assert.equal(parseIpv6(s) !== undefined, isIPv6(s), s);
    }),
    { seed: 6, numRuns: 20000 },
  );
});

void test('CIDR: IPv4 and IPv6 prefixes, strict about host bits, with containment that matches masks', () => {
  assert.deepEqual(parseCidr('192.0.2.0/24', true), { addr: 0xc0000200, len: 24 });
  assert.equal(parseCidr('192.0.2.1/24', true), 'host bits are set; did you mean 192.0.2.0/24?');
  assert.deepEqual(parseCidr('192.0.2.1/24', false), { addr: 0xc0000201, len: 24 });
  assert.equal(parseCidr('192.0.2.0/33', true), 'the prefix length must be 0 to 32');
  assert.equal(parseCidr('192.0.2.0', true), 'expected address/prefix-length, e.g. 192.0.2.0/24');
  assert.deepEqual(parseIpv6Cidr('2001:db8::/32', true), { addr: [0x20010db8, 0, 0, 0], len: 32 });
  assert.equal(parseIpv6Cidr('2001:db8::1/64', true), 'host bits are set; did you mean 2001:db8::/64?');
  assert.equal(parseIpv6Cidr('2001:db8::/129', true), 'the prefix length must be 0 to 128');
  assert.equal(parseIpv6Cidr('192.0.2.0/24', true), 'the address part is not an IPv6 address');
  assert.equal(
    parseCidr('2001:db8::1/64', false),
    "the address part is an IPv6 address; this takes a dotted-quad IPv4 address (IPv6 has a field of its own, e.g. a port's address6)",
  );
  assert.equal(parseCidr('2001:db8::1::2/64', false), 'the address part is not a dotted-quad IPv4 address');
  assert.equal(parseIpv6Cidr('::/012', true), 'the prefix length must be 0 to 128');
  assert.deepEqual(ipv6PrefixMask(0), [0, 0, 0, 0]);
  assert.deepEqual(ipv6PrefixMask(40), [0xffffffff, 0xff000000, 0, 0]);
  assert.deepEqual(ipv6PrefixMask(128), [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
  holds(
    fc.property(u32, u32, fc.integer({ min: 0, max: 32 }), (a, ip, len) => {
      const m = prefixMask(len);
      assert.equal(m, len === 0 ? 0 : Number((0xffffffffn << BigInt(32 - len)) & 0xffffffffn));
      assert.equal(prefixContains(a, len, ip), (a ^ ip) >>> 0 < 2 ** (32 - len));
      const net = (a & m) >>> 0;
      assert.deepEqual(parseCidr(`${formatIpv4(net)}/${len}`, true), { addr: net, len });
    }),
    { seed: 7, numRuns: 3000 },
  );
  const big = (w: Ipv6Words) => w.reduce((acc, x) => (acc << 32n) | BigInt(x), 0n);
  holds(
    fc.property(words, words, fc.integer({ min: 0, max: 128 }), (a, ip, len) => {
      const shift = BigInt(128 - len);
      assert.equal(ipv6PrefixContains(a, len, ip), big(a) >> shift === big(ip) >> shift);
      const net = ipv6Network(a, len);
      assert.equal(big(net), (big(a) >> shift) << shift);
      assert.deepEqual(parseIpv6Cidr(`${formatIpv6(net)}/${len}`, true), { addr: net, len });
      const strict = parseIpv6Cidr(`${formatIpv6(a)}/${len}`, true);
      assert.equal(typeof strict === 'string', big(net) !== big(a));
    }),
    { seed: 8, numRuns: 3000 },
  );
});
