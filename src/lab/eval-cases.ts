/**
 * The evaluation's pure parts: RTT statistics of a case, the filter steps and rule sets it installs,
 * and the targets it judges the figures against.
 *
 * Invariant: nothing here does I/O; a statistic of nothing is NaN, never a made-up number, and a
 * target computed from a NaN is reported as not met.
 */
import { snapshotDelta } from '../agent/latency-histogram.js';
import type { LabState, LabVm } from './lab.js';
import type { CaseResult, EvalReport, RttStats, TargetResult } from './eval-report.js';
import { perFlowOf } from './per-flow.js';

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median of the runs that gave a figure (NaN: a failed run); NaN when none did. */
export function medianOf(values: readonly number[]): number {
  return quantile(
    values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b),
    0.5,
  );
}

/** The agent's iperf3 throughput over NORMAL's, runs in turn: the ratio of their medians. */
export function throughputInTurnRatio(t: {
  agentMbps: readonly number[];
  normalMbps: readonly number[];
}): number {
  return medianOf(t.agentMbps) / medianOf(t.normalMbps);
}

export function rttStats(values: ReadonlyArray<number | null>): RttStats {
  const ok = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  return {
    n: values.length,
    lost: values.length - ok.length,
    median: quantile(ok, 0.5),
    p90: quantile(ok, 0.9),
    p99: quantile(ok, 0.99),
  };
}

export function caseOf(
  name: string,
  flows: ReadonlyArray<ReadonlyArray<number | null>>,
  extra: Partial<CaseResult> = {},
): CaseResult {
  const first = rttStats(flows.map((f) => f[0] ?? null));
  const later = rttStats(flows.flatMap((f) => f.slice(1)));
  const transient = rttStats(flows.flatMap((f) => f.slice(1, 5)));
  const steady = rttStats(flows.flatMap((f) => f.slice(5)));
  const c: CaseResult = {
    name,
    first,
    later,
    transient,
    steady,
    flows: flows.length,
    firstMinusLaterMs: first.median - later.median,
    ...extra,
  };
  // The per-flow figures of the JSON report, from the counts (packet-ins and their duplicates).
  const pf = perFlowOf(c);
  if (pf !== undefined) {
    c.packetInsPerFlow = pf.packetIns;
    if (pf.duplicates !== undefined) c.duplicatesPerFlow = pf.duplicates;
  }
  return c;
}

/**
 * The order in which cases measured together run their flow number `flow`: every case once, the order
 * reversed every other flow (ABBA), so no case always follows the same other one.
 */
export function flowTurn(flow: number, cases: number): number[] {
  const order = Array.from({ length: cases }, (_, i) => i);
  return flow % 2 === 0 ? order : order.reverse();
}

/** An agent's packet-in-to-write histogram as its stats give it (non-empty buckets only). */
export type Histogram = { buckets: Array<{ le: number | string; count: number }>; count: number };

/**
 * p50 and p99 (bucket upper bounds, us; the agent's buckets are log-linear, at most 10% wide) of the
 * observations between two snapshots of histograms.
 */
export function histogramDelta(
  before: Histogram[],
  after: Histogram[],
): { p50: number; p99: number; count: number } {
  return snapshotDelta(before, after);
}

/**
 * The cumulative filter steps of part 2. Each step adds one rule and every rule is read for every
 * probe flow: the drops never match the probes; the address-group rule does match them (its group
 * holds the probes' destination among others, `featureGroupAddresses`), with `continue`, so the
 * lookup is a real hit and the rules after it are still read; so does the port-group rule (its group
 * holds the probes' source port, the bridge port of the VM they come from, and the destination's).
 */
