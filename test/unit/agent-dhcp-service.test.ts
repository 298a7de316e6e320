/**
 * The agent's DHCP service around the pure server: the simulation and the controller hand DHCP client
 * messages to it, never as a flow; the service (dhcp-service.ts) over a real in-memory store, where
 * two hosts' services never give one address twice; the server identity it answers as.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowController } from '../../src/agent/controller.js';
import { DhcpService, serverIdentity } from '../../src/agent/dhcp-service.js';
import { fillFromFrame } from '../../src/agent/frame-match.js';
import { DhcpStats } from '../../src/agent/stats.js';
import { createLogger } from '../../src/log.js';
import { OFP_NO_BUFFER, type PacketInView } from '../../src/openflow/index.js';
import { DhcpMessageType, parseEthernet, type DhcpOption } from '../../src/packet/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { FlowMatch, TP_DST } from '../../src/sim/flow-match.js';
import { simulate } from '../../src/sim/simulate.js';
import { Topology } from '../../src/sim/topology.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import { dhcpClientFrame, type DhcpClientFields } from '../support/dhcp-client-frame.js';

const log = createLogger({ name: 'test', level: 'silent' });
const VM = '02:00:00:00:00:0a';
const SERVER = '192.0.2.1';

type Req = Omit<DhcpClientFields, 'src'> & { src?: string };

function request(r: Req = {}): Uint8Array {
  return dhcpClientFrame({ ...r, src: r.src ?? VM });
}

const D = DhcpMessageType;
const req = (ip: string): DhcpOption => ({ type: 'requestedIp', value: ip });
const sid = (ip: string): DhcpOption => ({ type: 'serverId', value: ip });

function replyOf(frame: Uint8Array) {
  const eth = parseEthernet(frame);
  assert.equal(eth.kind, 'ethernet');
  if (eth.kind !== 'ethernet' || eth.payload.kind !== 'ipv4') throw new Error('not IPv4');
  const udp = eth.payload.payload;
  if (udp.kind !== 'udp' || udp.payload.kind !== 'dhcp') throw new Error('not DHCP');
  const opts = new Map<number | string, unknown>();
  for (const o of udp.payload.options)
    if (o.type === 'raw') opts.set(o.code, Array.from(o.data));
    else if (o.type !== 'pad') opts.set(o.type, o.value);
  return { eth, ip: eth.payload, udp, msg: udp.payload, opts };
}

void test('dhcp: the simulation hands DHCP requests on a DHCP bridge to the agent, never as a flow', () => {
  const b = new TopologyBuilder();
  const br = b.bridge('br');
  const p1 = b.port(br, 'p1');
  b.port(br, 'p2');
  const plain = b.bridge('plain');
  const q1 = b.port(plain, 'q1');
  b.port(plain, 'q2');
  const dhcpId = b.dhcp(br, 'net', '192.0.2.0/24', []);
  const t = b.build();
  const m = new FlowMatch();
  assert.equal(fillFromFrame(m, request({ type: D.DISCOVER }), 0), null);
  const r = simulate(t, m, p1, 0);
  assert.equal(r.kind, 'done');
  if (r.kind !== 'done') return;
  assert.equal(r.cacheable, false);
  assert.deepEqual(
    r.effects.filter((e) => e.kind === 'dhcpRequest'),
    [{ kind: 'dhcpRequest', dhcpId, portId: p1 }],
  );
  assert.equal(
    r.actions.some((a) => a.kind === 'output'),
    false,
  );
  // Other UDP on that bridge: forwarded, and its flow matches the UDP destination port (so no flow
  // can cover a DHCP request).
  const dns = request({ type: D.DISCOVER });
  dns[14 + 20 + 2] = 0;
  dns[14 + 20 + 3] = 53;
  fillFromFrame(m, dns, 0);
  const r2 = simulate(t, m, p1, 0);
  assert.ok(r2.kind === 'done' && r2.cacheable && r2.mask[TP_DST] === 0xffff);
  // A bridge without a DHCP subnet floods the DISCOVER like any broadcast.
  fillFromFrame(m, request({ type: D.DISCOVER }), 0);
  const r3 = simulate(t, m, q1, 0);
  assert.ok(r3.kind === 'done' && r3.cacheable && !r3.effects.some((e) => e.kind === 'dhcpRequest'));
});

/** A topology and store with one DHCP bridge, and the service of host `hostId` on it. */
async function served(store: MemoryStore, hostId: string) {
  const sent: Array<{ portId: string; frame: Uint8Array }> = [];
  const topo = Topology.from((await store.snapshot()).objects as never);
  const stats = new DhcpStats();
  let now = Date.parse('2030-01-01T00:00:00Z');
  const svc = new DhcpService({
    store: () => store,
    topology: () => topo,
    hostId,
    mtu: 1450,
    send: (portId, frame) => sent.push({ portId, frame }),
    log,
    stats,
    now: () => now,
  });
  return { svc, sent, stats, advance: (ms: number) => (now += ms) };
}

