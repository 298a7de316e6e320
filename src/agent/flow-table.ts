/**
 * The agent's record of the reactive flows it installed: cookie -> flow, the tag index tag -> flows
 * that makes invalidation exact, and a match index that knows when a new flow takes the place of an
 * installed one.
 *
 * Invariants:
 * - `cookiesFor(tags)` names exactly the recorded flows carrying any of the tags, and `carries(tag)`
 *   is true exactly while one does; `remove` (on FLOW_REMOVED or an invalidation) takes a flow out of
 *   every index.
 * - Open vSwitch replaces a flow with the same match and priority silently (no FLOW_REMOVED). So each
 *   flow is also filed under a hash of its match; `add` returns the flow with the same hash (now
 *   removed here), and the caller deletes its cookie in the switch before adding: if the match really
 *   was the same the delete takes the old flow, if the hashes merely collided it takes an unrelated
 *   flow, which is safe (its packets come back to be simulated). Either way no cookie is recorded
 *   that the switch no longer holds, so `size` is what the switch holds.
 * - Cookies of reactive flows have the top bit clear; proactive flows (installed with ovs-ofctl) have
 *   it set, so "every reactive flow" is one cookie/mask pair. Reactive cookies are kept as numbers
 *   (below 2^53); they become 64-bit bigints only on the wire.
 * - Memory (100,000 flows is the budget): a flow is a slot in typed arrays (cookie, install time,
 *   last use and packet count, match hash, ingress port id, where its tags start and how many), its
 *   tags are interned ids (interner.ts) in one shared Int32Array pool, and no object per flow is kept;
 *   FlowRecord objects are built only when read (get, remove, all); an invalidation (removeTagged)
 *   builds one only for a removal its listener keeps. Per tag id the index holds one slot, or a list of
 *   slots (slot-list.ts: an Int32Array once long) in which slots of removed flows stay until the list
 *   is read or grows to twice its tag's live count; a listed slot counts only while its flow carries
 *   the tag.
 */
import { Interner, grow } from './interner.js';
import { SlotIndex } from './slot-index.js';
import { SlotList } from './slot-list.js';

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
  /** Unused for the idle timeout (idle-expiry.ts): `idleMs` since it was last seen used, `packets` counted. */
  | { readonly kind: 'idle'; readonly idleMs: number; readonly packets: number }
  | { readonly kind: 'other' };

/**
 * Whether `cookie` is in slice `slice` of the slicing by low bits under `mask` (mask + 1 slices, a power
 * of two): the slicing of the idle-expiry reads (idle-expiry.ts).
 */
export function inSlice(cookie: number, mask: number, slice: number): boolean {
  return cookie % (mask + 1) === slice;
}

export class FlowTable {
  /** [ops] Hears every flow that stops being recorded (flow-history.ts); undefined: nobody listens. */
  onRemove: ((f: FlowRecord, why: RemovedBy) => void) | undefined;
  /**
   * [ops] How many removals the listener keeps (flow-history.ts: its ring): of a `removeTagged`
   * batch only the last this many are told, and no record is built for the others.
   */
  onRemoveKeeps = Infinity;
  /** [ops] While a listener is set: the tag through which the last cookiesFor found each cookie. */
  private readonly foundBy = new Map<number, string>();
  /** Cookie -> slot. */
  private readonly slotOf = new SlotIndex((s) => this.cookies[s]!);
  /** Match hash -> slot of the live flow filed under it. */
  private readonly byMatch = new SlotIndex((s) => this.hashes[s]!);
  private readonly tagIds = new Interner();
  private readonly portIds = new Interner();
  /** Per tag id: the one slot carrying it, or a list of slots (see the header). */
  private byTag: Array<number | SlotList | undefined> = [];
  // Per slot; a free slot has cookie -1.
  private cookies: Float64Array;
  private installed: Float64Array;
  /** Per slot: when the flow was last seen used (install, or a packet count that moved), and that count. */
  private active: Float64Array;
  private counts: Float64Array;
  private hashes: Int32Array;
  private portOf: Int32Array;
  private tagStart: Int32Array;
  private tagCount: Int32Array;
  /** Per slot: the list read that last took it (dedupes a slot listed twice under a tag). */
  private seen: Int32Array;
  private reads = 0;
  private used = 0;
  private readonly freeSlots: number[] = [];
  /** Tag ids of every flow, each flow's contiguous; entries of removed flows are dead until rebuilt. */
  private pool: Int32Array;
  private poolEnd = 0;
  private poolLive = 0;
  private next = 1;
  private readonly sizes: Required<TableSizes>;

