/**
 * The evaluation report as tables for people: one per part, each RTT column in milliseconds, with the
 * ratio to plain OVS NORMAL measured in the same run.
 *
 * Invariant: a missing or NaN figure prints as '-', never as a number.
 */
import type { CaseResult, EvalReport } from './eval-report.js';

const f = (v: number | undefined, digits = 3): string =>
  v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
const x = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-');

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

export function reportText(r: EvalReport): string {
  const b = r.baseline;
  const lost = (c: CaseResult) => String(c.first.lost + c.later.lost);
  const part1 = table(
    'Part 1 - base case, no filter: RTT in ms (first packet of a new flow vs later packets)',
    ['case', ...RTT_HEAD, 'lost', 'first/NORMAL', 'later/NORMAL'],
    [
      ...r.base.map((c) => {
        const ref = c.name.includes('across') ? b.crossHost : b.sameHost;
        return [
          c.name,
          ...rttCells(c),
          lost(c),
          x(c.first.median / ref.first.median),
          x(c.later.median / ref.later.median),
        ];
      }),
      ...[b.sameHost, b.crossHost].map((c) => [c.name, ...rttCells(c), lost(c), '1.00x', '1.00x']),
    ],
  );
  const part2 = table(
    'Part 2 - features enabled one by one (cumulative; TCP flows, same host): RTT in ms, throughput in Mbit/s',
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
      String(c.packetIns ?? '-'),
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
  )} ms; across hosts first ${f(b.crossHost.first.median)} ms, later ${f(b.crossHost.later.median)} ms; iperf3 ${f(b.throughputMbps, 0)} Mbit/s`;
  const targets = table(
    'Targets',
    ['target', 'value', 'goal', 'met'],
    r.targets.map((t) => [
      t.name,
      `${f(t.value, 2)}${t.unit}`,
      `${t.name.includes('throughput') ? '>=' : '<='} ${t.target}${t.unit}`,
      t.met ? 'yes' : 'NO',
    ]),
  );
  const setup = `${r.settings.flows} flows per case, ${r.settings.packetsPerFlow} packets per flow; ${r.machine.cpus} x ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, ${r.machine.ovs}, node ${r.machine.node}; ${r.durationS.toFixed(0)} s\nMethod: ${r.settings.method}`;
  return [setup, part1, part2, part3, part4, targets].join('\n\n');
}
