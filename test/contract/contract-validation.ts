/**
 * Contract aspect: validation. Malformed values and references that cannot work are refused with an
 * error naming the field, the value and what is allowed, and nothing is written.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { UNSAFE_TEXT } from '../../src/quote.js';
import { rejects, type ContractContext } from './support.js';

export function validationContract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);
  it('rejects malformed values naming field, value and what is allowed', async () => {
    const s = c.fx().store;
    const br = await s.create('bridge', { name: uniq('br') });
    const rt = await s.create('router', { name: uniq('rt') });
    await rejects(
      s.create('bridge', { name: uniq('br'), inboundChainId: 'not-a-uuid' }),
      'invalid',
      /bridge\.inboundChainId: 'not-a-uuid': expected a UUID/,
    );
    await rejects(
      s.create('port', { name: uniq('p'), deviceId: rt.id, address: '192.0.2.300/24' }),
      'invalid',
      /port\.address: '192\.0\.2\.300\/24'/,
    );
    await rejects(
      s.create('port', { name: uniq('p'), deviceId: rt.id, address: '192.0.2.1/24', mac: 'zz:00' }),
      'invalid',
      /port\.mac: 'zz:00': expected a MAC/,
    );
    await rejects(
      s.create('route', { routerId: rt.id, dstPrefix: '192.0.2.1/24', type: 'blackhole' }),
      'invalid',
      /host bits are set; did you mean 192\.0\.2\.0\/24/,
    );
    await rejects(
      s.create('route', { routerId: rt.id, dstPrefix: '192.0.2.0/24', type: 'sideways' }),
      'invalid',
      /route\.type: 'sideways': allowed values: normal, blackhole, reject/,
    );
    const chain = await s.create('chain', { name: uniq('c') });
    await rejects(
      s.create('rule', { chainId: chain.id, action: 'drop', conditions: { srcPort: { value: '90-80' } } }),
      'invalid',
      /range start is above its end/,
    );
    await rejects(
      s.create('rule', { chainId: chain.id, action: 'drop', conditions: { dstPort: { value: '70000' } } }),
      'invalid',
      /0 to 65535/,
    );
    await rejects(
      s.create('bridge', { name: uniq('br'), colour: 'blue' }),
      'invalid',
      /unknown field\(s\): colour/,
    );
    await rejects(s.create('bridge', {}), 'invalid', /bridge\.name: is required/);
    await rejects(s.create('bridge', { name: br.name }), 'exists', /already used/);
    await rejects(
      s.create('port', { name: uniq('p'), deviceId: br.id, tunnelKey: 5 }),
      'invalid',
      /tunnelKey: is set by the store/,
    );
  });
  it('rejects references that cannot work', async () => {
    const s = c.fx().store;
    const br = await s.create('bridge', { name: uniq('br') });
    const rt = await s.create('router', { name: uniq('rt') });
    const rt2 = await s.create('router', { name: uniq('rt') });
    const missing = '00000000-0000-4000-8000-000000000001';
    await rejects(
      s.create('bridge', { name: uniq('br'), inboundChainId: missing }),
      'not-found',
      /inboundChainId: no object with id/,
    );
    await rejects(
      s.create('bridge', { name: uniq('br'), inboundChainId: rt.id }),
      'invalid',
      /is a router; expected chain/,
    );
    await rejects(
      s.create('port', { name: uniq('p'), deviceId: missing }),
      'not-found',
      /no bridge or router/,
    );
    await rejects(
      s.create('port', { name: uniq('p'), deviceId: rt.id }),
      'invalid',
      /port.address: a router port needs an address, IPv4 .* or IPv6 .* or both/,
    );
    const v6only = await s.create('port', {
      name: uniq('p'),
      deviceId: rt.id,
      address6: '2001:db8:77::1/64',
    });
    assert.equal(v6only.address, null, 'an IPv6-only router port is accepted');
    await rejects(
      s.create('bgp-peer', {
        name: uniq('peer'),
        portId: v6only.id,
        peerAddress: '192.0.2.9',
        peerAs: 65001,
        localAs: 65000,
      }),
      'invalid',
      /bgp-peer.portId: port '.*' has no IPv4 address; BGP peers need one/,
    );
    const p2 = await s.create('port', { name: uniq('p'), deviceId: rt2.id, address: '192.0.2.1/24' });
    await rejects(
      s.create('route', { routerId: rt.id, dstPrefix: '0.0.0.0/0', nextHopPortId: p2.id }),
      'invalid',
      /nextHopPortId: port '.*' is not a port of router/,
    );
    await rejects(
      s.create('route', { routerId: rt.id, dstPrefix: '0.0.0.0/0' }),
      'invalid',
      /nextHopPortId: is required for a normal route/,
    );
    const a = await s.create('port', { name: uniq('a'), deviceId: br.id });
    const b = await s.create('port', { name: uniq('b'), deviceId: rt.id, address: '192.0.2.1/24' });
    const pc = await s.create('port', { name: uniq('c'), deviceId: rt2.id, address: '198.51.100.1/24' });
    const linked = await s.update('port', a.id, { peerId: b.id });
    assert.equal(linked.peerId, b.id);
    assert.equal((await s.get('port', b.id))!.peerId, a.id, 'links are symmetric');
    await rejects(s.update('port', pc.id, { peerId: b.id }), 'invalid', /already linked/);
    await rejects(
      s.update('port', a.id, { peerId: pc.id }),
      'invalid',
      /already linked to port .*; unlink it first/,
    );
    await s.update('port', a.id, { peerId: null });
    assert.equal((await s.get('port', b.id))!.peerId, null, 'unlink clears both sides');
    const host = await s.create('host', { name: uniq('h') });
    await s.create('port', { name: uniq('x'), deviceId: br.id, hostId: host.id, interfaceName: 'tap1' });
    await rejects(
      s.create('port', { name: uniq('y'), deviceId: br.id, hostId: host.id, interfaceName: 'tap1' }),
      'exists',
      /already bound/,
    );
    // Chain cycles through jumps are refused.
    const c1 = await s.create('chain', { name: uniq('c') });
    const c2 = await s.create('chain', { name: uniq('c') });
    const c3 = await s.create('chain', { name: uniq('c') });
    await s.create('rule', { chainId: c1.id, action: 'jump', jumpChainId: c2.id });
    await s.create('rule', { chainId: c2.id, action: 'jump', jumpChainId: c3.id });
    await rejects(
      s.create('rule', { chainId: c3.id, action: 'jump', jumpChainId: c1.id }),
      'invalid',
      /would create a loop/,
    );
    await rejects(
      s.create('rule', { chainId: c3.id, action: 'jump' }),
      'invalid',
      /jumpChainId: is required for action jump/,
    );
    const dhcpBad = s.create('dhcp', {
      name: uniq('d'),
      bridgeId: br.id,
      subnet: '192.0.2.0/24',
      gateway: '203.0.113.1',
    });
    await rejects(dhcpBad, 'invalid', /dhcp\.gateway: '203\.0\.113\.1' is outside the subnet/);
  });

  it('refuses control characters and escape sequences in names and free text, and never echoes them raw', async () => {
    const s = c.fx().store;
    const br = await s.create('bridge', { name: uniq('br') });
    const rt = await s.create('router', { name: uniq('rt') });
    const hostile = [
      'evil\nname',
      'evil\u001b[2Jname',
      'tab\there',
      'nul\u0000',
      'del\u007f',
      'c1\u009b31m',
      'bidi\u202ename',
      'ls\u2028x',
    ];
    for (const name of hostile) {
      for (const [kind, fields] of [
        ['bridge', { name }],
        ['chain', { name }],
        ['route', { name, routerId: rt.id, dstPrefix: '0.0.0.0/0', type: 'blackhole' }],
      ] as const) {
        await assert.rejects(s.create(kind, fields), (e: Error) => {
          assert.match(e.message, /\.name: .*control characters/, e.message);
          assert.doesNotMatch(e.message, UNSAFE_TEXT, 'the value is escaped');
          return true;
        });
      }
    }
    await rejects(
      s.create('dhcp', {
        name: uniq('d'),
        bridgeId: br.id,
        subnet: '192.0.2.0/24',
        hosts: [{ mac: '02:00:00:00:00:01', address: '192.0.2.5', name: 'vm\u001b]0;pwned\u0007' }],
      }),
      'invalid',
      /dhcp\.hosts\.0\.name: 'vm\\x1b\]0;pwned\\x07': control characters/,
    );
    await assert.rejects(s.update('bridge', br.id, { name: 'renamed\r\n' }), /control characters/);
    assert.equal((await s.get('bridge', br.id))!.name, br.name, 'nothing written');
    // A long value is cut in the message.
    const long = `x${'y'.repeat(5000)}\n`;
    await assert.rejects(s.create('bridge', { name: long }), (e: Error) => {
      assert.ok(e.message.length < 400, `message cut: ${e.message.length} characters`);
      assert.match(e.message, /\.\.\.' \(5002 characters\)/);
      return true;
    });
    await assert.rejects(s.resolve('bridge', 'no\nsuch'), (e: Error) => {
      assert.match(e.message, /no bridge named or with id 'no\\nsuch'/);
      return true;
    });
  });

  it("reserves 'none', which clears a reference, as a name", async () => {
    const s = c.fx().store;
    for (const kind of ['bridge', 'chain', 'port-group'] as const)
      await rejects(s.create(kind, { name: 'none' }), 'invalid', /\.name: 'none': 'none' is reserved/);
    const br = await s.create('bridge', { name: uniq('br') });
    await rejects(s.update('bridge', br.id, { name: 'none' }), 'invalid', /'none' is reserved/);
  });

  it('refuses a multicast MAC on a port, and two DHCP subnets with the same or overlapping CIDR on a bridge', async () => {
    const s = c.fx().store;
    const rt = await s.create('router', { name: uniq('rt') });
    await rejects(
      s.create('port', {
        name: uniq('p'),
        deviceId: rt.id,
        address: '192.0.2.1/24',
        mac: '01:00:5e:00:00:01',
      }),
      'invalid',
      /port\.mac: '01:00:5e:00:00:01' is a multicast MAC; a port needs a unicast one/,
    );
    await rejects(
      s.create('port', {
        name: uniq('p'),
        deviceId: rt.id,
        address: '192.0.2.1/24',
        mac: 'ff:ff:ff:ff:ff:ff',
      }),
      'invalid',
      /multicast MAC/,
    );
    const p = await s.create('port', { name: uniq('p'), deviceId: rt.id, address: '192.0.2.1/24' });
    await rejects(s.update('port', p.id, { mac: '03:00:00:00:00:01' }), 'invalid', /multicast MAC/);
    const br = await s.create('bridge', { name: uniq('br') });
    const other = await s.create('bridge', { name: uniq('br') });
    const d = await s.create('dhcp', { name: uniq('d'), bridgeId: br.id, subnet: '192.0.2.0/24' });
    await s.create('dhcp', { name: uniq('d'), bridgeId: other.id, subnet: '192.0.2.0/24' });
    await rejects(
      s.create('dhcp', { name: uniq('d'), bridgeId: br.id, subnet: '192.0.2.0/24' }),
      'invalid',
      new RegExp(
        `dhcp\\.subnet: 192\\.0\\.2\\.0/24 overlaps subnet 192\\.0\\.2\\.0/24 of dhcp '${d.name}' on the same bridge`,
      ),
    );
    await rejects(
      s.create('dhcp', { name: uniq('d'), bridgeId: br.id, subnet: '192.0.2.128/25' }),
      'invalid',
      /overlaps subnet 192\.0\.2\.0\/24/,
    );
    await s.create('dhcp', { name: uniq('d'), bridgeId: br.id, subnet: '198.51.100.0/24' });
    await s.update('dhcp', d.id, { leaseTime: 3600 });
  });

  it('names an unknown kind and lists the kinds', async () => {
    const s = c.fx().store;
    const widget = 'widget' as 'bridge';
    const msg =
      /unknown kind 'widget'; kinds are: host, tunnel-zone, bridge, router, port, route, chain, rule, port-group, ip-address-group, dhcp, bgp-peer, bgp-network/;
    await rejects(s.create(widget, { name: uniq('w') }), 'invalid', msg);
    await rejects(s.list(widget), 'invalid', msg);
    await rejects(s.get(widget, '00000000-0000-4000-8000-000000000001'), 'invalid', msg);
    await rejects(s.resolve(widget, 'x'), 'invalid', msg);
    await rejects(s.transact([{ op: 'delete', kind: widget, id: 'x' }]), 'invalid', msg);
  });
}
