/**
 * midonet-agent's Prometheus metrics and health check, served by server.ts. Nothing here counts:
 * every figure is read at scrape time from what the agent already keeps (AgentStats, the flow table,
 * the packet-in queue, the OpenFlow connection, the store's head position), through the callbacks
 * of `AgentMetricsSource`.
 *
 * Invariants:
 * - One source of truth: a counter here equals the AgentStats field of the same meaning at the
 *   instant of the scrape (the control API's `stats` shows the same numbers), so the two never drift.
 * - The latency histograms are AgentStats' own (fine log-linear microsecond buckets,
 *   latency-histogram.ts), exported in seconds as the cumulative 1-2-5 series (1 us to 1 s, +Inf),
 *   each bound exact; the simulation histogram's _count equals simulations_total.
 * - Store watch lag is measured in feed positions: the store's head minus the last change the agent
 *   applied. The change feed carries no commit time, so a lag in seconds cannot be measured honestly
 *   here; positions behind head is what an operator can alert on (it should return to 0).
 * - Probing the store (for lag and health) is bounded by a timeout; an unreachable store makes
 *   store_reachable 0, health degraded, and the head and lag gauges NaN rather than stale or zero.
 */
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { COARSE_BOUNDS_US, leOf, type LatencyHistogram } from './latency-histogram.js';
import type { AgentStats } from './stats.js';
import { registerLbConnectionMetrics } from './lb-counts.js';
import type { Logger } from '../log.js';
import {
  daemonRegistry,
  startMetricsServer,
  type HealthReport,
  type MetricsServer,
} from '../metrics/server.js';

/** What the agent exposes to its metrics; all callbacks are cheap reads except `storeHead`. */
export interface AgentMetricsSource {
  readonly hostId: string;
  readonly version: string;
  /** The controller's counters (read at each scrape). */
  readonly stats: () => AgentStats;
  /** Reactive flows installed now. */
  readonly liveFlows: () => number;
  /** Packet-ins waiting for simulation now. */
  readonly queueLength: () => number;
  /** Whether Open vSwitch is connected on the OpenFlow channel (handshake done). */
  readonly openflowConnected: () => boolean;
  /** The store's head position (last committed change); rejects when the store is unreachable. */
  readonly storeHead: () => Promise<number>;
}

const P = 'midonet_agent_';

function counterOf(registry: Registry, name: string, help: string, read: () => number): void {
  const c: Counter = new Counter({
    name: P + name,
    help,
    registers: [registry],
    collect: () => {
      c.reset();
      c.inc(read());
    },
  });
}

function gaugeOf(registry: Registry, name: string, help: string, read: () => number): Gauge {
  const g: Gauge = new Gauge({
    name: P + name,
    help,
    registers: [registry],
    collect: () => g.set(read()),
  });
  return g;
}

/**
 * One of AgentStats' latency histograms as a prom-client metric. prom-client's Histogram cannot take
 * bucket counts from elsewhere, so this object implements the small interface the Registry reads
 * (name, type, get()); the cast at registration is that interface, not a Histogram.
 */
class StatsLatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly histogram: () => LatencyHistogram,
  ) {}

  get(): Promise<unknown> {
    const h = this.histogram();
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const b of COARSE_BOUNDS_US) {
      const le = leOf(b);
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { le: le === '+Inf' ? le : b / 1e6 },
        value: h.cumulative(b),
      });
    }
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: h.sumUs / 1e6 });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: h.count });
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }
}

/** The store probe's outcome: the head position, or why it could not be read. */
type StoreProbe =
  { readonly ok: true; readonly head: number } | { readonly ok: false; readonly error: string };

