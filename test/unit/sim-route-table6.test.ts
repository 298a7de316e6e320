// IPv6 route table: the trie lookup chooses exactly what a scan of every route chooses (longest
// destination prefix, then source prefix, lowest weight, ECMP by flow hash), on random tables; and a
// packet that agrees with another on the recorded mask gets the same route (no missing mask bits).
import { holds } from './property.js';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatIpv6, ipv6Network, ipv6PrefixMask, type Ipv6Words } from '../../src/addr.js';
import { FlowMatch, IPV6_DST_0, IPV6_SRC_0, NUM_FIELDS, words6 } from '../../src/sim/flow-match.js';
import { buildFlowMatch } from '../../src/sim/packet-fields.js';
import { RouteTable6, type Route6Entry } from '../../src/sim/route-table6.js';
import { seeded } from '../support/random-topology.js';

function packet(src: Ipv6Words, dst: Ipv6Words, sport: number): FlowMatch {
  const b = buildFlowMatch({
    ethertype: 0x86dd,
    srcIp6: formatIpv6(src),
    dstIp6: formatIpv6(dst),
    proto: 'tcp',
    srcPort: sport,
    dstPort: 80,
  });
  assert.ok(b.ok, b.ok ? '' : b.error);
  b.match.begin('p');
  return b.match;
}

describe('IPv6 route table', () => {
  it('matches a scan of all routes, and the mask covers every bit the choice depended on', (t) => {
    let found = 0;
    let total = 0;
    holds(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 150 }), (seed, n) => {
        const r = seeded(seed);
        const u32 = () => Math.floor(r() * 2 ** 32) >>> 0;
        // Addresses near a few documentation prefixes, so routes overlap and nest.
        const bases: Ipv6Words[] = [
          [0x20010db8, 0, 0, 0],
          [0x20010db8, 0x00010000, 0, 0],
          [0x20010db8, 0xffff0000, 0, 0],
          [0xfd000000, 0, 0, 0],
        ];
        const addr = (): Ipv6Words => {
          const b = bases[Math.floor(r() * bases.length)]!;
          return [b[0], (b[1] + (u32() & 0x3)) >>> 0, r() < 0.5 ? 0 : u32(), u32() & 0xff];
        };
        const entries: Route6Entry[] = [];
        for (let i = 0; i < n; i++) {
          const dl = [0, 16, 32, 33, 48, 64, 64, 96, 120, 128][Math.floor(r() * 10)]!;
          const sl = r() < 0.3 ? [32, 64, 128][Math.floor(r() * 3)]! : 0;
          entries.push({
            id: `r${String(i).padStart(4, '0')}`,
            kind: 'normal',
            dstAddr: ipv6Network(addr(), dl),
            dstLen: dl,
            srcAddr: ipv6Network(addr(), sl),
            srcLen: sl,
            nextHopPortId: null,
            gateway: null,
            weight: [100, 100, 200][Math.floor(r() * 3)]!,
          });
        }
        const table = new RouteTable6(entries);
        for (let k = 0; k < 20; k++) {
          const m = packet(addr(), addr(), Math.floor(r() * 65536));
          const got = table.lookup(m);
          const want = RouteTable6.scan(entries, m);
          total++;
          if (want !== null) found++;
          assert.equal(got?.id ?? null, want?.id ?? null);
          // Flip every bit of the addresses the mask does not cover: the scan must still agree.
          const other = new FlowMatch();
          for (let f = 0; f < NUM_FIELDS; f++) other.orig[f] = m.orig[f]!;
          for (const f0 of [IPV6_SRC_0, IPV6_DST_0])
            for (let i = 0; i < 4; i++)
              other.orig[f0 + i] = (m.orig[f0 + i]! ^ (~m.mask[f0 + i]! & u32())) >>> 0;
          other.resetHeaders();
          other.begin('p');
          assert.equal(RouteTable6.scan(entries, other)?.id ?? null, want?.id ?? null);
        }
      }),
      { seed: 61, numRuns: 200 },
    );
    t.diagnostic(`${total} lookups, ${found} with a route`);
    assert.ok(found > total / 4);
  });

  it('records only the destination bits the trie consulted', () => {
    const e = (id: string, a: Ipv6Words, len: number): Route6Entry => ({
      id,
      kind: 'normal',
      dstAddr: a,
      dstLen: len,
      srcAddr: [0, 0, 0, 0],
      srcLen: 0,
      nextHopPortId: null,
      gateway: null,
      weight: 100,
    });
    // 2001:db8::/32 and 2001:db8:1::/48.
    const table = new RouteTable6([
      e('a', [0x20010db8, 0, 0, 0], 32),
      e('b', [0x20010db8, 0x00010000, 0, 0], 48),
    ]);
    const m = packet([0x20010db8, 0xff, 0, 1], [0x20010db8, 0x00020000, 0, 1], 1000);
    assert.equal(table.lookup(m)?.id, 'a');
    // 2001:db8:2:: shares 46 bits with 2001:db8:1::/48; at depth 46 only the 0 branch exists and the
    // packet's bit 46 is 1, so that bit decided: 47 bits read, and no source bits.
    assert.deepEqual(words6(m.mask, IPV6_DST_0), [...ipv6PrefixMask(47)]);
    assert.deepEqual(words6(m.mask, IPV6_SRC_0), [0, 0, 0, 0]);
  });

  it('spreads equal routes by the flow hash, the same flow always on the same route', () => {
    const via = (id: string): Route6Entry => ({
      id,
      kind: 'normal',
      dstAddr: [0, 0, 0, 0],
      dstLen: 0,
      srcAddr: [0, 0, 0, 0],
      srcLen: 0,
      nextHopPortId: id,
      gateway: null,
      weight: 100,
    });
    const table = new RouteTable6([via('up1'), via('up2')]);
    const seen = new Map<string, number>();
    for (let sport = 1000; sport < 1200; sport++) {
      const id = table.lookup(packet([0x20010db8, 1, 0, 5], [0x20010db8, 2, 0, 9], sport))!.id;
      assert.equal(table.lookup(packet([0x20010db8, 1, 0, 5], [0x20010db8, 2, 0, 9], sport))!.id, id);
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    assert.ok((seen.get('up1') ?? 0) > 50 && (seen.get('up2') ?? 0) > 50, JSON.stringify([...seen]));
  });
});
