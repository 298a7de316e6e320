/**
 * The store as one transaction leaves it: reads go through the transaction's pending writes to the
 * stored state as of its start (each stored object read once), and `writes` lists what it changed,
 * in the order objects were first touched. The planner (transaction.ts) writes through it and checks
 * the model's rules (model-rules.ts, which reads through it as a PlanView).
 *
 * Invariant: a read sees every pending write of the transaction (a deleted object is absent, a renamed
 * or rebound one no longer holds its old name or binding); each written object's version is its
 * stored version + 1, once per transaction; an object created and deleted here is not written.
 */
import { quote } from '../quote.js';
import { StoreError } from './errors.js';
import type { Kind, Obj } from './model.js';
import type { PlanView } from './model-rules.js';
import { referencesOf } from './references.js';
import type { ChangeOp, Referrer } from './store.js';

type Awaitable<T> = T | Promise<T>;

/** What the planner needs to read from a backend, as of the start of the transaction. */
export interface BaseReader {
  get(id: string): Awaitable<{ kind: Kind; obj: Obj } | undefined>;
  /** `self`: the object asking (an answer of `self` counts as none; cassandra-reader.ts guesses on it). */
  idByName(kind: Kind, name: string, self?: string): Awaitable<string | undefined>;
  /** Ids (with kinds) of stored objects that hold a reference to `id`. */
  referrerIds(id: string): Awaitable<ReadonlyArray<{ kind: Kind; id: string }>>;
  portIdByBinding(hostId: string, interfaceName: string, self?: string): Awaitable<string | undefined>;
  maxTunnelKey(): Awaitable<number>;
}

export interface Write {
  readonly kind: Kind;
  readonly id: string;
  readonly op: ChangeOp;
  /** Stored state before the transaction (absent for create). */
  readonly before?: Obj;
  /** State after (for delete: `before` with the next version, as the change feed reports it). */
  readonly after: Obj;
}

interface Pending {
  kind: Kind;
  /** Null when deleted in this transaction. */
  obj: Obj | null;
  base: Obj | undefined;
}

export class TransactionOverlay implements PlanView {
  private readonly pending = new Map<string, Pending>();
  /** Order in which ids were first written, for the change feed. */
  private readonly order: string[] = [];
  /** Referrers added in this transaction: target id -> holder ids. */
  private readonly addedReferrers = new Map<string, Set<string>>();
  private readonly baseCache = new Map<string, { kind: Kind; obj: Obj } | undefined>();

  constructor(protected readonly base: BaseReader) {}

  async lookup(id: string): Promise<{ kind: Kind; obj: Obj } | undefined> {
    const p = this.pending.get(id);
    if (p) return p.obj ? { kind: p.kind, obj: p.obj } : undefined;
    return await this.baseGet(id);
  }

  /** Stored state as of the transaction's start, read once per id. */
  private async baseGet(id: string): Promise<{ kind: Kind; obj: Obj } | undefined> {
    if (this.baseCache.has(id)) return this.baseCache.get(id);
    const r = await this.base.get(id);
    this.baseCache.set(id, r);
    return r;
  }

  async getKind<K extends Kind>(kinds: readonly K[], id: string, what: string): Promise<Obj<K>> {
    const r = await this.lookup(id);
    if (!r) throw new StoreError('not-found', `${what}: no object with id ${quote(id)}`);
    if (!(kinds as readonly Kind[]).includes(r.kind)) {
      throw new StoreError('invalid', `${what}: ${quote(id)} is a ${r.kind}; expected ${kinds.join(' or ')}`);
    }
    return r.obj;
  }

  async nameTaken(kind: Kind, name: string, self: string): Promise<string | undefined> {
    for (const [id, p] of this.pending) {
      if (id !== self && p.kind === kind && p.obj && p.obj.name === name) return id;
    }
    const id = await this.base.idByName(kind, name, self);
    if (id === undefined || id === self) return undefined;
    const p = this.pending.get(id);
    if (p && (!p.obj || p.obj.name !== name)) return undefined; // renamed or deleted here
    return id;
  }

  async bindingTaken(hostId: string, iface: string, self: string): Promise<string | undefined> {
    for (const [id, p] of this.pending) {
      if (id === self || p.kind !== 'port' || !p.obj) continue;
      const o = p.obj as Obj<'port'>;
      if (o.hostId === hostId && o.interfaceName === iface) return id;
    }
    const id = await this.base.portIdByBinding(hostId, iface, self);
    if (id === undefined || id === self) return undefined;
    const p = this.pending.get(id);
    if (p) {
      const o = p.obj as Obj<'port'> | null;
      if (!o || o.hostId !== hostId || o.interfaceName !== iface) return undefined;
    }
    return id;
  }

  async referrers(id: string): Promise<Referrer[]> {
    const holders = new Set<string>();
    for (const r of await this.base.referrerIds(id)) holders.add(r.id);
    for (const h of this.addedReferrers.get(id) ?? []) holders.add(h);
    const out: Referrer[] = [];
    for (const h of holders) {
      const r = await this.lookup(h);
      if (!r) continue;
      for (const ref of referencesOf(r.kind, r.obj)) {
        if (ref.target === id) out.push({ kind: r.kind, id: h, name: r.obj.name ?? null, field: ref.field });
      }
    }
    return out;
  }

  /** `id` is known absent from the store (a generated id): no read of it is made. */
  protected knownAbsent(id: string): void {
    this.baseCache.set(id, undefined);
  }

  // ---- writes ----------------------------------------------------------------------------------

  protected async put(kind: Kind, id: string, obj: Obj | null): Promise<void> {
    let p = this.pending.get(id);
    if (!p) {
      const b = await this.baseGet(id);
      p = { kind, obj, base: b?.obj };
      this.pending.set(id, p);
      this.order.push(id);
    } else {
      p.obj = obj;
    }
    if (obj) {
      for (const ref of referencesOf(kind, obj)) {
        let s = this.addedReferrers.get(ref.target);
        if (!s) this.addedReferrers.set(ref.target, (s = new Set()));
        s.add(id);
      }
    }
  }

  protected versionFor(id: string): number {
    const p = this.pending.get(id);
    return (p?.base?.version ?? 0) + 1;
  }

  /** The writes, in the order objects were first touched; objects created and deleted here vanish. */
  writes(): Write[] {
    const out: Write[] = [];
    for (const id of this.order) {
      const p = this.pending.get(id)!;
      if (p.obj) {
        const after = { ...p.obj, version: this.versionFor(id) } as Obj;
        out.push({
          kind: p.kind,
          id,
          op: p.base ? 'update' : 'create',
          ...(p.base ? { before: p.base } : {}),
          after,
        });
      } else if (p.base) {
        out.push({
          kind: p.kind,
          id,
          op: 'delete',
          before: p.base,
          after: { ...p.base, version: this.versionFor(id) },
        });
      }
    }
    return out;
  }
}
