/**
 * The evaluation's throughput target from iperf3 runs through the agent's flows and through NORMAL
 * in turn: the ratio of their medians, failed runs left out, shown run by run in the report.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { caseOf, medianOf, targets, throughputInTurnRatio } from '../../src/lab/eval-cases.js';
import { reportText } from '../../src/lab/report-text.js';
import type { CaseResult, EvalReport } from '../../src/lab/eval-report.js';

const flows = (n: number, ms: number): number[][] =>
  Array.from({ length: n }, () => Array.from({ length: 10 }, () => ms));
const normal = (name: string): CaseResult => caseOf(name, flows(5, 0.3));
const throughputTarget = (baseline: EvalReport['baseline'], steps: CaseResult[] = []) =>
  targets(
    [caseOf('agent, same host', flows(5, 0.5))],
    baseline,
    { testController: normal('ovs-testcontroller'), minimal: normal('minimal controller') },
    steps,
    [],
    undefined,
    { p50: 50, p99: 200, count: 10 },
  ).filter((t) => t.name.startsWith('iperf3 throughput'));

describe('iperf3 through the agent and NORMAL in turn', () => {
  it('takes the median of the runs that gave a figure', () => {
    assert.equal(medianOf([700, 500, 600]), 600);
    assert.equal(medianOf([NaN, 640, 660, 650]), 650);
    assert.ok(Number.isNaN(medianOf([])));
    assert.ok(Number.isNaN(medianOf([NaN, NaN])));
    assert.equal(
      throughputInTurnRatio({ agentMbps: [610, 590, 600], normalMbps: [500, 650, 640] }),
      600 / 640,
    );
  });

  const inTurn = { agentMbps: [610, 590, 600], normalMbps: [500, 650, 640] };
  const baseline = (t?: typeof inTurn): EvalReport['baseline'] => ({
    sameHost: normal('OVS NORMAL, same host'),
    crossHost: normal('OVS NORMAL, across hosts'),
    throughputMbps: t ? medianOf(t.normalMbps) : 1000,
    ...(t ? { throughputInTurn: t } : {}),
  });

  it('judges the target on the ratio of medians, not on the no-filter step', () => {
    const steps = [caseOf('no filter', flows(5, 0.5), { throughputMbps: 100 })];
    const [t] = throughputTarget(baseline(inTurn), steps);
    assert.ok(t);
    assert.match(t.name, /runs in turn/);
    assert.equal(t.value, 600 / 640);
    assert.equal(t.met, false);
    const [met] = throughputTarget(baseline({ agentMbps: [640, 620, 630], normalMbps: [650, 640, 660] }));
    assert.equal(met!.met, true);
  });

  it('is not met when every run of a side failed, and falls back to the no-filter step without runs', () => {
    const [failed] = throughputTarget(baseline({ agentMbps: [NaN, NaN, NaN], normalMbps: [650, 640, 660] }));
    assert.ok(Number.isNaN(failed!.value));
    assert.equal(failed!.met, false);
    const [old] = throughputTarget(baseline(), [caseOf('no filter', flows(5, 0.5), { throughputMbps: 980 })]);
    assert.equal(old!.name, 'iperf3 throughput through agent flows / OVS NORMAL');
    assert.equal(old!.value, 0.98);
  });

  it('shows the runs and the ratio in the baseline line of the report', () => {
    const report: EvalReport = {
      machine: {
        hostname: 'h',
        cpus: 2,
        cpuModel: 'cpu',
        memoryGiB: 8,
        kernel: 'k',
        node: 'v20',
        ovs: 'ovs',
      },
      startedAt: '2026-12-04T00:00:00.000Z',
      durationS: 1,
      settings: { flows: 5, packetsPerFlow: 10, quick: true, method: 'm' },
      baseline: baseline(inTurn),
      base: [caseOf('agent, same host', flows(5, 0.5))],
      features: [],
      ruleGrowth: [],
      targets: [],
    };
    const line = reportText(report)
      .split('\n')
      .find((l) => l.startsWith('Part 4'));
    assert.ok(line);
    assert.match(
      line,
      /iperf3 640 Mbit\/s \(median of 3 runs of 1 s in turn with the agent's flows: NORMAL 500, 650, 640, agent 610, 590, 600 Mbit\/s; agent \/ NORMAL 0\.94x\)$/,
    );
  });
});
