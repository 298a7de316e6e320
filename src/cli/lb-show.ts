/**
 * What `midonet-cli load-balancer show` prints below the balancer's own fields: its VIPs, and for
 * each pool its algorithm, its health monitor and its members with their health (the status the
 * health monitor wrote) and whether new connections may choose them; with live figures when they
 * are reachable (lb-live.ts): connections per member and health transitions, and who leads the checks.
 *
 * Invariant: reads only; every stored text goes through `table`, which escapes control characters.
 */
import type { Obj } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';
import { formatEndpoint } from '../addr.js';
import { quote } from '../quote.js';
import { lbLive, type LbLive } from './lb-live.js';
import { table, type Names } from './output.js';

export async function lbTables(store: TopologyStore, lbId: string, names: Names): Promise<string> {
  const vips = await store.list('vip', { refersTo: lbId });
  const pools = (await store.list('pool', { refersTo: lbId })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const parts: string[] = [];
  const live = await lbLive(store, lbId);
  parts.push(liveSummary(live));
  parts.push(
    vips.length === 0
      ? 'VIPs: (none)'
      : `VIPs:\n${table(
          vips.map((v) => ({
            name: v.name,
            endpoint: `${v.protocol} ${formatEndpoint(v.address, v.port)}`,
            poolId: v.poolId,
            persistence: v.sessionPersistence,
            up: v.adminStateUp,
          })),
          ['name', 'endpoint', 'poolId', 'persistence', 'up'],
          names,
        )}`,
  );
  for (const p of pools) {
    const members = (await store.list('pool-member', { refersTo: p.id })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    const [hm] = await store.list('health-monitor', { refersTo: p.id });
    parts.push(
      `Pool ${p.name} (${p.algorithm}${p.adminStateUp ? '' : ', admin down'}); health monitor: ${describeMonitor(hm)}\n${
        members.length === 0
          ? '(no members)'
          : table(
              members.map((m) => ({
                name: m.name,
                endpoint: formatEndpoint(m.address, m.port),
                weight: m.weight,
                up: m.adminStateUp,
                health: m.status,
                chosen: m.adminStateUp && m.status === 'up' && m.weight > 0 && p.adminStateUp ? 'yes' : 'no',
                connections: live.connections?.get(m.id) ?? 0,
                transitions: describeTransitions(live, m.id),
              })),
              [
                'name',
                'endpoint',
                'weight',
                'up',
                'health',
                'chosen',
                ...(live.connections ? ['connections'] : []),
                ...(live.transitions ? ['transitions'] : []),
              ],
              names,
            )
      }`,
    );
  }
  return parts.join('\n\n');
}

function describeMonitor(hm: Obj<'health-monitor'> | undefined): string {
  if (hm === undefined) return 'none (members count as healthy)';
  const what = hm.type === 'http' ? `http GET ${hm.httpPath} expecting ${hm.expectedStatus}` : 'tcp connect';
  return `${hm.name}: ${what} every ${hm.interval} s, timeout ${hm.timeout} s, ${hm.retries} in a row${hm.adminStateUp ? '' : ' (admin down)'}`;
}

function describeTransitions(live: LbLive, memberId: string): string {
  const t = live.transitions?.get(memberId);
  return t === undefined ? '-' : `${t.down} down, ${t.up} up`;
}

/** Where the live columns come from, or why they are missing. */
function liveSummary(live: LbLive): string {
  const conn =
    live.agentsAnswered > 0
      ? `connections: new connections counted by ${live.agentsAnswered} of ${live.agentsRunning} running agents since they started`
      : live.agentsRunning > 0
        ? `connections: none of ${live.agentsRunning} running agents answered here (their control sockets are on their hosts)`
        : 'connections: no agent is running';
  const checks =
    live.leader !== undefined
      ? `health checks: led by ${quote(live.leader.candidate)} on host ${quote(live.leader.hostName)}; transitions as written by the running midonet-lb-health processes`
      : live.transitions !== undefined
        ? 'health checks: no running midonet-lb-health leads this balancer yet'
        : 'health checks: no midonet-lb-health is running';
  return `${conn}\n${checks}`;
}
