// Route table: the trie lookup chooses exactly what a scan of every route chooses (longest
// destination prefix, then source prefix, lowest weight, ECMP by flow hash), on random tables.
import { holds } from './property.js';
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { prefixMask } from '../../src/addr.js';
import { buildFlowMatch } from '../../src/sim/packet-fields.js';
import { RouteTable, type RouteEntry } from '../../src/sim/route-table.js';
import { seeded } from '../support/random-topology.js';
import { formatIpv4 } from '../../src/addr.js';

describe('route table', () => {
  it('matches a scan of all routes (random tables, random packets)', (t) => {
    let found = 0;
    let total = 0;
    holds(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 200 }), (seed, n) => {
        const r = seeded(seed);
        const bases = [0x0a000000, 0xc0000200, 0xc6336400, 0xcb007100];
        const addr = () => (bases[Math.floor(r() * bases.length)]! + Math.floor(r() * 1024)) >>> 0;
        const entries: RouteEntry[] = [];
        for (let i = 0; i < n; i++) {
          const dl = [0, 8, 16, 22, 24, 24, 28, 32][Math.floor(r() * 8)]!;
          const sl = r() < 0.3 ? [8, 24, 32][Math.floor(r() * 3)]! : 0;
          entries.push({
            id: `r${String(i).padStart(4, '0')}`,
            kind: 'normal',
            dstAddr: (addr() & prefixMask(dl)) >>> 0,
            dstLen: dl,
            srcAddr: (addr() & prefixMask(sl)) >>> 0,
            srcLen: sl,
            nextHopPortId: null,
            gateway: null,
            weight: [100, 100, 200][Math.floor(r() * 3)]!,
          });
        }
        const table = new RouteTable(entries);
        for (let k = 0; k < 30; k++) {
          const b = buildFlowMatch({
            srcIp: formatIpv4(addr()),
            dstIp: formatIpv4(addr()),
            proto: 'tcp',
            srcPort: Math.floor(r() * 65536),
            dstPort: 80,
          });
          assert.ok(b.ok);
          const m = b.match;
          m.begin('p');
          const got = table.lookup(m);
          const want = RouteTable.scan(entries, m);
          total++;
          if (want !== null) found++;
          assert.equal(got?.id ?? null, want?.id ?? null);
        }
      }),
      { seed: 99, numRuns: 300 },
    );
    t.diagnostic(`${total} lookups, ${found} with a route`);
    assert.ok(found > total / 4);
  });

  it('records only the destination bits the trie consulted', () => {
    const e = (id: string, a: number, len: number): RouteEntry => ({
      id,
      kind: 'normal',
      dstAddr: a,
      dstLen: len,
      srcAddr: 0,
      srcLen: 0,
      nextHopPortId: null,
      gateway: null,
      weight: 100,
    });
    const table = new RouteTable([e('a', 0x0a000000, 8), e('b', 0x0a010000, 16)]);
    const b = buildFlowMatch({ srcIp: '1.1.1.1', dstIp: '10.2.3.4' });
    assert.ok(b.ok);
    b.match.begin('p');
    assert.equal(table.lookup(b.match)?.id, 'a');
    // 10.2.3.4 shares 14 bits with 10.1.0.0/16; at depth 14 only the 0 branch exists and the
    // packet's bit 14 is 1, so that bit decided: 15 bits read, and no source bits.
    assert.equal(b.match.mask[8], prefixMask(15));
    assert.equal(b.match.mask[7], 0);
  });
});
