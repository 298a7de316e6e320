/**
 * The agent's DHCP server, the pure part (dhcp-server.ts): table-driven from client frames built with
 * the packet codec (test/support/dhcp-client-frame.ts), the replies and their options, and hostile
 * inputs (truncations, every byte of a request flipped, random bytes, server messages from a VM,
 * spoofed chaddr) that must yield no answer and never throw. The service: agent-dhcp-service.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyDhcp, dhcpReply, inSubnet, type DhcpIntent } from '../../src/agent/dhcp-server.js';
import { DhcpMessageType, parseEthernet, type Dhcp, type DhcpOption } from '../../src/packet/index.js';
import { TEST_SERVER_IP, TEST_VM_MAC, testSubnet } from '../support/dhcp-subnet.js';
import { dhcpClientFrame, type DhcpClientFields } from '../support/dhcp-client-frame.js';

const VM = TEST_VM_MAC;
const SERVER = TEST_SERVER_IP;
const SUBNET = testSubnet();

type Req = Omit<DhcpClientFields, 'src'> & { src?: string };

function request(r: Req = {}): Uint8Array {
  return dhcpClientFrame({ ...r, src: r.src ?? VM });
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
