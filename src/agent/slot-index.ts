/**
 * A hash index from a number key to a slot of a struct-of-arrays table, holding only the slots: an
 * open-addressing Int32Array (linear probing) whose keys are read back from the table through
 * `keyOf`, so an entry costs 4 bytes a bucket (5 to 11 per entry at the loads kept) where a Map
 * costs about 40.
 *
 * Invariants: each key is in the index at most once; a bucket is -1 (empty) or a slot whose key
 * hashes to it or to a bucket before it in its run (deletion shifts the run back, no tombstones);
 * the load stays between 1/8 and 3/4 (the index doubles and halves), so a lookup probes O(1) buckets.
 */
export class SlotIndex {
  private buckets: Int32Array;
  private count = 0;

  constructor(
    private readonly keyOf: (slot: number) => number,
    private readonly minSize = 16,
  ) {
    this.buckets = new Int32Array(minSize).fill(-1);
  }

  get size(): number {
    return this.count;
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
    if ((this.count + 1) * 4 > this.buckets.length * 3) this.resize(this.buckets.length * 2);
    const key = this.keyOf(slot);
    const b = this.buckets;
    const mask = b.length - 1;
    for (let i = hashKey(key) & mask; ; i = (i + 1) & mask) {
      const s = b[i]!;
      if (s >= 0 && this.keyOf(s) !== key) continue;
      if (s < 0) this.count++;
      b[i] = slot;
      return;
    }
  }

  /** Removes the entry of `key` when it is `slot`; returns whether it was. */
  delete(key: number, slot: number): boolean {
    const b = this.buckets;
    const mask = b.length - 1;
    let i = hashKey(key) & mask;
    for (; ; i = (i + 1) & mask) {
      const s = b[i]!;
      if (s < 0) return false;
      if (this.keyOf(s) === key) {
        if (s !== slot) return false;
        break;
      }
    }
    // Backward-shift deletion: later entries of the run that may live at i move into the hole.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const s = b[j]!;
      if (s < 0) break;
      const home = hashKey(this.keyOf(s)) & mask;
      // s may fill the hole at i when its home is not in the cyclic range (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        b[i] = s;
        i = j;
      }
    }
    b[i] = -1;
    this.count--;
    if (this.count * 8 < b.length && b.length > this.minSize) this.resize(b.length / 2);
    return true;
  }

  clear(): void {
    this.buckets = new Int32Array(this.minSize).fill(-1);
    this.count = 0;
  }

  private resize(size: number): void {
    const old = this.buckets;
    this.buckets = new Int32Array(size).fill(-1);
    this.count = 0;
    for (const s of old) if (s >= 0) this.set(s);
  }
}

/** A well-mixed 32-bit hash of a number below 2^53 (cookies, match hashes). */
function hashKey(key: number): number {
  let h = Math.imul((key | 0) ^ Math.floor(key / 4294967296), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}
