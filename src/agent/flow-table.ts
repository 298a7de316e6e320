/**
 * The agent's record of the reactive flows it installed: cookie -> flow, and the tag index
 * tag -> cookies that makes invalidation exact.
 *
 * Invariant: a cookie is in the tag index under exactly the tags of its flow, and only while the flow
 * is recorded; `remove` (on FLOW_REMOVED or an invalidation) clears both sides. Cookies of reactive
 * flows have the top bit clear; proactive flows (installed with ovs-ofctl) have it set, so the two
 * never collide and "every reactive flow" is one cookie/mask pair.
 */

export const PROACTIVE_COOKIE_BIT = 1n << 63n;

export interface FlowRecord {
  readonly cookie: bigint;
  readonly inPort: string;
  /** The tags the flow depends on (shared string instances; the match and actions live in the switch). */
  readonly tags: readonly string[];
  readonly installedAt: number;
}

export class FlowTable {
  private readonly flows = new Map<bigint, FlowRecord>();
  private readonly byTag = new Map<string, Set<bigint>>();
  private next = 1n;

  /** A fresh reactive cookie. */
  cookie(): bigint {
    const c = this.next;
    this.next = this.next + 1n >= PROACTIVE_COOKIE_BIT ? 1n : this.next + 1n;
    return c;
  }

  add(f: FlowRecord): void {
    this.remove(f.cookie);
    this.flows.set(f.cookie, f);
    for (const t of f.tags) {
      let s = this.byTag.get(t);
      if (s === undefined) this.byTag.set(t, (s = new Set()));
      s.add(f.cookie);
    }
  }

  remove(cookie: bigint): FlowRecord | undefined {
    const f = this.flows.get(cookie);
    if (f === undefined) return undefined;
    this.flows.delete(cookie);
    for (const t of f.tags) {
      const s = this.byTag.get(t);
      if (s === undefined) continue;
      s.delete(cookie);
      if (s.size === 0) this.byTag.delete(t);
    }
    return f;
  }

  /** Cookies of every flow carrying any of `tags`. */
  cookiesFor(tags: Iterable<string>): Set<bigint> {
    const out = new Set<bigint>();
    for (const t of tags) for (const c of this.byTag.get(t) ?? []) out.add(c);
    return out;
  }

  get(cookie: bigint): FlowRecord | undefined {
    return this.flows.get(cookie);
  }

  get size(): number {
    return this.flows.size;
  }

  all(): IterableIterator<FlowRecord> {
    return this.flows.values();
  }

  clear(): void {
    this.flows.clear();
    this.byTag.clear();
  }
}
