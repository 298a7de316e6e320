/**
 * A router's route table for one address family (IPv4 or IPv6, given by a RouteFamily): longest-prefix
 * match on the destination by a binary trie, then source-prefix routes, lowest weight, and ECMP among
 * equal-weight routes by a hash of the 5-tuple.
 *
 * Lookup: walk the destination trie along the packet's address, remembering the nodes that hold
 * routes; from the deepest such node up, keep the routes whose source prefix holds the packet's
 * source; the first node with any wins; among its routes the lowest weight wins; several at that
 * weight are chosen between by the family's flow hash.
 *
 * Invariant (mask): the result depends only on the destination bits the walk went down (plus the bit
 * that ended it), the source bits of each source prefix tested, and, for ECMP, the whole 5-tuple; the
 * family reads all of them through FlowMatch, so they are recorded in the flow's mask. Routes at one
 * node are kept in id order so the ECMP choice is deterministic for a given table.
 */
import type { FlowMatch } from './flow-match.js';

export type RouteKind = 'normal' | 'blackhole' | 'reject' | 'local';

/** A route whose addresses are of type A (a number for IPv4, four 32-bit words for IPv6). */
export interface RouteOf<A> {
  /** Route id, or `port:<id>` / `local:<id>` for a port's connected and local routes. */
  readonly id: string;
  readonly kind: RouteKind;
  readonly dstAddr: A;
  readonly dstLen: number;
  readonly srcAddr: A;
  readonly srcLen: number;
  readonly nextHopPortId: string | null;
  /** Next hop address; null: the destination itself (on-link). */
  readonly gateway: A | null;
  readonly weight: number;
}

/** What the trie needs to know of an address family; every read of the packet goes through FlowMatch. */
export interface RouteFamily<A> {
  /** Address width in bits. */
  readonly bits: number;
  /** An address as 32-bit words, most significant first (the trie walks words, not calls, per bit). */
  words(a: A): readonly number[];
  /** The packet's destination as words / its source, peeked (not recorded in the mask). */
  peekDstWords(m: FlowMatch): readonly number[];
  peekDst(m: FlowMatch): A;
  peekSrc(m: FlowMatch): A;
  /** Records that the result depends on the first len bits of the destination. */
  readDst(m: FlowMatch, len: number): void;
  /** Whether the packet's source lies in net/len, recording the bits read. */
  srcIn(m: FlowMatch, net: A, len: number): boolean;
  /** Whether address a lies in net/len (pure; for the reference scan). */
  inPrefix(a: A, net: A, len: number): boolean;
  /** A hash of the 5-tuple that reads all of it: the same flow always takes the same ECMP path. */
  hash(m: FlowMatch): number;
}

interface Node<A> {
  c0: Node<A> | null;
  c1: Node<A> | null;
  routes: RouteOf<A>[] | null;
}

function bitAt(w: readonly number[], d: number): number {
  return (w[d >>> 5]! >>> (31 - (d & 31))) & 1;
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// Scratch (lookup is synchronous and not re-entrant); counters instead of truncating arrays.
const path: Array<Node<unknown>> = [];
const best: Array<RouteOf<unknown>> = [];

export class RouteTrie<A> {
  private readonly root: Node<A> = { c0: null, c1: null, routes: null };
  readonly size: number;

  constructor(
    private readonly family: RouteFamily<A>,
    entries: readonly RouteOf<A>[],
  ) {
    const sorted = [...entries].sort(byId);
    for (const r of sorted) {
      const w = family.words(r.dstAddr);
      let n = this.root;
      for (let d = 0; d < r.dstLen; d++) {
        const bit = bitAt(w, d);
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
  lookup(m: FlowMatch): RouteOf<A> | null {
    const fam = this.family;
    const dst = fam.peekDstWords(m);
    const bits = fam.bits;
    let n = this.root;
    let d = 0;
    let np = 0;
    let word = dst[0]!; // the word holding bit d
    for (;;) {
      if (n.routes !== null) path[np++] = n;
      if (d === bits) break;
      const bit = (word >>> (31 - (d & 31))) & 1;
      const c = bit === 1 ? n.c1 : n.c0;
      if (c === null) {
        if ((bit === 1 ? n.c0 : n.c1) !== null) d++;
        break;
      }
      n = c;
      d++;
      if ((d & 31) === 0 && d < bits) word = dst[d >>> 5]!;
    }
    if (d > 0) fam.readDst(m, d);
    const chosen = best as RouteOf<A>[];
    for (let i = np - 1; i >= 0; i--) {
      const routes = (path[i] as Node<A>).routes!;
      let nb = 0;
      let w = Infinity;
      for (let j = 0; j < routes.length; j++) {
        const r = routes[j]!;
        if (r.srcLen > 0 && !fam.srcIn(m, r.srcAddr, r.srcLen)) continue;
        if (r.weight < w) {
          w = r.weight;
          nb = 0;
          chosen[nb++] = r;
        } else if (r.weight === w) chosen[nb++] = r;
      }
      if (nb === 1) return chosen[0]!;
      if (nb > 1) return chosen[fam.hash(m) % nb]!;
    }
    return null;
  }
}

/** Reference semantics for tests: the choice RouteTrie.lookup makes, found by scanning every route. */
export function scanRoutes<A>(
  family: RouteFamily<A>,
  entries: readonly RouteOf<A>[],
  m: FlowMatch,
): RouteOf<A> | null {
  const dst = family.peekDst(m);
  const src = family.peekSrc(m);
  let bestLen = -1;
  let cands: RouteOf<A>[] = [];
  for (const r of [...entries].sort(byId)) {
    if (!family.inPrefix(dst, r.dstAddr, r.dstLen)) continue;
    if (!family.inPrefix(src, r.srcAddr, r.srcLen)) continue;
    if (r.dstLen > bestLen) {
      bestLen = r.dstLen;
      cands = [r];
    } else if (r.dstLen === bestLen) cands.push(r);
  }
  if (cands.length === 0) return null;
  const w = Math.min(...cands.map((r) => r.weight));
  const eq = cands.filter((r) => r.weight === w);
  return eq.length === 1 ? eq[0]! : eq[family.hash(m) % eq.length]!;
}
