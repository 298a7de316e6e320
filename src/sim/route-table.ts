/**
 * A router's IPv4 route table: the route trie (route-trie.ts) over 32-bit addresses held as numbers,
 * with the IPv4 5-tuple flow hash for ECMP. Every packet field is read through FlowMatch (IP_DST and
 * IP_SRC under prefix masks, the whole 5-tuple for the hash), so the mask records what decided.
 */
import { prefixMask } from '../addr.js';
import { IP_DST, IP_SRC, type FlowMatch } from './flow-match.js';
import { RouteTrie, scanRoutes, type RouteFamily, type RouteOf } from './route-trie.js';

export type { RouteKind } from './route-trie.js';
export type RouteEntry = RouteOf<number>;

/** A hash of the 5-tuple (reads all of it); the same flow always takes the same ECMP path. */
export function flowHash(m: FlowMatch): number {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h = Math.imul(h ^ v, 0x01000193) >>> 0;
  };
  mix(m.ipSrc);
  mix(m.ipDst);
  const p = m.ipProto;
  mix(p);
  if (p === 6 || p === 17 || p === 132) {
    mix(m.tpSrc);
    mix(m.tpDst);
  }
  h ^= h >>> 16;
  return h >>> 0;
}

// Scratch for the destination as one word (lookup is synchronous and not re-entrant).
const dstWords: number[] = [0];

export const IPV4_ROUTES: RouteFamily<number> = {
  bits: 32,
  words: (a) => [a],
  peekDstWords: (m) => {
    dstWords[0] = m.peek(IP_DST);
    return dstWords;
  },
  peekDst: (m) => m.peek(IP_DST),
  peekSrc: (m) => m.peek(IP_SRC),
  readDst: (m, len) => {
    m.read(IP_DST, prefixMask(len));
  },
  srcIn: (m, net, len) => m.read(IP_SRC, prefixMask(len)) === net,
  inPrefix: (a, net, len) => (a & prefixMask(len)) >>> 0 === net,
  hash: flowHash,
};

export class RouteTable extends RouteTrie<number> {
  constructor(entries: readonly RouteEntry[]) {
    super(IPV4_ROUTES, entries);
  }

  /** Reference semantics for tests: the same choice by scanning every route. */
  static scan(entries: readonly RouteEntry[], m: FlowMatch): RouteEntry | null {
    return scanRoutes(IPV4_ROUTES, entries, m);
  }
}
