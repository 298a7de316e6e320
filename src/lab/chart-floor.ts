/**
 * The floor chart: the agent's first packet, packets 2-5 and packets 6+ (median RTT, same host) beside
 * the same figures for OVS NORMAL, Debian's ovs-testcontroller and the project's minimal controller,
 * measured in the same run over the same pair of VMs, with the agent's packet-ins per flow noted (and
 * how many of them were duplicates: Open vSwitch's datapath sending packet 2 up, per-flow.ts).
 *
 * Invariant: a figure that is missing or not finite gets no bar (never a zero one); pure (no I/O).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { CaseResult, EvalReport } from './eval-report.js';
import {
  CONFIG,
  FIRST,
  HEIGHT,
  STEADY,
  TRANSIENT,
  WIDTH,
  colorScale,
  finite,
  subtitle,
} from './chart-style.js';
import type { ChartSpec } from './charts.js';
import { perFlowOf } from './per-flow.js';

export function floorChart(report: EvalReport): ChartSpec | undefined {
  if (report.floor === undefined) return undefined;
  const agent = report.base[0];
  if (agent === undefined) return undefined;
  const cases: Array<[string, CaseResult]> = [
    ['OVS NORMAL', report.baseline.sameHost],
    ['ovs-testcontroller', report.floor.testController],
    ['minimal controller', report.floor.minimal],
    ['midonet-agent', agent],
  ];
  const bars: Array<{ who: string; kind: string; median: number }> = [];
  for (const [who, c] of cases)
    for (const [kind, s] of [
      [FIRST, c.first],
      [TRANSIENT, c.transient],
      [STEADY, c.steady],
    ] as const) {
      const median = finite(s?.median);
      if (median !== undefined) bars.push({ who, kind, median });
    }
  const pf = perFlowOf(agent);
  const perFlow =
    pf === undefined || !Number.isFinite(pf.packetIns)
      ? ''
      : `agent: ${pf.packetIns.toFixed(2)} packet-ins per flow${pf.duplicates === undefined ? '' : ` (${pf.duplicates.toFixed(2)} duplicates)`}`;
  const kinds = [FIRST, TRANSIENT, STEADY];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'The agent against the floor of a reactive controller (same host)',
      subtitle: subtitle(report, ['median RTT', perFlow]),
    },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values: bars },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: {
        field: 'who',
        type: 'nominal',
        title: null,
        scale: { domain: cases.map(([w]) => w) },
        axis: { labelAngle: 0 },
      },
      xOffset: { field: 'kind', type: 'nominal', scale: { domain: kinds, paddingInner: 0.08 } },
      y: { field: 'median', type: 'quantitative', title: 'median RTT (ms)' },
      color: {
        field: 'kind',
        type: 'nominal',
        title: null,
        scale: colorScale(kinds),
        legend: { orient: 'top', direction: 'horizontal' },
      },
    },
  };
  return { name: 'floor', spec: spec as unknown as TopLevelSpec };
}
