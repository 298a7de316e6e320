/**
 * The agent's DHCP server: the pure part (dhcp-server.ts) table-driven from client frames built with
 * the packet codec, hostile inputs (truncations, every byte of a request flipped, random bytes, server
 * messages from a VM, spoofed chaddr) that must yield no answer and never throw; the simulation and the
 * controller handing DHCP requests to the agent, never as a flow; and the service (dhcp-service.ts) over a real in-memory
 * store, where two hosts' services never give one address twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyDhcp, dhcpReply, inSubnet, type DhcpIntent } from '../../src/agent/dhcp-server.js';
import { DhcpService, serverIdentity } from '../../src/agent/dhcp-service.js';
import { DhcpStats } from '../../src/agent/stats.js';
import { createLogger } from '../../src/log.js';
import {
  DhcpMessageType,
  buildEthernet,
  parseEthernet,
  type Dhcp,
  type DhcpOption,
} from '../../src/packet/index.js';
import { TopologyBuilder } from '../../src/sim/builder.js';
import { FlowMatch, TP_DST } from '../../src/sim/flow-match.js';
import { simulate } from '../../src/sim/simulate.js';
import { Topology } from '../../src/sim/topology.js';
import { MemoryStore } from '../../src/state/memory-store.js';
import type { DhcpSubnet } from '../../src/state/model.js';
import { fillFromFrame } from '../../src/agent/frame-match.js';
import { FlowController } from '../../src/agent/controller.js';
import { OFP_NO_BUFFER, type PacketInView } from '../../src/openflow/index.js';

const log = createLogger({ name: 'test', level: 'silent' });
const VM = '02:00:00:00:00:0a';
const SERVER = '192.0.2.1';

const SUBNET: DhcpSubnet = {
  id: '00000000-0000-4000-8000-00000000d0c0',
  version: 1,
  name: 'net',
  bridgeId: '00000000-0000-4000-8000-00000000b000',
  subnet: '192.0.2.0/24',
  gateway: SERVER,
  dnsServers: ['192.0.2.53'],
  leaseTime: 3600,
  enabled: true,
  rangeStart: '192.0.2.100',
  rangeEnd: '192.0.2.199',
  hosts: [{ mac: '02:00:00:00:00:5a', address: '192.0.2.50', name: 'db' }],
};

interface Req {
  type?: number;
  op?: number;
  ciaddr?: string;
  giaddr?: string;
  chaddr?: string;
  src?: string;
  flags?: number;
  options?: DhcpOption[];
  sport?: number;
}

function request(r: Req = {}): Uint8Array {
  const options: DhcpOption[] = [
    ...(r.type !== undefined ? [{ type: 'messageType' as const, value: r.type }] : []),
    ...(r.options ?? []),
  ];
  const msg: Dhcp = {
    kind: 'dhcp',
    op: r.op ?? 1,
    hops: 0,
    xid: 0x12345678,
    secs: 0,
    flags: r.flags ?? 0,
    ciaddr: r.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: r.giaddr ?? '0.0.0.0',
    chaddr: r.chaddr ?? VM,
    sname: '',
    file: '',
    options,
  };
  return buildEthernet({
    kind: 'ethernet',
    dst: 'ff:ff:ff:ff:ff:ff',
    src: r.src ?? VM,
    payload: {
      kind: 'ipv4',
      tos: 0,
      id: 1,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      src: r.ciaddr ?? '0.0.0.0',
      dst: '255.255.255.255',
      options: new Uint8Array(0),
      payload: { kind: 'udp', srcPort: r.sport ?? 68, dstPort: 67, payload: msg },
    },
  });
}

const D = DhcpMessageType;

/** A small seeded generator (mulberry32), so a failure reproduces. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const req = (ip: string): DhcpOption => ({ type: 'requestedIp', value: ip });
const sid = (ip: string): DhcpOption => ({ type: 'serverId', value: ip });

void test('dhcp server: what each client message asks for', () => {
  const cases: Array<[string, Req, string]> = [
    ['DISCOVER', { type: D.DISCOVER }, 'offer'],
    ['DISCOVER asking for an address', { type: D.DISCOVER, options: [req('192.0.2.120')] }, 'offer'],
    ['REQUEST selecting', { type: D.REQUEST, options: [req('192.0.2.100'), sid(SERVER)] }, 'request'],
    ['REQUEST init-reboot', { type: D.REQUEST, options: [req('192.0.2.100')] }, 'request'],
    ['REQUEST renewing', { type: D.REQUEST, ciaddr: '192.0.2.100' }, 'request'],
    ['REQUEST init-reboot, foreign', { type: D.REQUEST, options: [req('10.1.1.1')] }, 'nak'],
    ['REQUEST for the broadcast address', { type: D.REQUEST, options: [req('192.0.2.255')] }, 'nak'],
    [
      'REQUEST to another server',
      { type: D.REQUEST, options: [req('192.0.2.9'), sid('192.0.2.9')] },
      'ignore',
    ],
    ['REQUEST naming nothing', { type: D.REQUEST }, 'ignore'],
    ['RELEASE', { type: D.RELEASE, ciaddr: '192.0.2.100' }, 'release'],
    ['RELEASE without ciaddr', { type: D.RELEASE }, 'ignore'],
    ['DECLINE', { type: D.DECLINE, options: [req('192.0.2.100')] }, 'decline'],
    ['INFORM', { type: D.INFORM, ciaddr: '192.0.2.7' }, 'inform'],
    ['no message type (BOOTP)', {}, 'ignore'],
    ['OFFER from a VM', { type: D.OFFER }, 'ignore'],
    ['ACK from a VM (op 2)', { type: D.ACK, op: 2 }, 'ignore'],
    ['relayed', { type: D.DISCOVER, giaddr: '192.0.2.254' }, 'ignore'],
    ['chaddr of another VM', { type: D.DISCOVER, chaddr: '02:00:00:00:00:0b' }, 'ignore'],
    [
      'multicast chaddr and source',
      { type: D.DISCOVER, chaddr: '03:00:00:00:00:01', src: '03:00:00:00:00:01' },
      'ignore',
    ],
    ['from port 67', { type: D.DISCOVER, sport: 67 }, 'ignore'],
  ];
  for (const [name, r, kind] of cases) {
    const i = classifyDhcp(request(r), SUBNET, SERVER);
    assert.equal(i.kind, kind, `${name}: ${JSON.stringify(i.kind === 'ignore' ? i : i.kind)}`);
  }
  const renew = classifyDhcp(request({ type: D.REQUEST, ciaddr: '192.0.2.100' }), SUBNET, SERVER);
  assert.deepEqual(renew.kind === 'request' && renew.address, '192.0.2.100');
  const other = classifyDhcp(request({ type: D.DISCOVER, chaddr: '02:00:00:00:00:0b' }), SUBNET, SERVER);
  assert.equal(other.kind === 'ignore' && other.reason, 'spoofed-chaddr');
});

void test('dhcp server: inSubnet excludes the network and broadcast addresses', () => {
  assert.equal(inSubnet('192.0.2.0/24', '192.0.2.1'), true);
  assert.equal(inSubnet('192.0.2.0/24', '192.0.2.0'), false);
  assert.equal(inSubnet('192.0.2.0/24', '192.0.2.255'), false);
  assert.equal(inSubnet('192.0.2.0/24', '192.0.3.1'), false);
  assert.equal(inSubnet('192.0.2.0/31', '192.0.2.1'), true);
  assert.equal(inSubnet('192.0.2.0/24', 'nonsense'), false);
});

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

const SETTINGS = { subnet: SUBNET, server: { ip: SERVER, mac: '02:00:00:00:00:01' }, mtu: 1450 };

void test('dhcp server: an OFFER carries the address and every option, to the client', () => {
  const i = classifyDhcp(request({ type: D.DISCOVER }), SUBNET, SERVER) as Extract<DhcpIntent, { msg: Dhcp }>;
  const r = replyOf(dhcpReply(i, { kind: 'address', address: '192.0.2.100', hostname: 'vm1' }, SETTINGS));
  assert.equal(r.eth.dst, VM);
  assert.equal(r.eth.src, '02:00:00:00:00:01');
  assert.equal(r.ip.src, SERVER);
  assert.equal(r.ip.dst, '192.0.2.100');
  assert.deepEqual([r.udp.srcPort, r.udp.dstPort], [67, 68]);
  assert.equal(r.msg.op, 2);
  assert.equal(r.msg.xid, 0x12345678);
  assert.equal(r.msg.yiaddr, '192.0.2.100');
  assert.equal(r.msg.chaddr, VM);
  assert.equal(r.opts.get('messageType'), D.OFFER);
  assert.equal(r.opts.get('serverId'), SERVER);
  assert.equal(r.opts.get('subnetMask'), '255.255.255.0');
  assert.deepEqual(r.opts.get('router'), [SERVER]);
  assert.deepEqual(r.opts.get('dns'), ['192.0.2.53']);
  assert.equal(r.opts.get('hostname'), 'vm1');
  assert.equal(r.opts.get('leaseTime'), 3600);
  assert.deepEqual(r.opts.get(58), [0, 0, 0x07, 0x08]); // T1 = 1800
  assert.deepEqual(r.opts.get(59), [0, 0, 0x0c, 0x4e]); // T2 = 3150
  assert.deepEqual(r.opts.get(26), [0x05, 0xaa]); // MTU 1450
});

void test('dhcp server: ACK, NAK and INFORM replies', () => {
  const bcast = classifyDhcp(
    request({ type: D.REQUEST, flags: 0x8000, options: [req('192.0.2.100'), sid(SERVER)] }),
    SUBNET,
    SERVER,
  ) as Extract<DhcpIntent, { msg: Dhcp }>;
  const ack = replyOf(dhcpReply(bcast, { kind: 'address', address: '192.0.2.100' }, SETTINGS));
  assert.equal(ack.opts.get('messageType'), D.ACK);
  assert.equal(ack.eth.dst, 'ff:ff:ff:ff:ff:ff');
  assert.equal(ack.ip.dst, '255.255.255.255');
  assert.equal(ack.msg.flags, 0x8000);
  assert.equal(ack.opts.has('hostname'), false);

  const nak = replyOf(dhcpReply(bcast, { kind: 'nak', why: 'foreign' }, SETTINGS));
  assert.equal(nak.opts.get('messageType'), D.NAK);
  assert.equal(nak.msg.yiaddr, '0.0.0.0');
  assert.equal(nak.opts.has('leaseTime'), false);
  assert.equal(nak.opts.has('subnetMask'), false);
  assert.equal(nak.ip.dst, '255.255.255.255');

  const renewing = classifyDhcp(request({ type: D.REQUEST, ciaddr: '192.0.2.100' }), SUBNET, SERVER);
  const renewAck = replyOf(
    dhcpReply(
      renewing as Extract<DhcpIntent, { msg: Dhcp }>,
      { kind: 'address', address: '192.0.2.100' },
      SETTINGS,
    ),
  );
  assert.equal(renewAck.ip.dst, '192.0.2.100');
  assert.equal(renewAck.msg.ciaddr, '192.0.2.100');

  const inform = classifyDhcp(request({ type: D.INFORM, ciaddr: '192.0.2.7' }), SUBNET, SERVER);
  const ir = replyOf(dhcpReply(inform as Extract<DhcpIntent, { msg: Dhcp }>, { kind: 'inform' }, SETTINGS));
  assert.equal(ir.opts.get('messageType'), D.ACK);
  assert.equal(ir.msg.yiaddr, '0.0.0.0');
  assert.equal(ir.opts.has('leaseTime'), false);
  assert.equal(ir.opts.get('subnetMask'), '255.255.255.0');
  assert.equal(ir.ip.dst, '192.0.2.7');

  const noMtu = replyOf(
    dhcpReply(inform as Extract<DhcpIntent, { msg: Dhcp }>, { kind: 'inform' }, { ...SETTINGS, mtu: 0 }),
  );
  assert.equal(noMtu.opts.has(26), false);
});

void test('dhcp server: hostile frames get no answer and never throw', () => {
  const good = request({ type: D.REQUEST, options: [req('192.0.2.100'), sid(SERVER)] });
  const served = new Set(['offer', 'request', 'nak', 'inform', 'release', 'decline']);
  let ignored = 0;
  // Every truncation of a good request.
  for (let n = 0; n < good.length; n++) {
    const i = classifyDhcp(good.subarray(0, n), SUBNET, SERVER);
    if (i.kind === 'ignore') ignored++;
  }
  assert.ok(ignored >= good.length - 60, `most truncations are ignored (${ignored}/${good.length})`);
  // Every byte flipped, and random bytes: any outcome but a throw; a served one names our subnet's rules.
  const rnd = seeded(13);
  for (let k = 0; k < good.length; k++) {
    const bad = Uint8Array.from(good);
    bad[k] = bad[k]! ^ (1 + Math.floor(rnd() * 255));
    const i = classifyDhcp(bad, SUBNET, SERVER);
    if (i.kind === 'request') assert.ok(inSubnet(SUBNET.subnet, i.address));
    assert.ok(i.kind === 'ignore' || served.has(i.kind));
  }
  for (let k = 0; k < 2000; k++) {
    const len = Math.floor(rnd() * 600);
    const junk = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
    assert.equal(classifyDhcp(junk, SUBNET, SERVER).kind, 'ignore');
  }
  // A bad magic cookie, an option running past the end: malformed.
  const cookie = Uint8Array.from(good);
  cookie[14 + 20 + 8 + 236] = 0;
  const c = classifyDhcp(cookie, SUBNET, SERVER);
  assert.equal(c.kind === 'ignore' && c.reason, 'malformed');
});

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
