/**
 * midonet-lb-health's liveness record in the store (`heartbeat`, as midonet-router keeps one): who it
 * is, which balancers it leads, and its health transitions per member since it started, so
 * `midonet-cli load-balancer show` can print them from any machine that reaches the store. The record
 * is named `midonet-lb-health:CANDIDATE` and lives three beats; a clean stop says goodbye at once.
 *
 * Invariant: a beat that fails is logged and the next one tries again; the record never holds more
 * than the monitor's own counts.
 */
import type { Logger } from '../log.js';
import type { TopologyStore } from '../state/store.js';
import type { HealthMonitor } from './monitor.js';

export const LB_HEALTH_ROLE = 'midonet-lb-health';

/** What the record's `info` holds. */
export interface LbHealthInfo {
  readonly role: typeof LB_HEALTH_ROLE;
  readonly candidate: string;
  readonly hostName: string;
  readonly pid: number;
  /** Ids of the balancers it leads. */
  readonly leads: readonly string[];
  /** Member id -> status changes it wrote. */
  readonly transitions: Readonly<Record<string, { up: number; down: number }>>;
}

export function isLbHealthInfo(
  info: Record<string, unknown>,
): info is Record<string, unknown> & LbHealthInfo {
  return (
    info.role === LB_HEALTH_ROLE &&
    Array.isArray(info.leads) &&
    typeof info.transitions === 'object' &&
    info.transitions !== null
  );
}

/** Renews the record every `everyMs`; `stop` ends the beats and removes the record. */
export function startLivenessBeat(
  store: TopologyStore,
  monitor: HealthMonitor,
  me: { candidate: string; hostName: string },
  log: Logger,
  everyMs = 2000,
): { stop(): Promise<void> } {
  const id = `${LB_HEALTH_ROLE}:${me.candidate}`;
  const beat = async () => {
    const info: LbHealthInfo = {
      role: LB_HEALTH_ROLE,
      candidate: me.candidate,
      hostName: me.hostName,
      pid: process.pid,
      leads: monitor.leads(),
      transitions: Object.fromEntries(monitor.counts.byMemberId),
    };
    try {
      await store.heartbeat(id, everyMs * 3, { ...info });
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'heartbeat failed');
    }
  };
  void beat();
  const timer = setInterval(() => void beat(), everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await store.goodbye(id).catch(() => undefined);
    },
  };
}
