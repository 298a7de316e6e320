// Packet-ins per flow in the evaluation's report, with the duplicates among them (per-flow.ts): the
// agents' `duplicates` stat over a case, per flow, in the JSON figures, the text tables, the targets
// and the floor chart's subtitle; a case whose agents do not count duplicates prints its packet-ins
// alone, and one without a packet-in count prints '-'. Beside them the report says how often the
// agents rehearsed while idle (flows.rehearseMs), when they count it.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { duplicatesDelta, packetInsText, perFlowOf, perFlowText } from '../../src/lab/per-flow.js';
import { caseOf, packetInsTarget } from '../../src/lab/eval-cases.js';
import { reportText } from '../../src/lab/report-text.js';
import { floorChart } from '../../src/lab/chart-floor.js';
import type { CaseResult, EvalReport } from '../../src/lab/eval-report.js';

/** `n` flows of `k` packets, each answered in `ms`. */
const flows = (n: number, k = 10, ms = 0.5): number[][] =>
  Array.from({ length: n }, () => Array.from({ length: k }, () => ms));

describe('packet-ins per flow with their duplicates', () => {
  it('divides the counts by the flows', () => {
    assert.deepEqual(perFlowOf({ packetIns: 24, duplicates: 4, flows: 20 }), {
      packetIns: 1.2,
      duplicates: 0.2,
    });
    assert.deepEqual(perFlowOf({ packetIns: 20, flows: 20 }), { packetIns: 1 });
    assert.equal(perFlowOf({ packetIns: 20 }), undefined);
    assert.equal(perFlowOf({ packetIns: 20, flows: 0 }), undefined);
    assert.equal(perFlowOf({ flows: 20 }), undefined);
  });

  it('prints them as "1.20 (0.20 dup)", the packet-ins alone without a duplicate count, "-" without counts', () => {
    assert.equal(perFlowText({ packetIns: 24, duplicates: 4, flows: 20 }), '1.20 (0.20 dup)');
    assert.equal(perFlowText({ packetIns: 20, duplicates: 0, flows: 20 }), '1.00 (0.00 dup)');
    assert.equal(perFlowText({ packetIns: 23, flows: 20 }), '1.15');
    assert.equal(perFlowText({ flows: 20 }), '-');
    assert.equal(perFlowText({ packetIns: 3, duplicates: 1 }), '-');
    assert.equal(packetInsText({ packetIns: 52, duplicates: 12 }), '52 (12 dup)');
    assert.equal(packetInsText({ packetIns: 52 }), '52');
    assert.equal(packetInsText({}), '-');
  });

  it("sums the agents' duplicates over a phase, and gives none when an agent does not count them", () => {
    assert.equal(
      duplicatesDelta([{ duplicates: 10 }, { duplicates: 3 }], [{ duplicates: 14 }, { duplicates: 5 }]),
      6,
    );
    assert.equal(duplicatesDelta([{ duplicates: 10 }, {}], [{ duplicates: 14 }, {}]), undefined);
    assert.equal(duplicatesDelta([], []), 0);
  });

  it("gives a case's JSON figures per flow, only from the counts it has", () => {
    const c = caseOf('agent, same host', flows(20), { packetIns: 24, duplicates: 4 });
    assert.equal(c.packetInsPerFlow, 1.2);
    assert.equal(c.duplicatesPerFlow, 0.2);
    const noDup = caseOf('agent, same host', flows(20), { packetIns: 20 });
    assert.equal(noDup.packetInsPerFlow, 1);
    assert.equal('duplicatesPerFlow' in noDup, false);
    const normal = caseOf('OVS NORMAL, same host', flows(20));
    assert.equal('packetInsPerFlow' in normal, false);
    assert.equal('duplicatesPerFlow' in normal, false);
  });

  it('judges packet-ins per flow against 1.1 and names the duplicates beside the value', () => {
    const over = packetInsTarget(
      'packet-ins per new flow',
      caseOf('a', flows(20), { packetIns: 24, duplicates: 4 }),
    );
    assert.equal(over.value, 1.2);
    assert.equal(over.detail, '0.20 dup');
    assert.equal(over.met, false);
    const at = packetInsTarget(
      'packet-ins per new flow',
      caseOf('a', flows(20), { packetIns: 22, duplicates: 2 }),
    );
    assert.equal(at.met, true);
    const none = packetInsTarget('packet-ins per new flow', caseOf('a', flows(20)));
    assert.ok(Number.isNaN(none.value));
    assert.equal(none.met, false);
    assert.equal('detail' in none, false);
  });
});

describe('the report shows the duplicates wherever packet-ins per flow appear', () => {
  const agentSame = caseOf('agent, same host', flows(20), { packetIns: 24, duplicates: 4 });
  const agentCross = caseOf('agent, across hosts', flows(20), { packetIns: 21, duplicates: 1 });
  const normal = (name: string): CaseResult => caseOf(name, flows(20, 10, 0.3));
  const report: EvalReport = {
    machine: { hostname: 'h', cpus: 4, cpuModel: 'cpu', memoryGiB: 8, kernel: 'k', node: 'v20', ovs: 'ovs' },
    startedAt: '2026-12-04T00:00:00.000Z',
    durationS: 1,
    settings: { flows: 20, packetsPerFlow: 10, quick: true, method: 'm' },
    baseline: {
      sameHost: normal('OVS NORMAL, same host'),
      crossHost: normal('OVS NORMAL, across hosts'),
      throughputMbps: 1000,
    },
    floor: { testController: normal('ovs-testcontroller'), minimal: normal('minimal controller') },
    base: [agentSame, agentCross],
    features: [caseOf('no filter', flows(20), { packetIns: 52, duplicates: 12 })],
    ruleGrowth: [],
    targets: [packetInsTarget('packet-ins per new flow (agent, same host)', agentSame)],
  };

  it('in the text tables and the targets', () => {
    const text = reportText(report);
    const line = (start: string) => text.split('\n').filter((l) => l.startsWith(start));
    // Part 0 (the floor) and part 1 (base) both list the agent's same-host case.
    assert.equal(line('agent, same host ').length, 2);
    for (const l of line('agent, same host ')) assert.match(l, / 1\.20 \(0\.20 dup\) /);
    assert.match(line('agent, across hosts ')[0]!, / 1\.05 \(0\.05 dup\) /);
    assert.match(line('no filter ')[0]!, / 52 \(12 dup\) /);
    assert.match(
      line('packet-ins per new flow (agent, same host)')[0]!,
      / 1\.20 \(0\.20 dup\) +<= 1\.1 +NO$/,
    );
    // Cases without an agent have no packet-ins per flow.
    for (const l of line('ovs-testcontroller ')) assert.doesNotMatch(l, /dup/);
  });

  it('beside them, whether the agents rehearsed while idle, and how often', () => {
    const rehearsal = (r: EvalReport) =>
      reportText(r)
        .split('\n')
        .filter((l) => /rehears/.test(l));
    assert.deepEqual(rehearsal(report), [], 'no line from agents that do not count rehearsals');
    assert.match(
      rehearsal({ ...report, agentRehearsals: 1234 })[0]!,
      /: 1234 rehearsals of the last packet-in/,
    );
    assert.match(rehearsal({ ...report, agentRehearsals: 0 })[0]!, /did not rehearse while idle/);
  });

  it("in the floor chart's subtitle", () => {
    const chart = floorChart(report);
    assert.ok(chart);
    assert.match(JSON.stringify(chart), /agent: 1\.20 packet-ins per flow \(0\.20 duplicates\)/);
  });
});
