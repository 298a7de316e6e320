/**
 * The agent's counters and its simulation-latency histogram, as plain numbers the control API and
 * metrics read.
 *
 * Invariant: counters only grow (a restart starts them at zero); the histogram's buckets are fixed
 * upper bounds in microseconds, and every observation lands in exactly one bucket (the last one is
 * +Inf).
 */
export const LATENCY_BUCKETS_US = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, Infinity] as const;

export class AgentStats {
  packetIns = 0;
  simulations = 0;
  flowsInstalled = 0;
  flowsRemoved = 0;
  invalidations = 0;
  /** Flows deleted because something they depended on changed. */
  flowsInvalidated = 0;
  queueDrops = 0;
  /** Packets dropped because an object they needed was not loaded. */
  notYetDrops = 0;
  /** Packets handled without installing a flow. */
  uncacheable = 0;
  /** Packet-ins that could not be parsed or came from an unknown port. */
  ignored = 0;
  generated = 0;
  /** Topology changes applied from the store's feed. */
  changesApplied = 0;
  lastChangeSeq = 0;
  readonly simLatency = new Array<number>(LATENCY_BUCKETS_US.length).fill(0);
  simLatencySumUs = 0;

  observeSimulation(us: number): void {
    this.simulations++;
    this.simLatencySumUs += us;
    let i = 0;
    while (us > LATENCY_BUCKETS_US[i]!) i++;
    this.simLatency[i]!++;
  }

  snapshot(liveFlows: number): Record<string, unknown> {
    return {
      packetIns: this.packetIns,
      simulations: this.simulations,
      flowsInstalled: this.flowsInstalled,
      flowsRemoved: this.flowsRemoved,
      flowsLive: liveFlows,
      invalidations: this.invalidations,
      flowsInvalidated: this.flowsInvalidated,
      queueDrops: this.queueDrops,
      notYetDrops: this.notYetDrops,
      uncacheable: this.uncacheable,
      ignored: this.ignored,
      generated: this.generated,
      changesApplied: this.changesApplied,
      lastChangeSeq: this.lastChangeSeq,
      simLatencyUs: {
        buckets: LATENCY_BUCKETS_US.map((b, i) => ({
          le: b === Infinity ? '+Inf' : b,
          count: this.simLatency[i],
        })),
        sum: Math.round(this.simLatencySumUs),
        count: this.simulations,
      },
    };
  }
}
