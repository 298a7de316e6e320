/**
 * Leader election on the embedded backend (sqlite-store.ts `campaign`): a lease row per group in the
 * `leases` table. The leader renews its row every third of the lease time; a candidate takes the row
 * over once it has expired.
 *
 * Invariant: a candidate is told it leads only after it read itself as the row's holder, and is told it
 * is deposed at the first renewal that finds another holder or cannot reach the database (a leader
 * whose process stalled past its lease therefore steps down at its next tick). Its timer is in
 * `timers` until it resigns, so the store's close stops it.
 */
import type { Statements } from './sqlite-schema.js';
import type { Campaign, CampaignHandlers } from './store.js';

export function leaseCampaign(
  stmts: Statements,
  leaseMs: number,
  group: string,
  candidate: string,
  handlers: CampaignHandlers,
  timers: Set<NodeJS.Timeout>,
  closed: () => boolean,
): Campaign {
  let leading = false;
  let active = true;
  const tick = () => {
    if (!active || closed()) return;
    const now = Date.now();
    let mine = false;
    try {
      stmts.claimLease.run(group, candidate, now + leaseMs, now);
      mine = stmts.leaseHolder.get(group)?.holder === candidate;
    } catch {
      mine = false; // the database is locked or gone: act as not leading until it answers again
    }
    if (mine && !leading) {
      leading = true;
      handlers.onElected();
    } else if (!mine && leading) {
      leading = false;
      handlers.onDeposed();
    }
  };
  const timer = setInterval(tick, Math.max(50, Math.floor(leaseMs / 3)));
  timers.add(timer);
  tick();
  return {
    get leading() {
      return leading;
    },
    resign: () => {
      if (!active) return Promise.resolve();
      active = false;
      clearInterval(timer);
      timers.delete(timer);
      if (!closed()) stmts.dropLease.run(group, candidate);
      leading = false;
      return Promise.resolve();
    },
  };
}
