// Golden trace tests: the text `midonet-cli trace` prints (tree, Actions, Effects, Flow, Mask, Tags)
// for fixed topologies and packets, and the JSON form carrying the same data.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { TopologyBuilder } from '../../src/sim/builder.js';
import type { PacketFields } from '../../src/sim/packet-fields.js';
import {
  MemoryRuntimeState,
  portNamer,
  renderTrace,
  simulate,
  traceJson,
  type SimDone,
} from '../../src/sim/index.js';
import {
  IP,
  MAC,
  bridgedTcp,
  packet,
  routedTcp,
  standardBuilder,
  standardState,
} from '../support/scenario.js';

function trace(
  b: TopologyBuilder,
  p: PacketFields,
  state: MemoryRuntimeState,
): { text: string; r: SimDone; name: (id: string) => string } {
  const t = b.build();
  const r = simulate(t, packet(p), b.id('vm1'), 0, { state, trace: true });
  assert.equal(r.kind, 'done');
  return { text: renderTrace(r, portNamer(t)), r, name: portNamer(t) };
}

describe('trace golden text', () => {
  it('routed packet through a router inbound chain', () => {
    const b = standardBuilder();
    b.set(b.id('r1'), {
      inboundChainId: b.chain('r1-in', [
        { action: 'drop', name: 'no-ssh', conditions: { dstPort: { value: '22' } } },
        { action: 'accept', name: 'web', conditions: { dstPort: { value: '80' }, ipProto: { value: 6 } } },
      ]),
    });
    const { text } = trace(b, routedTcp(), standardState(b));
    assert.equal(
      text,
      [
        'packet 02:00:00:00:00:01 > 02:00:00:00:01:01 ip 192.0.2.10 > 198.51.100.10 ttl 64 tcp 40000 > 80',
        'port vm1 (ingress)',
        'bridge br-left',
        '  02:00:00:00:01:01 is a router port MAC behind port br-left-uplink',
        '  forward to port br-left-uplink',
        '  port br-left-uplink (egress)',
        '  port r1-left (ingress)',
        '  router r1',
        '    router inbound chain r1-in',
        '      rule 2 (web) [00000000-0000-4000-8000-00000000000d] matched: accept',
        '      verdict: accept',
        '    route lookup: normal 198.51.100.0/24 via port r1-right weight 0',
        '    next hop 198.51.100.10, rewrite MACs',
        '    port r1-right (egress)',
        '    port br-right-uplink (ingress)',
        '    bridge br-right',
        '      MAC table: 02:00:00:00:00:03 vlan 0 on port vm3',
        '      forward to port vm3',
        '      port vm3 (egress)',
        '        output to exterior port vm3',
        'Actions: set_field:02:00:00:00:01:02->eth_src, set_field:02:00:00:00:00:03->eth_dst, dec_ttl, output:vm3',
        'Effects: learn 02:00:00:00:00:01 vlan 0 on port vm1, learn 02:00:00:00:01:02 vlan 0 on port br-right-uplink',
        'Flow: cacheable',
        'Mask: in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=02:00:00:00:01:01 vlan_vid=0 eth_type=0x800 ip_dst=198.51.100.10 ip_proto=6 tp_dst=80',
        'Tags: arp:00000000-0000-4000-8000-000000000003/198.51.100.10 bridge:00000000-0000-4000-8000-000000000001 bridge:00000000-0000-4000-8000-000000000002 chain:00000000-0000-4000-8000-00000000000b mac:00000000-0000-4000-8000-000000000002/0/20000000003 port:00000000-0000-4000-8000-000000000004 port:00000000-0000-4000-8000-000000000006 port:00000000-0000-4000-8000-000000000007 port:00000000-0000-4000-8000-000000000008 port:00000000-0000-4000-8000-000000000009 port:00000000-0000-4000-8000-00000000000a router:00000000-0000-4000-8000-000000000003 routes:00000000-0000-4000-8000-000000000003',
      ].join('\n'),
    );
  });

  it('broadcast flood: one exterior output, the router drops its copy', () => {
    const b = standardBuilder();
    const { text } = trace(b, bridgedTcp({ dstMac: MAC.bcast }), new MemoryRuntimeState());
    assert.equal(
      text,
      [
        'packet 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff ip 192.0.2.10 > 192.0.2.11 ttl 64 tcp 40000 > 80',
        'port vm1 (ingress)',
        'bridge br-left',
        '  flood',
        '  port vm2 (egress)',
        '    output to exterior port vm2',
        '  port br-left-uplink (egress)',
        '  port r1-left (ingress)',
        '  router r1',
        '    drop: broadcast frame that is not ARP',
        'Actions: output:vm2',
        'Effects: learn 02:00:00:00:00:01 vlan 0 on port vm1',
        'Flow: cacheable',
        'Mask: in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=ff:ff:ff:ff:ff:ff vlan_vid=0 eth_type=0x800',
        'Tags: bridge:00000000-0000-4000-8000-000000000001 port:00000000-0000-4000-8000-000000000004 port:00000000-0000-4000-8000-000000000005 port:00000000-0000-4000-8000-000000000006 port:00000000-0000-4000-8000-000000000009 router:00000000-0000-4000-8000-000000000003',
      ].join('\n'),
    );
  });

  it('reject through a jump: ICMP admin prohibited, not cacheable', () => {
    const b = standardBuilder();
    const sub = b.chain('deny-udp', [{ action: 'reject', conditions: { ipProto: { value: 17 } } }]);
    b.set(b.id('vm1'), { inboundChainId: b.chain('vm1-in', [{ action: 'jump', jumpChainId: sub }]) });
    const { text } = trace(b, bridgedTcp({ proto: 'udp', dstPort: 53 }), standardState(b));
    assert.equal(
      text,
      [
        'packet 02:00:00:00:00:01 > 02:00:00:00:00:02 ip 192.0.2.10 > 192.0.2.11 ttl 64 udp 40000 > 53',
        'port vm1 (ingress)',
        '  inbound chain vm1-in',
        '    rule 1 [00000000-0000-4000-8000-00000000000e] matched: jump',
        '    jump to chain deny-udp',
        '      rule 1 [00000000-0000-4000-8000-00000000000c] matched: reject',
        '    verdict: reject',
        '  emit ICMP admin prohibited from port vm1',
        '  drop: rejected by port vm1 inbound chain',
        'Actions: emit(ICMP admin prohibited) from vm1, drop(rejected by port vm1 inbound chain)',
        'Flow: not cacheable (generates a reply packet)',
        'Mask: in_port=vm1 eth_type=0x800 ip_proto=17',
        'Tags: chain:00000000-0000-4000-8000-00000000000b chain:00000000-0000-4000-8000-00000000000d port:00000000-0000-4000-8000-000000000004',
      ].join('\n'),
    );
  });

  it('ARP suppression: the bridge answers for the router port, and the router learns the asker', () => {
    const b = standardBuilder();
    const { text } = trace(
      b,
      { srcMac: MAC.vm1, dstMac: MAC.bcast, arpOp: 1, srcIp: IP.vm1, dstIp: IP.rLeft },
      standardState(b),
    );
    assert.equal(
      text,
      [
        'packet 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff arp request 192.0.2.10 > 192.0.2.1',
        'port vm1 (ingress)',
        'bridge br-left',
        '  ARP suppression: the bridge knows the target',
        '  emit ARP reply 192.0.2.1 is-at 02:00:00:00:01:01 from port vm1',
        '  drop: answered by ARP suppression',
        'Actions: emit(ARP reply 192.0.2.1 is-at 02:00:00:00:01:01) from vm1, drop(answered by ARP suppression)',
        'Effects: learn 02:00:00:00:00:01 vlan 0 on port vm1, ARP entry 192.0.2.10 is-at 02:00:00:00:00:01',
        'Flow: not cacheable (generates a reply packet)',
        'Mask: in_port=vm1 eth_src=02:00:00:00:00:01 eth_dst=ff:ff:ff:ff:ff:ff vlan_vid=0 eth_type=0x806 arp_tpa=192.0.2.1 arp_op=1',
        'Tags: bridge:00000000-0000-4000-8000-000000000001 port:00000000-0000-4000-8000-000000000004',
      ].join('\n'),
    );
  });

  it('ends with the Mask: and Tags: lines, and the JSON form carries the same data', () => {
    const b = standardBuilder();
    const { text, r, name } = trace(b, routedTcp(), standardState(b));
    const lines = text.split('\n');
    assert.match(lines[lines.length - 2]!, /^Mask: /);
    assert.match(lines[lines.length - 1]!, /^Tags: /);
    const j = traceJson(r, name);
    assert.deepEqual(JSON.parse(JSON.stringify(j)), j);
    assert.deepEqual(j.actions, [
      'set_field:02:00:00:00:01:02->eth_src',
      'set_field:02:00:00:00:00:03->eth_dst',
      'dec_ttl',
      'output:vm3',
    ]);
    assert.deepEqual(
      j.mask.map((f) => f.field),
      ['in_port', 'eth_src', 'eth_dst', 'vlan_vid', 'eth_type', 'ip_dst'],
    );
    assert.equal(lines[lines.length - 1], `Tags: ${j.tags.join(' ')}`);
  });
});
