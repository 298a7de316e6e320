/**
 * The planner's view of committed state on the distributed backend (cassandra-store.ts): pointers and
 * bodies as committed, every object read through the attempt's reads (committed-cache.ts), name and
 * binding lookups through the Cassandra index tables (cassandra-rows.ts).
 *
 * Guessed lookups (`IndexGuesses`): a name or binding lookup is a Cassandra read before the
 * transaction's rows can be written, and for a create it nearly always finds nothing. A guessing
 * reader answers such a lookup "nothing" at once and makes the real lookup in the background, so the
 * commit loop (cassandra-pipeline.ts) writes the rows of a plan made on the guesses while the real
 * lookups run, and takes the plan only if every guess was right; otherwise it deletes those rows and
 * plans again with real lookups. A guessed plan that is taken is therefore the plan the real
 * lookups give: the lookups were made on the same committed state (after the head the plan is on was
 * known, before the commit's multi-op, which checks that head), exactly as a lookup made before
 * planning would be.
 *
 * Invariant: a plan made with guesses is used only after `right` found every guess equal to the real
 * lookup's answer; a real lookup that fails counts as a wrong guess (the plan made again with real
 * lookups meets the failure itself).
 */
import type { ObjectRows } from './cassandra-rows.js';
import type { Attempt } from './committed-cache.js';
import type { IndexView } from './committed-index.js';
import { isKind, isUuid, type Kind } from './model.js';
import type { Op } from './store.js';
import type { BaseReader } from './transaction.js';

/** The guesses of one planning of a group, checked against the real lookups. */
export class IndexGuesses {
  /** Real lookups: whether each found nothing, as guessed. */
  private readonly checks: Array<Promise<boolean>> = [];
  /** Ids the guessed plan creates: fresh ids, never a committed holder of a name or binding. */
  private readonly created = new Set<string>();

  /** Answers "nothing" now; `real` (started now) must find nothing, or `self` (which the planner
   * takes as nothing: the object asking holds it), for the plan to stand. */
  guess(real: () => Promise<string | undefined>, self: string | undefined): undefined {
    this.checks.push(
      real().then(
        (id) => id === undefined || id === self,
        () => false,
      ),
    );
    return undefined;
  }

  /** Candidate ids worth reading: those the guessed plan did not create (its own index rows,
   * written while the lookups run, name them; they are not committed, so they never answer). */
  candidates(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.created.has(id));
  }

  /** Whether every guess was right; `created`: the ids the plan creates. Never rejects. */
  right(created: Iterable<string>): Promise<boolean> {
    for (const id of created) this.created.add(id);
    return Promise.all(this.checks).then((all) => all.every(Boolean));
  }

  /** Whether any lookup was guessed. */
  get any(): boolean {
    return this.checks.length > 0;
  }
}

/**
 * The planner's reader for `ops`: objects through `reads`, prefetched for the ids in `ops`; name
 * lookups of several creates asked together (`many`: other transactions are planned at once, so
 * lookups wait for the turn's others and go as one query). With `view` (the committed names and
 * bindings at the head the plan is on, committed-index.ts), name and binding lookups are answered from
 * it without a read; else with `guesses`, they are guessed (above).
 */
export async function plannerReader(
  rows: ObjectRows,
  headTk: () => Promise<number>,
  ops: readonly Op[],
  reads: Attempt,
  many: boolean,
  guesses?: IndexGuesses,
  view?: IndexView,
): Promise<BaseReader> {
  const ids = new Set<string>();
  const names: Array<[Kind, string]> = [];
  for (const op of ops) {
    if (op.id) ids.add(op.id);
    const f = op.op === 'create' ? op.fields : op.op === 'update' ? op.set : {};
    for (const v of Object.values(f)) if (typeof v === 'string' && isUuid(v)) ids.add(v);
    if (op.op === 'create' && isKind(op.kind) && typeof op.fields.name === 'string')
      names.push([op.kind, op.fields.name]);
  }
  const readMany = (list: readonly string[]) => reads.readMany(guesses ? guesses.candidates(list) : list);
  await reads.readMany(ids);
  const nameHits = new Map<string, string | undefined>();
  if (view)
    return {
      get: (id) => reads.read(id),
      idByName: (kind, name, self) =>
        view.current() ? view.idByName(kind, name, self) : rows.idByName(kind, name, readMany),
      referrerIds: async (id) =>
        (await rows.holders(id, readMany)).map((h) => ({ kind: h.kind, id: h.obj.id })),
      portIdByBinding: (hostId, iface, self) =>
        view.current()
          ? view.portIdByBinding(hostId, iface, self)
          : rows.portIdByBinding(hostId, iface, readMany),
      maxTunnelKey: headTk,
    };
  if (names.length > 1 && !guesses) {
    const found = await Promise.all(names.map(([k, n]) => rows.idByName(k, n, readMany, true)));
    names.forEach(([k, n], i) => nameHits.set(`${k}\u0000${n}`, found[i]));
  }
  return {
    get: (id) => reads.read(id),
    idByName: async (kind, name, self) => {
      if (guesses) return guesses.guess(() => rows.idByName(kind, name, readMany, many), self);
      const key = `${kind}\u0000${name}`;
      if (nameHits.has(key)) return nameHits.get(key);
      return rows.idByName(kind, name, readMany, many);
    },
    referrerIds: async (id) =>
      (await rows.holders(id, readMany)).map((h) => ({ kind: h.kind, id: h.obj.id })),
    portIdByBinding: async (hostId, iface, self) =>
      guesses
        ? guesses.guess(() => rows.portIdByBinding(hostId, iface, readMany), self)
        : rows.portIdByBinding(hostId, iface, readMany),
    maxTunnelKey: headTk,
  };
}
