/**
 * Contract aspect: IPv6 in the model. Router ports take an IPv6 interface address beside the IPv4
 * one; routes take IPv6 prefixes and gateways; bad values are refused naming the field and the value,
 * and nothing is written.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { rejects, type ContractContext } from './support.js';

export function ipv6Contract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);
  it('stores a router port IPv6 address and IPv6 routes in canonical form', async () => {
    const s = c.fx().store;
    const rt = await s.create('router', { name: uniq('rt') });
    const p = await s.create('port', {
      name: uniq('p'),
      deviceId: rt.id,
      address: '192.0.2.1/24',
      address6: '2001:DB8:1:0::1/64',
    });
    assert.equal(p.address6, '2001:db8:1::1/64');
    const r = await s.create('route', {
      routerId: rt.id,
      dstPrefix: '2001:db8:0002::/48',
      nextHopPortId: p.id,
      gateway: '2001:db8:1::0:fe',
    });
    assert.equal(r.dstPrefix, '2001:db8:2::/48');
    assert.equal(r.gateway, '2001:db8:1::fe');
    assert.equal(r.srcPrefix, '0.0.0.0/0', 'the any-source default stands for either family');
    const v4 = await s.create('route', { routerId: rt.id, dstPrefix: '203.0.113.0/24', nextHopPortId: p.id });
    assert.equal(v4.dstPrefix, '203.0.113.0/24');
  });

  it('refuses bad IPv6 values naming the field and the value, writing nothing', async () => {
    const s = c.fx().store;
    const rt = await s.create('router', { name: uniq('rt') });
    const br = await s.create('bridge', { name: uniq('br') });
    const port = (address6: string) =>
      s.create('port', { name: uniq('p'), deviceId: rt.id, address: '192.0.2.1/24', address6 });
    await rejects(
      port('2001:db8::1/129'),
      'invalid',
      /port\.address6: '2001:db8::1\/129': the prefix length must be 0 to 128/,
    );
    await rejects(
      port('2001:db8::1'),
      'invalid',
      /port\.address6: '2001:db8::1': expected address\/prefix-length/,
    );
    await rejects(port('2001:db8::1/128'), 'invalid', /port\.address6: .*must be 1 to 127/);
    await rejects(port('fe80::1/64'), 'invalid', /port\.address6: 'fe80::1\/64': a link-local address/);
    await rejects(port('ff02::1/64'), 'invalid', /port\.address6: 'ff02::1\/64': a multicast address/);
    await rejects(
      port('2001:db8::g/64'),
      'invalid',
      /port\.address6: '2001:db8::g\/64': the address part is not an IPv6 address/,
    );
    await rejects(
      s.create('port', { name: uniq('p'), deviceId: br.id, address6: '2001:db8::1/64' }),
      'invalid',
      /port\.address6: applies to router ports only/,
    );
    const p = await s.create('port', { name: uniq('p'), deviceId: rt.id, address: '192.0.2.1/24' });
    const route = (o: Record<string, unknown>) =>
      s.create('route', { routerId: rt.id, nextHopPortId: p.id, ...o });
    await rejects(
      route({ dstPrefix: '2001:db8::1/64' }),
      'invalid',
      /route\.dstPrefix: '2001:db8::1\/64': host bits are set; did you mean 2001:db8::\/64\?/,
    );
    await rejects(
      route({ dstPrefix: '2001:db8::/200' }),
      'invalid',
      /route\.dstPrefix: .*the prefix length must be 0 to 128/,
    );
    await rejects(
      route({ dstPrefix: '2001:db8::/32', gateway: '192.0.2.254' }),
      'invalid',
      /route\.gateway: '192\.0\.2\.254' is not IPv6 like the destination 2001:db8::\/32/,
    );
    await rejects(
      route({ dstPrefix: '203.0.113.0/24', gateway: '2001:db8::fe' }),
      'invalid',
      /route\.gateway: '2001:db8::fe' is not IPv4/,
    );
    await rejects(
      route({ dstPrefix: '2001:db8::/32', srcPrefix: '192.0.2.0/24' }),
      'invalid',
      /route\.srcPrefix: '192\.0\.2\.0\/24' is not IPv6/,
    );
    const routes = (await s.list('route')).filter((r) => r.routerId === rt.id);
    assert.equal(routes.length, 0, 'nothing written');
  });
}
