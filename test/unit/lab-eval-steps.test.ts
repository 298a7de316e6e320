// The evaluation's filter steps of part 2, simulated: with every step's rule on the bridge, a probe
// flow (TCP between two VMs of the bridge) is forwarded, every rule is read, and the address-group and
// port-group rules are the ones that match (their groups hold the probes' destination and source
// port); a flow to another address, or from a port outside the group, does not match the one concerned.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { FEATURE_STEPS, featureGroupAddresses } from '../../src/lab/eval-cases.js';
import { lastUsable } from '../../src/lab/eval-lb.js';
import type { RuleSpec } from '../../src/sim/builder.js';
import { portNamer, renderTrace, simulate } from '../../src/sim/index.js';
import { IP, bridgedTcp, packet, standardBuilder, standardState } from '../support/scenario.js';

function traceOf(dstIp: string, groupPorts: readonly string[] = ['vm1', 'vm2']): string {
  const b = standardBuilder();
  const ipAddrGroup = b.ipGroup('eval-group', featureGroupAddresses(IP.vm2));
  const portGroup = b.portGroup(
    'eval-ports',
    groupPorts.map((p) => b.id(p)),
  );
  const rules = FEATURE_STEPS.flatMap((s) =>
    s.rule ? [s.rule({ ipAddrGroup, portGroup }) as unknown as RuleSpec] : [],
  );
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
  const stepOf = (name: string) =>
    String(FEATURE_STEPS.filter((s) => s.rule).findIndex((s) => s.name === name) + 1);
  const matchedRules = (text: string) =>
    text
      .split('\n')
      .filter((l) => / matched: /.test(l))
      .map((l) => /rule (\d+) .*matched: (\w+)/.exec(l)!.slice(1));

  it('the address-group and port-group rules match the probes, with continue: every later rule is still read', () => {
    const text = traceOf(IP.vm2);
    assert.deepEqual(
      matchedRules(text),
      [
        [stepOf('ip-address-group'), 'continue'],
        [stepOf('port-group'), 'continue'],
      ],
      text,
    );
    assert.match(text, /verdict: accept/, text);
    assert.match(text, /output to exterior port vm2/, text);
  });

  it('a flow to an address outside the address group matches only the port-group rule', () => {
    const text = traceOf('192.0.2.99');
    assert.deepEqual(matchedRules(text), [[stepOf('port-group'), 'continue']], text);
  });

  it('a flow from a port outside the port group matches only the address-group rule', () => {
    const text = traceOf(IP.vm2, ['vm2']);
    assert.deepEqual(matchedRules(text), [[stepOf('ip-address-group'), 'continue']], text);
  });
});

describe("the evaluation's load balancer step", () => {
  it('puts its VIP on the last usable address of the destination subnet', () => {
    assert.equal(lastUsable('192.0.2.129/25'), '192.0.2.254');
    assert.equal(lastUsable('192.0.2.1/25'), '192.0.2.126');
    assert.throws(() => lastUsable('192.0.2.1/31'), /no VIP address/);
  });
});
