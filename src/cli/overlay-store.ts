/**
 * The store as a `--` sequence of commands sees it part-way through: the stored objects (one snapshot)
 * with the ops of the commands before applied, so `bridge create a -- port create p --bridge a` finds
 * `a`. Each command's ops are checked here by the same transaction planner every backend runs, so a
 * command that cannot work is refused while planning, named, and nothing is written; the executor then
 * commits every command's ops to the real store in one transaction.
 *
 * Invariant: nothing is ever written to the underlying store from here; reads of objects see the
 * snapshot plus the applied ops; liveness, learned state and the feed are the underlying store's.
 */
import { quote } from '../quote.js';
import { randomUUID } from 'node:crypto';
import { isUuid } from '../state/model.js';
import { StoreError } from '../state/errors.js';
import type { Kind, Obj } from '../state/model.js';
import { referencedIds } from '../state/references.js';
import type {
  Campaign,
  CampaignHandlers,
  Change,
  HostLiveness,
  LearnedEntry,
  LearnedWatch,
  Op,
  Referrer,
  Snapshot,
  TopologyStore,
  TxResult,
  Watch,
  WatchHandlers,
} from '../state/store.js';
import { planTransaction, type BaseReader, type OpResult } from '../state/transaction.js';

function byNameThenId(a: Obj, b: Obj): number {
  const an = typeof a.name === 'string' ? a.name : '';
  const bn = typeof b.name === 'string' ? b.name : '';
  return an < bn ? -1 : an > bn ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export class OverlayStore implements TopologyStore {
  readonly url: string;
  private readonly objects = new Map<string, { kind: Kind; obj: Obj }>();

  private constructor(
    private readonly base: TopologyStore,
    private readonly basePosition: number,
  ) {
    this.url = base.url;
  }

  static async over(base: TopologyStore): Promise<OverlayStore> {
    const snap = await base.snapshot();
    const o = new OverlayStore(base, snap.position);
    for (const { kind, object } of snap.objects) o.objects.set(object.id, { kind, obj: object });
    return o;
  }

  /** The reader the planner checks ops against: the current overlay. */
  private reader(): BaseReader {
    return {
      get: (id) => this.objects.get(id),
      idByName: (kind, name) => {
        for (const { kind: k, obj } of this.objects.values())
          if (k === kind && obj.name === name) return obj.id;
        return undefined;
      },
      referrerIds: (id) =>
        [...this.objects.values()]
          .filter(({ kind, obj }) => referencedIds(kind, obj).includes(id))
          .map(({ kind, obj }) => ({ kind, id: obj.id })),
      portIdByBinding: (hostId, iface) => {
        for (const { kind, obj } of this.objects.values()) {
          const p = obj as Obj<'port'>;
          if (kind === 'port' && p.hostId === hostId && p.interfaceName === iface) return p.id;
        }
        return undefined;
      },
      maxTunnelKey: () => {
        let max = 0;
        for (const { kind, obj } of this.objects.values())
          if (kind === 'port') max = Math.max(max, (obj as Obj<'port'>).tunnelKey);
        return max;
      },
    };
  }

  /**
   * Checks `ops` against the overlay and applies them; returns them with ids chosen for creates (so
   * the real transaction makes the same objects later commands refer to) and their results.
   */
  async apply(ops: readonly Op[]): Promise<{ ops: Op[]; results: OpResult[] }> {
    const fixed = ops.map((op) =>
      op.op === 'create' && op.id === undefined ? { ...op, id: randomUUID() } : op,
    );
    const { writes, results } = await planTransaction(this.reader(), fixed);
    for (const w of writes) {
      if (w.op === 'delete') this.objects.delete(w.id);
      else this.objects.set(w.id, { kind: w.kind, obj: w.after });
    }
    return { ops: fixed, results };
  }

  get<K extends Kind>(kind: K, id: string): Promise<Obj<K> | undefined> {
    const r = this.objects.get(id);
    return Promise.resolve(r && r.kind === kind ? (r.obj as Obj<K>) : undefined);
  }

  resolve<K extends Kind>(kind: K, ref: string): Promise<Obj<K>> {
    if (isUuid(ref)) {
      const r = this.objects.get(ref);
      if (r && r.kind === kind) return Promise.resolve(r.obj as Obj<K>);
      if (r)
        return Promise.reject(
          new StoreError('not-found', `${kind} ${ref}: that id is a ${r.kind}, not a ${kind}`),
        );
    }
    for (const { kind: k, obj } of this.objects.values())
      if (k === kind && obj.name === ref) return Promise.resolve(obj as Obj<K>);
    return Promise.reject(new StoreError('not-found', `no ${kind} named or with id ${quote(ref)}`));
  }

  list<K extends Kind>(kind: K, filter?: { readonly refersTo?: string }): Promise<Obj<K>[]> {
    const out: Obj[] = [];
    for (const { kind: k, obj } of this.objects.values()) {
      if (k !== kind) continue;
      if (filter?.refersTo !== undefined && !referencedIds(k, obj).includes(filter.refersTo)) continue;
      out.push(obj);
    }
    return Promise.resolve(out.sort(byNameThenId) as Obj<K>[]);
  }

  referrers(id: string): Promise<Referrer[]> {
    return this.base.referrers(id);
  }

  snapshot(): Promise<Snapshot> {
    return Promise.resolve({
      position: this.basePosition,
      objects: [...this.objects.values()].map(({ kind, obj }) => ({ kind, object: obj })),
    });
  }

  position(): Promise<number> {
    return Promise.resolve(this.basePosition);
  }

  private readOnly(): Promise<never> {
    return Promise.reject(new Error('overlay store: commands are planned, not written, in a -- sequence'));
  }
  create(): Promise<never> {
    return this.readOnly();
  }
  update(): Promise<never> {
    return this.readOnly();
  }
  delete(): Promise<never> {
    return this.readOnly();
  }
  transact(): Promise<TxResult> {
    return this.readOnly();
  }
  changesSince(from: number, limit?: number): Promise<Change[]> {
    return this.base.changesSince(from, limit);
  }
  watch(from: number, handlers: WatchHandlers): Watch {
    return this.base.watch(from, handlers);
  }
  heartbeat(): Promise<void> {
    return this.readOnly();
  }
  goodbye(): Promise<void> {
    return this.readOnly();
  }
  liveness(): Promise<HostLiveness[]> {
    return this.base.liveness();
  }
  learn(_entries: readonly LearnedEntry[]): Promise<void> {
    return this.readOnly();
  }
  watchLearned(...args: Parameters<TopologyStore['watchLearned']>): LearnedWatch {
    return this.base.watchLearned(...args);
  }
  campaign(_group: string, _candidate: string, _handlers: CampaignHandlers): Promise<Campaign> {
    return this.readOnly();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
