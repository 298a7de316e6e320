/**
 * The transaction planner: turns a list of ops (create/update/delete) into the exact set of object
 * writes that carry them out, after checking every rule of the model against the store as the
 * transaction itself would leave it. Backends run the planner under their own isolation (SQLite: a
 * write lock) and apply the plan atomically; no backend repeats these rules.
 *
 * Invariant: `plan` either throws a StoreError and writes nothing, or returns writes after which
 * every reference points at an existing object of an allowed kind, names and bindings are unique per
 * kind, links are symmetric, rule orders list exactly the chain's rules, and no chain can jump into
 * itself (the rules that span objects are in model-rules.ts). Each written object's version is its
 * stored version + 1 (once per transaction); an update that changes nothing writes nothing.
 *
 * It writes through a TransactionOverlay (transaction-overlay.ts: reads through the pending writes,
 * the list of writes); the rules that span objects are in model-rules.ts, the field schemas in model.ts.
 */
import { randomUUID } from 'node:crypto';
import { StoreError } from './errors.js';
import { quote } from '../quote.js';
import {
  IMMUTABLE_FIELDS,
  MANAGED_FIELDS,
  fieldsOf,
  isKind,
  isUuid,
  unknownKindMessage,
  type Fields,
  type Kind,
  type Obj,
} from './model.js';
import { parseFields } from './model-parse.js';
import { checkObject, invalid, label } from './model-rules.js';
import {
  NAT_KINDS,
  checkNatObject,
  fixedAddressOf,
  natRuleRank,
  natRules,
  routerPorts,
  type NatKind,
} from './nat-objects.js';
import { referencesOf } from './references.js';
import type { Op, Referrer } from './store.js';
import { TransactionOverlay, type BaseReader, type Write } from './transaction-overlay.js';

export type { BaseReader, Write } from './transaction-overlay.js';

/** The ops a transaction takes. */
const OPS: readonly string[] = ['create', 'update', 'delete'] satisfies readonly Op['op'][];

export type DeletedRef = { kind: Kind; id: string; name: string | null };
export type OpResult = Obj | { deleted: DeletedRef[] };

/** JSON with object keys sorted at every level: equal for equal values whatever the key order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/** Generates a locally administered unicast MAC for a router port. */
function generatedMac(): string {
  const b = randomUUID().replace(/-/g, '').slice(0, 10);
  return `02:${b.match(/../g)!.join(':')}`;
}

export class TransactionPlanner extends TransactionOverlay {
  private nextTunnelKey: number | undefined;

  // ---- writes ----------------------------------------------------------------------------------

  async apply(op: Op): Promise<OpResult> {
    // An op that came from outside the type system (a program's JSON) is named before anything else.
    if (!OPS.includes(op.op))
      throw new StoreError('invalid', `op: ${quote(op.op)}: allowed values: ${OPS.join(', ')}`, [
        { field: 'op', value: op.op, message: `allowed values: ${OPS.join(', ')}` },
      ]);
    if (!isKind(op.kind)) invalid(unknownKindMessage(op.kind));
    if (op.op !== 'create' && !isUuid(op.id))
      throw new StoreError('not-found', `${op.kind}: no object with id ${quote(op.id)}`);
    switch (op.op) {
      case 'create':
        return this.create(op.kind, op.fields, op.id, op.position);
      case 'update':
        return this.update(op.kind, op.id, op.set, op.expectedVersion, op.position);
      case 'delete':
        return { deleted: await this.delete(op.kind, op.id, op.expectedVersion, op.cascade ?? false) };
    }
  }

  private rejectManaged(kind: Kind, given: Record<string, unknown>): void {
    for (const f of MANAGED_FIELDS[kind] ?? []) {
      if (f in given) invalid(`${kind}.${f}: is set by the store and cannot be given`);
    }
    if ('id' in given || 'version' in given) invalid(`${kind}: 'id' and 'version' cannot be given as fields`);
  }

  private parse<K extends Kind>(kind: K, input: Record<string, unknown>, ctx: string): Fields<K> {
    const r = parseFields(kind, input);
    if (!r.ok) {
      const msgs = r.issues.map(
        (i) => `${kind}.${i.field}: ${i.value === undefined ? '' : `${quote(i.value)}: `}${i.message}`,
      );
      throw new StoreError(
        'invalid',
        `${ctx}: ${msgs.join('; ')}`,
        r.issues.map((i) => ({ ...i, field: `${kind}.${i.field}` })),
      );
    }
    return r.fields;
  }

