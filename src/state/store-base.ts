/**
 * What TopologyStore implementations share:
 * - StoreBase (every store, midonet-api's client included): the single-object `create`, `update`
 *   and `delete`, each one transaction of one op;
 * - BackendBase (the backends that hold the data): the reads `get`, `resolve`, `list` and
 *   `referrers`, with their error texts, written once over a few primitives each backend provides
 *   (read one committed object by id, find an id by name, list the candidate holders of a reference,
 *   scan a kind), and one `guard` that refuses calls on a closed store and words failures.
 *
 * Invariants: `create`, `update` and `delete` are exactly `transact([op])`, with that op's result;
 * the reads answer the same question the same way on every backend (a kind that does not exist is
 * an 'invalid' error naming the kinds, `resolve` tries the id first, then the name, and says which
 * kind an id of another kind has; `list` is ordered by name, unnamed first, then by id; a holder
 * counts as a referrer only if its committed body really refers to the id).
 */
import { isKind, isUuid, unknownKindMessage, type Kind, type Obj } from './model.js';
import { StoreError } from './errors.js';
import { referencedIds, referencesOf } from './references.js';
import type { Op, Referrer, TxResult } from './store.js';
import { quote } from '../quote.js';

export type DeletedRefs = ReadonlyArray<{ kind: Kind; id: string; name: string | null }>;

/** A committed object and its kind, as the primitives return it. */
export interface StoredObject {
  readonly kind: Kind;
  readonly obj: Obj;
}

/** Orders objects by name (unnamed first), then by id: the order of every `list`. */
export function byNameThenId(a: Obj, b: Obj): number {
  const an = typeof a.name === 'string' ? a.name : null;
  const bn = typeof b.name === 'string' ? b.name : null;
  if (an !== bn) {
    if (an === null) return -1;
    if (bn === null) return 1;
    return an < bn ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The single-object writes of every TopologyStore (the backends and midonet-api's client alike), each
 * one transaction of one op.
 */
export abstract class StoreBase {
  abstract readonly url: string;
  abstract transact(ops: readonly Op[]): Promise<TxResult>;

  // ---- single-object writes ----------------------------------------------------------------------

  private async one<T>(op: Op): Promise<T> {
    const r = await this.transact([op]);
    return r.results[0] as T;
  }

  create<K extends Kind>(
    kind: K,
    fields: Record<string, unknown>,
    opts: { id?: string; position?: number } = {},
  ): Promise<Obj<K>> {
    return this.one({ op: 'create', kind, fields, ...opts });
  }

  update<K extends Kind>(
    kind: K,
    id: string,
    set: Record<string, unknown>,
    opts: { expectedVersion?: number; position?: number } = {},
  ): Promise<Obj<K>> {
    return this.one({ op: 'update', kind, id, set, ...opts });
  }

  async delete(
    kind: Kind,
    id: string,
    opts: { expectedVersion?: number; cascade?: boolean } = {},
  ): Promise<DeletedRefs> {
    return (await this.one<{ deleted: DeletedRefs }>({ op: 'delete', kind, id, ...opts })).deleted;
  }
}

/**
 * A backend that holds the data (SQLite, Cassandra + ZooKeeper, memory), as opposed to a client of
 * midonet-api: the reads, written once over the primitives it provides, and one guard for every call.
 */
export abstract class BackendBase extends StoreBase {
  // ---- primitives --------------------------------------------------------------------------------

  /** The committed object with this id, of any kind. */
  protected abstract readObject(id: string): Promise<StoredObject | undefined>;
  /** The id of the committed object of `kind` named `name`. */
  protected abstract idByName(kind: Kind, name: string): Promise<string | undefined>;
  /** Committed objects that may hold a reference to `id` (a superset is fine: they are checked). */
  protected abstract holdersOf(id: string): Promise<StoredObject[]>;
  /** Every committed object of `kind`, in any order. */
  protected abstract scanKind(kind: Kind): Promise<Obj[]>;
  /** Set by `close()`: every later call is refused. */
  protected closed = false;

  protected assertOpen(): void {
    if (this.closed) throw new StoreError('unavailable', `${this.url}: the store is closed`);
  }

  /**
   * Runs one store call: refuses it when the store is closed, and turns the backend's own failures
   * (driver errors, locks, lost connections) into StoreError('unavailable') naming the URL, `what`
   * and the failure (as `failure` words it). `what` may be a function, called only on a failure, for
   * a label that costs something to build (a quoted reference) on a path taken per request.
   */
  protected async guard<T>(what: string | (() => string), fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    try {
      return await fn();
    } catch (e) {
      if (e instanceof StoreError) throw e;
      const label = typeof what === 'string' ? what : what();
      throw new StoreError('unavailable', `${this.url}: ${label}: ${this.failure(e)}`);
    }
  }

  /** How a backend failure reads in a StoreError. */
  protected failure(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
  }

  // ---- reads -------------------------------------------------------------------------------------

  private checkKind(kind: string): void {
    if (!isKind(kind)) throw new StoreError('invalid', unknownKindMessage(kind));
  }

  get<K extends Kind>(kind: K, id: string): Promise<Obj<K> | undefined> {
    return this.guard(
      () => `get ${kind} ${quote(id)}`,
      async () => {
        this.checkKind(kind);
        const r = await this.readObject(id);
        return r && r.kind === kind ? r.obj : undefined;
      },
    );
  }

  resolve<K extends Kind>(kind: K, ref: string): Promise<Obj<K>> {
    return this.guard(
      () => `resolve ${kind} ${quote(ref)}`,
      async () => {
        this.checkKind(kind);
        if (isUuid(ref)) {
          const r = await this.readObject(ref);
          if (r && r.kind === kind) return r.obj;
          if (r) throw new StoreError('not-found', `${kind} ${ref}: that id is a ${r.kind}, not a ${kind}`);
        }
        const id = await this.idByName(kind, ref);
        if (id !== undefined) {
          const r = await this.readObject(id);
          if (r && r.kind === kind) return r.obj;
        }
        throw new StoreError('not-found', `no ${kind} named or with id ${quote(ref)}`);
      },
    );
  }

  list<K extends Kind>(kind: K, filter?: { readonly refersTo?: string }): Promise<Obj<K>[]> {
    return this.guard(`list ${kind}`, async () => {
      this.checkKind(kind);
      const target = filter?.refersTo;
      const objs =
        target === undefined
          ? await this.scanKind(kind)
          : (await this.holdersOf(target))
              .filter((h) => h.kind === kind && referencedIds(h.kind, h.obj).includes(target))
              .map((h) => h.obj);
      return objs.sort(byNameThenId);
    });
  }

  referrers(id: string): Promise<Referrer[]> {
    return this.guard(
      () => `referrers of ${quote(id)}`,
      async () => {
        const out: Referrer[] = [];
        for (const h of await this.holdersOf(id)) {
          for (const ref of referencesOf(h.kind, h.obj)) {
            if (ref.target === id)
              out.push({ kind: h.kind, id: h.obj.id, name: h.obj.name ?? null, field: ref.field });
          }
        }
        return out;
      },
    );
  }
}
