// The evaluation's filter steps of part 2, simulated: with every step's rule on the bridge, a probe
// flow (TCP between two VMs of the bridge) is forwarded, every rule is read, and the address-group rule
// is the one that matches (its group holds the probes' destination); a flow to another address does
// not match it.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { FEATURE_STEPS, featureGroupAddresses } from '../../src/lab/eval-cases.js';
import { lastUsable } from '../../src/lab/eval-lb.js';
import type { RuleSpec } from '../../src/sim/builder.js';
import { portNamer, renderTrace, simulate } from '../../src/sim/index.js';
import { IP, bridgedTcp, packet, standardBuilder, standardState } from '../support/scenario.js';

function traceOf(dstIp: string): string {
  const b = standardBuilder();
  const group = b.ipGroup('eval-group', featureGroupAddresses(IP.vm2));
  const rules = FEATURE_STEPS.flatMap((s) => (s.rule ? [s.rule(group) as unknown as RuleSpec] : []));
  b.set(b.id('br-left'), { inboundChainId: b.chain('eval-features', rules) });
  const t = b.build();
  // The probes' shape: TCP from a source port of 24000 and up.
  const r = simulate(t, packet(bridgedTcp({ dstIp, srcPort: 24001, dstPort: 7 })), b.id('vm1'), 0, {
    state: standardState(b),
    trace: true,
  });
  assert.equal(r.kind, 'done');
  return renderTrace(r, portNamer(t));
}

describe("the evaluation's filter steps", () => {
  it('the address-group rule matches the probes, with continue: every later rule is still read', () => {
    const text = traceOf(IP.vm2);
    const matched = text.split('\n').filter((l) => / matched: /.test(l));
    const groupStep = FEATURE_STEPS.filter((s) => s.rule).findIndex((s) => s.name === 'ip-address-group');
    assert.deepEqual(
      matched.map((l) => /rule (\d+) .*matched: (\w+)/.exec(l)!.slice(1)),
      [[String(groupStep + 1), 'continue']],
      text,
    );
    assert.match(text, /verdict: accept/, text);
    assert.match(text, /output to exterior port vm2/, text);
  });

  it('a flow to an address outside the group matches no rule', () => {
    const text = traceOf('192.0.2.99');
    assert.doesNotMatch(text, / matched: /, text);
  });
});

describe("the evaluation's load balancer step", () => {
  it('puts its VIP on the last usable address of the destination subnet', () => {
    assert.equal(lastUsable('192.0.2.129/25'), '192.0.2.254');
    assert.equal(lastUsable('192.0.2.1/25'), '192.0.2.126');
    assert.throws(() => lastUsable('192.0.2.1/31'), /no VIP address/);
  });
});