async function probeStore(src: AgentMetricsSource, timeoutMs: number): Promise<StoreProbe> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const head = await Promise.race([
      src.storeHead(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, head };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Builds the agent's registry: process metrics plus every agent figure, read from `src`. */
export function agentRegistry(src: AgentMetricsSource, storeTimeoutMs = 1000): Registry {
  const r = daemonRegistry();
  const st = src.stats;
  counterOf(r, 'packet_ins_total', 'Packet-ins received from Open vSwitch', () => st().packetIns);
  counterOf(
    r,
    'packet_in_writes_total',
    "Writes of packet-ins' answers (one per packet-in, or per event-loop turn when batched)",
    () => st().packetInWrites,
  );
  counterOf(
    r,
    'simulations_total',
    'Packet-ins simulated through the virtual topology',
    () => st().simulations,
  );
  r.registerMetric(
    new StatsLatencyHistogram(
      `${P}simulation_latency_seconds`,
      'Time one packet-in simulation took (seconds), from the agent’s own histogram',
      () => st().simLatency,
    ) as unknown as Metric,
  );
  r.registerMetric(
    new StatsLatencyHistogram(
      `${P}packet_in_latency_seconds`,
      'Time from a packet-in’s arrival to the write of the agent’s answer (seconds)',
      () => st().packetInLatency,
    ) as unknown as Metric,
  );
  counterOf(
    r,
    'packet_in_duplicates_total',
    'Packet-ins a just-installed flow already covered (sent on without a new simulation)',
    () => st().duplicates,
  );
  counterOf(
    r,
    'packet_in_rehearsals_total',
    'Packet-ins rehearsed while idle to keep the first-packet path warm (nothing committed or written)',
    () => st().rehearsals,
  );
  counterOf(
    r,
    'reply_flows_total',
    'Predicted reply flows installed with their forward flow',
    () => st().replyFlows,
  );
  counterOf(r, 'flows_installed_total', 'Reactive flows installed (FLOW_MOD add)', () => st().flowsInstalled);
  counterOf(
    r,
    'flows_adopted_total',
    'Flows an earlier run of the agent left in the switch, kept on connection because they are still right',
    () => st().flowsAdopted,
  );
  counterOf(
    r,
    'flows_discarded_total',
    'Flows an earlier run of the agent left in the switch, deleted on connection',
    () => st().flowsDiscarded,
  );
  counterOf(
    r,
    'flows_orphaned_total',
    'Reactive flows found in the switch that the agent did not record, deleted (a fault: should stay 0)',
    () => st().flowsOrphaned,
  );
  counterOf(
    r,
    'flows_removed_total',
    'Reactive flows removed: expired by the agent as idle, or reported deleted by the switch (FLOW_REMOVED)',
    () => st().flowsRemoved,
  );
  counterOf(
    r,
    'flows_invalidated_total',
    'Reactive flows deleted because an object they depended on changed',
    () => st().flowsInvalidated,
  );
  gaugeOf(r, 'flows_live', 'Reactive flows installed now', src.liveFlows);
  counterOf(
    r,
    'invalidations_total',
    'Invalidation rounds (topology changes whose tags named installed flows)',
    () => st().invalidations,
  );
  counterOf(
    r,
    'packet_in_queue_drops_total',
    'Packet-ins dropped because the packet-in queue was full',
    () => st().queueDrops,
  );
  gaugeOf(r, 'packet_in_queue_length', 'Packet-ins waiting for simulation now', src.queueLength);
  gaugeOf(
    r,
    'learned_unpublished',
    'Learned entries (MAC, ARP, flow state) waiting for the store, e.g. during a store outage',
    () => st().learnedUnpublished,
  );
  counterOf(
    r,
    'learned_publish_failures_total',
    'Publications of learned state the store refused or did not answer (each retried)',
    () => st().learnedPublishFailures,
  );
  counterOf(
    r,
    'learned_dropped_total',
    'Learned entries dropped unpublished because too many waited for the store',
    () => st().learnedDropped,
  );
  counterOf(
    r,
    'arp_probes_total',
    'ARP requests sent again, with a back-off, for next hops marked failed',
    () => st().arpProbes,
  );
  counterOf(
    r,
    'not_yet_drops_total',
    'Packets dropped because an object they needed was not loaded yet',
    () => st().notYetDrops,
  );
  counterOf(
    r,
    'uncacheable_packets_total',
    'Packets forwarded without installing a flow (decision read a field OVS cannot match)',
    () => st().uncacheable,
  );
  counterOf(
    r,
    'ignored_packet_ins_total',
    'Packet-ins that could not be parsed or came from an unknown port',
    () => st().ignored,
  );
  counterOf(
    r,
    'generated_packets_total',
    'Packets the agent generated (ARP, ICMP, DHCP replies)',
    () => st().generated,
  );
  counterOf(
    r,
    'dhcp_replies_total',
    'DHCP replies the agent sent (OFFER, ACK, NAK)',
    () => st().dhcp.replies,
  );
  counterOf(
    r,
    'dhcp_ignored_total',
    'DHCP client messages not answered (malformed, spoofed, not ours; by reason in the agent stats)',
    () => st().dhcp.ignoredTotal,
  );
  const psd: Counter<'reason'> = new Counter({
    name: P + 'port_security_drops_total',
    help: 'Packets port security dropped at a port, by reason (the first of each flow: later ones match its drop flow in OVS)',
    labelNames: ['reason'] as const,
    registers: [r],
    collect: () => {
      psd.reset();
      for (const [reason, n] of Object.entries(st().portSecurityDrops)) psd.inc({ reason }, n);
    },
  });
  counterOf(
    r,
    'store_changes_applied_total',
    'Topology changes applied from the store’s change feed',
    () => st().changesApplied,
  );
  gaugeOf(r, 'topology_objects_held', 'Topology objects in the agent’s replica', () => st().objectsHeld);
  counterOf(
    r,
    'store_changes_ignored_total',
    'Changes of the feed about objects outside the agent’s interest set (not applied)',
    () => st().changesIgnored,
  );
  counterOf(
    r,
    'topology_demand_loads_total',
    'Loads of topology objects a simulation needed (the packet waited for them)',
    () => st().demandLoads,
  );
  counterOf(
    r,
    'topology_objects_dropped_total',
    'Objects dropped from the replica because nothing local reaches them any more',
    () => st().objectsDropped,
  );
  gaugeOf(
    r,
    'store_position_applied',
    'Feed position of the last change the agent applied',
    () => st().lastChangeSeq,
  );
  gaugeOf(r, 'openflow_connected', '1 when Open vSwitch is connected on the OpenFlow channel', () =>
    src.openflowConnected() ? 1 : 0,
  );

  // One bounded store probe per scrape feeds the head, lag and reachability gauges (the registry
  // collects them concurrently: they share the probe in flight or just settled).
  let last: { settledAt: number; p: Promise<StoreProbe> } | undefined;
  const probe = (): Promise<StoreProbe> => {
    if (last && Date.now() - last.settledAt < 100) return last.p;
    const entry = { settledAt: Infinity, p: probeStore(src, storeTimeoutMs) };
    void entry.p.then(() => (entry.settledAt = Date.now()));
    last = entry;
    return entry.p;
  };
  const fromProbe = (name: string, help: string, read: (p: StoreProbe) => number) => {
    const g: Gauge = new Gauge({
      name: P + name,
      help,
      registers: [r],
      collect: async () => g.set(read(await probe())),
    });
  };
  fromProbe('store_reachable', '1 when the store answered this scrape’s probe within its timeout', (p) =>
    p.ok ? 1 : 0,
  );
  fromProbe(
    'store_position_head',
    'Feed position of the store’s last commit (NaN: store unreachable)',
    (p) => (p.ok ? p.head : NaN),
  );
  fromProbe(
    'store_watch_lag_changes',
    'Changes committed in the store but not yet applied by this agent: head minus applied position (NaN: store unreachable)',
    (p) => (p.ok ? Math.max(0, p.head - st().lastChangeSeq) : NaN),
  );

  const info = new Gauge({
    name: `${P}build_info`,
    help: 'Always 1; labels say which agent this is',
    labelNames: ['version', 'host_id'] as const,
    registers: [r],
  });
  info.set({ version: src.version, host_id: src.hostId }, 1);
  registerLbConnectionMetrics(r, () => st().lbConnections);
  return r;
}

/**
 * /health: `status` ok when Open vSwitch is connected and the store answers; degraded when only the
 * store does not answer (the agent goes on forwarding and simulating on its cached topology, and
 * catches up when the store is back: still serving, so `ok` and HTTP 200); down when the switch is
 * not connected (503).
 */
export async function agentHealth(src: AgentMetricsSource, storeTimeoutMs = 1000): Promise<HealthReport> {
  const openflow = src.openflowConnected();
  const p = await probeStore(src, storeTimeoutMs);
  return {
    ok: openflow,
    status: !openflow ? 'down' : p.ok ? 'ok' : 'degraded',
    openflow,
    store: p.ok,
    ...(p.ok ? {} : { storeError: p.error }),
    hostId: src.hostId,
    lastChangeApplied: src.stats().lastChangeSeq,
  };
}

/** Starts the agent's endpoint on `listen`, or nothing when it is null (metrics turned off). */
export async function startAgentMetrics(
  listen: string | null,
  src: AgentMetricsSource,
  log: Logger,
): Promise<MetricsServer | undefined> {
  if (listen === null) return undefined;
  return startMetricsServer({
    listen,
    registry: agentRegistry(src),
    health: () => agentHealth(src),
    log,
  });
}
