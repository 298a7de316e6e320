/**
 * What every TopologyStore backend shares: the single-object create/update/delete calls, each one
 * transaction of one op. A backend implements `transact` (and the reads, watches and the rest);
 * this base gives it the shorthands, so their meaning cannot differ between backends.
 *
 * Invariant: `create`, `update` and `delete` are exactly `transact([op])`, with that op's result.
 */
import type { Kind, Obj } from './model.js';
import type { Op, TxResult } from './store.js';

export type DeletedRefs = ReadonlyArray<{ kind: Kind; id: string; name: string | null }>;

export abstract class StoreBase {
  abstract transact(ops: readonly Op[]): Promise<TxResult>;

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
