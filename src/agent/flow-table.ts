/**
 * The agent's record of the reactive flows it installed: cookie -> flow, the tag index tag -> cookies
 * that makes invalidation exact, and a match index that knows when a new flow takes the place of an
 * installed one.
 *
 * Invariants:
 * - A cookie is in the tag index under exactly the tags of its flow, and only while the flow is
 *   recorded; `remove` (on FLOW_REMOVED or an invalidation) clears every index.
 * - Open vSwitch replaces a flow with the same match and priority silently (no FLOW_REMOVED). So each
 *   flow is also filed under a hash of its match; `add` returns the cookie a flow with the same
 *   hash had (now removed here), and the caller deletes that cookie in the switch before adding: if
 *   the match really was the same the delete takes the old flow, if the hashes merely collided it
 *   takes an unrelated flow, which is safe (its packets come back to be simulated). Either way no
 *   cookie is recorded that the switch no longer holds.
 * - Cookies of reactive flows have the top bit clear; proactive flows (installed with ovs-ofctl) have
 *   it set, so "every reactive flow" is one cookie/mask pair. Reactive cookies are kept as numbers
 *   (below 2^53, cheap to hash); they become 64-bit bigints only on the wire.
 * - Memory: a record holds shared tag strings only (the match and actions live in the switch); a tag
 *   with one flow holds the cookie itself, from the second flow on an append-only list whose
 *   entries of removed flows are skipped when read and dropped when they are half of it (a hash set
 *   per tag costs several times as much at 100,000 flows).
 */

export const PROACTIVE_COOKIE_BIT = 1n << 63n;

export interface FlowRecord {
  readonly cookie: number;
  readonly inPort: string;
  /** The tags the flow depends on (shared string instances). */
  readonly tags: readonly string[];
  readonly installedAt: number;
  /** Hash of the flow's OpenFlow match and priority (see matchHash). */
  readonly matchHash: number;
}

/**
 * A 30-bit hash of a flow's match: the ingress port and, per field, the mask and the packet's bits
 * under it (FlowMatch words), FNV-1a style. 30 bits keep it a small integer (no boxed number per
 * flow); at 100,000 flows a few pairs collide, which costs each pair one extra packet-in (see add).
 */
export function matchHash(ofInPort: number, mask: readonly number[], packet: readonly number[]): number {
  let h = 0x811c9dc5 ^ ofInPort;
  for (let f = 1; f < mask.length; f++) {
    const m = mask[f]!;
    h = Math.imul(h ^ m, 0x01000193);
    h = Math.imul(h ^ ((packet[f]! & m) >>> 0), 0x01000193);
  }
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/** [ops] Why a flow stops being recorded, as the removal listener hears it (flow-history.ts). */
export type RemovedBy =
  | { readonly kind: 'replaced'; readonly by: number }
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'cleared' }
  | { readonly kind: 'other' };

export class FlowTable {
  /** [ops] Hears every flow that stops being recorded (flow-history.ts); undefined: nobody listens. */
  onRemove: ((f: FlowRecord, why: RemovedBy) => void) | undefined;
  /** [ops] While a listener is set: the tag through which the last cookiesFor found each cookie. */
  private readonly foundBy = new Map<number, string>();
  private readonly flows = new Map<number, FlowRecord>();
  private readonly byTag = new Map<string, number | number[]>();
  private readonly byMatch = new Map<number, number>();
  /** The one instance of each tag more than one recorded flow carries (shareTags). */
  private readonly shared = new Map<string, string>();
  private next = 1;

  /** A fresh reactive cookie. */
  cookie(): number {
    const c = this.next;
    this.next = this.next >= Number.MAX_SAFE_INTEGER ? 1 : this.next + 1;
    return c;
  }

  /** Keeps `cookie` (a flow an earlier run installed, adopted) from being handed out again. */
  reserve(cookie: number): void {
    if (cookie >= this.next && cookie < Number.MAX_SAFE_INTEGER) this.next = cookie + 1;
  }

