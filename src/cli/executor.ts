/**
 * Runs planned topology commands against the store: one command as one transaction, or a `--`
 * sequence (`bridge create a -- port create p --bridge a -- port bind p ...`) as ONE transaction,
 * all or nothing. With `--wait`, returns only when every live agent has applied the transaction
 * (the same wait as midonet-api's, src/api/wait.ts), or says why not.
 *
 * A sequence is planned command by command against an overlay of the store (overlay-store.ts), where
 * each command's ops are checked by the store's own planner; the first command that cannot work is
 * named (`command 2 of 3 (port create p --bridge a): ...`) and nothing is written. The real commit can
 * still be refused (another writer changed something meanwhile): that refusal names its command too.
 *
 * Invariant: a failed command or sequence writes nothing; outputs are printed only after the commit.
 */
import { StoreError } from '../state/errors.js';
import type { Kind } from '../state/model.js';
import type { Op, TopologyStore } from '../state/store.js';
import type { OpResult } from '../state/transaction.js';
import { CliError } from './options.js';
import { planTopologyCommand, type Args, type Planned } from './topology-commands.js';

export interface Command {
  readonly kind: Kind;
  readonly args: Args;
  /** The command as typed, for messages. */
  readonly text: string;
}

export interface RunOptions {
  readonly json: boolean;
  readonly print: (s: string) => void;
  /** Notes for people (stderr). */
  readonly note: (s: string) => void;
  /** Wait for the agents after the commit, at most this long. */
  readonly waitMs?: number;
}

/** The same error, its message prefixed (the class decides the exit code). */
function within(e: unknown, prefix: string): Error {
  if (e instanceof StoreError) return new StoreError(e.code, `${prefix}: ${e.message}`, e.issues);
  if (e instanceof CliError) return new CliError(`${prefix}: ${e.message}`);
  return e as Error;
}

export async function runCommands(
  store: TopologyStore,
  cmds: readonly Command[],
  o: RunOptions,
): Promise<void> {
  const ctx = { json: o.json };
  if (cmds.length === 1) {
    const planned = await planTopologyCommand({ ...ctx, store }, cmds[0]!.kind, cmds[0]!.args);
    if (planned.ops.length === 0) return emit(o, planned.output([]));
    const r = await store.transact(planned.ops);
    emit(o, planned.output(r.results as OpResult[]));
    return waitIfAsked(store, r.position, o);
  }

  const { OverlayStore } = await import('./overlay-store.js');
  const overlay = await OverlayStore.over(store);
  const plans: Array<{ planned: Planned; from: number; count: number }> = [];
  const all: Op[] = [];
  for (const [i, c] of cmds.entries()) {
    const where = `command ${i + 1} of ${cmds.length} (${c.text})`;
    try {
      const planned = await planTopologyCommand({ ...ctx, store: overlay }, c.kind, c.args);
      const applied = await overlay.apply(planned.ops);
      plans.push({ planned, from: all.length, count: applied.ops.length });
      all.push(...applied.ops);
    } catch (e) {
      throw within(e, `${where}; nothing was written`);
    }
  }
  let results: readonly OpResult[] = [];
  let position = 0;
  if (all.length > 0) {
    try {
      const r = await store.transact(oneVersionCheckPerObject(all));
      results = r.results as OpResult[];
      position = r.position;
    } catch (e) {
      const step = e instanceof StoreError ? /^transaction step (\d+): /.exec(e.message) : null;
      const at = step ? plans.findIndex((p) => Number(step[1]) - 1 < p.from + p.count) : -1;
      const which = at >= 0 ? `command ${at + 1} of ${cmds.length} (${cmds[at]!.text})` : 'the sequence';
      const msg = e instanceof StoreError && step ? e.message.slice(step[0].length) : (e as Error).message;
      throw within(
        e instanceof StoreError ? new StoreError(e.code, msg, e.issues) : e,
        `${which}; nothing was written`,
      );
    }
  }
  for (const p of plans) emit(o, p.planned.output(results.slice(p.from, p.from + p.count)));
  return waitIfAsked(store, position, o);
}

/**
 * In one transaction an object's version goes up once however often it is written, so a later op's
 * expected version (read from the overlay, where each command counted) would be wrong: only the first
 * op on an object keeps its version check (against the version the sequence started from).
 */
function oneVersionCheckPerObject(ops: readonly Op[]): Op[] {
  const seen = new Set<string>();
  return ops.map((op) => {
    const id = op.op === 'create' ? op.id : op.id;
    if (id === undefined) return op;
    const repeat = seen.has(id);
    seen.add(id);
    if (!repeat || op.op === 'create' || op.expectedVersion === undefined) return op;
    const { expectedVersion: _dropped, ...rest } = op;
    return rest;
  });
}

function emit(o: RunOptions, text: string | undefined): void {
  if (text !== undefined && text !== '') o.print(text);
}

async function waitIfAsked(store: TopologyStore, position: number, o: RunOptions): Promise<void> {
  if (o.waitMs === undefined) return;
  if (position === 0) return o.note('--wait: nothing was written, nothing to wait for');
  const { waitForAgents } = await import('../api/wait.js');
  const r = await waitForAgents(store, position, o.waitMs);
  if (r.outcome === 'applied')
    return o.note(`--wait: ${r.agents} live agent(s) applied change ${position} (${r.waitedMs} ms)`);
  if (r.outcome === 'no-agents') return o.note(`--wait: ${r.note}; returned at once`);
  const behind = r.pending.map((p) => `${p.hostId} at ${p.lastChangeApplied ?? 'none'}`).join(', ');
  throw new StoreError(
    'unavailable',
    `--wait: ${r.note} (behind: ${behind}); the change itself is committed`,
  );
}
