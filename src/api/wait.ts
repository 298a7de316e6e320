/**
 * `wait` on writes: after a write commits at feed position P, wait until every live agent that needs
 * the change has applied it. Agents publish `lastChangeApplied` (the feed position their replica has
 * reached) in their liveness record at every heartbeat (src/agent/daemon.ts `beat`); each agent holds
 * the whole topology today, so every live agent needs every change. Records of other processes
 * (midonet-router publishes role 'midonet-router') are not agents and are not waited for.
 *
 * Invariant: the wait ends by itself: when all agents reached P ('applied'), at once when no agent is
 * alive ('no-agents'), or at the deadline ('timeout', naming the hosts still behind); it never changes
 * the outcome of the write, which is committed before the wait starts.
 */
import type { HostLiveness, TopologyStore } from '../state/store.js';

export type WaitOutcome = 'applied' | 'no-agents' | 'timeout';

export interface WaitReport {
  readonly outcome: WaitOutcome;
  readonly position: number;
  /** Live agents that had not reached the position when the wait ended. */
  readonly pending: ReadonlyArray<{ hostId: string; lastChangeApplied: number | null }>;
  /** Live agents considered. */
  readonly agents: number;
  readonly waitedMs: number;
  readonly note?: string;
}

function isAgent(l: HostLiveness): boolean {
  return l.alive && l.info.role !== 'midonet-router' && 'lastChangeApplied' in l.info;
}

export async function waitForAgents(
  store: TopologyStore,
  position: number,
  timeoutMs: number,
  pollMs = 100,
): Promise<WaitReport> {
  const start = Date.now();
  for (;;) {
    const agents = (await store.liveness()).filter(isAgent);
    const waitedMs = Date.now() - start;
    if (agents.length === 0)
      return {
        outcome: 'no-agents',
        position,
        pending: [],
        agents: 0,
        waitedMs,
        note: 'no agent is alive: nothing to wait for',
      };
    const pending = agents
      .filter((a) => typeof a.info.lastChangeApplied !== 'number' || a.info.lastChangeApplied < position)
      .map((a) => ({
        hostId: a.hostId,
        lastChangeApplied: typeof a.info.lastChangeApplied === 'number' ? a.info.lastChangeApplied : null,
      }));
    if (pending.length === 0 || position === 0)
      return { outcome: 'applied', position, pending: [], agents: agents.length, waitedMs };
    if (waitedMs >= timeoutMs)
      return {
        outcome: 'timeout',
        position,
        pending,
        agents: agents.length,
        waitedMs,
        note: `${pending.length} of ${agents.length} live agents had not applied position ${position} after ${timeoutMs} ms`,
      };
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, timeoutMs - waitedMs))));
  }
}