  constructor(sizes: TableSizes = {}) {
    this.sizes = { slots: 1024, pool: 4096, smallList: 32, ...sizes };
    const n = this.sizes.slots;
    this.cookies = new Float64Array(n).fill(-1);
    this.installed = new Float64Array(n);
    this.active = new Float64Array(n);
    this.counts = new Float64Array(n);
    this.hashes = new Int32Array(n);
    this.portOf = new Int32Array(n);
    this.tagStart = new Int32Array(n);
    this.tagCount = new Int32Array(n);
    this.seen = new Int32Array(n);
    this.pool = new Int32Array(this.sizes.pool);
  }

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
   * Records a flow (its tag array is read, not kept). Returns the flow it replaces (same match
   * hash), which is no longer recorded and must be deleted in the switch before the new flow is
   * added; undefined when none.
   */
  add(flow: FlowRecord): FlowRecord | undefined {
    this.remove(flow.cookie);
    const old = this.byMatch.get(flow.matchHash);
    const replaced =
      old < 0 ? undefined : this.remove(this.cookies[old]!, { kind: 'replaced', by: flow.cookie });
    const s = this.freeSlots.pop() ?? this.used++;
    if (s >= this.cookies.length) this.growSlots(s + 1);
    this.reservePool(flow.tags.length);
    const start = this.poolEnd;
    let k = 0;
    for (const t of flow.tags) {
      const id = this.tagIds.ref(t);
      if (this.tagIds.count(id) > 1 && this.inRange(start, start + k, id)) {
        this.tagIds.release(id); // listed twice
        continue;
      }
      this.pool[start + k++] = id;
    }
    this.poolEnd += k;
    this.poolLive += k;
    this.cookies[s] = flow.cookie;
    this.installed[s] = flow.installedAt;
    this.active[s] = flow.installedAt;
    this.counts[s] = 0;
    this.hashes[s] = flow.matchHash;
    this.portOf[s] = this.portIds.ref(flow.inPort);
    this.tagStart[s] = start;
    this.tagCount[s] = k;
    this.slotOf.set(s);
    this.byMatch.set(s);
    // Filed only now that the slot is live: filing may compact a list, which keeps live slots only.
    for (let i = start; i < start + k; i++) this.file(this.pool[i]!, s);
    return replaced;
  }

  /** Files slot `s` under tag `id` (just ref'd for it). */
  private file(id: number, s: number): void {
    const e = this.byTag[id];
    if (e === undefined) {
      while (this.byTag.length < id) this.byTag.push(undefined);
      this.byTag[id] = s;
    } else if (typeof e === 'number') this.byTag[id] = new SlotList(e, s);
    else {
      e.push(s, this.sizes.smallList);
      // Stale entries are dropped once they are as many as the live ones (amortized O(1) per add).
      if (e.n >= 2 * this.tagIds.count(id) + 8) this.readList(id, e);
    }
  }

  /**
   * Rewrites tag `id`'s list to hold only its live, distinct slots; each one's cookie goes to `out`
   * when given (and to `found`, under `tag`, when not there yet).
   */
  private readList(
    id: number,
    list: SlotList,
    out?: Set<number>,
    found?: Map<number, string>,
    tag = '',
  ): void {
    if (++this.reads > 0x3fffffff) {
      this.seen.fill(0);
      this.reads = 1;
    }
    const read = this.reads;
    let n = 0;
    for (let i = 0; i < list.n; i++) {
      const s = list.at(i);
      if (this.seen[s] === read || !this.carriesAt(s, id)) continue;
      this.seen[s] = read;
      list.set(n++, s);
      if (out !== undefined) foundCookie(this.cookies[s]!, out, found, tag);
    }
    list.n = n;
    if (n === 1) this.byTag[id] = list.at(0);
    else list.shrink(this.sizes.smallList);
  }

  /** True when slot `s` holds a live flow carrying tag `id`. */
  private carriesAt(s: number, id: number): boolean {
    if (this.cookies[s]! < 0) return false;
    const start = this.tagStart[s]!;
    return this.inRange(start, start + this.tagCount[s]!, id);
  }