  private async create(
    kind: Kind,
    given: Record<string, unknown>,
    wantId: string | undefined,
    position?: number,
  ): Promise<Obj> {
    this.rejectManaged(kind, given);
    const id = wantId ?? randomUUID();
    if (!isUuid(id)) invalid(`${kind}.id: ${quote(id)}: expected a UUID`);
    // A generated id is new (random 122 bits): known absent without a read (on the distributed store
    // a pointer read, one round trip before the commit); the commit itself refuses one that exists.
    if (wantId === undefined) this.knownAbsent(id);
    else if (await this.lookup(id))
      throw new StoreError('exists', `${kind}: an object with id ${quote(id)} already exists`);
    const input: Record<string, unknown> = { ...given };
    if (kind === 'port') {
      if (typeof input.deviceId !== 'string')
        invalid(`port.deviceId: is required (the bridge or router of the port)`);
      const dev = await this.lookup(input.deviceId);
      if (!dev || (dev.kind !== 'bridge' && dev.kind !== 'router')) {
        throw new StoreError(
          'not-found',
          `port.deviceId: no bridge or router with id ${quote(input.deviceId)}`,
        );
      }
      input.deviceKind = dev.kind;
      input.tunnelKey = await this.allocateTunnelKey();
      if (dev.kind === 'router' && (input.mac === undefined || input.mac === null))
        input.mac = generatedMac();
    }
    if (kind === 'chain') input.ruleIds = [];
    const fields = this.parse(kind, input, `cannot create ${kind}`);
    const obj = { id, ...fields, version: 1 } as Obj;
    await checkObject(this, kind, obj, undefined);
    await this.put(kind, id, obj);
    if (isNatKind(kind)) await this.writeNatRules(kind, obj as Obj<NatKind>);
    if (kind === 'port') await this.linkPeer(obj as Obj<'port'>, null);
    if (kind === 'rule') await this.placeRule(obj as Obj<'rule'>, position);
    else if (position !== undefined) invalid(`${kind}: --position applies to rules only`);
    return obj;
  }

  private async update(
    kind: Kind,
    id: string,
    set: Record<string, unknown>,
    expectedVersion: number | undefined,
    position?: number,
  ): Promise<Obj> {
    const cur = await this.getKind([kind], id, `${kind} ${id}`);
    if (expectedVersion !== undefined && cur.version !== expectedVersion) {
      throw new StoreError(
        'conflict',
        `${label(kind, cur)}: version ${expectedVersion} expected but the stored version is ${cur.version}; re-read and retry`,
      );
    }
    this.rejectManaged(kind, set);
    for (const f of IMMUTABLE_FIELDS[kind] ?? []) {
      if (
        f in set &&
        JSON.stringify(set[f]) !== JSON.stringify((cur as unknown as Record<string, unknown>)[f])
      ) {
        invalid(`${label(kind, cur)}: ${kind}.${f} cannot be changed after create`);
      }
    }
    const merged = { ...(fieldsOf(cur) as Record<string, unknown>), ...set };
    const fields = this.parse(kind, merged, `cannot update ${label(kind, cur)}`);
    // An update that changes nothing writes nothing: no version, no change in the feed.
    if (position === undefined && canonical(fields) === canonical(fieldsOf(cur))) return cur;
    const obj = { id, ...fields, version: this.versionFor(id) } as Obj;
    await checkObject(this, kind, obj, cur);
    await this.put(kind, id, obj);
    if (isNatKind(kind)) await this.writeNatRules(kind, obj as Obj<NatKind>);
    if (kind === 'port') await this.linkPeer(obj as Obj<'port'>, cur as Obj<'port'>);
    if (kind === 'rule' && position !== undefined) await this.placeRule(obj as Obj<'rule'>, position);
    else if (position !== undefined) invalid(`${kind}: --position applies to rules only`);
    return obj;
  }