export const FEATURE_STEPS: ReadonlyArray<{
  name: string;
  rule?: (groups: FeatureGroups) => Record<string, unknown>;
}> = [
  { name: 'no filter' },
  {
    name: 'dst-ip',
    rule: () => ({ action: 'drop', conditions: { dstPrefix: { value: '203.0.113.250/32' } } }),
  },
  {
    name: 'src-ip',
    rule: () => ({ action: 'drop', conditions: { srcPrefix: { value: '203.0.113.251/32' } } }),
  },
  {
    name: 'src-port',
    rule: () => ({
      action: 'drop',
      conditions: { ipProto: { value: 6 }, srcPort: { value: { start: 1, end: 1 } } },
    }),
  },
  {
    name: 'dst-port',
    rule: () => ({
      action: 'drop',
      conditions: { ipProto: { value: 6 }, dstPort: { value: { start: 1, end: 1 } } },
    }),
  },
  {
    name: 'ip-address-group',
    rule: (g) => ({ action: 'continue', conditions: { ipAddrGroupDst: { value: g.ipAddrGroup } } }),
  },
  {
    name: 'port-group',
    rule: (g) => ({ action: 'continue', conditions: { inPortGroup: { value: g.portGroup } } }),
  },
  {
    name: 'tcp-flags',
    rule: () => ({
      action: 'drop',
      conditions: { ipProto: { value: 6 }, tcpFlags: { value: { set: 0x29, mask: 0x29 } } },
    }),
  },
  {
    name: 'tcp-window',
    rule: () => ({
      action: 'drop',
      conditions: { ipProto: { value: 6 }, tcpWindow: { value: { start: 1, end: 1 } } },
    }),
  },
];

/** The groups the filter steps' rules name (ids): an IP address group and a port group. */
export interface FeatureGroups {
  readonly ipAddrGroup: string;
  readonly portGroup: string;
}

/** The address-group step's group: the probes' destination `dst` and 63 other addresses (none in use). */
export function featureGroupAddresses(dst: string): string[] {
  return [dst, ...Array.from({ length: 63 }, (_, i) => `203.0.113.${160 + i}`)];
}

/** What a layer 4 step's chains are made of: the pair's addresses, gateways and router ports. */
export interface Layer4Pair {
  readonly src: string;
  readonly dst: string;
  readonly srcGateway: string;
  readonly dstGateway: string;
  readonly srcPort: string;
  readonly dstPort: string;
}

/** A floating IP for the destination VM, off every lab subnet (the router routes to it). */
export const EVAL_FLOATING_IP = '203.0.113.77';

/**
 * The layer 4 steps of part 2, through the router on one host: each gives the router's chains
 * (inbound filter, NAT in, NAT out) as rule lists, and the address the probes go to.
 */
export const LAYER4_STEPS: ReadonlyArray<{
  name: string;
  target?: string;
  chains: (
    p: Layer4Pair,
  ) => Partial<
    Record<'inboundChainId' | 'natInboundChainId' | 'natOutboundChainId', Array<Record<string, unknown>>>
  >;
}> = [
  { name: 'routed', chains: () => ({}) },
  {
    name: 'routed + conntrack',
    chains: () => ({
      inboundChainId: [
        { action: 'accept', conditions: { conntrack: { value: 'established' } } },
        { action: 'accept', conditions: { conntrack: { value: 'new' } } },
        { action: 'drop' },
      ],
    }),
  },
  {
    name: 'routed + SNAT',
    chains: (p) => ({
      natOutboundChainId: [
        {
          action: 'snat',
          conditions: { srcPrefix: { value: `${p.src}/32` }, outPorts: { value: [p.dstPort] } },
          natTargets: [{ addressFrom: p.dstGateway, addressTo: p.dstGateway, portFrom: 1024, portTo: 65535 }],
        },
      ],
      natInboundChainId: [{ action: 'rev-snat', conditions: { dstPrefix: { value: `${p.dstGateway}/32` } } }],
    }),
  },
  {
    name: 'routed + floating IP',
    target: EVAL_FLOATING_IP,
    chains: (p) => ({
      natInboundChainId: [
        {
          action: 'static-dnat',
          conditions: { dstPrefix: { value: `${EVAL_FLOATING_IP}/32` } },
          natTargets: [{ addressFrom: p.dst, addressTo: p.dst }],
        },
      ],
      natOutboundChainId: [
        {
          action: 'static-snat',
          conditions: { srcPrefix: { value: `${p.dst}/32` }, outPorts: { value: [p.srcPort] } },
          natTargets: [{ addressFrom: EVAL_FLOATING_IP, addressTo: EVAL_FLOATING_IP }],
        },
      ],
    }),
  },
];

