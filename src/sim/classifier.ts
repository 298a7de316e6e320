/**
 * The rule classifier: a chain's rules compiled into indexes so finding the first matching rule does
 * not scan every rule, with exactly the result of a first-match-in-order scan.
 *
 * Each rule is filed under ONE index, chosen from its non-inverted conditions by selectivity: a binary
 * trie on the destination or source IPv4 prefix, or a hash on an exact destination/source L4 port, an
 * ingress port, an IP protocol or an ethertype. Rules with no such condition go to the wildcard list.
 * A lookup probes every index that holds rules (a constant number, at most eight) and gathers the
 * candidate lists it reaches: the lists at every trie node on the packet's address path, the bucket
 * of the packet's value in each hash. Every list is sorted by rule position, so the first match at or
 * after a position is found by merging the lists and testing candidates in order with `ruleMatches`.
 *
 * Invariants:
 * - Completeness: a rule that matches the packet is in a gathered list (a prefix rule sits on the
 *   trie node of its prefix, which the walk passes whenever the packet is inside it; a hash rule sits
 *   in the bucket of its exact value). So the merge returns the first matching rule in chain order.
 * - Mask: a rule is skipped only because an index probe excluded it, and every probe records the bits
 *   it consulted (the trie walk the address bits it went down, plus the one that ended it; a hash
 *   probe the whole field; the gates that check a packet is IP (either family; IPv4 for the tries) /
 *   has ports read eth_type and ip_proto). Protocol and port conditions hold for IPv6 packets too. Candidates tested record their own reads.
 * - Recompiling is a full rebuild of one chain, linear in its rules (10,000 rules well under 50 ms).
 */
import { prefixMask } from '../addr.js';
import type { Rule } from '../state/model.js';
import { IP_DST, IP_SRC, type FlowMatch } from './flow-match.js';
import { compileRule, ruleMatches, type CompiledRule, type RuleEnv } from './rule-match.js';

type List = number[];

/**
 * A binary trie over IPv4 address bits, most significant first, stored as parallel arrays indexed by
 * node number (node 0 is the root; -1 is "no child") so a 10,000-rule chain allocates a few arrays,
 * not hundreds of thousands of node objects.
 */
class Trie {
  readonly c0: number[] = [-1];
  readonly c1: number[] = [-1];
  /** Positions of rules whose prefix ends at the node, ascending; null when none. */
  readonly rules: Array<List | null> = [null];

  insert(addr: number, len: number, pos: number): void {
    let n = 0;
    for (let d = 0; d < len; d++) {
      const side = (addr >>> (31 - d)) & 1 ? this.c1 : this.c0;
      let c = side[n]!;
      if (c < 0) {
        c = this.c0.length;
        this.c0.push(-1);
        this.c1.push(-1);
        this.rules.push(null);
        side[n] = c;
      }
      n = c;
    }
    const l = this.rules[n];
    if (l === null || l === undefined) this.rules[n] = [pos];
    else l.push(pos);
  }

  /** Walks along the packet's address, gathering rule lists; records the bits it went down. */
  walk(m: FlowMatch, f: number, out: Candidates): void {
    const addr = m.peek(f);
    const { c0, c1, rules } = this;
    let n = 0;
    let d = 0;
    for (;;) {
      const l = rules[n]!;
      if (l !== null) out.add(l);
      if (d === 32) break;
      const bit = (addr >>> (31 - d)) & 1;
      const c = bit === 1 ? c1[n]! : c0[n]!;
      if (c < 0) {
        // Bit d decided that the walk ends here only if the other branch exists.
        if ((bit === 1 ? c0[n]! : c1[n]!) >= 0) d++;
        break;
      }
      n = c;
      d++;
    }
    if (d > 0) m.read(f, prefixMask(d));
  }
}

/** Scratch space for one chain evaluation: the candidate lists and a cursor in each. */
export class Candidates {
  lists: List[] = [];
  cursors: number[] = [];
  n = 0;
  reset(): void {
    this.n = 0;
  }
  add(l: List): void {
    const i = this.n++;
    if (i < this.lists.length) {
      this.lists[i] = l;
      this.cursors[i] = 0;
    } else {
      this.lists.push(l);
      this.cursors.push(0);
    }
  }
  /** The smallest candidate position >= from, or -1. */
  next(from: number): number {
    let best = -1;
    for (let i = 0; i < this.n; i++) {
      const l = this.lists[i]!;
      let c = this.cursors[i]!;
      while (c < l.length && l[c]! < from) c++;
      this.cursors[i] = c;
      if (c < l.length) {
        const p = l[c]!;
        if (best < 0 || p < best) best = p;
      }
    }
    return best;
  }
}

export class Classifier {
  readonly rules: readonly CompiledRule[];
  private readonly dstTrie: Trie | null;
  private readonly srcTrie: Trie | null;
  private readonly dstPort: Map<number, List> | null;
  private readonly srcPort: Map<number, List> | null;
  private readonly inPort: Map<string, List> | null;
  private readonly proto: Map<number, List> | null;
  private readonly ethType: Map<number, List> | null;
  private readonly wild: List;

