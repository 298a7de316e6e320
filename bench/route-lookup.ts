/**
 * Route lookups in a large table, for bench/sim: 10,000 random IPv4 routes and 10,000 random IPv6
 * routes (nested prefixes of lengths 8 to 32 and 16 to 128, some with source prefixes and ECMP
 * twins), 1,000 probe packets, nanoseconds per lookup as the median of 7 rounds. The table
 * constructors are parameters so that two builds of the route table can be measured side by side in
 * one process. Seeded: every run measures the same tables and packets.
 */
import { formatIpv4, formatIpv6, ipv6Network, prefixMask, type Ipv6Words } from '../src/addr.js';
import { type FlowMatch } from '../src/sim/flow-match.js';
import { buildFlowMatch } from '../src/sim/packet-fields.js';
import type { RouteOf } from '../src/sim/route-trie.js';
import { seeded } from '../test/support/random-topology.js';

export interface Lookups {
  lookup(m: FlowMatch): unknown;
}
export type TableOf<A> = (entries: Array<RouteOf<A>>) => Lookups;

function route<A>(i: number, dst: A, dstLen: number, src: A, srcLen: number, weight: number): RouteOf<A> {
  return {
    id: `r${i}`,
    kind: 'normal',
    dstAddr: dst,
    dstLen,
    srcAddr: src,
    srcLen,
    nextHopPortId: null,
    gateway: null,
    weight,
  };
}

function probe(fields: Parameters<typeof buildFlowMatch>[0]): FlowMatch {
  const b = buildFlowMatch(fields);
  if (!b.ok) throw new Error(b.error);
  b.match.begin('p');
  return b.match;
}

export const ROUTES = 10_000;

/** Random IPv4 routes under 198.18.0.0/15 and 10.0.0.0/8 and packets that fall in them (or not). */
export function ipv4Case(): [Array<RouteOf<number>>, FlowMatch[]] {
  const r = seeded(7);
  const u32 = () => Math.floor(r() * 2 ** 32) >>> 0;
  const bases = [0xc6120000, 0x0a000000];
  const addr = () => (bases[Math.floor(r() * 2)]! | (u32() & 0x1ffff)) >>> 0;
  const entries: Array<RouteOf<number>> = [];
  for (let i = 0; i < ROUTES; i++) {
    const len = 8 + Math.floor(r() * 25);
    const srcLen = r() < 0.1 ? 24 : 0;
    const dst = (addr() & prefixMask(len)) >>> 0;
    entries.push(route(i, dst, len, (addr() & prefixMask(srcLen)) >>> 0, srcLen, r() < 0.2 ? 100 : 200));
  }
  const pk: FlowMatch[] = [];
  for (let i = 0; i < 1000; i++)
    pk.push(
      probe({
        srcIp: formatIpv4(addr()),
        dstIp: formatIpv4(addr()),
        proto: 'udp',
        srcPort: 1024 + i,
        dstPort: 53,
      }),
    );
  return [entries, pk];
}

/** Random IPv6 routes under 2001:db8::/32 and packets that fall in them (or not). */
export function ipv6Case(): [Array<RouteOf<Ipv6Words>>, FlowMatch[]] {
  const r = seeded(11);
  const u32 = () => Math.floor(r() * 2 ** 32) >>> 0;
  const addr = (): Ipv6Words => [0x20010db8, u32() & 0xff, r() < 0.5 ? 0 : u32(), u32() & 0xffff];
  const entries: Array<RouteOf<Ipv6Words>> = [];
  for (let i = 0; i < ROUTES; i++) {
    const len = 16 + Math.floor(r() * 113);
    const srcLen = r() < 0.1 ? 64 : 0;
    entries.push(
      route(i, ipv6Network(addr(), len), len, ipv6Network(addr(), srcLen), srcLen, r() < 0.2 ? 100 : 200),
    );
  }
  const pk: FlowMatch[] = [];
  for (let i = 0; i < 1000; i++)
    pk.push(
      probe({
        ethertype: 0x86dd,
        srcIp6: formatIpv6(addr()),
        dstIp6: formatIpv6(addr()),
        proto: 'udp',
        srcPort: 1024 + i,
        dstPort: 53,
      }),
    );
  return [entries, pk];
}

/** Nanoseconds per lookup: the median of 7 rounds of 100 passes over the probes (after 20 warm passes). */
export function nsPerLookup(table: Lookups, pk: readonly FlowMatch[]): number {
  const pass = () => {
    for (const m of pk) {
      m.begin('p');
      table.lookup(m);
    }
  };
  for (let i = 0; i < 20; i++) pass();
  const rounds: number[] = [];
  for (let k = 0; k < 7; k++) {
    const s = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) pass();
    rounds.push(Number(process.hrtime.bigint() - s) / (100 * pk.length));
  }
  rounds.sort((a, b) => a - b);
  return rounds[3]!;
}