  private async delete(
    kind: Kind,
    id: string,
    expectedVersion: number | undefined,
    cascade: boolean,
  ): Promise<DeletedRef[]> {
    const cur = await this.getKind([kind], id, `${kind} ${id}`);
    if (expectedVersion !== undefined && cur.version !== expectedVersion) {
      throw new StoreError(
        'conflict',
        `${label(kind, cur)}: version ${expectedVersion} expected but the stored version is ${cur.version}; re-read and retry`,
      );
    }
    const deleted: DeletedRef[] = [];
    await this.deleteOne(kind, cur, cascade, deleted, new Set());
    return deleted;
  }

  private async deleteOne(
    kind: Kind,
    cur: Obj,
    cascade: boolean,
    deleted: DeletedRef[],
    doomed: Set<string>,
  ): Promise<void> {
    doomed.add(cur.id);
    const refs = (await this.referrers(cur.id)).filter((r) => !doomed.has(r.id));
    const blocking: Referrer[] = [];
    for (const r of refs) {
      const holder = (await this.lookup(r.id))!;
      const spec = referencesOf(holder.kind, holder.obj).find(
        (x) => x.target === cur.id && x.field === r.field,
      );
      if (spec?.auto) continue;
      blocking.push(r);
    }
    if (blocking.length > 0 && !cascade) {
      const names = blocking.slice(0, 5).map((r) => `${label(r.kind, r)} (${r.field})`);
      const more = blocking.length > 5 ? ` and ${blocking.length - 5} more` : '';
      throw new StoreError(
        'referenced',
        `cannot delete ${label(kind, cur)}: referenced by ${names.join(', ')}${more}; delete or change those first, or use --cascade`,
      );
    }
    await this.put(kind, cur.id, null);
    deleted.push({ kind, id: cur.id, name: cur.name ?? null });
    for (const r of refs) {
      if (doomed.has(r.id)) continue;
      const holder = await this.lookup(r.id);
      if (!holder) continue;
      const specs = referencesOf(holder.kind, holder.obj).filter((x) => x.target === cur.id);
      if (specs.some((s) => !s.clear)) {
        await this.deleteOne(holder.kind, holder.obj, cascade, deleted, doomed);
        continue;
      }
      let fields = fieldsOf(holder.obj) as Record<string, unknown>;
      for (const s of specs) fields = s.clear!(fields);
      await this.put(holder.kind, holder.obj.id, {
        ...fields,
        id: holder.obj.id,
        version: this.versionFor(holder.obj.id),
      } as Obj);
    }
  }

  private async allocateTunnelKey(): Promise<number> {
    if (this.nextTunnelKey === undefined) this.nextTunnelKey = (await this.base.maxTunnelKey()) + 1;
    const k = this.nextTunnelKey++;
    if (k > 0xffffff) throw new StoreError('invalid', 'no tunnel key left (24-bit space exhausted)');
    return k;
  }

  // ---- rules of the model ------------------------------------------------------------------------

  /** Keeps links symmetric: linking A to B sets B's peer to A; unlinking clears both sides. */
  private async linkPeer(p: Obj<'port'>, before: Obj<'port'> | null): Promise<void> {
    const old = before?.peerId ?? null;
    if (old === p.peerId) return;
    if (old !== null) {
      const r = await this.lookup(old);
      if (r && (r.obj as Obj<'port'>).peerId === p.id) {
        await this.put('port', old, { ...r.obj, peerId: null, version: this.versionFor(old) });
      }
    }
    if (p.peerId !== null) {
      const r = (await this.lookup(p.peerId))!;
      if ((r.obj as Obj<'port'>).peerId !== p.id) {
        await this.put('port', p.peerId, {
          ...r.obj,
          peerId: p.id,
          version: this.versionFor(p.peerId),
        });
      }
    }
  }

  /**
   * Writes the rules a floating IP, port forward or source NAT stands for (nat-objects.ts) into its
   * router's NAT chains, made on first use, replacing the rules it wrote before.
   */
  private async writeNatRules(kind: NatKind, o: Obj<NatKind>): Promise<void> {
    await checkNatObject(this, kind, o);
    for (const r of await this.referrers(o.id)) {
      if (r.kind !== 'rule' || r.field !== 'ownerId') continue;
      const rule = await this.lookup(r.id);
      if (rule) await this.deleteOne('rule', rule.obj, true, [], new Set());
    }
    const router = await this.getKind(['router'], o.routerId, `${kind}.routerId`);
    const chains: Record<'in' | 'out', string> = {
      in: router.natInboundChainId ?? (await this.natChain(router, 'in')),
      out: router.natOutboundChainId ?? (await this.natChain(router, 'out')),
    };
    const ports = await routerPorts(this, o.routerId);
    const uplinks = ports.filter((p) => p.hostId !== null).map((p) => p.id);
    let fixed: string | undefined;
    if (kind === 'floating-ip') {
      const f = o as Obj<'floating-ip'>;
      const port =
        f.portId === null ? undefined : ((await this.lookup(f.portId))?.obj as Obj<'port'> | undefined);
      fixed = fixedAddressOf(f, port);
    }
    for (const r of natRules(kind, o, uplinks, fixed)) {
      const position = await this.natRulePosition(chains[r.chain], String(r.fields.action));
      await this.create('rule', { ...r.fields, chainId: chains[r.chain] }, undefined, position);
    }
  }

