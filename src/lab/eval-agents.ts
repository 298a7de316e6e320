/**
 * The agents' side of the evaluation: their stats read over the control API around each phase (a
 * case's probe flows, an iperf3 run), so the study reports their packet-in-to-write time over the
 * whole study, over the probe flows alone and phase by phase, how long first packets waited for
 * another host's reply flow, and how often they rehearsed while idle (rehearsal.ts).
 *
 * Invariant: a phase is read between two snapshots of every agent's histograms taken right before
 * and right after it, so its figures hold its own packet-ins only; a phase with none is not listed.
 */
import { controlRequest } from '../control/control-api.js';
import { histogramDelta, type Histogram } from './eval-cases.js';
import type { EvalReport } from './eval-report.js';
import { counterDelta, duplicatesDelta } from './per-flow.js';
import type { LabHost } from './lab.js';

type AgentStats = {
  packetIns: number;
  /** packet-ins a just-installed flow already covered (sent on with PACKET_OUT, not simulated) */
  duplicates?: number;
  packetInLatencyUs: Histogram;
  replyFlowWaitUs?: Histogram;
  /** packet-ins rehearsed while idle (flows.rehearseMs; nothing committed or written) */
  rehearsals?: number;
};

export class AgentPhases {
  private readonly phases: NonNullable<EvalReport['agentPacketInPhases']> = [];
  /** Every agent's histogram before and after each case's probe flows (not the iperf3 runs). */
  private readonly probes: { before: Histogram[]; after: Histogram[] } = { before: [], after: [] };
  private start: AgentStats[] = [];

  constructor(private readonly hosts: readonly LabHost[]) {}

  private stats(): Promise<AgentStats[]> {
    return Promise.all(
      this.hosts.map(async (h) => (await controlRequest(h.controlSocket, { cmd: 'stats' })) as AgentStats),
    );
  }

  /** The study starts (after its warm-up): what the agents saw before is left out. */
  async begin(): Promise<void> {
    this.start = await this.stats();
  }

  /**
   * Runs `fn` as phase `name` (`probes`: a case's probe flows); returns its value and the agents'
   * packet-ins during it, and how many of those were duplicates (undefined when an agent does not
   * count them).
   */
  async phase<T>(
    name: string,
    fn: () => Promise<T>,
    probes = false,
  ): Promise<{ value: T; packetIns: number; duplicates: number | undefined }> {
    const before = await this.stats();
    const value = await fn();
    const after = await this.stats();
    const hist = (ss: AgentStats[]) => ss.map((s) => s.packetInLatencyUs);
    if (probes) {
      this.probes.before.push(...hist(before));
      this.probes.after.push(...hist(after));
    }
    const count = (ss: AgentStats[]) => ss.reduce((n, s) => n + s.packetIns, 0);
    const us = histogramDelta(hist(before), hist(after));
    if (us.count > 0) this.phases.push({ name, ...us });
    return { value, packetIns: count(after) - count(before), duplicates: duplicatesDelta(before, after) };
  }

  /** The study's figures of the agents, from `begin` to now. */
  async report(): Promise<
    Pick<
      EvalReport,
      'agentNewFlowPacketInUs' | 'agentPacketInPhases' | 'agentReplyWaitUs' | 'agentRehearsals'
    > & {
      agentPacketInUs: NonNullable<EvalReport['agentPacketInUs']>;
    }
  > {
    const end = await this.stats();
    const rehearsals = counterDelta('rehearsals', this.start, end);
    const waits = (ss: AgentStats[]) => ss.flatMap((s) => (s.replyFlowWaitUs ? [s.replyFlowWaitUs] : []));
    return {
      agentPacketInUs: histogramDelta(
        this.start.map((s) => s.packetInLatencyUs),
        end.map((s) => s.packetInLatencyUs),
      ),
      agentNewFlowPacketInUs: histogramDelta(this.probes.before, this.probes.after),
      agentPacketInPhases: this.phases,
      ...(waits(end).length === end.length
        ? { agentReplyWaitUs: histogramDelta(waits(this.start), waits(end)) }
        : {}),
      ...(rehearsals === undefined ? {} : { agentRehearsals: rehearsals }),
    };
  }
}