  constructor(rules: readonly Rule[]) {
    const compiled: CompiledRule[] = [];
    let dstTrie: Trie | null = null;
    let srcTrie: Trie | null = null;
    let dstPort: Map<number, List> | null = null;
    let srcPort: Map<number, List> | null = null;
    let inPort: Map<string, List> | null = null;
    let proto: Map<number, List> | null = null;
    let ethType: Map<number, List> | null = null;
    const wild: List = [];
    const bucket = <K>(m: Map<K, List>, k: K, pos: number) => {
      const l = m.get(k);
      if (l === undefined) m.set(k, [pos]);
      else l.push(pos);
    };
    for (let pos = 0; pos < rules.length; pos++) {
      const rule = rules[pos]!;
      const cr = compileRule(rule, pos);
      compiled.push(cr);
      const c = rule.conditions;
      // Pick the most selective non-inverted indexable condition.
      let best = 0;
      let kind = 'wild';
      const consider = (score: number, k: string) => {
        if (score > best) {
          best = score;
          kind = k;
        }
      };
      const dp = cr.dstPrefix;
      const sp = cr.srcPrefix;
      if (dp !== null && dp.len > 0) consider(dp.len + 0.5, 'dstIp');
      if (sp !== null && sp.len > 0) consider(sp.len, 'srcIp');
      if (c.dstPort && !c.dstPort.invert && c.dstPort.value.start === c.dstPort.value.end)
        consider(16.2, 'dstPort');
      if (c.srcPort && !c.srcPort.invert && c.srcPort.value.start === c.srcPort.value.end)
        consider(16.1, 'srcPort');
      if (c.inPorts && !c.inPorts.invert) consider(12, 'inPort');
      if (c.ipProto && !c.ipProto.invert) consider(4, 'proto');
      if (c.ethertype && !c.ethertype.invert) consider(2, 'ethType');
      switch (kind) {
        case 'dstIp':
          (dstTrie ??= new Trie()).insert(dp!.addr, dp!.len, pos);
          break;
        case 'srcIp':
          (srcTrie ??= new Trie()).insert(sp!.addr, sp!.len, pos);
          break;
        case 'dstPort':
          bucket((dstPort ??= new Map<number, List>()), c.dstPort!.value.start, pos);
          break;
        case 'srcPort':
          bucket((srcPort ??= new Map<number, List>()), c.srcPort!.value.start, pos);
          break;
        case 'inPort':
          for (const p of new Set(c.inPorts!.value)) bucket((inPort ??= new Map<string, List>()), p, pos);
          break;
        case 'proto':
          bucket((proto ??= new Map<number, List>()), c.ipProto!.value, pos);
          break;
        case 'ethType':
          bucket((ethType ??= new Map<number, List>()), c.ethertype!.value, pos);
          break;
        default:
          wild.push(pos);
      }
    }
    this.rules = compiled;
    this.dstTrie = dstTrie;
    this.srcTrie = srcTrie;
    this.dstPort = dstPort;
    this.srcPort = srcPort;
    this.inPort = inPort;
    this.proto = proto;
    this.ethType = ethType;
    this.wild = wild;
  }

  /** Gathers the candidate lists for the packet into `out`, recording the bits consulted. */
  probe(m: FlowMatch, env: RuleEnv, out: Candidates): void {
    out.reset();
    if (this.wild.length > 0) out.add(this.wild);
    if (this.inPort !== null && env.inPortId !== null) {
      const l = this.inPort.get(env.inPortId);
      if (l !== undefined) out.add(l);
    }
    if (this.ethType !== null) {
      const l = this.ethType.get(m.ethType);
      if (l !== undefined) out.add(l);
    }
    if (
      this.dstTrie === null &&
      this.srcTrie === null &&
      this.proto === null &&
      this.dstPort === null &&
      this.srcPort === null
    )
      return;
    if (!m.isIp()) return;
    // Protocol and port conditions hold for both families; the address tries are IPv4's.
    if (m.isIpv4()) {
      if (this.dstTrie !== null) this.dstTrie.walk(m, IP_DST, out);
      if (this.srcTrie !== null) this.srcTrie.walk(m, IP_SRC, out);
    }
    if (this.proto !== null) {
      const l = this.proto.get(m.ipProto);
      if (l !== undefined) out.add(l);
    }
    if ((this.dstPort !== null || this.srcPort !== null) && m.hasIpPorts()) {
      if (this.dstPort !== null) {
        const l = this.dstPort.get(m.tpDst);
        if (l !== undefined) out.add(l);
      }
      if (this.srcPort !== null) {
        const l = this.srcPort.get(m.tpSrc);
        if (l !== undefined) out.add(l);
      }
    }
  }

  /** The first rule at or after `from` that matches, or -1; `c` must come from `probe`. */
  firstMatch(m: FlowMatch, env: RuleEnv, c: Candidates, from: number): number {
    for (;;) {
      const pos = c.next(from);
      if (pos < 0) return -1;
      if (ruleMatches(this.rules[pos]!, m, env)) return pos;
      from = pos + 1;
    }
  }

  /** Reference semantics: the first rule at or after `from` that matches, by scanning in order. */
  scan(m: FlowMatch, env: RuleEnv, from: number): number {
    for (let pos = from; pos < this.rules.length; pos++)
      if (ruleMatches(this.rules[pos]!, m, env)) return pos;
    return -1;
  }
}
