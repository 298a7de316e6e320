/**
 * A router's IPv6 route table, the twin of route-table.ts: longest-prefix match on the destination by
 * a binary trie over 128 bits, then source-prefix routes, lowest weight, and ECMP among equal-weight
 * routes by a hash of the 5-tuple (addresses, next header, TCP/UDP ports).
 *
 * Lookup: walk the destination trie along the packet's address, remembering the nodes that hold
 * routes; from the deepest such node up, keep the routes whose source prefix holds the packet's
 * source; the first node with any wins; among its routes the lowest weight wins; several at that
 * weight are chosen between by the flow hash.
 *
 * Invariant (mask): the result depends only on the destination bits the walk went down (plus the bit
 * that ended it), the source bits of each source prefix tested, and, for ECMP, the whole 5-tuple; all
 * of them are read through FlowMatch (readPrefix6, the getters) and so recorded. Routes at one node are
 * kept in id order so the ECMP choice is deterministic for a given table.
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
import type { RouteKind } from './route-table.js';

export interface Route6Entry {
  /** Route id, or `port:<id>` / `local:<id>` for a port's connected and local routes. */
  readonly id: string;
  readonly kind: RouteKind;
  readonly dstAddr: Ipv6Words;
  readonly dstLen: number;
  readonly srcAddr: Ipv6Words;
  readonly srcLen: number;
  readonly nextHopPortId: string | null;
  /** Next hop address; null: the destination itself (on-link). */
  readonly gateway: Ipv6Words | null;
  readonly weight: number;
}

interface Node {
  c0: Node | null;
  c1: Node | null;
  routes: Route6Entry[] | null;
}

function bitAt(w: Ipv6Words, d: number): number {
  return (w[d >>> 5]! >>> (31 - (d & 31))) & 1;
}

function byId(a: Route6Entry, b: Route6Entry): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function sameWords(a: readonly number[], b: Ipv6Words): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

// Scratch (lookup is synchronous and not re-entrant).
const path: Node[] = [];
const best: Route6Entry[] = [];
const srcBits: number[] = [0, 0, 0, 0];
const dstBits: number[] = [0, 0, 0, 0];

export class RouteTable6 {
  private readonly root: Node = { c0: null, c1: null, routes: null };
  readonly size: number;

  constructor(entries: readonly Route6Entry[]) {
    const sorted = [...entries].sort(byId);
    for (const r of sorted) {
      let n = this.root;
      for (let d = 0; d < r.dstLen; d++) {
        const bit = bitAt(r.dstAddr, d);
        let c = bit === 1 ? n.c1 : n.c0;
        if (c === null) {
          c = { c0: null, c1: null, routes: null };
          if (bit === 1) n.c1 = c;
          else n.c0 = c;
        }
        n = c;
      }
      (n.routes ??= []).push(r);
    }
    this.size = sorted.length;
  }

  /** The chosen route for the packet's current headers, or null when none applies. */
  lookup(m: FlowMatch): Route6Entry | null {
    const dst = m.peek6(IPV6_DST_0);
    let n = this.root;
    let d = 0;
    let np = 0;
    for (;;) {
      if (n.routes !== null) path[np++] = n;
      if (d === 128) break;
      const bit = bitAt(dst, d);
      const c = bit === 1 ? n.c1 : n.c0;
      if (c === null) {
        if ((bit === 1 ? n.c0 : n.c1) !== null) d++;
        break;
      }
      n = c;
      d++;
    }
    if (d > 0) m.readPrefix6(IPV6_DST_0, d, dstBits);
    for (let i = np - 1; i >= 0; i--) {
      const routes = path[i]!.routes!;
      let nb = 0;
      let w = Infinity;
      for (let j = 0; j < routes.length; j++) {
        const r = routes[j]!;
        if (r.srcLen > 0) {
          m.readPrefix6(IPV6_SRC_0, r.srcLen, srcBits);
          if (!sameWords(srcBits, r.srcAddr)) continue;
        }
        if (r.weight < w) {
          w = r.weight;
          nb = 0;
          best[nb++] = r;
        } else if (r.weight === w) best[nb++] = r;
      }
      if (nb === 1) return best[0]!;
      if (nb > 1) return best[flowHash6(m) % nb]!;
    }
    return null;
  }

  /** Reference semantics for tests: the same choice by scanning every route. */
  static scan(entries: readonly Route6Entry[], m: FlowMatch): Route6Entry | null {
    const dst = m.peek6(IPV6_DST_0);
    const src = m.peek6(IPV6_SRC_0);
    let bestLen = -1;
    let cands: Route6Entry[] = [];
    for (const r of [...entries].sort(byId)) {
      if (!sameWords(ipv6Network(dst, r.dstLen), r.dstAddr)) continue;
      if (!sameWords(ipv6Network(src, r.srcLen), r.srcAddr)) continue;
      if (r.dstLen > bestLen) {
        bestLen = r.dstLen;
        cands = [r];
      } else if (r.dstLen === bestLen) cands.push(r);
    }
    if (cands.length === 0) return null;
    const w = Math.min(...cands.map((r) => r.weight));
    const eq = cands.filter((r) => r.weight === w);
    return eq.length === 1 ? eq[0]! : eq[flowHash6(m) % eq.length]!;
  }
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
