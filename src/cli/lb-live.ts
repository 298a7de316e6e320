/**
 * The live figures `midonet-cli load-balancer show` adds when it can reach them: connections per
 * member, summed over the `stats` of every running agent whose control socket answers on this
 * machine (agent/lb-counts.ts), and health transitions per member with the process that leads the
 * balancer's checks, from midonet-lb-health's liveness records in the store (lb/liveness.ts).
 *
 * Invariant: reads only, each agent asked at most once and for at most a second; an agent that does
 * not answer is counted as not reached, never as zero connections.
 */
import { isLbHealthInfo } from '../lb/liveness.js';
import type { TopologyStore } from '../state/store.js';

export interface Transitions {
  up: number;
  down: number;
}

export interface LbLive {
  /** Member id -> connections, when at least one agent answered. */
  readonly connections: Map<string, number> | undefined;
  readonly agentsRunning: number;
  readonly agentsAnswered: number;
  /** Member id -> transitions written by the running midonet-lb-health processes (undefined: none runs). */
  readonly transitions: Map<string, Transitions> | undefined;
  /** The process leading this balancer's checks. */
  readonly leader: { readonly candidate: string; readonly hostName: string } | undefined;
}

export async function lbLive(store: TopologyStore, lbId: string): Promise<LbLive> {
  const live = (await store.liveness().catch(() => [])).filter((l) => l.alive);
  const agents = live.filter((l) => 'agentVersion' in l.info && typeof l.info.controlSocket === 'string');
  // On demand, as `agent` does: the control client loads zeromq, which the CLI's snapshot leaves out.
  const { controlRequest } = await import('../control/control-api.js');
  const answers = await Promise.all(
    agents.map((a) =>
      controlRequest(a.info.controlSocket as string, { cmd: 'stats' }, 1000).then(
        (r) => (r as { lbConnections?: Record<string, number> }).lbConnections ?? {},
        () => undefined,
      ),
    ),
  );
  let connections: Map<string, number> | undefined;
  let answered = 0;
  for (const a of answers) {
    if (a === undefined) continue;
    answered++;
    connections ??= new Map();
    for (const [member, n] of Object.entries(a))
      if (typeof n === 'number') connections.set(member, (connections.get(member) ?? 0) + n);
  }
  let transitions: Map<string, Transitions> | undefined;
  let leader: LbLive['leader'];
  for (const l of live) {
    if (!isLbHealthInfo(l.info)) continue;
    transitions ??= new Map();
    for (const [member, t] of Object.entries(l.info.transitions)) {
      const sum = transitions.get(member) ?? { up: 0, down: 0 };
      sum.up += Number(t.up) || 0;
      sum.down += Number(t.down) || 0;
      transitions.set(member, sum);
    }
    if (l.info.leads.includes(lbId))
      leader = { candidate: String(l.info.candidate), hostName: String(l.info.hostName) };
  }
  return { connections, agentsRunning: agents.length, agentsAnswered: answered, transitions, leader };
}
