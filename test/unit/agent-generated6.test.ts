// IPv6 packets the agent generates: built from a simulation's emit (router6.ts) and the frame that
// caused it, then parsed back with the packet codec: types, checksums, ND targets, flags and options,
// the echo payload, the quoted datagram, and no error about an error.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { buildGenerated } from '../../src/agent/generated-packets.js';
import { neighbourSolicit } from '../../src/agent/generated6.js';
import { fillFromFrame } from '../../src/agent/frame-match.js';
import { buildEthernet, parseEthernet, type Ipv6 } from '../../src/packet/index.js';
import { FlowMatch, ND_TARGET_0, words6 } from '../../src/sim/flow-match.js';
import { type PacketFields } from '../../src/sim/packet-fields.js';
import { formatIpv6 } from '../../src/addr.js';

const VM = '02:00:00:00:00:01';
const RT = '02:00:00:00:01:01';

function ipv6Frame(payload: Ipv6['payload'], hopLimit = 64): Uint8Array {
  return buildEthernet({
    kind: 'ethernet',
    dst: RT,
    src: VM,
    payload: {
      kind: 'ipv6',
      trafficClass: 0,
      flowLabel: 0,
      hopLimit,
      src: '2001:db8:1::10',
      dst: '2001:db8:2::10',
      payload,
    },
  });
}

function reply(extra: Partial<PacketFields>): PacketFields {
  return {
    srcMac: RT,
    dstMac: VM,
    ethertype: 0x86dd,
    srcIp6: '2001:db8:1::1',
    dstIp6: '2001:db8:1::10',
    proto: 58,
    ...extra,
  };
}

function parsed(b: Uint8Array | undefined): Ipv6 {
  assert.ok(b !== undefined, 'a frame was built');
  const e = parseEthernet(b);
  assert.ok(e.kind === 'ethernet' && e.payload.kind === 'ipv6', JSON.stringify(e));
  const ip = e.payload;
  assert.ok(ip.payload.kind === 'icmpv6');
  assert.equal(ip.payload.checksumOk, true, 'ICMPv6 checksum over the pseudo-header');
  return ip;
}

describe('agent: generated IPv6 packets', () => {
  it('echo reply carries the request body back', () => {
    const body = new Uint8Array([0x12, 0x34, 0, 1, 9, 8, 7, 6]);
    const req = ipv6Frame({ kind: 'icmpv6', type: 128, code: 0, body });
    const ip = parsed(buildGenerated(reply({ icmpType: 129, icmpCode: 0 }), req));
    assert.ok(ip.payload.kind === 'icmpv6');
    assert.equal(ip.payload.type, 129);
    assert.deepEqual([...ip.payload.body], [...body]);
    assert.equal(ip.dst, '2001:db8:1::10');
  });

  it('time exceeded quotes the original datagram after 4 unused bytes, within 1280 bytes', () => {
    const big = ipv6Frame(
      { kind: 'udp', srcPort: 5000, dstPort: 53, payload: { kind: 'raw', bytes: new Uint8Array(1400) } },
      1,
    );
    const ip = parsed(buildGenerated(reply({ icmpType: 3, icmpCode: 0 }), big));
    assert.ok(ip.payload.kind === 'icmpv6');
    assert.equal(ip.payload.type, 3);
    assert.equal(40 + 4 + ip.payload.body.length, 1280);
    assert.deepEqual(
      [...ip.payload.body.subarray(4, 44)],
      [...big.subarray(14, 54)],
      'the original IPv6 header',
    );
  });

  it('sends no error about an ICMPv6 error or a neighbour discovery message', () => {
    for (const type of [1, 3, 135, 136]) {
      const orig = ipv6Frame({ kind: 'icmpv6', type, code: 0, body: new Uint8Array(20) });
      assert.equal(buildGenerated(reply({ icmpType: 1, icmpCode: 0 }), orig), undefined, `type ${type}`);
    }
  });

  it('a neighbour advertisement has the router, solicited and override flags, the target and its MAC', () => {
    const na = buildGenerated(
      reply({ icmpType: 136, ndTarget: '2001:db8:1::1', ttl: 255 }),
      new Uint8Array(0),
      { kind: 'na', solicited: true },
    );
    const ip = parsed(na);
    assert.equal(ip.hopLimit, 255);
    assert.ok(ip.payload.kind === 'icmpv6');
    const b = ip.payload.body;
    assert.equal(b[0], 0xe0);
    assert.equal(formatIpv6(b, 4), '2001:db8:1::1');
    assert.deepEqual([...b.subarray(20, 28)], [2, 1, 2, 0, 0, 0, 1, 1], 'target link-layer address option');
    const m = new FlowMatch();
    assert.equal(fillFromFrame(m, na!, 0), null);
    assert.equal(formatIpv6(words6(m.orig, ND_TARGET_0)), '2001:db8:1::1');
  });

  it("an advertisement on a VM's behalf (ND suppression) has no router flag", () => {
    const na = buildGenerated(
      reply({ icmpType: 136, ndTarget: '2001:db8:1::11', ttl: 255 }),
      new Uint8Array(0),
      {
        kind: 'na',
        solicited: true,
        router: false,
      },
    );
    const ip = parsed(na);
    assert.ok(ip.payload.kind === 'icmpv6');
    assert.equal(ip.payload.body[0], 0x60);
  });

  it('a router advertisement carries the prefix with on-link and autonomous flags, the MTU and the source MAC', () => {
    const ra = buildGenerated(
      reply({ icmpType: 134, srcIp6: 'fe80::ff:fe00:101', dstIp6: 'ff02::1', dstMac: '33:33:00:00:00:01' }),
      new Uint8Array(0),
      { kind: 'ra', prefix: '2001:db8:1::', prefixLen: 64, mtu: 1450 },
    );
    const ip = parsed(ra);
    assert.ok(ip.payload.kind === 'icmpv6');
    const b = ip.payload.body;
    assert.equal(ip.payload.type, 134);
    assert.equal((b[2]! << 8) | b[3]!, 1800, 'router lifetime');
    // Options after the 12-byte header: source link-layer address, MTU, prefix information.
    assert.deepEqual([...b.subarray(12, 20)], [1, 1, 2, 0, 0, 0, 1, 1]);
    assert.deepEqual([b[20], b[21], new DataView(b.buffer, b.byteOffset).getUint32(24)], [5, 1, 1450]);
    const pi = b.subarray(28);
    assert.deepEqual([pi[0], pi[1], pi[2], pi[3]], [3, 4, 64, 0xc0]);
    assert.equal(formatIpv6(pi, 16), '2001:db8:1::');
  });

  it('a neighbour solicitation goes to the solicited-node group of its target', () => {
    const ns = neighbourSolicit(RT, '2001:db8:2::1', '2001:db8:2::abcd:10');
    const ip = parsed(ns);
    assert.equal(ip.dst, 'ff02::1:ffcd:10');
    assert.equal(ip.hopLimit, 255);
    const e = parseEthernet(ns);
    assert.ok(e.kind === 'ethernet');
    assert.equal(e.dst, '33:33:ff:cd:00:10');
    const m = new FlowMatch();
    assert.equal(fillFromFrame(m, ns, 0), null);
    assert.equal(formatIpv6(words6(m.orig, ND_TARGET_0)), '2001:db8:2::abcd:10');
  });
});
