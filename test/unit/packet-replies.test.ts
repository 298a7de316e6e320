// The replies a controller sends: ARP reply, ICMP echo reply, ICMP errors quoting the original header
// and 8 bytes (RFC 792), and the cases where RFC 1122 forbids an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arpReply,
  buildEthernet,
  buildIpv4,
  icmpEchoReply,
  icmpError,
  parseEthernet,
  parseIpv4,
  type Ethernet,
  type Ipv4,
} from '../../src/packet/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const EMPTY = new Uint8Array(0);

function reparse(frame: Ethernet): Ethernet {
  const parsed = parseEthernet(buildEthernet(frame));
  assert.ok(parsed.kind === 'ethernet');
  return parsed;
}

void test('arpReply answers a request on the same VLAN, and ignores anything else', () => {
  const request = parseEthernet(
    hex(`ffffffffffff 525400123456 8100 0064 0806
      0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002`),
  );
  const reply = arpReply(request, 'aa:bb:cc:00:00:02');
  assert.ok(reply !== undefined);
  assert.deepStrictEqual(reparse(reply), {
    kind: 'ethernet',
    dst: '52:54:00:12:34:56',
    src: 'aa:bb:cc:00:00:02',
    vlan: { pcp: 0, dei: false, vid: 100 },
    payload: {
      kind: 'arp',
      op: 2,
      senderMac: 'aa:bb:cc:00:00:02',
      senderIp: '10.0.0.2',
      targetMac: '52:54:00:12:34:56',
      targetIp: '10.0.0.1',
    },
  });
  assert.equal(arpReply(reparse(reply), 'aa:bb:cc:00:00:02'), undefined, 'a reply is not answered');
  assert.equal(arpReply(parseEthernet(EMPTY), 'aa:bb:cc:00:00:02'), undefined);
});

void test('icmpEchoReply swaps addresses and keeps identifier, sequence and data', () => {
  const request = parseEthernet(
    hex(`525400aabbcc 525400123456 0800
      45 00 0024 1c46 4000 40 01 9c7a c0a80001 c0a800c7
      08 00 5435 1234 0001 6162636465666768`),
  );
  const reply = icmpEchoReply(request);
  assert.ok(reply !== undefined);
  const parsed = reparse(reply);
  assert.equal(parsed.dst, '52:54:00:12:34:56');
  assert.equal(parsed.src, '52:54:00:aa:bb:cc');
  assert.ok(parsed.payload.kind === 'ipv4');
  assert.equal(parsed.payload.src, '192.168.0.199');
  assert.equal(parsed.payload.dst, '192.168.0.1');
  assert.equal(parsed.payload.checksumOk, true);
  assert.deepStrictEqual(parsed.payload.payload, {
    kind: 'icmp',
    type: 0,
    code: 0,
    // Only the type changed (8 -> 0), so the checksum grows by 0x0800.
    checksum: 0x5c35,
    checksumOk: true,
    message: { kind: 'echo', id: 0x1234, seq: 1, data: hex('6162636465666768') },
  });
  assert.equal(icmpEchoReply(parsed), undefined, 'a reply is not answered');
});

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
