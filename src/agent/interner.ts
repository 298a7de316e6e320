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
 * A string whose count reached zero ("dead") leaves the Map lazily: `peek` treats it as absent, and the
 * dead are dropped at once (the Map rebuilt from the live) when a new string needs an id and they are at
 * least as many as the live. So a bulk removal (an invalidation of 100,000 flows) does no Map delete
 * per string, and at most as many dead strings as live ones are kept.
 */
export class Interner {
  private ids = new Map<string, number>();
  private readonly names: Array<string | undefined> = [];
  private counts = new Int32Array(256);
  private readonly free: number[] = [];
  /** Ids whose count is zero but whose string is still in `ids` (see the header). */
  private dead = 0;

  /** The id of `s`, its count raised by one. */
  ref(s: string): number {
    let id = this.ids.get(s);
    if (id !== undefined && this.counts[id] === 0) this.dead--;
    if (id === undefined) {
      if (this.free.length === 0 && this.dead > 0 && 2 * this.dead >= this.ids.size) this.purge();
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
    const id = this.ids.get(s);
    return id !== undefined && this.counts[id]! > 0 ? id : undefined;
  }

  /** Drops one hold on `id`; the string is forgotten when none is left. */
  release(id: number): void {
    if (!(this.counts[id]! > 0)) throw new Error(`interner: id ${id} released more often than held`);
    if (--this.counts[id]! === 0) this.dead++;
  }

  /** Drops the dead strings: the Map is rebuilt from the live ones, the dead ids are free again. */
  private purge(): void {
    const ids = new Map<string, number>();
    for (let id = 0; id < this.names.length; id++) {
      const s = this.names[id];
      if (s === undefined) continue;
      if (this.counts[id]! > 0) ids.set(s, id);
      else {
        this.names[id] = undefined;
        this.free.push(id);
      }
    }
    this.ids = ids;
    this.dead = 0;
  }

  /** How many holds `id` has (0: not in use). */
  count(id: number): number {
    return id < this.counts.length ? this.counts[id]! : 0;
  }

  name(id: number): string {
    const s = this.names[id];
    if (s === undefined || this.counts[id] === 0) throw new Error(`interner: id ${id} is not in use`);
    return s;
  }

  /** Distinct strings held now. */
  get size(): number {
    return this.ids.size - this.dead;
  }

  clear(): void {
    this.ids.clear();
    this.names.length = 0;
    this.free.length = 0;
    this.dead = 0;
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