/** `n` rules: random 5-tuple drops that never match, and the probes' accept near the end. */
export function growthRules(n: number, src: LabVm): Array<Record<string, unknown>> {
  const rules: Array<Record<string, unknown>> = [];
  let seed = 12345;
  const rnd = (m: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % m;
  };
  const noise = () => ({
    action: 'drop',
    conditions: {
      ipProto: { value: 17 },
      srcPrefix: { value: `203.0.113.${rnd(256)}/32` },
      dstPrefix: { value: `203.0.113.${rnd(256)}/32` },
      srcPort: { value: { start: 1 + rnd(60000), end: 1 + rnd(60000) + 0 } },
      dstPort: { value: { start: 1000 + rnd(1000), end: 1000 + rnd(1000) + 500 } },
    },
  });
  const accept = {
    action: 'accept',
    conditions: {
      ipProto: { value: 17 },
      srcPrefix: { value: `${src.ip}/32` },
      dstPort: { value: { start: 7, end: 7 } },
    },
  };
  for (let i = 0; i < n - 2; i++) rules.push(fixRange(noise()));
  rules.push(accept);
  if (n >= 2) rules.push(fixRange(noise()));
  return rules.slice(0, n);
}

function fixRange(r: {
  action: string;
  conditions: Record<string, { value: unknown }>;
}): Record<string, unknown> {
  for (const k of ['srcPort', 'dstPort']) {
    const v = r.conditions[k]!.value as { start: number; end: number };
    if (v.start > v.end) r.conditions[k] = { value: { start: v.end, end: v.start } };
  }
  return r;
}

function ratio(a: number, b: number): number {
  return a / b;
}

/**
 * Packet-ins per new flow of case `c` against 1.1, with the duplicates among them as the value's
 * detail (e.g. '0.20 dup'): the part that is Open vSwitch's datapath, not the agent's simulation.
 */
export function packetInsTarget(name: string, c: CaseResult): TargetResult {
  const pf = perFlowOf(c);
  const value = pf?.packetIns ?? NaN;
  return {
    name,
    value,
    target: 1.1,
    unit: '',
    ...(pf?.duplicates === undefined ? {} : { detail: `${pf.duplicates.toFixed(2)} dup` }),
    met: value <= 1.1,
  };
}

