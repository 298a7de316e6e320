/**
 * eval-report: the shape of the lab's first-packet latency study, as the evaluation writes it and
 * as the chart renderer (charts.ts) and any report printer read it.
 *
 * The study measures, for each case, the round-trip time of the first packet of each new flow (the
 * one that goes up to the agent as a packet-in and is simulated) against later packets of the same
 * flow (matched by the installed datapath flow), with plain OVS NORMAL as the baseline.
 *
 * Invariant: this module holds types only, no behaviour. All times are milliseconds, throughput is
 * Mbit/s. A statistic of a case where nothing came back is NaN (never a made-up number), and a
 * measurement that was not taken is an absent optional field: readers must treat both as "no value".
 */

/** Round-trip-time statistics of one set of packets, in milliseconds. */
export interface RttStats {
  /** packets sent */
  n: number;
  /** packets whose echo did not come back in time */
  lost: number;
  /** median RTT of the answered packets (NaN when none was answered) */
  median: number;
  /** 90th percentile RTT */
  p90: number;
  /** 99th percentile RTT */
  p99: number;
}

/** One measured case: a topology or filter configuration under test. */
export interface CaseResult {
  /** e.g. 'agent, same host', 'dst-ip filter', '1000 rules' */
  name: string;
  /** first packet of each new flow */
  first: RttStats;
  /** later packets of the same flows (packets 2 to N) */
  later: RttStats;
  /** packets 2 to 5: right after the flow is installed, while Open vSwitch revalidates its cache */
  transient?: RttStats;
  /** packets 6 to N: the installed flow at steady state */
  steady?: RttStats;
  /** flows measured */
  flows?: number;
  /** median first - median later */
  firstMinusLaterMs: number;
  /** iperf3 throughput, when measured */
  throughputMbps?: number;
  /** packet-ins the agent saw during the case */
  packetIns?: number;
  /**
   * of those, duplicates: packet-ins that matched a flow the agent had just installed or was
   * installing, sent on with PACKET_OUT without a new simulation (the agents' `duplicates` stat over
   * the case; per-flow.ts)
   */
  duplicates?: number;
  /** packetIns / flows */
  packetInsPerFlow?: number;
  /** duplicates / flows: the part of packetInsPerFlow that was duplicates */
  duplicatesPerFlow?: number;
  /** number of rules in the chain, for the rule-growth cases */
  rules?: number;
}

/** One stated goal of the study and whether the measurement met it. */
export interface TargetResult {
  /** what is measured, e.g. 'first - later, same host' */
  name: string;
  /** measured value */
  value: number;
  /** the goal */
  target: number;
  /** unit of value and target, e.g. 'ms' */
  unit: string;
  /** the goal as the report prints it when it is neither "<= target" nor ">= target", e.g. 'within 10% of 1x' */
  goal?: string;
  /** what the value is made of, printed beside it, e.g. '0.20 dup' for packet-ins per flow */
  detail?: string;
  /** whether value met target */
  met: boolean;
}

/** The whole study: where it ran, how, and what it measured. */
export interface EvalReport {
  /** the machine the study ran on */
  machine: {
    hostname: string;
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    kernel: string;
    node: string;
    ovs: string;
  };
  /** ISO 8601 start time */
  startedAt: string;
  /** wall-clock duration of the study, seconds */
  durationS: number;
  /** how the study was run */
  settings: { flows: number; packetsPerFlow: number; quick: boolean; method: string };
  /** plain OVS NORMAL, no agent */
  baseline: {
    sameHost: CaseResult;
    crossHost: CaseResult;
    /** NORMAL's iperf3 throughput, same host (the median of `throughputInTurn.normalMbps` when measured) */
    throughputMbps: number;
    /**
     * iperf3 through the agent's flows and through NORMAL, same pair of VMs, run after run in turn
     * (agent, NORMAL, agent, ...): the throughput target is the ratio of their medians
     */
    throughputInTurn?: { agentMbps: number[]; normalMbps: number[] };
  };
  /**
   * The floor of a reactive controller on this machine, same pair of VMs, same host: Debian's
   * ovs-testcontroller (a C learning switch) and the project's minimal controller (FLOW_MOD +
   * PACKET_OUT per packet-in, nothing else) on the baseline bridge; `agentWith...`: the agent's
   * same-host flows measured flow by flow in turn with that controller's (the ratio's numerator)
   */
  floor?: {
    testController: CaseResult;
    minimal: CaseResult;
    agentWithTestController?: CaseResult;
    agentWithMinimal?: CaseResult;
  };
  /**
   * A first packet to a VM never contacted before (MAC, ARP and flow tables empty on every host and
   * VM) across the router and hosts, against the same flows with the tables warm
   */
  firstContact?: { cold: CaseResult; warm: CaseResult };
  /**
   * With a lab brought up with --bgp --ecmp: UDP flows across the router to the address behind the
   * ISP, whose default route is learned over two uplinks on two hosts, and the flows (source ports)
   * the ISP saw arrive over each uplink
   */
  ecmp?: {
    twoUplinks: CaseResult;
    /** the same flows with the second uplink's BGP session shut at the ISP (one path) */
    oneUplink?: CaseResult;
    flowsPerUplink: Array<{ uplink: string; flows: number }>;
  };
  /**
   * Packet-ins the agents rehearsed while idle over the study (their flows.rehearseMs: the last one
   * simulated and encoded, nothing committed or written); 0: rehearsal off
   */
  agentRehearsals?: number;
  /** the agents' own time from a packet-in's arrival to the write of their answer, over the study */
  agentPacketInUs?: { p50: number; p99: number; count: number };
  /**
   * The same over the probe flows' phases only (every case's flows: first packets of new flows and
   * their transient packets), without the iperf3 runs
   */
  agentNewFlowPacketInUs?: { p50: number; p99: number; count: number };
  /**
   * The same, phase by phase (each case's probe flows, each iperf3 run; phases without packet-ins
   * left out), so a tail can be told apart: new flows' first packets, or a stream whose every packet
   * goes up (an uncacheable flow), where the packet-ins of one socket read wait for each other
   */
  agentPacketInPhases?: Array<{ name: string; p50: number; p99: number; count: number }>;
  /** how long first packets across hosts waited for the egress agent's reply flow (agents that wait) */
  agentReplyWaitUs?: { p50: number; p99: number; count: number };
  /** agent same host, agent cross host */
  base: CaseResult[];
  /** filter feature steps: 'no filter', 'dst-ip', 'src-ip', 'src-port', 'dst-port', ..., 'tcp-window' */
  features: CaseResult[];
  /** rule-count growth: 1, 10, 100, 1000, 10000 rules */
  ruleGrowth: CaseResult[];
  /** stated goals and whether they were met */
  targets: TargetResult[];
}
