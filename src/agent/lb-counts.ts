/**
 * Connections per load balancer pool member, as this agent balanced them: each committed simulation
 * whose effects carry a member choice (`natCreated` with `lbMember`, sim/load-balancer.ts: a new
 * connection to a VIP; a connection already bound carries none) adds one to that member. Read by the
 * `stats` control command (`lbConnections`, which `midonet-cli load-balancer show` sums over the
 * agents it reaches) and by /metrics as `midonet_agent_lb_member_connections_total{member}`.
 *
 * Invariant: counts only grow while the agent runs (a restart starts them at zero); only committed
 * results are counted (a trace or a `notYet` result commits nothing), once per result.
 */
import { Counter, type Registry } from 'prom-client';
import type { Effect } from '../sim/result.js';

export class LbConnectionCounts {
  /** Member id -> connections this agent sent to it. */
  readonly byMember = new Map<string, number>();

  /** Counts the member choices among a committed result's effects. */
  count(effects: readonly Effect[]): void {
    for (const e of effects)
      if (e.kind === 'natCreated' && e.lbMember !== undefined)
        this.byMember.set(e.lbMember, (this.byMember.get(e.lbMember) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.byMember);
  }
}

/** `midonet_agent_lb_member_connections_total{member}` (member id), read at scrape time. */
export function registerLbConnectionMetrics(registry: Registry, counts: () => LbConnectionCounts): void {
  const c: Counter<'member'> = new Counter({
    name: 'midonet_agent_lb_member_connections_total',
    help: 'New connections this agent sent to each load balancer pool member (by member id)',
    labelNames: ['member'] as const,
    registers: [registry],
    collect: () => {
      c.reset();
      for (const [member, n] of counts().byMember) c.inc({ member }, n);
    },
  });
}
