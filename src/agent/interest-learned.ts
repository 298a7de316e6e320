/**
 * Learned state held per device of the interest set (an agent that loads on demand, interest.ts):
 * the shared MAC tables of the bridges and ARP/neighbour caches of the routers this host holds, and
 * none of the others. Which devices a batch of changes brings into the replica or takes out of it
 * (`devicesMoved`, read before the batch is applied); what is kept of the devices that left is
 * dropped (`forgetDevices`); the learned-state watch, subscribed in the store to the devices held,
 * follows (store-link.ts `devicesMoved`): a device that entered gets its current entries, then its
 * changes, and the store sends none of a device that left (learned-sync.ts also applies only entries
 * of held devices).
 *
 * Invariant: after a batch is applied, the runtime state holds learned entries only of bridges and
 * routers in the replica (entries of other agents are applied only for held devices, and a device's
 * entries go when it goes), and every device that entered is reported, so none waits for its entries
 * until they are next renewed.
 */
import type { Tag } from '../sim/tags.js';
import type { MemoryRuntimeState } from '../sim/runtime-state.js';
import type { Topology } from '../sim/topology.js';
import type { Change } from '../state/store.js';
import type { LearnedSync } from './learned-sync.js';

const DEVICE_KINDS: ReadonlySet<string> = new Set(['bridge', 'router']);

/** The bridges and routers a batch adds to the replica and those it removes (net over the batch). */
export function devicesMoved(
  replica: Topology,
  changes: readonly Change[],
): { entered: string[]; left: string[] } {
  /** id -> held before the batch, and held after it (the last change of the id decides). */
  const moved = new Map<string, { before: boolean; after: boolean }>();
  for (const c of changes) {
    if (!DEVICE_KINDS.has(c.kind)) continue;
    const m = moved.get(c.id) ?? { before: replica.get(c.kind, c.id) !== undefined, after: false };
    m.after = c.op !== 'delete';
    moved.set(c.id, m);
  }
  const entered: string[] = [];
  const left: string[] = [];
  for (const [id, m] of moved) {
    if (!m.before && m.after) entered.push(id);
    else if (m.before && !m.after) left.push(id);
  }
  return { entered, left };
}

/**
 * Drops the learned entries of devices that left the replica: their MAC tables and neighbour caches,
 * and what LearnedSync remembers of them; returns the tags of the entries dropped (flows that read
 * them must go).
 */
export function forgetDevices(
  state: MemoryRuntimeState,
  learned: LearnedSync,
  ids: readonly string[],
): Tag[] {
  const tags: Tag[] = [];
  for (const id of ids)
    tags.push(...state.macs.forgetBridge(id), ...state.arp.forgetRouter(id), ...state.nd.forgetRouter(id));
  learned.forgetDevices(new Set(ids));
  return tags;
}
