// The evaluation's QoS target: iperf3 through the limited port within 10% of the limit; no target
// when the step was not measured (iperf3 failed).
import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { QOS_LIMIT_KBPS, QOS_STEP_NAME, qosTargets } from '../../src/lab/eval-qos.js';
import type { CaseResult } from '../../src/lab/eval-report.js';

function step(name: string, throughputMbps: number | undefined): CaseResult {
  return { name, throughputMbps } as CaseResult;
}

it('QoS target: within 10% of the limit, either way', () => {
  const limit = QOS_LIMIT_KBPS / 1000;
  for (const [mbps, met] of [
    [limit, true],
    [limit * 0.92, true],
    [limit * 1.08, true],
    [limit * 0.8, false],
    [limit * 1.5, false],
  ] as const) {
    const [t] = qosTargets([step('no filter', 900), step(QOS_STEP_NAME, mbps)]);
    assert.ok(t !== undefined);
    assert.equal(t.met, met, `${mbps} Mbit/s`);
    assert.equal(t.value, Number((mbps / limit).toFixed(2)));
    assert.equal(t.goal, 'within 10% of 1x', 'the report prints the goal as it is, not "<= 1x"');
  }
});

it('QoS target: none without a measured step', () => {
  assert.deepEqual(qosTargets([step('no filter', 900)]), []);
  assert.deepEqual(qosTargets([step(QOS_STEP_NAME, NaN)]), []);
});
