// The Internet checksum against published values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildIpv6,
  foldSum,
  internetChecksum,
  onesComplementSum,
  parseIpv6,
  pseudoHeaderSum,
  TcpFlag,
  type Ipv6,
  type Tcp,
} from '../../src/packet/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

void test('RFC 1071 §3 example: words 0001 f203 f4f5 f6f7 sum to 0xddf2, checksum 0x220d', () => {
  const bytes = hex('0001 f203 f4f5 f6f7');
  assert.equal(foldSum(onesComplementSum(bytes)), 0xddf2);
  assert.equal(internetChecksum(bytes), 0x220d);
});

void test('IPv4 header checksum of the well-known 192.168.0.1 -> 192.168.0.199 header is 0xb861', () => {
  const header = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
  assert.equal(internetChecksum(header), 0xb861);
  header[10] = 0xb8;
  header[11] = 0x61;
  assert.equal(internetChecksum(header), 0, 'a header with its checksum in place sums to zero');
});

void test('odd length: the last byte is padded with a zero byte', () => {
  assert.equal(internetChecksum(hex('0102 03')), ~(0x0102 + 0x0300) & 0xffff);
  assert.equal(internetChecksum(new Uint8Array(0)), 0xffff);
});

void test('carries fold back in, even from sums beyond 32 bits', () => {
  assert.equal(internetChecksum(new Uint8Array(200_000).fill(0xff)), 0);
  assert.equal(foldSum(0x1_0000_0000_0), foldSum(foldSum(0x1_0000_0000_0)));
  assert.equal(foldSum(0x2fffd), 0xffff);
});

void test('pseudo-header sum for IPv4 and IPv6', () => {
  const v4 = { src: hex('0a000001'), dst: hex('0a000002') };
  assert.equal(pseudoHeaderSum(v4, 6, 40), 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 40);
  const v6 = { src: new Uint8Array(16), dst: new Uint8Array(16) };
  assert.equal(pseudoHeaderSum(v6, 58, 0x12345), 58 + 0x1 + 0x2345);
});

// A load balancer's IPv6 rewrite (set_field ipv6_dst/tcp_dst, sim/load-balancer.ts): IPv6 has no header
// checksum, but the TCP checksum covers both addresses through the pseudo-header, so the segment is
// only valid once its checksum is computed again over the rewritten addresses and port (what Open
// vSwitch does incrementally; the codec computes it when `checksum` is left undefined).
void test('an IPv6 TCP segment rewritten to a member: the old checksum fails, a recomputed one passes', () => {
  const tcp: Tcp = {
    kind: 'tcp',
    srcPort: 41350,
    dstPort: 80,
    seq: 1,
    ack: 0,
    flags: TcpFlag.SYN,
    window: 64240,
    urgentPointer: 0,
    options: new Uint8Array(0),
    payload: new Uint8Array(0),
  };
  const ip = (dst: string, t: Tcp): Ipv6 => ({
    kind: 'ipv6',
    trafficClass: 0,
    flowLabel: 0,
    hopLimit: 64,
    src: '2001:db8:b::10',
    dst,
    payload: t,
  });
  const toVip = parseIpv6(buildIpv6(ip('2001:db8:b::200', tcp)));
  assert.ok(toVip.kind === 'ipv6' && toVip.payload.kind === 'tcp' && toVip.payload.checksumOk === true);
  const stale = parseIpv6(buildIpv6(ip('2001:db8:a::10', { ...toVip.payload, dstPort: 8080 })));
  assert.ok(stale.kind === 'ipv6' && stale.payload.kind === 'tcp');
  assert.equal(stale.payload.checksumOk, false, 'the checksum covers the addresses and ports');
  const fixed = parseIpv6(
    buildIpv6(ip('2001:db8:a::10', { ...toVip.payload, dstPort: 8080, checksum: undefined })),
  );
  assert.ok(fixed.kind === 'ipv6' && fixed.payload.kind === 'tcp');
  assert.equal(fixed.payload.checksumOk, true);
});
