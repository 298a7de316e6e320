/**
 * A router's IPv6 route table: the route trie (route-trie.ts) over 128-bit addresses held as four
 * 32-bit words, with the IPv6 5-tuple flow hash (addresses, next header, TCP/UDP/SCTP ports) for ECMP.
 * Every packet field is read through FlowMatch (readPrefix6 for the destination and source prefixes,
 * the getters for the hash), so the mask records what decided.
 */
import { ipv6Network, type Ipv6Words } from '../addr.js';
import {
  IPV6_DST_0,
  IPV6_SRC_0,
  IP_PROTO,
  PROTO_SCTP,
  PROTO_TCP,
  PROTO_UDP,
  TP_DST,
  TP_SRC,
  type FlowMatch,
} from './flow-match.js';
import { RouteTrie, scanRoutes, type RouteFamily, type RouteOf } from './route-trie.js';

export type Route6Entry = RouteOf<Ipv6Words>;

function sameWords(a: readonly number[], b: Ipv6Words): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** A hash of the IPv6 5-tuple (reads all of it); the same flow always takes the same ECMP path. */
export function flowHash6(m: FlowMatch): number {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h = Math.imul(h ^ v, 0x01000193) >>> 0;
  };
  for (const w of m.ipv6Src()) mix(w);
  for (const w of m.ipv6Dst()) mix(w);
  const p = m.readAll(IP_PROTO);
  mix(p);
  if (p === PROTO_TCP || p === PROTO_UDP || p === PROTO_SCTP) {
    mix(m.readAll(TP_SRC));
    mix(m.readAll(TP_DST));
  }
  h ^= h >>> 16;
  return h >>> 0;
}

// Scratch for the prefix reads (lookup is synchronous and not re-entrant).
const bits: number[] = [0, 0, 0, 0];

export const IPV6_ROUTES: RouteFamily<Ipv6Words> = {
  bits: 128,
  words: (w) => w,
  peekDstWords: (m) => m.peek6(IPV6_DST_0),
  peekDst: (m) => m.peek6(IPV6_DST_0),
  peekSrc: (m) => m.peek6(IPV6_SRC_0),
  readDst: (m, len) => {
    m.readPrefix6(IPV6_DST_0, len, bits);
  },
  srcIn: (m, net, len) => {
    m.readPrefix6(IPV6_SRC_0, len, bits);
    return sameWords(bits, net);
  },
  inPrefix: (a, net, len) => sameWords(ipv6Network(a, len), net),
  hash: flowHash6,
};

export class RouteTable6 extends RouteTrie<Ipv6Words> {
  constructor(entries: readonly Route6Entry[]) {
    super(IPV6_ROUTES, entries);
  }

  /** Reference semantics for tests: the same choice by scanning every route. */
  static scan(entries: readonly Route6Entry[], m: FlowMatch): Route6Entry | null {
    return scanRoutes(IPV6_ROUTES, entries, m);
  }
}
