// ICMP errors a controller sends, quoting the original header and 8 bytes (RFC 792), and the cases
// where RFC 1122 forbids an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildIpv4, icmpError, parseIpv4, type Ipv4 } from '../../src/packet/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const EMPTY = new Uint8Array(0);

const ORIGINAL: Ipv4 = {
  kind: 'ipv4',
  tos: 0,
  id: 9,
  dontFragment: true,
  moreFragments: false,
  fragmentOffset: 0,
  ttl: 1,
  src: '10.0.0.1',
  dst: '192.0.2.7',
  options: EMPTY,
  payload: {
    kind: 'udp',
    srcPort: 33434,
    dstPort: 33435,
    payload: { kind: 'raw', bytes: hex('00112233445566778899') },
  },
};

void test('icmpError quotes the original IP header and the first 8 payload bytes', () => {
  const error = icmpError(11, 0, ORIGINAL, '10.0.0.254');
  assert.ok(error !== undefined);
  const parsed = parseIpv4(buildIpv4(error));
  assert.ok(parsed.kind === 'ipv4' && parsed.payload.kind === 'icmp');
  assert.equal(parsed.src, '10.0.0.254');
  assert.equal(parsed.dst, '10.0.0.1');
  assert.equal(parsed.checksumOk, true);
  assert.equal(parsed.payload.checksumOk, true);
  assert.equal(parsed.payload.type, 11);
  assert.ok(parsed.payload.message.kind === 'error');
  const originalBytes = buildIpv4(ORIGINAL);
  assert.deepStrictEqual(parsed.payload.message.original, originalBytes.subarray(0, 28));
  const quoted = parseIpv4(parsed.payload.message.original);
  assert.equal(quoted.kind, 'malformed', 'the quote is cut short of the total length');

  const fragNeeded = icmpError(3, 4, ORIGINAL, '10.0.0.254', 1400);
  assert.ok(fragNeeded?.payload.kind === 'icmp' && fragNeeded.payload.message.kind === 'error');
  assert.equal(fragNeeded.payload.message.restOfHeader, 1400);
});

void test('icmpError quotes the whole packet when it is shorter than header + 8', () => {
  const tiny: Ipv4 = { ...ORIGINAL, payload: { kind: 'raw', protocol: 253, bytes: hex('0102') } };
  const error = icmpError(3, 3, tiny, '10.0.0.254');
  assert.ok(error?.payload.kind === 'icmp' && error.payload.message.kind === 'error');
  assert.deepStrictEqual(error.payload.message.original, buildIpv4(tiny));
});

void test('icmpError sends nothing where RFC 1122 §3.2.2 forbids it', () => {
  const aboutError: Ipv4 = {
    ...ORIGINAL,
    payload: { kind: 'icmp', type: 3, code: 1, message: { kind: 'error', restOfHeader: 0, original: EMPTY } },
  };
  assert.equal(icmpError(11, 0, aboutError, '10.0.0.254'), undefined, 'about an ICMP error');
  const aboutEcho: Ipv4 = {
    ...ORIGINAL,
    payload: { kind: 'icmp', type: 8, code: 0, message: { kind: 'echo', id: 1, seq: 1, data: EMPTY } },
  };
  assert.notEqual(icmpError(11, 0, aboutEcho, '10.0.0.254'), undefined, 'about an echo request is fine');
  const laterFragment: Ipv4 = {
    ...ORIGINAL,
    fragmentOffset: 185,
    payload: { kind: 'raw', protocol: 17, bytes: hex('0102') },
  };
  assert.equal(icmpError(11, 0, laterFragment, '10.0.0.254'), undefined, 'about a non-initial fragment');
  for (const dst of ['255.255.255.255', '224.0.0.5']) {
    assert.equal(icmpError(3, 3, { ...ORIGINAL, dst }, '10.0.0.254'), undefined, dst);
  }
  assert.equal(icmpError(3, 3, { ...ORIGINAL, src: '0.0.0.0' }, '10.0.0.254'), undefined, 'from 0.0.0.0');
});