void test('dhcp service: the lease life over a real store, two hosts never give one address twice', async () => {
  const store = new MemoryStore('memory:', undefined);
  const bridge = await store.create('bridge', { name: 'br' });
  const d = await store.create('dhcp', {
    name: 'net',
    bridgeId: bridge.id,
    subnet: '192.0.2.0/24',
    gateway: SERVER,
    rangeStart: '192.0.2.100',
    rangeEnd: '192.0.2.101',
    leaseTime: 600,
    hosts: [{ mac: '02:00:00:00:00:5a', address: '192.0.2.50', name: 'db' }],
  });
  const hv1 = await store.create('host', { name: 'hv1' });
  const hv2 = await store.create('host', { name: 'hv2' });
  const port = async (name: string) => (await store.create('port', { name, deviceId: bridge.id })).id;
  const [pa, pb, pc, ps] = [await port('pa'), await port('pb'), await port('pc'), await port('ps')];
  const a = await served(store, hv1.id);
  const b = await served(store, hv2.id);
  const vmA = '02:00:00:00:00:0a';
  const vmB = '02:00:00:00:00:0b';
  const last = (s: typeof a) => replyOf(s.sent.at(-1)!.frame);

  // Both hosts' VMs DISCOVER at once: two distinct offers.
  await Promise.all([
    a.svc.request(d.id, pa, request({ type: D.DISCOVER, chaddr: vmA, src: vmA })),
    b.svc.request(d.id, pb, request({ type: D.DISCOVER, chaddr: vmB, src: vmB })),
  ]);
  const offerA = last(a).msg.yiaddr;
  const offerB = last(b).msg.yiaddr;
  assert.notEqual(offerA, offerB);
  assert.equal(a.sent.at(-1)!.portId, pa);
  // Selecting: ACK for the offered address, NAK for the other VM's.
  await a.svc.request(
    d.id,
    pa,
    request({ type: D.REQUEST, chaddr: vmA, src: vmA, options: [req(offerA), sid(SERVER)] }),
  );
  assert.equal(last(a).opts.get('messageType'), D.ACK);
  assert.equal(last(a).msg.yiaddr, offerA);
  await b.svc.request(d.id, pb, request({ type: D.REQUEST, chaddr: vmB, src: vmB, options: [req(offerA)] }));
  assert.equal(last(b).opts.get('messageType'), D.NAK);
  // Renewing (ciaddr, unicast) keeps the address.
  a.advance(300_000);
  await a.svc.request(d.id, pa, request({ type: D.REQUEST, chaddr: vmA, src: vmA, ciaddr: offerA }));
  assert.equal(last(a).opts.get('messageType'), D.ACK);
  assert.equal(last(a).ip.dst, offerA);
  // The range is full: a third VM gets no offer; after a RELEASE it gets the freed address.
  const vmC = '02:00:00:00:00:0c';
  const before = a.sent.length;
  await a.svc.request(d.id, pc, request({ type: D.DISCOVER, chaddr: vmC, src: vmC }));
  assert.equal(a.sent.length, before);
  assert.equal(a.stats.ignored['no-address'], 1);
  await b.svc.request(d.id, pb, request({ type: D.RELEASE, chaddr: vmB, src: vmB, ciaddr: offerB }));
  await a.svc.request(d.id, pc, request({ type: D.DISCOVER, chaddr: vmC, src: vmC }));
  assert.equal(last(a).msg.yiaddr, offerB);
  // The static host gets its address and name, whatever it asks for.
  const vmS = '02:00:00:00:00:5a';
  await a.svc.request(
    d.id,
    ps,
    request({ type: D.DISCOVER, chaddr: vmS, src: vmS, options: [req('192.0.2.100')] }),
  );
  assert.equal(last(a).msg.yiaddr, '192.0.2.50');
  assert.equal(last(a).opts.get('hostname'), 'db');
  await a.svc.request(
    d.id,
    ps,
    request({ type: D.REQUEST, chaddr: vmS, src: vmS, options: [req('192.0.2.100')] }),
  );
  assert.equal(last(a).opts.get('messageType'), D.NAK);
  // DECLINE: the address is quarantined, the client is offered another one later.
  await a.svc.request(d.id, pc, request({ type: D.DECLINE, chaddr: vmC, src: vmC, options: [req(offerB)] }));
  assert.equal(a.stats.declines, 1);
  assert.equal(a.stats.failures, 0);
  assert.equal(b.stats.failures, 0);
  // Junk reaches the service: counted, not answered.
  const n = a.sent.length;
  await a.svc.request(d.id, pa, new Uint8Array(10));
  await a.svc.request(d.id, pa, request({ type: D.OFFER, chaddr: vmA, src: vmA }));
  assert.equal(a.sent.length, n);
  assert.equal(a.stats.ignored['not-dhcp'], 1);
  assert.equal(a.stats.ignored['bad-message-type'], 1);
  await store.close();
});