export function targets(
  base: CaseResult[],
  baseline: EvalReport['baseline'],
  floor: NonNullable<EvalReport['floor']>,
  steps: CaseResult[],
  growth: CaseResult[],
  firstContact: EvalReport['firstContact'],
  agentUs: NonNullable<EvalReport['agentPacketInUs']>,
  newFlowUs?: EvalReport['agentNewFlowPacketInUs'],
): TargetResult[] {
  const agentSame = base[0]!;
  const noFilter = steps[0];
  const r1 = growth.find((g) => g.rules === 1);
  const rMax = growth.at(-1);
  const atMost = (name: string, value: number, target: number, unit: string): TargetResult => ({
    name,
    value,
    target,
    unit,
    met: value <= target,
  });
  const steadyOf = (c: CaseResult) => (c.steady && c.steady.n > 0 ? c.steady.median : c.later.median);
  const out = [
    atMost(
      "agent first-packet RTT / minimal controller's (same run, same host, flow by flow in turn)",
      ratio((floor.agentWithMinimal ?? agentSame).first.median, floor.minimal.first.median),
      1.05,
      'x',
    ),
    atMost(
      "agent first-packet RTT / ovs-testcontroller's (same run, same host, flow by flow in turn)",
      ratio((floor.agentWithTestController ?? agentSame).first.median, floor.testController.first.median),
      1.0,
      'x',
    ),
    atMost(
      "agent later-packet RTT at steady state (packets 6+) / OVS NORMAL's",
      ratio(steadyOf(agentSame), steadyOf(baseline.sameHost)),
      1.05,
      'x',
    ),
    packetInsTarget(
      'packet-ins per new flow (agent, same host, reply flow installed with the forward one)',
      agentSame,
    ),
    // Across hosts the egress host's agent installs the reply's flow; the first packet waits for it.
    ...base
      .slice(1)
      .filter((c) => c.packetIns !== undefined && c.name.includes('across hosts'))
      .map((c) =>
        packetInsTarget(`packet-ins per new flow (${c.name}, reply flow installed by the egress agent)`, c),
      ),
    // Over the whole study: mostly the packet-ins of iperf3 through the TCP-window rule (every packet
    // goes up), where the packet-ins of one socket read wait for each other.
    atMost('agent packet-in to write, p50 (its own histogram, whole study)', agentUs.p50, 100, 'us'),
    atMost('agent packet-in to write, p99 (its own histogram, whole study)', agentUs.p99, 500, 'us'),
    // The probe flows only: first packets of new flows (and the transient packets 2-5).
    ...(newFlowUs
      ? [
          atMost('agent packet-in to write, p50 (probe flows only)', newFlowUs.p50, 100, 'us'),
          atMost('agent packet-in to write, p99 (probe flows only)', newFlowUs.p99, 500, 'us'),
        ]
      : []),
  ];
  if (firstContact)
    out.push(
      atMost(
        'first contact across router and hosts / warm first packet (same path)',
        ratio(firstContact.cold.first.median, firstContact.warm.first.median),
        3,
        'x',
      ),
    );
  if (r1 && rMax)
    out.push(
      atMost(
        `first-packet RTT at ${rMax.rules} rules / at 1 rule`,
        ratio(rMax.first.median, r1.first.median),
        1.2,
        'x',
      ),
    );
  // The runs in turn when the study made them; else its no-filter step against NORMAL's one run.
  const inTurn = baseline.throughputInTurn;
  const tput =
    inTurn !== undefined
      ? {
          name: 'iperf3 throughput through agent flows / OVS NORMAL (same host, runs in turn, medians)',
          value: throughputInTurnRatio(inTurn),
        }
      : noFilter?.throughputMbps !== undefined
        ? {
            name: 'iperf3 throughput through agent flows / OVS NORMAL',
            value: ratio(noFilter.throughputMbps, baseline.throughputMbps),
          }
        : undefined;
  if (tput) out.push({ ...tput, target: 0.95, unit: 'x', met: tput.value >= 0.95 });
  return out;
}

/** Two VMs the evaluation probes between: `src` sends, `dst` answers. */
export interface Pair {
  readonly src: LabVm;
  readonly dst: LabVm;
}

/**
 * The VMs the evaluation uses: a source, another VM on its bridge and host, one on its bridge
 * elsewhere, and one on another bridge elsewhere (across the router and hosts).
 */
export function evalPairs(lab: LabState): {
  same: Pair;
  cross: Pair;
  routed: Pair | undefined;
  sameRouted: Pair | undefined;
} {
  const [hv1, hv2] = lab.hosts;
  if (!hv1 || !hv2) throw new Error('eval: the lab needs at least 2 hosts (midonet-lab up --hosts 2)');
  const src = lab.vms.find((v) => v.host === hv1.name)!;
  const same = lab.vms.find((v) => v !== src && v.host === hv1.name && v.bridge === src.bridge);
  const cross = lab.vms.find((v) => v.host === hv2.name && v.bridge === src.bridge);
  if (!same || !cross)
    throw new Error(
      'eval: the lab needs 2 VMs of one bridge on hv1 and 1 on hv2 (midonet-lab up --vms-per-host 3)',
    );
  const routed = lab.vms.find((v) => v.host === hv2.name && v.bridge !== src.bridge);
  const near = lab.vms.find((v) => v.host === hv1.name && v.bridge !== src.bridge);
  return {
    same: { src, dst: same },
    cross: { src, dst: cross },
    routed: routed && { src, dst: routed },
    sameRouted: near && { src, dst: near },
  };
}