  private inRange(start: number, end: number, id: number): boolean {
    for (let i = start; i < end; i++) if (this.pool[i] === id) return true;
    return false;
  }

  /** When the flow under `cookie` was last seen used and the packets counted for it; undefined if none. */
  usage(cookie: number): { readonly usedAt: number; readonly packets: number } | undefined {
    const s = this.slotOf.get(cookie);
    return s < 0 ? undefined : { usedAt: this.active[s]!, packets: this.counts[s]! };
  }

  remove(cookie: number, why?: RemovedBy): FlowRecord | undefined {
    const s = this.slotOf.get(cookie);
    if (s < 0) return undefined;
    const f = this.record(s);
    if (this.onRemove) {
      this.onRemove(f, why ?? tagOrOther(this.foundBy.get(cookie)));
      this.foundBy.delete(cookie);
    }
    this.release(s);
    return f;
  }

  /**
   * Removes every flow carrying any of `tags` (an invalidation) and returns their cookies, as
   * cookiesFor names them. `eachTag` hears every tag of every removed flow. The listener hears the
   * removals as through cookiesFor and remove, except that of more than `onRemoveKeeps` only the
   * last that many are told; no record is built for a flow nobody is told of.
   */
  removeTagged(tags: Iterable<string>, eachTag?: (tag: string) => void): Set<number> {
    this.foundBy.clear();
    const query: string[] = [];
    for (const t of tags) if (this.tagIds.peek(t) !== undefined) query.push(t);
    const cookies = this.collect(query, undefined);
    const told = this.onRemove === undefined ? cookies.size : cookies.size - this.onRemoveKeeps;
    let i = 0;
    for (const c of cookies) {
      const s = this.slotOf.get(c);
      if (i++ >= told) this.onRemove!(this.record(s), tagOrOther(this.foundAt(s, query)));
      this.release(s, eachTag);
    }
    return cookies;
  }

  /** The first of `query` that live slot `s` carries: the tag cookiesFor finds it through. */
  private foundAt(s: number, query: readonly string[]): string | undefined {
    for (const t of query) if (this.carriesAt(s, this.tagIds.peek(t)!)) return t;
    return undefined;
  }

  /** Takes live slot `s` out of every index; `eachTag` hears each of its tags. */
  private release(s: number, eachTag?: (tag: string) => void): void {
    const cookie = this.cookies[s]!;
    this.slotOf.delete(cookie, s);
    this.byMatch.delete(this.hashes[s]!, s);
    const start = this.tagStart[s]!;
    const end = start + this.tagCount[s]!;
    for (let i = start; i < end; i++) {
      const id = this.pool[i]!;
      if (eachTag !== undefined) eachTag(this.tagIds.name(id));
      if (this.tagIds.count(id) === 1) this.byTag[id] = undefined;
      this.tagIds.release(id);
    }
    // Lists keep the slot until they are read or compacted: a removed flow is skipped there.
    this.poolLive -= end - start;
    this.portIds.release(this.portOf[s]!);
    this.cookies[s] = -1;
    this.freeSlots.push(s);
  }

  /** Cookies of every live flow carrying any of `tags`. */
  cookiesFor(tags: Iterable<string>): Set<number> {
    const found = this.onRemove ? this.foundBy : undefined;
    found?.clear();
    return this.collect(tags, found);
  }

  /** Cookies of every live flow carrying any of `tags`; each also goes to `found` under its first tag. */
  private collect(tags: Iterable<string>, found: Map<number, string> | undefined): Set<number> {
    const out = new Set<number>();
    for (const t of tags) {
      const id = this.tagIds.peek(t);
      const e = id === undefined ? undefined : this.byTag[id];
      if (e === undefined) continue;
      if (typeof e === 'number') foundCookie(this.cookies[e]!, out, found, t);
      else this.readList(id!, e, out, found, t);
    }
    return out;
  }

  /** True when a live flow carries `tag`. */
  carries(tag: string): boolean {
    return this.tagIds.peek(tag) !== undefined;
  }

  has(cookie: number): boolean {
    return this.slotOf.get(cookie) >= 0;
  }

  /** The flow recorded under `cookie` (a new object each call). */
  get(cookie: number): FlowRecord | undefined {
    const s = this.slotOf.get(cookie);
    return s < 0 ? undefined : this.record(s);
  }

