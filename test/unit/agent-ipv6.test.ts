/**
 * IPv6 through the agent's controller (no I/O, a fake flow table): a routed IPv6 packet whose next hop
 * is unknown is held while the router solicits it (once a second); the neighbour's advertisement
 * releases it and installs a flow that matches the IPv6 destination and decrements the hop limit; a
 * neighbour that never answers gets the held packet an ICMPv6 address unreachable; the router answers
 * a solicitation for its own address and a router solicitation with PACKET_OUTs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowController } from '../../src/agent/controller.js';
import { createLogger } from '../../src/log.js';
import { OFP_NO_BUFFER, type Outgoing, type PacketInView } from '../../src/openflow/index.js';
import { buildEthernet, parseEthernet, type Ipv6 } from '../../src/packet/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { IP_TTL } from '../../src/sim/flow-match.js';
import { writeIpv6 } from '../../src/addr.js';
import { FakeOfTable } from '../support/fake-of-table.js';

const log = createLogger({ name: 'test', level: 'silent' });
const HV1 = '00000000-0000-4000-8000-0000000000aa';
const VM1 = '02:00:00:00:00:01';
const VM3 = '02:00:00:00:00:03';
const RL = '02:00:00:00:01:01';
const RR = '02:00:00:00:01:02';

function world() {
  const b = new TopologyBuilder();
  b.add('host', { name: 'hv1' }, HV1);
  const left = b.bridge('left');
  const right = b.bridge('right');
  b.port(left, 'vm1', { hostId: HV1, interfaceName: 'tap1' });
  b.port(right, 'vm3', { hostId: HV1, interfaceName: 'tap3' });
  const r = b.router('r1');
  const rl = b.port(r, 'r1-left', { address: '192.0.2.1/24', address6: '2001:db8:1::1/64', mac: RL });
  const rr = b.port(r, 'r1-right', { address: '198.51.100.1/24', address6: '2001:db8:2::1/64', mac: RR });
  b.link(b.port(left, 'left-up'), rl);
  b.link(b.port(right, 'right-up'), rr);
  const ctl = new FlowController(
    b.build(),
    { hostId: HV1, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    log,
  );
  ctl.ports.ifaceOfport.set('tap1', 1).set('tap3', 3);
  ctl.ports.refreshBindings();
  return ctl;
}

function v6(
  src: string,
  dst: string,
  srcMac: string,
  dstMac: string,
  payload: Ipv6['payload'],
  hopLimit = 64,
) {
  return Buffer.from(
    buildEthernet({
      kind: 'ethernet',
      dst: dstMac,
      src: srcMac,
      payload: { kind: 'ipv6', trafficClass: 0, flowLabel: 0, hopLimit, src, dst, payload },
    }),
  );
}

const udp = (sport = 5000) =>
  v6('2001:db8:1::10', '2001:db8:2::10', VM1, RL, {
    kind: 'udp',
    srcPort: sport,
    dstPort: 53,
    payload: { kind: 'raw', bytes: new Uint8Array(8) },
  });

function nd(type: 135 | 136, target: string, src: string, dst: string, srcMac: string, dstMac: string) {
  const body = new Uint8Array(28);
  if (type === 136) body[0] = 0x60; // solicited, override
  writeIpv6(target, body, 4);
  body[20] = type === 135 ? 1 : 2;
  body[21] = 1;
  srcMac.split(':').forEach((h, i) => (body[22 + i] = parseInt(h, 16)));
  return v6(src, dst, srcMac, dstMac, { kind: 'icmpv6', type, code: 0, body }, 255);
}

const pin = (data: Buffer, inPort: number): PacketInView => ({
  xid: 0,
  bufferId: OFP_NO_BUFFER,
  totalLen: data.length,
  reason: 0,
  tableId: 0,
  inPort,
  tunnelId: 0,
  data,
});

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
