// The evaluation's ECMP target: the smaller uplink's share of the probed flows, judged against 30%, as
// counted (never adjusted); no ECMP case, no target. The flows a capture of the ISP's interface counts
// (distinct UDP source ports toward the echo port), and the capture refusing a namespace that is not
// there.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ECMP_MIN_SHARE, ecmpTargets, sourcePorts, type EcmpCase } from '../../src/lab/eval-ecmp.js';
import { capture } from '../../src/lab/capture.js';
import type { CaseResult } from '../../src/lab/eval-report.js';

const rtt = { n: 1, lost: 0, median: 1, p90: 1, p99: 1 };
function ecmp(flows: number, a: number, b: number): EcmpCase {
  const c: CaseResult = { name: 'ecmp', first: rtt, later: rtt, firstMinusLaterMs: 0, flows };
  return {
    twoUplinks: c,
    flowsPerUplink: [
      { uplink: 'edge-up', flows: a },
      { uplink: 'edge-up2', flows: b },
    ],
  };
}

describe('ECMP target of the evaluation', () => {
  it('is met when each uplink carries at least 30% of the flows', () => {
    const [t] = ecmpTargets(ecmp(200, 110, 90));
    assert.equal(t!.value, 0.45);
    assert.equal(t!.target, ECMP_MIN_SHARE);
    assert.equal(t!.met, true);
  });
  it('is not met when one uplink carries less, or a flow count is missing', () => {
    assert.equal(ecmpTargets(ecmp(200, 150, 50))[0]!.met, false);
    assert.equal(ecmpTargets(ecmp(200, 200, 0))[0]!.value, 0);
    const noFlows = ecmp(200, 100, 100);
    const { flows: _, ...rest } = noFlows.twoUplinks;
    assert.equal(ecmpTargets({ ...noFlows, twoUplinks: rest })[0]!.met, false);
  });
  it('is absent without an ECMP case', () => {
    assert.deepEqual(ecmpTargets(undefined), []);
  });
});

describe('ECMP flows counted from tcpdump lines', () => {
  it('counts distinct source ports toward port 7, with or without the link-level header', () => {
    const lines = [
      '02:10:11.000001 IP 10.0.0.5.40001 > 203.0.113.1.7: UDP, length 16',
      '02:10:11.000002 IP 10.0.0.5.40001 > 203.0.113.1.7: UDP, length 16',
      '02:10:11.000003 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 58: 10.0.0.5.40002 > 203.0.113.1.7: UDP, length 16',
      '02:10:11.000004 IP 10.0.0.5.40003 > 203.0.113.1.53: UDP, length 16',
    ];
    assert.deepEqual([...sourcePorts(lines)], [40001, 40002]);
  });
  it('a capture in a namespace that is not there fails, naming it', async () => {
    await assert.rejects(
      capture('midonet-no-such-ns', 'udp', { iface: 'eth9' }),
      /tcpdump on eth9 in midonet-no-such-ns exited/,
    );
  });
});
