/**
 * A router's route table: longest-prefix match on the destination by a binary trie, then source-prefix
 * routes, lowest weight, and ECMP among equal-weight routes by a hash of the 5-tuple.
 *
 * Lookup: walk the destination trie along the packet's address, remembering the nodes that hold
 * routes; from the deepest such node up, keep the routes whose source prefix holds the packet's
 * source; the first node with any wins; among its routes the lowest weight wins; several at that
 * weight are chosen between by a flow hash over (src, dst, proto, sport, dport).
 *
 * Invariant (mask): the result depends only on the destination bits the walk went down (plus the bit
 * that ended it), the source bits of each source prefix tested, and, for ECMP, the whole 5-tuple; all
 * of them are read through FlowMatch and so recorded. Routes at one node are kept in id order so the
 * ECMP choice is deterministic for a given table.
 */
import { prefixMask } from '../addr.js';
import { IP_DST, IP_SRC, type FlowMatch } from './flow-match.js';

export type RouteKind = 'normal' | 'blackhole' | 'reject' | 'local';

export interface RouteEntry {
  /** Route id, or `port:<id>` for a port's connected and local routes. */
  readonly id: string;
  readonly kind: RouteKind;
  readonly dstAddr: number;
  readonly dstLen: number;
  readonly srcAddr: number;
  readonly srcLen: number;
  readonly nextHopPortId: string | null;
  /** Next hop address; null: the destination itself (on-link). */
  readonly gateway: number | null;
  readonly weight: number;
}

interface Node {
  c0: Node | null;
  c1: Node | null;
  routes: RouteEntry[] | null;
}

// Scratch (lookup is synchronous and not re-entrant); counters instead of truncating arrays.
const path: Node[] = [];
const best: RouteEntry[] = [];

export class RouteTable {
  private readonly root: Node = { c0: null, c1: null, routes: null };
  readonly size: number;

  constructor(entries: readonly RouteEntry[]) {
    const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const r of sorted) {
      let n = this.root;
      for (let d = 0; d < r.dstLen; d++) {
        const bit = (r.dstAddr >>> (31 - d)) & 1;
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
  lookup(m: FlowMatch): RouteEntry | null {
    const dst = m.peek(IP_DST);
    let n = this.root;
    let d = 0;
    let np = 0;
    for (;;) {
      if (n.routes !== null) path[np++] = n;
      if (d === 32) break;
      const bit = (dst >>> (31 - d)) & 1;
      const c = bit === 1 ? n.c1 : n.c0;
      if (c === null) {
        if ((bit === 1 ? n.c0 : n.c1) !== null) d++;
        break;
      }
      n = c;
      d++;
    }
    if (d > 0) m.read(IP_DST, prefixMask(d));
    for (let i = np - 1; i >= 0; i--) {
      const routes = path[i]!.routes!;
      let nb = 0;
      let w = Infinity;
      for (let j = 0; j < routes.length; j++) {
        const r = routes[j]!;
        if (r.srcLen > 0 && m.read(IP_SRC, prefixMask(r.srcLen)) !== r.srcAddr) continue;
        if (r.weight < w) {
          w = r.weight;
          nb = 0;
          best[nb++] = r;
        } else if (r.weight === w) best[nb++] = r;
      }
      if (nb === 1) return best[0]!;
      if (nb > 1) return best[flowHash(m) % nb]!;
    }
    return null;
  }

  /** Reference semantics for tests: the same choice by scanning every route. */
  static scan(entries: readonly RouteEntry[], m: FlowMatch): RouteEntry | null {
    const dst = m.peek(IP_DST);
    const src = m.peek(IP_SRC);
    let bestLen = -1;
    let cands: RouteEntry[] = [];
    const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const r of sorted) {
      if ((dst & prefixMask(r.dstLen)) >>> 0 !== r.dstAddr) continue;
      if ((src & prefixMask(r.srcLen)) >>> 0 !== r.srcAddr) continue;
      if (r.dstLen > bestLen) {
        bestLen = r.dstLen;
        cands = [r];
      } else if (r.dstLen === bestLen) cands.push(r);
    }
    if (cands.length === 0) return null;
    const w = Math.min(...cands.map((r) => r.weight));
    const eq = cands.filter((r) => r.weight === w);
    return eq.length === 1 ? eq[0]! : eq[flowHash(m) % eq.length]!;
  }
}

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
