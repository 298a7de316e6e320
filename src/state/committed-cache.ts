/**
 * What one handle of the distributed backend knows of the committed objects, kept across its commits
 * so that a writer does not read back from ZooKeeper and Cassandra what it read or wrote a moment ago
 * (each such read is a pointer read and then a row read, two round trips in turn).
 *
 * The cache holds objects (or their absence) exactly as they are at one `head` version V. Every read
 * a planning attempt makes goes through an `Attempt`: a hit when the attempt plans at V, else a read
 * of the store, recorded. When the attempt's commit succeeds -- its multi-op checked `head` at the
 * version it planned at, so no other commit came between its reads and its commit -- the recorded
 * reads and then its writes are folded in, and the cache is the state at the new version. When the
 * commit fails, or another writer's commit is found, the cache is dropped.
 *
 * A handle that pipelines its commits (cassandra-pipeline.ts) plans a group while the previous one's
 * multi-op is in flight, on the state that commit would make: `after` gives an attempt at the next
 * version whose hits are the previous attempt's writes, then its reads, then the cache (when the
 * cache is at the previous attempt's version). It is only ever committed if the previous one was.
 *
 * Invariant: the cache is the committed state at `version`, or empty; an attempt at another version
 * reads nothing from it. Objects go in and out as copies, so no caller can change what it holds.
 */
import type { StoredObject } from './store-base.js';
import type { Write } from './transaction.js';

/** The reads of one planning attempt at a head version. */
export class Attempt {
  /** What this attempt read from the store (not from the cache), by id. */
  readonly seen = new Map<string, StoredObject | undefined>();

  constructor(
    /** The head version the attempt plans at. */
    readonly version: number,
    /** What is known at `version` without reading, most recent first. */
    private readonly hits: ReadonlyArray<ReadonlyMap<string, StoredObject | undefined>>,
    private readonly load: (ids: readonly string[]) => Promise<Map<string, StoredObject>>,
  ) {}

  /**
   * Takes in the store reads of `later`, an attempt planned on top of this one (`after`) whose
   * commit is merged into this one's: what it read from the store was not written by this attempt's
   * group (those are its hits), so it is the state at this attempt's version too.
   */
  absorb(later: Attempt): void {
    for (const [id, o] of later.seen) if (!this.seen.has(id)) this.seen.set(id, o);
  }

  /** The committed objects with these ids that exist (copies). */
  async readMany(ids: Iterable<string>): Promise<Map<string, StoredObject>> {
    const out = new Map<string, StoredObject>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const known = this.hits.find((h) => h.has(id)) ?? (this.seen.has(id) ? this.seen : undefined);
      if (known) {
        const o = known.get(id);
        if (o) out.set(id, structuredClone(o));
      } else missing.push(id);
    }
    if (missing.length === 0) return out;
    const got = await this.load(missing);
    for (const id of missing) {
      const o = got.get(id);
      this.seen.set(id, o && structuredClone(o));
      if (o) out.set(id, o);
    }
    return out;
  }

  async read(id: string): Promise<StoredObject | undefined> {
    return (await this.readMany([id])).get(id);
  }
}

export class CommittedCache {
  private objects = new Map<string, StoredObject | undefined>();
  /** The head version the cache is the state at; undefined: empty. */
  private version: number | undefined;

  constructor(
    /** Past this many entries the cache starts again empty. */
    private readonly max = 20000,
  ) {}

  /** An attempt planning at head version `version`; `load` reads the store. */
  attempt(version: number, load: (ids: readonly string[]) => Promise<Map<string, StoredObject>>): Attempt {
    return new Attempt(version, this.version === version ? [this.objects] : [], load);
  }

  /**
   * An attempt at the version `prev`'s commit would make (`prev.version + 1`), planned before that
   * commit is known: it sees `prev`'s writes, then what `prev` read, then the cache at `prev.version`.
   */
  after(
    prev: Attempt,
    writes: readonly Write[],
    load: (ids: readonly string[]) => Promise<Map<string, StoredObject>>,
  ): Attempt {
    const written = new Map<string, StoredObject | undefined>();
    for (const w of writes)
      written.set(w.id, w.op === 'delete' ? undefined : { kind: w.kind, obj: structuredClone(w.after) });
    const cached = this.version === prev.version ? [this.objects] : [];
    return new Attempt(prev.version + 1, [written, prev.seen, ...cached], load);
  }

  /** The attempts of one group committed at their version: fold their reads in, then the writes. */
  committed(attempts: readonly Attempt[], writes: readonly Write[]): void {
    const version = attempts[0]?.version;
    if (version === undefined || attempts.some((a) => a.version !== version)) return this.drop();
    if (this.version !== version) this.objects = new Map();
    for (const a of attempts) for (const [id, o] of a.seen) this.objects.set(id, o);
    for (const w of writes)
      this.objects.set(w.id, w.op === 'delete' ? undefined : { kind: w.kind, obj: structuredClone(w.after) });
    this.version = version + 1;
    if (this.objects.size > this.max) this.drop();
  }

  drop(): void {
    this.objects = new Map();
    this.version = undefined;
  }
}
