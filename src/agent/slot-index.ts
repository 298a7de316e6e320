/**
 * A hash index from a key to a slot of a struct-of-arrays table, holding
 * only the slots: an open-addressing Int32Array (linear probing) whose keys are read back from the
 * table, so an entry costs 4 bytes a bucket (5 to 11 per entry at the loads kept) where a Map costs
 * about 40.
 *
 * Invariants: each key is in the index at most once; a bucket is -1 (empty) or a slot whose key
 * hashes to it or to a bucket before it in its run (deletion shifts the run back, no tombstones);
 * the load stays between 1/8 and 3/4 (the index doubles and halves), so a lookup probes O(1) buckets.
 */
/**
 * The open-addressing table itself, for any key: a subclass says how to hash the key of a filed slot
 * and whether a filed slot has a given key.
 */
export abstract class OpenIndex<K> {
  /** Slots, -1 where empty; subclasses probe it directly on their hot lookups (monomorphic). */
  protected buckets: Int32Array;
  private filled = 0;

  constructor(private readonly minSize = 16) {
    this.buckets = new Int32Array(minSize).fill(-1);
  }

  /** The 32-bit hash of the key of `slot`, a filed one or one being filed. */
  protected abstract hashOf(slot: number): number;
  /** True when the key of `slot` is `key`. */
  protected abstract matches(slot: number, key: K): boolean;

  get size(): number {
    return this.filled;
  }

  /** Files `slot`, whose key is `key` (replacing the slot filed under the same key, if any). */
  protected insert(slot: number, key: K): void {
    if ((this.filled + 1) * 4 > this.buckets.length * 3) this.resize(this.buckets.length * 2);
    const b = this.buckets;
    const mask = b.length - 1;
    for (let i = this.hashOf(slot) & mask; ; i = (i + 1) & mask) {
      const s = b[i]!;
      if (s >= 0 && !this.matches(s, key)) continue;
      if (s < 0) this.filled++;
      b[i] = slot;
      return;
    }
  }

  /** Removes the entry of `key` when it is `slot`; returns whether it was. */
  protected remove(hash: number, key: K, slot: number): boolean {
    const b = this.buckets;
    const mask = b.length - 1;
    let i = hash & mask;
    for (; ; i = (i + 1) & mask) {
      const s = b[i]!;
      if (s < 0) return false;
      if (this.matches(s, key)) {
        if (s !== slot) return false;
        break;
      }
    }
    // Backward-shift deletion: later entries of the run that may live at i move into the hole.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const s = b[j]!;
      if (s < 0) break;
      const home = this.hashOf(s) & mask;
      // s may fill the hole at i when its home is not in the cyclic range (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        b[i] = s;
        i = j;
      }
    }
    b[i] = -1;
    this.filled--;
    if (this.filled * 8 < b.length && b.length > this.minSize) this.resize(b.length / 2);
    return true;
  }

  clear(): void {
    this.buckets = new Int32Array(this.minSize).fill(-1);
    this.filled = 0;
  }

  /** Refiles every slot in a table of `size` buckets (no two filed slots have the same key). */
  private resize(size: number): void {
    const old = this.buckets;
    const b = (this.buckets = new Int32Array(size).fill(-1));
    const mask = size - 1;
    for (const s of old) {
      if (s < 0) continue;
      let i = this.hashOf(s) & mask;
      while (b[i]! >= 0) i = (i + 1) & mask;
      b[i] = s;
    }
  }
}

/** Slots by a number key below 2^53 that the table reads back through `keyOf`. */
export class SlotIndex extends OpenIndex<number> {
  constructor(
    private readonly keyOf: (slot: number) => number,
    minSize = 16,
  ) {
    super(minSize);
  }

  protected hashOf(slot: number): number {
    return hashKey(this.keyOf(slot));
  }

  protected matches(slot: number, key: number): boolean {
    return this.keyOf(slot) === key;
  }

  /** The slot filed under `key`, or -1. */
  get(key: number): number {
    const b = this.buckets;
    const mask = b.length - 1;
    for (let i = hashKey(key) & mask; ; i = (i + 1) & mask) {
      const s = b[i]!;
      if (s < 0 || this.keyOf(s) === key) return s;
    }
  }

  /** Files `slot` under its key (replacing the slot filed under the same key, if any). */
  set(slot: number): void {
    this.insert(slot, this.keyOf(slot));
  }

  /** Removes the entry of `key` when it is `slot`; returns whether it was. */
  delete(key: number, slot: number): boolean {
    return this.remove(hashKey(key), key, slot);
  }
}

/** A well-mixed 32-bit hash of a number below 2^53 (cookies, match hashes). */
export function hashKey(key: number): number {
  let h = Math.imul((key | 0) ^ Math.floor(key / 4294967296), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