void test('dhcp service: the server identity is the gateway router port, else a stable derived MAC', () => {
  const b = new TopologyBuilder();
  const br = b.bridge('br');
  const r = b.router('r');
  const rp = b.port(r, 'rp', { address: '192.0.2.1/24', mac: '02:aa:00:00:00:01' });
  const bp = b.port(br, 'bp');
  b.link(rp, bp);
  const id = b.dhcp(br, 'net', '192.0.2.0/24', []);
  const t = b.build();
  const d = t.get('dhcp', id)!;
  assert.deepEqual(serverIdentity(t, { ...d, gateway: '192.0.2.1' }), {
    ip: '192.0.2.1',
    mac: '02:aa:00:00:00:01',
  });
  assert.deepEqual(serverIdentity(t, d), { ip: '192.0.2.1', mac: '02:aa:00:00:00:01' });
  const lone = serverIdentity(new TopologyBuilder().build(), { ...d, gateway: '192.0.2.254' });
  assert.equal(lone.ip, '192.0.2.254');
  assert.match(lone.mac, /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
  assert.equal(serverIdentity(new TopologyBuilder().build(), d).ip, '192.0.2.254');
});

void test('dhcp: the controller hands a DHCP packet-in to the DHCP service and installs no flow', () => {
  const b = new TopologyBuilder();
  const HOST = '00000000-0000-4000-8000-0000000000aa';
  b.add('host', { name: 'hv1' }, HOST);
  const br = b.bridge('br');
  const p1 = b.port(br, 'p1', { hostId: HOST, interfaceName: 'tap1' });
  b.port(br, 'p2', { hostId: HOST, interfaceName: 'tap2' });
  const dhcpId = b.dhcp(br, 'net', '192.0.2.0/24', []);
  const asked: Array<[string, string, number]> = [];
  const ctl = new FlowController(
    b.build(),
    { hostId: HOST, idleTimeout: 60, priority: 10, macLifetimeMs: 300000 },
    log,
    { dhcp: { request: (d, p, f) => asked.push([d, p, f.length]) } },
  );
  ctl.ports.ifaceOfport.set('tap1', 1).set('tap2', 2);
  ctl.ports.refreshBindings();
  const data = Buffer.from(request({ type: D.DISCOVER }));
  const pi: PacketInView = {
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: data.length,
    reason: 0,
    tableId: 0,
    inPort: 1,
    tunnelId: 0,
    data,
  };
  for (let i = 0; i < 2; i++) {
    const out = ctl.packetIn(pi, 1000 + i);
    assert.deepEqual(
      out.map((m) => m.type),
      [],
      'no FLOW_MOD and no PACKET_OUT: the service answers later',
    );
  }
  assert.deepEqual(asked, [
    [dhcpId, p1, data.length],
    [dhcpId, p1, data.length],
  ]);
  assert.equal(ctl.stats.flowsInstalled, 0);
});
