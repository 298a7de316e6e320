/**
 * The agent's counters and its latency histograms (the simulation alone, and a packet-in from the
 * arrival of its bytes to the write of the agent's answer), as plain numbers the control API and
 * metrics read.
 *
 * Invariant: counters only grow (a restart starts them at zero); the histograms are
 * latency-histogram.ts' (fixed log-linear microsecond buckets, 1 us to 1 s and +Inf; observing
 * formats and allocates nothing).
 */
import { LatencyHistogram } from './latency-histogram.js';
import { LbConnectionCounts } from './lb-counts.js';

export { LatencyHistogram } from './latency-histogram.js';

/** The DHCP service's counters (dhcp-service.ts): requests, replies, and silences by reason. */
export class DhcpStats {
  requests = 0;
  replies = 0;
  naks = 0;
  releases = 0;
  declines = 0;
  /** Store or internal failures (logged); the client retries. */
  failures = 0;
  /** Requests not answered, by reason (dhcp-server.ts DhcpIgnoreReason): malformed, spoofed-chaddr... */
  readonly ignored: Record<string, number> = {};

  ignore(reason: string): void {
    this.ignored[reason] = (this.ignored[reason] ?? 0) + 1;
  }

  get ignoredTotal(): number {
    let n = 0;
    for (const v of Object.values(this.ignored)) n += v;
    return n;
  }

  snapshot(): Record<string, unknown> {
    const { requests, replies, naks, releases, declines, failures } = this;
    return { requests, replies, naks, releases, declines, failures, ignored: { ...this.ignored } };
  }
}

export class AgentStats {
  packetIns = 0;
  simulations = 0;
  flowsInstalled = 0;
  flowsRemoved = 0;
  /**
   * Idle-expiry reads done (idle-expiry.ts), each of one slice of the flows; the last one's number of
   * slices, flows read and milliseconds (request to last part).
   */
  idleSweeps = 0;
  idleSweepSlices = 0;
  idleSweepFlows = 0;
  idleSweepMs = 0;
  /** Flows an earlier run left in the switch, kept on (re)connection because they are still right. */
  flowsAdopted = 0;
  /** Flows an earlier run left in the switch, deleted on (re)connection. */
  flowsDiscarded = 0;
  /** Reactive flows found in the switch but not recorded by the agent, deleted (orphan-flows.ts). */
  flowsOrphaned = 0;
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
  /** Packet-ins a just-installed flow already covered (sent on with its actions, not simulated). */
  duplicates = 0;
  /** Packet-ins rehearsed while the agent was idle (rehearsal.ts; nothing committed or written). */
  rehearsals = 0;
  /** Writes of packet-ins' answers: one per packet-in (or per event-loop turn, packet-in-answer.ts perTurn). */
  packetInWrites = 0;
  /** Predicted reply flows installed with their forward flow (here, or asked of this host). */
  replyFlows = 0;
  /** Reply flows asked of the agent of the host where the reply enters. */
  replyFlowRequests = 0;
  /** First packets that waited for another host's reply flow and went out on its answer. */
  replyFlowAnswers = 0;
  /** First packets that waited for another host's reply flow and went out without its answer. */
  replyFlowWaitsExpired = 0;
  /** Next hops that never answered ARP (held packets got ICMP host unreachable). */
  arpFailures = 0;
  /** ARP requests sent again for next hops marked failed (waits.ts: back-off probes). */
  arpProbes = 0;
  /** Learned entries waiting for the store (learned-sync.ts; a gauge). */
  learnedUnpublished = 0;
  /** Publications of learned state the store refused or did not answer (each retried). */
  learnedPublishFailures = 0;
  /** Learned entries dropped unpublished because too many waited for the store. */
  learnedDropped = 0;
  /** Replies that waited for their connection's flow state and went on without it. */
  flowStateWaitsExpired = 0;
  /** Packets dropped after waiting too long for SNAT ports. */
  natPortDrops = 0;
  /** New connections refused (ICMP error) because every SNAT port this host held was in use. */
  natExhausted = 0;
  readonly dhcp = new DhcpStats();
  /** New connections per load balancer pool member (lb-counts.ts). */
  readonly lbConnections = new LbConnectionCounts();
  /** Packets port security dropped (sim/port-security.ts), by reason: mac, ip, arp, dhcp-server. */
  readonly portSecurityDrops: Record<string, number> = {};
  /** Topology changes applied from the store's feed. */
  changesApplied = 0;
  /** Topology objects in the replica (a gauge). */
  objectsHeld = 0;
  /** Feed changes about objects this agent does not hold (interest-keeper.ts), not applied. */
  changesIgnored = 0;
  /** Loads of objects a simulation needed (the packet waited). */
  demandLoads = 0;
  /** Objects dropped from the replica because nothing local reaches them any more. */
  objectsDropped = 0;
  /** Walks of the interest set over the store after a change of references. */
  recomputes = 0;
  lastChangeSeq = 0;
  /** The simulation alone. */
  readonly simLatency = new LatencyHistogram();
  /** A packet-in from its bytes' arrival to the write of the agent's answer. */
  readonly packetInLatency = new LatencyHistogram();
  /** How long first packets across hosts waited for the egress agent's reply flow (us; flow-sharing.ts). */
  readonly replyFlowWait = new LatencyHistogram();