  /**
   * Where a convenience's rule goes in a NAT chain: after every rule of its rank or a lower one
   * (`natRuleRank`), before the others. So a floating IP's 1:1 rules come first (its VM keeps its own
   * public address under a source NAT), a port forward's before a source NAT's (the reply of a
   * forwarded connection is translated back, not given a new SNAT port), rules written by hand last.
   */
  private async natRulePosition(chainId: string, action: string): Promise<number> {
    const chain = await this.getKind(['chain'], chainId, 'rule.chainId');
    const mine = natRuleRank(action, true);
    let position = 1;
    for (let i = 0; i < chain.ruleIds.length; i++) {
      const r = (await this.lookup(chain.ruleIds[i]!))?.obj as Obj<'rule'> | undefined;
      if (r !== undefined && natRuleRank(r.action, r.ownerId !== null) <= mine) position = i + 2;
    }
    return position;
  }

  /** Makes the router's NAT chain ('in' or 'out') and points the router at it; returns its id. */
  private async natChain(router: Obj<'router'>, which: 'in' | 'out'): Promise<string> {
    let name = `${router.name}-nat-${which}`;
    for (let i = 2; await this.nameTaken('chain', name, ''); i++) name = `${router.name}-nat-${which}-${i}`;
    const chain = await this.create('chain', { name }, undefined);
    const cur = (await this.lookup(router.id))!.obj as Obj<'router'>;
    await this.put('router', router.id, {
      ...cur,
      [which === 'in' ? 'natInboundChainId' : 'natOutboundChainId']: chain.id,
      version: this.versionFor(router.id),
    });
    return chain.id;
  }

  /** Inserts or moves a rule in its chain's order list (1-based position; default last). */
  private async placeRule(r: Obj<'rule'>, position: number | undefined): Promise<void> {
    const chain = await this.getKind(['chain'], r.chainId, `rule.chainId`);
    const ids = chain.ruleIds.filter((x) => x !== r.id);
    const pos = position ?? ids.length + 1;
    if (!Number.isInteger(pos) || pos < 1 || pos > ids.length + 1) {
      invalid(
        `rule --position: ${quote(position)}: allowed 1 to ${ids.length + 1} in chain ${quote(chain.name)}`,
      );
    }
    ids.splice(pos - 1, 0, r.id);
    await this.put('chain', chain.id, { ...chain, ruleIds: ids, version: this.versionFor(chain.id) });
  }
}

function isNatKind(kind: Kind): kind is NatKind {
  return (NAT_KINDS as readonly Kind[]).includes(kind);
}

/** Plans a whole transaction against `base`; throws a StoreError on the first problem. */
export async function planTransaction(
  base: BaseReader,
  ops: readonly Op[],
): Promise<{ writes: Write[]; results: OpResult[] }> {
  const planner = new TransactionPlanner(base);
  const results: OpResult[] = [];
  for (const [i, op] of ops.entries()) {
    try {
      results.push(await planner.apply(op));
    } catch (e) {
      if (e instanceof StoreError && ops.length > 1)
        throw new StoreError(e.code, `transaction step ${i + 1}: ${e.message}`, e.issues);
      throw e;
    }
  }
  const writes = planner.writes();
  // Results reflect the final state of each object in the transaction (e.g. a port later linked).
  const finalById = new Map(writes.filter((w) => w.op !== 'delete').map((w) => [w.id, w.after]));
  return {
    writes,
    results: results.map((r) => ('deleted' in r ? r : (finalById.get(r.id) ?? r))),
  };
}
