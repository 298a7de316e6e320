/**
 * A reference-counted string interner: each distinct string gets a small integer id while anything
 * holds it, so per-flow records keep 4-byte ids instead of string pointers, and a string that 100,000
 * flows carry is stored once.
 *
 * Strings are found through a Map (about 40 bytes a distinct string): an open-addressing index hashing
 * the characters in JS took about 12, but cost about 1 us more per flow of 10 tags (V8 hashes a
 * string natively).
 *
 * Invariants: `ref(s)` returns the same id for equal strings while the string's count is above zero;
 * `release(id)` drops the count and, at zero, forgets the string (its id is handed out again later);
 * `name(id)` is the one instance kept (the first one ref'd), so equal strings read back share it.
 */
export class Interner {
  private readonly ids = new Map<string, number>();
  private readonly names: Array<string | undefined> = [];
  private counts = new Int32Array(256);
  private readonly free: number[] = [];

  /** The id of `s`, its count raised by one. */
  ref(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.free.pop() ?? this.names.length;
      if (id === this.names.length) this.names.push(s);
      else this.names[id] = s;
      if (id >= this.counts.length) this.counts = grow(this.counts, id + 1);
      this.ids.set(s, id);
    }
    this.counts[id]!++;
    return id;
  }

  /** The id of `s` when something holds it, else undefined (no count change). */
  peek(s: string): number | undefined {
    return this.ids.get(s);
  }

  /** Drops one hold on `id`; the string is forgotten when none is left. */
  release(id: number): void {
    if (!(this.counts[id]! > 0)) throw new Error(`interner: id ${id} released more often than held`);
    if (--this.counts[id]! > 0) return;
    this.ids.delete(this.names[id]!);
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

  /** Distinct strings held now. */
  get size(): number {
    return this.ids.size;
  }

  clear(): void {
    this.ids.clear();
    this.names.length = 0;
    this.free.length = 0;
    this.counts.fill(0);
  }
}

/** A copy of `a` with room for at least `min` entries (doubling). */
export function grow<T extends Int32Array | Float64Array>(a: T, min: number): T {
  let n = Math.max(a.length, 16);
  while (n < min) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