  /**
   * Records a flow. Returns the flow it replaces (same match hash), which is no longer recorded and
   * must be deleted in the switch before the new flow is added; undefined when none.
   */
  add(flow: FlowRecord): FlowRecord | undefined {
    this.remove(flow.cookie);
    const old = this.byMatch.get(flow.matchHash);
    const replaced = old === undefined ? undefined : this.remove(old, { kind: 'replaced', by: flow.cookie });
    const cookie = flow.cookie;
    // One pass, one index lookup per tag: file the cookie under it and, where other flows carry the
    // tag already, take their instance of it (shareTags).
    let tags: string[] | undefined;
    for (let i = 0; i < flow.tags.length; i++) {
      const t = flow.tags[i]!;
      const s = this.byTag.get(t);
      if (s === undefined) {
        this.byTag.set(t, cookie);
        continue;
      }
      (tags ??= flow.tags.slice())[i] = this.sharedInstance(t, s);
      if (typeof s === 'number') {
        if (s !== cookie) this.byTag.set(t, [s, cookie]);
      } else {
        s.push(cookie);
        this.compact(t, s);
      }
    }
    const f: FlowRecord = tags === undefined ? flow : { ...flow, tags };
    this.flows.set(cookie, f);
    this.byMatch.set(f.matchHash, cookie);
    return replaced;
  }

  /**
   * The one instance of tag `t` that live flows (those filed under `s`) share: per-entry tags (a MAC,
   * an ARP entry) are built on every read, and 100,000 flows learning from one MAC would otherwise
   * hold 100,000 copies of its tag.
   */
  private sharedInstance(t: string, s: number | number[]): string {
    let shared = this.shared.get(t);
    if (shared === undefined) {
      const first = this.flows.get(typeof s === 'number' ? s : s[0]!);
      shared = first?.tags.find((x) => x === t) ?? t;
      this.shared.set(t, shared);
    }
    return shared;
  }

  private dropTag(tag: string): void {
    this.byTag.delete(tag);
    this.shared.delete(tag);
  }

  /** Drops the entries of removed flows from a tag's list when they are half of it. */
  private compact(tag: string, list: number[]): void {
    if (list.length < 64 || (list.length & (list.length - 1)) !== 0) return; // only at powers of two
    const live = list.filter((c) => this.flows.has(c));
    if (live.length * 2 > list.length) return;
    if (live.length === 0) this.dropTag(tag);
    else if (live.length === 1) this.byTag.set(tag, live[0]!);
    else this.byTag.set(tag, live);
  }

  remove(cookie: number, why?: RemovedBy): FlowRecord | undefined {
    const f = this.flows.get(cookie);
    if (f === undefined) return undefined;
    if (this.onRemove) {
      this.onRemove(f, why ?? tagOrOther(this.foundBy.get(cookie)));
      this.foundBy.delete(cookie);
    }
    this.flows.delete(cookie);
    if (this.byMatch.get(f.matchHash) === cookie) this.byMatch.delete(f.matchHash);
    for (const t of f.tags) if (this.byTag.get(t) === cookie) this.dropTag(t);
    // Lists keep the cookie until they are read or compacted: a removed flow is skipped there.
    return f;
  }

  /** Cookies of every live flow carrying any of `tags`. */
  cookiesFor(tags: Iterable<string>): Set<number> {
    const out = new Set<number>();
    const found = this.onRemove ? this.foundBy : undefined;
    found?.clear();
    for (const t of tags) {
      const s = this.byTag.get(t);
      if (s === undefined) continue;
      if (typeof s === 'number') {
        out.add(s);
        if (found && !found.has(s)) found.set(s, t);
        continue;
      }
      // Cookies are never reused (a counter), so a live cookie in the list is that flow's.
      const live = s.filter((c) => this.flows.has(c));
      if (live.length === 0) this.dropTag(t);
      else if (live.length < s.length) this.byTag.set(t, live.length === 1 ? live[0]! : live);
      for (const c of live) out.add(c);
      if (found) for (const c of live) if (!found.has(c)) found.set(c, t);
    }
    return out;
  }

  /** True when a live flow carries `tag` (removing a flow drops a tag it alone carried). */
  carries(tag: string): boolean {
    const s = this.byTag.get(tag);
    if (s === undefined) return false;
    return typeof s === 'number' || s.some((c) => this.flows.has(c));
  }

  get(cookie: number): FlowRecord | undefined {
    return this.flows.get(cookie);
  }

  get size(): number {
    return this.flows.size;
  }

  all(): IterableIterator<FlowRecord> {
    return this.flows.values();
  }

  clear(): void {
    if (this.onRemove) for (const f of this.flows.values()) this.onRemove(f, { kind: 'cleared' });
    this.foundBy.clear();
    this.flows.clear();
    this.byTag.clear();
    this.shared.clear();
    this.byMatch.clear();
  }
}

function tagOrOther(tag: string | undefined): RemovedBy {
  return tag === undefined ? { kind: 'other' } : { kind: 'tag', tag };
}
