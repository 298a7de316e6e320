/**
 * IPv6 through the agent's controller (no I/O, a fake flow table): a routed IPv6 packet whose next hop
 * is unknown is held while the router solicits it (once a second); the neighbour's advertisement
 * releases it and installs a flow that matches the IPv6 destination and decrements the hop limit; a
 * neighbour that never answers gets the held packet an ICMPv6 address unreachable; the router answers
 * a solicitation for its own address and a router solicitation with PACKET_OUTs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Outgoing } from '../../src/openflow/index.js';
import { parseEthernet } from '../../src/packet/index.js';
import { IP_TTL } from '../../src/sim/flow-match.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { HV1, RL, RR, VM1, VM3, controllerOn, nd, routedV6, udp6 as udp, v6 } from '../support/ipv6-world.js';
import { packetIn as pin } from '../support/packet-in.js';

function world() {
  return controllerOn(routedV6().topo, HV1, { tap1: 1, tap3: 3 });
}

/** ICMPv6 types of the IPv6 packets among the PACKET_OUTs. */
function icmp6Out(msgs: readonly Outgoing[]): number[] {
  const types: number[] = [];
  for (const m of msgs) {
    if (m.type !== 'packet_out') continue;
    const e = parseEthernet(m.data);
    if (e.kind === 'ethernet' && e.payload.kind === 'ipv6' && e.payload.payload.kind === 'icmpv6')
      types.push(e.payload.payload.type);
  }
  return types;
}

test('an unknown IPv6 next hop is solicited; its advertisement releases the packet and installs the flow', () => {
  const ctl = world();
  const first = ctl.packetIn(pin(udp(), 1), 1000);
  assert.deepEqual(icmp6Out(first), [135], 'one neighbour solicitation');
  assert.equal(first.filter((m) => m.type === 'flow_mod').length, 0, 'no flow while the next hop is unknown');
  assert.deepEqual(icmp6Out(ctl.waits.tick(1500)), [], 'not twice within a second');
  assert.deepEqual(icmp6Out(ctl.waits.tick(2001)), [135], 'again after a second');
  const na = nd(136, '2001:db8:2::10', '2001:db8:2::10', '2001:db8:2::1', VM3, RR);
  const out = ctl.packetIn(pin(na, 3), 2100);
  const sw = new FakeOfTable().apply(out);
  assert.ok(sw.flows.length > 0, 'the held packet installed its flow');
  const r = sw.process(1, udp(6000));
  assert.ok(
    r.kind === 'flow',
    `${r.kind}: ${sw.flows.map((f) => f.match.map((x) => `${x.field}=${String((x as { value: unknown }).value)}`).join(',')).join(' | ')}`,
  );
  assert.equal(r.outputs.length, 1);
  assert.equal(r.outputs[0]!.port, 3);
  assert.equal(r.outputs[0]!.headers[IP_TTL], 63, 'hop limit decremented');
  const other = sw.process(
    1,
    v6('2001:db8:1::10', '2001:db8:3::10', VM1, RL, {
      kind: 'udp',
      srcPort: 1,
      dstPort: 2,
      payload: { kind: 'raw', bytes: new Uint8Array(0) },
    }),
  );
  assert.notEqual(other.kind, 'flow', 'another destination does not match the flow');
});

test('a neighbour that never answers: the held packet gets ICMPv6 address unreachable', () => {
  const ctl = world();
  ctl.packetIn(pin(udp(), 1), 1000);
  ctl.waits.tick(2001);
  const end = ctl.waits.tick(4001);
  const e = end
    .map((m) => (m.type === 'packet_out' ? parseEthernet(m.data) : undefined))
    .find(
      (x) =>
        x?.kind === 'ethernet' &&
        x.payload.kind === 'ipv6' &&
        x.payload.payload.kind === 'icmpv6' &&
        x.payload.payload.type === 1,
    );
  assert.ok(
    e !== undefined && e.kind === 'ethernet' && e.payload.kind === 'ipv6',
    'ICMPv6 destination unreachable',
  );
  assert.ok(e.payload.payload.kind === 'icmpv6');
  assert.equal(e.payload.payload.code, 3, 'address unreachable');
  assert.equal(e.payload.dst, '2001:db8:1::10');
});

test('the router answers a solicitation for its address and a router solicitation', () => {
  const ctl = world();
  const ns = nd(135, '2001:db8:1::1', '2001:db8:1::10', 'ff02::1:ff00:1', VM1, '33:33:ff:00:00:01');
  assert.deepEqual(icmp6Out(ctl.packetIn(pin(ns, 1), 1000)), [136]);
  const rs = v6(
    'fe80::1',
    'ff02::2',
    VM1,
    '33:33:00:00:00:02',
    { kind: 'icmpv6', type: 133, code: 0, body: new Uint8Array(4) },
    255,
  );
  assert.deepEqual(icmp6Out(ctl.packetIn(pin(rs, 1), 1000)), [134]);
});
