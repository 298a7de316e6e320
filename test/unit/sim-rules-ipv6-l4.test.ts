// Protocol, port and TCP conditions hold for IPv6 packets as for IPv4 ones: table-driven, through both
// the rule test (compileRule/ruleMatches) and the chain's classifier (probe + firstMatch), which must
// agree. (A port rule that silently never matched IPv6 would let IPv6 past a drop rule.)
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Candidates, Classifier } from '../../src/sim/classifier.js';
import { type FlowMatch } from '../../src/sim/flow-match.js';
import { buildFlowMatch } from '../../src/sim/packet-fields.js';
import { MemoryConntrack } from '../../src/sim/runtime-state.js';
import type { RuleEnv } from '../../src/sim/rule-match.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import type { Rule } from '../../src/state/model.js';

const env: RuleEnv = {
  inPortId: null,
  outPortId: null,
  now: 0,
  zone: 'z',
  conntrack: new MemoryConntrack(),
  portGroup: () => undefined,
  ipAddrGroup: () => undefined,
  addTag: () => undefined,
  need: () => undefined,
  trackForward: () => undefined,
};

function packet(family: 4 | 6, proto: 'tcp' | 'udp' | 'icmp', dstPort = 22, tcpFlags = 0x02): FlowMatch {
  const b = buildFlowMatch({
    ...(family === 4
      ? { srcIp: '192.0.2.1', dstIp: '192.0.2.2' }
      : { ethertype: 0x86dd, srcIp6: '2001:db8::1', dstIp6: '2001:db8::2' }),
    proto: family === 6 && proto === 'icmp' ? 58 : proto,
    ...(proto === 'icmp' ? {} : { srcPort: 40001, dstPort }),
    ...(proto === 'tcp' ? { tcpFlags, tcpWindow: 1000 } : {}),
  });
  assert.ok(b.ok, b.ok ? '' : b.error);
  return b.match;
}

/** Whether a one-rule chain with `conditions` matches `m`, asserting the classifier agrees with the scan. */
function matches(conditions: Record<string, unknown>, m: FlowMatch): boolean {
  const b = new TopologyBuilder();
  const chainId = b.chain('c', []);
  const rule = b.add('rule', { chainId, action: 'drop', conditions }) as Rule;
  const cls = new Classifier([rule]);
  m.begin('p');
  const c = new Candidates();
  cls.probe(m, env, c);
  const got = cls.firstMatch(m, env, c, 0);
  m.begin('p');
  assert.equal(got, cls.scan(m, env, 0), 'classifier and scan agree');
  return got === 0;
}

const cases: Array<[string, Record<string, unknown>, 'tcp' | 'udp' | 'icmp', number, boolean]> = [
  ['dst port 22, tcp to 22', { dstPort: { value: '22' } }, 'tcp', 22, true],
  ['dst port 22, udp to 22', { dstPort: { value: '22' } }, 'udp', 22, true],
  ['dst port 22, tcp to 80', { dstPort: { value: '22' } }, 'tcp', 80, false],
  ['dst port range 0-1023, tcp to 80', { dstPort: { value: '0-1023' } }, 'tcp', 80, true],
  ['src port 40000-65535', { srcPort: { value: '40000-65535' } }, 'udp', 53, true],
  ['not dst port 22, tcp to 80', { dstPort: { value: '22', invert: true } }, 'tcp', 80, true],
  ['protocol tcp, tcp', { ipProto: { value: 6 } }, 'tcp', 22, true],
  ['protocol udp, tcp', { ipProto: { value: 17 } }, 'tcp', 22, false],
  ['protocol tcp and dst port 22', { ipProto: { value: 6 }, dstPort: { value: '22' } }, 'tcp', 22, true],
  ['tcp flags SYN set', { tcpFlags: { value: { set: 0x02, mask: 0x02 } } }, 'tcp', 22, true],
  ['tcp window 0-2000', { tcpWindow: { value: '0-2000' } }, 'tcp', 22, true],
  ['dst port 22, ICMP', { dstPort: { value: '22' } }, 'icmp', 0, false],
];

describe('protocol and port conditions, IPv4 and IPv6 alike', () => {
  for (const [name, conditions, proto, port, want] of cases)
    for (const family of [4, 6] as const)
      it(`${name} (IPv${family})`, () => {
        assert.equal(matches(conditions, packet(family, proto, port)), want);
      });
});