  get size(): number {
    return this.slotOf.size;
  }

  /**
   * The switch counted `packets` for the flow under `cookie` (idle-expiry.ts): a count other than the
   * last one read makes the flow used at `now`. A cookie not recorded here is ignored: false.
   */
  counted(cookie: number, packets: number, now: number): boolean {
    const s = this.slotOf.get(cookie);
    if (s < 0) return false;
    if (this.counts[s] === packets) return true;
    this.counts[s] = packets;
    if (now > this.active[s]!) this.active[s] = now;
    return true;
  }

  /**
   * Cookies of the flows last used (installed, or counted moving) before `before`, of those whose
   * cookie's low bits under `mask` (below 2^31) are `slice`.
   */
  unusedSince(before: number, mask = 0, slice = 0): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.used; s++) {
      const c = this.cookies[s]!;
      if (c >= 0 && this.active[s]! < before && inSlice(c, mask, slice)) out.push(c);
    }
    return out;
  }

  /** Every recorded flow, by cookie (new objects). */
  all(): IterableIterator<FlowRecord> {
    const slots = this.liveSlots();
    slots.sort((a, b) => this.cookies[a]! - this.cookies[b]!);
    return slots.map((s) => this.record(s)).values();
  }

  private liveSlots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.used; s++) if (this.cookies[s]! >= 0) out.push(s);
    return out;
  }

  clear(): void {
    if (this.onRemove) for (const f of this.all()) this.onRemove(f, { kind: 'cleared' });
    this.foundBy.clear();
    this.slotOf.clear();
    this.byMatch.clear();
    this.tagIds.clear();
    this.portIds.clear();
    this.byTag = [];
    this.cookies.fill(-1);
    this.used = 0;
    this.freeSlots.length = 0;
    this.poolEnd = 0;
    this.poolLive = 0;
  }

  private record(s: number): FlowRecord {
    const start = this.tagStart[s]!;
    const tags = new Array<string>(this.tagCount[s]!);
    for (let i = 0; i < tags.length; i++) tags[i] = this.tagIds.name(this.pool[start + i]!);
    return {
      cookie: this.cookies[s]!,
      inPort: this.portIds.name(this.portOf[s]!),
      tags,
      installedAt: this.installed[s]!,
      matchHash: this.hashes[s]!,
    };
  }

  private growSlots(min: number): void {
    const n = this.cookies.length;
    this.cookies = grow(this.cookies, min);
    this.cookies.fill(-1, n);
    this.installed = grow(this.installed, min);
    this.active = grow(this.active, min);
    this.counts = grow(this.counts, min);
    this.hashes = grow(this.hashes, min);
    this.portOf = grow(this.portOf, min);
    this.tagStart = grow(this.tagStart, min);
    this.tagCount = grow(this.tagCount, min);
    this.seen = grow(this.seen, min);
  }

  /** Room for `k` more tag ids at the pool's end: the live ranges are packed into a new pool when full. */
  private reservePool(k: number): void {
    if (this.poolEnd + k <= this.pool.length) return;
    // Room for half as many again as live now: rebuilt after that many adds, O(1) per add amortized.
    const pool = new Int32Array(Math.max(this.sizes.pool, Math.ceil((this.poolLive + k) * 1.5)));
    const old = this.pool;
    let end = 0;
    for (let s = 0; s < this.used; s++) {
      if (this.cookies[s]! < 0) continue;
      const start = this.tagStart[s]!;
      const n = this.tagCount[s]!;
      for (let i = 0; i < n; i++) pool[end + i] = old[start + i]!;
      this.tagStart[s] = end;
      end += n;
    }
    this.pool = pool;
    this.poolEnd = end;
  }
}

/** Initial sizes (tests make them small to exercise growth): slots, pool entries, and the longest list kept as an array. */
export interface TableSizes {
  readonly slots?: number;
  readonly pool?: number;
  readonly smallList?: number;
}

/** Adds `c` to `out`, and to `found` under `tag` when it is not there yet. */
function foundCookie(c: number, out: Set<number>, found: Map<number, string> | undefined, tag: string): void {
  out.add(c);
  if (found !== undefined && !found.has(c)) found.set(c, tag);
}

function tagOrOther(tag: string | undefined): RemovedBy {
  return tag === undefined ? { kind: 'other' } : { kind: 'tag', tag };
}
