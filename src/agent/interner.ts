/**
 * A reference-counted string interner: each distinct string gets a small integer id while anything
 * holds it, so per-flow records keep 4-byte ids instead of string pointers, and a string that 100,000
 * flows carry is stored once.
 *
 * Strings are found through an open-addressing index of ids (slot-index.ts) by a hash of their
 * characters kept per id: about 12 bytes a string where a Map<string, number> takes about 40.
 *
 * Invariants: `ref(s)` returns the same id for equal strings while the string's count is above zero;
 * `release(id)` drops the count and, at zero, forgets the string (its id is handed out again later);
 * `name(id)` is the one instance kept (the first one ref'd), so equal strings read back share it.
 */
import { OpenIndex } from './slot-index.js';

export class Interner extends OpenIndex<string> {
  private readonly names: Array<string | undefined> = [];
  private counts = new Int32Array(256);
  private hashes = new Int32Array(256);
  private readonly free: number[] = [];

  protected hashOf(id: number): number {
    return this.hashes[id]!;
  }

  protected matches(id: number, s: string): boolean {
    return this.names[id] === s;
  }

  /** The id of `s` (whose hash is `h`), or -1. */
  private idOf(h: number, s: string): number {
    const b = this.buckets;
    const mask = b.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const id = b[i]!;
      if (id < 0 || this.names[id] === s) return id;
    }
  }

  /** The id of `s`, its count raised by one. */
  ref(s: string): number {
    const h = hashString(s);
    let id = this.idOf(h, s);
    if (id < 0) {
      id = this.free.pop() ?? this.names.length;
      if (id === this.names.length) this.names.push(s);
      else this.names[id] = s;
      if (id >= this.counts.length) {
        this.counts = grow(this.counts, id + 1);
        this.hashes = grow(this.hashes, id + 1);
      }
      this.hashes[id] = h;
      this.insert(id, s);
    }
    this.counts[id]!++;
    return id;
  }

  /** The id of `s` when something holds it, else undefined (no count change). */
  peek(s: string): number | undefined {
    const id = this.idOf(hashString(s), s);
    return id < 0 ? undefined : id;
  }

  /** Drops one hold on `id`; the string is forgotten when none is left. */
  release(id: number): void {
    if (!(this.counts[id]! > 0)) throw new Error(`interner: id ${id} released more often than held`);
    if (--this.counts[id]! > 0) return;
    this.remove(this.hashes[id]!, this.names[id]!, id);
    this.names[id] = undefined;
    this.free.push(id);
  }

  /** How many holds `id` has (0: not in use). */
  count(id: number): number {
    return id < this.counts.length ? this.counts[id]! : 0;
  }

  name(id: number): string {
    const s = this.names[id];
    if (s === undefined) throw new Error(`interner: id ${id} is not in use`);
    return s;
  }

  override clear(): void {
    super.clear();
    this.names.length = 0;
    this.free.length = 0;
    this.counts.fill(0);
  }
}

/** FNV-1a over the string's UTF-16 code units. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h ^ (h >>> 16);
}

/** A copy of `a` with room for at least `min` entries (doubling). */
export function grow<T extends Int32Array | Float64Array>(a: T, min: number): T {
  let n = Math.max(a.length, 16);
  while (n < min) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