  /** Counts a packet port security dropped. */
  portSecurityDrop(reason: string): void {
    this.portSecurityDrops[reason] = (this.portSecurityDrops[reason] ?? 0) + 1;
  }

  observeSimulation(us: number): void {
    this.simulations++;
    this.simLatency.observe(us);
  }

  snapshot(liveFlows: number): Record<string, unknown> {
    return {
      packetIns: this.packetIns,
      packetInWrites: this.packetInWrites,
      simulations: this.simulations,
      flowsInstalled: this.flowsInstalled,
      flowsRemoved: this.flowsRemoved,
      idleSweeps: this.idleSweeps,
      idleSweepSlices: this.idleSweepSlices,
      idleSweepFlows: this.idleSweepFlows,
      idleSweepMs: this.idleSweepMs,
      flowsAdopted: this.flowsAdopted,
      flowsDiscarded: this.flowsDiscarded,
      flowsOrphaned: this.flowsOrphaned,
      flowsLive: liveFlows,
      invalidations: this.invalidations,
      flowsInvalidated: this.flowsInvalidated,
      queueDrops: this.queueDrops,
      notYetDrops: this.notYetDrops,
      uncacheable: this.uncacheable,
      ignored: this.ignored,
      generated: this.generated,
      changesApplied: this.changesApplied,
      objectsHeld: this.objectsHeld,
      changesIgnored: this.changesIgnored,
      demandLoads: this.demandLoads,
      objectsDropped: this.objectsDropped,
      recomputes: this.recomputes,
      lastChangeSeq: this.lastChangeSeq,
      duplicates: this.duplicates,
      rehearsals: this.rehearsals,
      replyFlows: this.replyFlows,
      replyFlowRequests: this.replyFlowRequests,
      replyFlowAnswers: this.replyFlowAnswers,
      replyFlowWaitsExpired: this.replyFlowWaitsExpired,
      arpFailures: this.arpFailures,
      arpProbes: this.arpProbes,
      flowStateWaitsExpired: this.flowStateWaitsExpired,
      learnedUnpublished: this.learnedUnpublished,
      learnedPublishFailures: this.learnedPublishFailures,
      learnedDropped: this.learnedDropped,
      natPortDrops: this.natPortDrops,
      natExhausted: this.natExhausted,
      dhcp: this.dhcp.snapshot(),
      lbConnections: this.lbConnections.snapshot(),
      portSecurityDrops: { ...this.portSecurityDrops },
      simLatencyUs: this.simLatency.snapshot(),
      packetInLatencyUs: this.packetInLatency.snapshot(),
      replyFlowWaitUs: this.replyFlowWait.snapshot(),
    };
  }
}
