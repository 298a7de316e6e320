/**
 * The evaluation report as tables for people: one per part, each RTT column in milliseconds, with the
 * ratio to plain OVS NORMAL measured in the same run.
 *
 * Invariant: a missing or NaN figure prints as '-', never as a number.
 */
import type { CaseResult, EvalReport } from './eval-report.js';
import { packetInsText, perFlowText } from './per-flow.js';
import { throughputInTurnRatio } from './eval-cases.js';

const f = (v: number | undefined, digits = 3): string =>
  v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
const x = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-');

/** The iperf3 runs through the agent's flows and NORMAL in turn, and the ratio of their medians. */
function inTurnText(t: EvalReport['baseline']['throughputInTurn']): string {
  if (t === undefined) return '';
  const runs = (v: readonly number[]) => v.map((m) => f(m, 0)).join(', ');
  return ` (median of ${t.normalMbps.length} runs of 1 s in turn with the agent's flows: NORMAL ${runs(t.normalMbps)}, agent ${runs(t.agentMbps)} Mbit/s; agent / NORMAL ${x(throughputInTurnRatio(t))})`;
}

function table(title: string, head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [title, line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function rttCells(c: CaseResult): string[] {
  return [
    f(c.first.median),
    f(c.first.p90),
    f(c.first.p99),
    f(c.later.median),
    f(c.later.p90),
    f(c.later.p99),
    f(c.firstMinusLaterMs),
  ];
}

const RTT_HEAD = [
  'first med',
  'first p90',
  'first p99',
  'later med',
  'later p90',
  'later p99',
  'first-later',
];

/** Part 0: the agent against the floor of any reactive controller, same pair of VMs, same run. */
function floorTable(r: EvalReport): string | undefined {
  if (r.floor === undefined) return undefined;
  const agent = r.base[0]!;
  const paired = [r.floor.agentWithTestController, r.floor.agentWithMinimal].filter(
    (c): c is CaseResult => c !== undefined,
  );
  const rows = [r.baseline.sameHost, r.floor.testController, r.floor.minimal, agent, ...paired];
  // Each controller against the agent's flows measured in turn with it (when the report has them).
  const agentFor = (c: CaseResult): CaseResult =>
    (c === r.floor!.testController
      ? r.floor!.agentWithTestController
      : c === r.floor!.minimal
        ? r.floor!.agentWithMinimal
        : undefined) ?? agent;
  return table(
    'Part 0 - the floor: a reactive controller on this machine, same pair of VMs, same host; RTT in ms (agent/this: the agent divided by this row)',
    [
      'case',
      'first med',
      'later med',
      'p2-5 med',
      'p6+ med',
      'packet-ins/flow',
      'agent first/this',
      'agent p6+/this',
    ],
    rows.map((c) => [
      c.name,
      f(c.first.median),
      f(c.later.median),
      f(c.transient?.median),
      f(c.steady?.median),
      perFlowText(c),
      x(agentFor(c).first.median / c.first.median),
      x((agentFor(c).steady?.median ?? NaN) / (c.steady?.median ?? NaN)),
    ]),
  );
}

export function reportText(r: EvalReport): string {
  const b = r.baseline;
  const lost = (c: CaseResult) => String(c.first.lost + c.later.lost);
  const part1 = table(
    'Part 1 - base case, no filter: RTT in ms (first packet of a new flow vs later packets)',
    ['case', ...RTT_HEAD, 'p6+ med', 'lost', 'packet-ins/flow', 'first/NORMAL', 'later/NORMAL', 'p6+/NORMAL'],
    [
      ...r.base.map((c) => {
        const ref = c.name.includes('across') ? b.crossHost : b.sameHost;
        return [
          c.name,
          ...rttCells(c),
          f(c.steady?.median),
          lost(c),
          perFlowText(c),
          x(c.first.median / ref.first.median),
          x(c.later.median / ref.later.median),
          x((c.steady?.median ?? NaN) / (ref.steady?.median ?? NaN)),
        ];
      }),
      ...[b.sameHost, b.crossHost].map((c) => [
        c.name,
        ...rttCells(c),
        f(c.steady?.median),
        lost(c),
        '-',
        '1.00x',
        '1.00x',
        '1.00x',
      ]),
    ],
  );
  const part2 = table(
    'Part 2 - features one by one (filters cumulative on a bridge, then layer 4 through the router; TCP flows, same host): RTT in ms, throughput in Mbit/s',
    [
      'step',
      'first med',
      'later med',
      'first-later',
      'packet-ins',
      'Mbit/s',
      'first/NORMAL',
      'later/NORMAL',
      'tput/NORMAL',
    ],
    r.features.map((c) => [
      c.name,
      f(c.first.median),
      f(c.later.median),
      f(c.firstMinusLaterMs),
      packetInsText(c),
      f(c.throughputMbps, 0),
      x(c.first.median / b.sameHost.first.median),
      x(c.later.median / b.sameHost.later.median),
      x((c.throughputMbps ?? NaN) / b.throughputMbps),
    ]),
  );
  const one = r.ruleGrowth.find((c) => c.rules === 1);
  const part3 = table(
    'Part 3 - rule-set growth (matching rule near the end; UDP flows, same host): RTT in ms',
    [
      'rules',
      'first med',
      'first p99',
      'later med',
      'later p99',
      'first-later',
      'first/1 rule',
      'first/NORMAL',
    ],
    r.ruleGrowth.map((c) => [
      String(c.rules),
      f(c.first.median),
      f(c.first.p99),
      f(c.later.median),
      f(c.later.p99),
      f(c.firstMinusLaterMs),
      x(c.first.median / (one?.first.median ?? NaN)),
      x(c.first.median / b.sameHost.first.median),
    ]),
  );
  const part4 = `Part 4 - baseline: plain OVS NORMAL (no agent) in the same run: same host first ${f(b.sameHost.first.median)} ms, later ${f(
    b.sameHost.later.median,
  )} ms; across hosts first ${f(b.crossHost.first.median)} ms, later ${f(b.crossHost.later.median)} ms; iperf3 ${f(b.throughputMbps, 0)} Mbit/s${inTurnText(b.throughputInTurn)}`;
  const fc = r.firstContact;
  const part5 =
    fc === undefined
      ? undefined
      : table(
          'Part 4 - first contact across the router and hosts (every MAC, ARP and flow table emptied before each flow): RTT in ms',
          ['case', 'first med', 'first p90', 'first p99', 'lost', 'packet-ins/flow', 'first/warm'],
          [fc.warm, fc.cold].map((c) => [
            c.name,
            f(c.first.median),
            f(c.first.p90),
            f(c.first.p99),
            String(c.first.lost),
            perFlowText(c),
            x(c.first.median / fc.warm.first.median),
          ]),
        );
  const ec = r.ecmp;
  const ecmpPart =
    ec === undefined
      ? undefined
      : table(
          `Part 5 - across the router to the ISP over two uplinks on two hosts (ECMP; UDP flows): RTT in ms; flows per uplink as the ISP saw them: ${ec.flowsPerUplink.map((u) => `${u.uplink} ${u.flows}`).join(', ')}`,
          [
            'case',
            'first med',
            'first p99',
            'later med',
            'later p99',
            'first-later',
            'lost',
            'packet-ins/flow',
          ],
          [ec.twoUplinks, ...(ec.oneUplink ? [ec.oneUplink] : [])].map((c) => [
            c.name,
            f(c.first.median),
            f(c.first.p99),
            f(c.later.median),
            f(c.later.p99),
            f(c.firstMinusLaterMs),
            String(c.first.lost + c.later.lost),
            perFlowText(c),
          ]),
        );
  const agentUs =
    r.agentPacketInUs === undefined
      ? undefined
      : `The agents' own time from a packet-in's arrival to the write of their answer, over the whole study: p50 <= ${r.agentPacketInUs.p50} us, p99 <= ${r.agentPacketInUs.p99} us (${r.agentPacketInUs.count} packet-ins; upper bounds of the agents' log-linear histogram buckets, at most 10% wide; a first packet held for another host's reply flow is observed when its flows are written, its wait is the line below)`;
  const rehearsed =
    r.agentRehearsals === undefined
      ? undefined
      : r.agentRehearsals > 0
        ? `The agents kept their first-packet path warm between packet-ins: ${r.agentRehearsals} rehearsals of the last packet-in while idle over the study (agent config flows.rehearseMs; simulated and encoded, nothing committed or written)`
        : 'The agents did not rehearse while idle (flows.rehearseMs 0): every first packet met a path gone cold since the last one';
  const nf = r.agentNewFlowPacketInUs;
  const newFlows =
    nf === undefined
      ? undefined
      : `The same over the probe flows only (first packets of new flows and packets 2-5, no iperf3): p50 <= ${nf.p50} us, p99 <= ${nf.p99} us (${nf.count} packet-ins)`;
  const phases =
    r.agentPacketInPhases === undefined || r.agentPacketInPhases.length === 0
      ? undefined
      : table(
          "The agents' packet-in to write by phase (us, bucket upper bounds)",
          ['phase', 'packet-ins', 'p50', 'p99'],
          r.agentPacketInPhases.map((p) => [p.name, String(p.count), f(p.p50, 0), f(p.p99, 0)]),
        );
  const w = r.agentReplyWaitUs;
  const replyWait =
    w === undefined
      ? undefined
      : `First packets across hosts held until the egress host's agent had the reply's flow in its switch: ${w.count}, waiting p50 <= ${w.p50} us, p99 <= ${w.p99} us`;
  const targets = table(
    'Targets',
    ['target', 'value', 'goal', 'met'],
    r.targets.map((t) => [
      t.name,
      `${f(t.value, 2)}${t.unit}${t.detail === undefined ? '' : ` (${t.detail})`}`,
      t.goal ?? `${/throughput|share/.test(t.name) ? '>=' : '<='} ${t.target}${t.unit}`,
      t.met ? 'yes' : 'NO',
    ]),
  );
  const setup = `${r.settings.flows} flows per case, ${r.settings.packetsPerFlow} packets per flow; ${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, ${r.machine.ovs}, node ${r.machine.node}; ${r.durationS.toFixed(0)} s\nMethod: ${r.settings.method}`;
  return [
    setup,
    floorTable(r),
    part1,
    part2,
    part3,
    part5,
    ecmpPart,
    part4,
    agentUs,
    newFlows,
    rehearsed,
    phases,
    replyWait,
    targets,
  ]
    .filter((t): t is string => t !== undefined)
    .join('\n\n');
}
