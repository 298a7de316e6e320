// FlowMatch: building packets from plain fields (what the CLI's trace options give), the read-tracking
// contract (reads set mask bits, untracked peeks do not, written fields are not the packet's), and the
// OpenFlow form of a mask.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ETH_DST_HI, ETH_TYPE, IP_DST, IP_SRC, IP_TTL, TP_DST, VLAN } from '../../src/sim/flow-match.js';
import { buildFlowMatch, packetFieldsOf } from '../../src/sim/packet-fields.js';
import { finishMask, formatMask, maskFields } from '../../src/sim/mask.js';

function ok(p: Parameters<typeof buildFlowMatch>[0]) {
  const r = buildFlowMatch(p);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.match;
}

describe('FlowMatch', () => {
  it('builds a packet from plain fields and gives them back', () => {
    const m = ok({
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:02',
      vlan: 10,
      srcIp: '192.0.2.1',
      dstIp: '198.51.100.2',
      proto: 'tcp',
      srcPort: 1234,
      dstPort: 80,
      tcpFlags: ['syn', 'ack'],
      tcpWindow: 512,
      ttl: 9,
    });
    assert.deepEqual(packetFieldsOf(m), {
      srcMac: '02:00:00:00:00:01',
      dstMac: '02:00:00:00:00:02',
      ethertype: 0x800,
      srcIp: '192.0.2.1',
      dstIp: '198.51.100.2',
      ttl: 9,
      vlan: 10,
      proto: 6,
      srcPort: 1234,
      dstPort: 80,
      tcpFlags: 0x12,
      tcpWindow: 512,
    });
    assert.equal(m.orig[IP_TTL], 9);
  });

  it('names every bad field', () => {
    const r = buildFlowMatch({
      srcMac: 'zz',
      dstIp: '1.2.3',
      proto: 'icmp',
      srcPort: 5,
      tcpFlags: ['nope'],
      vlan: 5000,
    });
    assert.ok(!r.ok);
    for (const w of ['srcMac', 'dstIp', 'srcPort', 'nope', 'vlan'])
      assert.ok(r.error.includes(w), `${w} in ${r.error}`);
  });

  it('ARP packets carry SPA/TPA in the IP fields and the opcode in ip_proto', () => {
    const m = ok({
      srcMac: '02:00:00:00:00:01',
      dstMac: 'ff:ff:ff:ff:ff:ff',
      arpOp: 1,
      srcIp: '192.0.2.1',
      dstIp: '192.0.2.2',
    });
    assert.equal(m.orig[ETH_TYPE], 0x0806);
    assert.equal(packetFieldsOf(m).arpOp, 1);
  });

  it('tracked reads set mask bits; peeks do not; reads of written fields do not', () => {
    const m = ok({ srcIp: '192.0.2.1', dstIp: '198.51.100.2', proto: 'udp', srcPort: 1, dstPort: 2 });
    m.begin('p');
    assert.equal(m.mask[IP_SRC], 0);
    m.peek(IP_SRC);
    assert.equal(m.mask[IP_SRC], 0);
    assert.equal(m.read(IP_DST, 0xffffff00), 0xc6336400 >>> 0);
    assert.equal(m.mask[IP_DST], 0xffffff00);
    void m.tpDst;
    assert.equal(m.mask[TP_DST], 0xffff);
    m.setEthDst(0x020000000009);
    void m.ethDst;
    assert.equal(m.mask[ETH_DST_HI], 0);
    m.write(VLAN, 7);
    assert.equal(m.readAll(VLAN), 7);
    assert.equal(m.mask[VLAN], 0);
  });

  it('reading the TCP window makes the result uncacheable, never a mask bit', () => {
    const m = ok({ proto: 'tcp', tcpWindow: 100 });
    m.begin('p');
    assert.equal(m.uncacheable, null);
    assert.equal(m.tcpWindow, 100);
    assert.ok(m.uncacheable !== null);
    assert.ok(m.mask.every((w, f) => f === 0 || w === 0));
  });

  it('finishMask adds OpenFlow prerequisites and formats per field', () => {
    const m = ok({
      srcMac: '02:00:00:00:00:01',
      srcIp: '192.0.2.1',
      dstIp: '198.51.100.2',
      proto: 'tcp',
      srcPort: 1,
      dstPort: 80,
    });
    m.begin('p');
    m.read(IP_DST, 0xffffff00);
    m.read(TP_DST, 0xffff);
    const mask = finishMask(m.mask.slice());
    assert.equal(
      formatMask(mask, m.orig, 'vm1'),
      'in_port=vm1 eth_type=0x800 ip_dst=198.51.100.0/255.255.255.0 ip_proto=6 tp_dst=80',
    );
    assert.deepEqual(
      maskFields(mask, m.orig, 'vm1').map((f) => [f.field, f.mask]),
      [
        ['in_port', 'exact'],
        ['eth_type', 'exact'],
        ['ip_dst', '255.255.255.0'],
        ['ip_proto', 'exact'],
        ['tp_dst', 'exact'],
      ],
    );
  });
});
