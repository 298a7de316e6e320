/**
 * Contract aspect: the load balancer objects. A balancer on a router with a VIP, a pool, members and
 * a health monitor is stored; the bad inputs (a member port out of range, a weight below 0, a
 * VIP on a router port's address, a monitor whose timeout is above its interval) and the rules that
 * span objects (VIP in a router subnet and unique per address/protocol/port, members reachable, one
 * balancer per router, one monitor per pool) are refused naming field and value, writing nothing.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { rejects, type ContractContext } from './support.js';

export function lbContract(c: ContractContext): void {
  const uniq = (p: string) => c.uniq(p);

  async function world() {
    const s = c.fx().store;
    const rt = await s.create('router', { name: uniq('lb-rt') });
    await s.create('port', { name: uniq('lb-up'), deviceId: rt.id, address: '203.0.113.1/24' });
    await s.create('port', { name: uniq('lb-in'), deviceId: rt.id, address: '192.0.2.1/24' });
    const lb = await s.create('load-balancer', { name: uniq('lb'), routerId: rt.id });
    const pool = await s.create('pool', { name: uniq('pool'), loadBalancerId: lb.id });
    return { s, rt, lb, pool };
  }

  it('stores a balancer with a VIP, a pool, members and a health monitor', async () => {
    const { s, lb, pool } = await world();
    const vip = await s.create('vip', {
      name: uniq('vip'),
      loadBalancerId: lb.id,
      poolId: pool.id,
      address: '203.0.113.10',
      port: 80,
      sessionPersistence: 'source-ip',
    });
    assert.equal(vip.protocol, 'tcp');
    const m = await s.create('pool-member', {
      name: uniq('m'),
      poolId: pool.id,
      address: '192.0.2.10',
      port: 8080,
    });
    assert.equal(m.weight, 1);
    assert.equal(m.status, 'up');
    const hm = await s.create('health-monitor', {
      name: uniq('hm'),
      poolId: pool.id,
      type: 'http',
      interval: 2,
      timeout: 1,
      retries: 2,
    });
    assert.equal(hm.httpPath, '/');
    assert.equal(hm.expectedStatus, 200);
    // A pool with members is not deleted by accident; with --cascade its members and monitor go too.
    await rejects(s.delete('pool', pool.id), 'referenced', /pool-member/);
    await s.delete('pool', pool.id, { cascade: true });
    assert.equal(await s.get('pool-member', m.id), undefined);
    assert.equal(await s.get('health-monitor', hm.id), undefined);
    assert.equal(await s.get('vip', vip.id), undefined);
  });

  it('refuses the bad inputs of the issue naming field and value, writing nothing', async () => {
    const { s, lb, pool } = await world();
    const before = (await s.list('pool-member')).length;
    await rejects(
      s.create('pool-member', { name: uniq('m'), poolId: pool.id, address: '192.0.2.10', port: 70000 }),
      'invalid',
      /pool-member\.port: 70000: must be at most 65535/,
    );
    await rejects(
      s.create('pool-member', {
        name: uniq('m'),
        poolId: pool.id,
        address: '192.0.2.10',
        port: 80,
        weight: -1,
      }),
      'invalid',
      /pool-member\.weight: -1: must be at least 0/,
    );
    assert.equal((await s.list('pool-member')).length, before);
    const vips = (await s.list('vip')).length;
    await rejects(
      s.create('vip', {
        name: uniq('vip'),
        loadBalancerId: lb.id,
        poolId: pool.id,
        address: '203.0.113.1',
        port: 80,
      }),
      'invalid',
      /vip\.address: '203\.0\.113\.1' is the address of port/,
    );
    await rejects(
      s.create('vip', {
        name: uniq('vip'),
        loadBalancerId: lb.id,
        poolId: pool.id,
        address: '198.51.100.7',
        port: 80,
      }),
      'invalid',
      /vip\.address: '198\.51\.100\.7' is in no subnet of router/,
    );
    const ok = { loadBalancerId: lb.id, poolId: pool.id, address: '203.0.113.20', port: 443 };
    await s.create('vip', { name: uniq('vip'), ...ok });
    await rejects(
      s.create('vip', { name: uniq('vip'), ...ok }),
      'exists',
      /tcp 203\.0\.113\.20:443 is already VIP/,
    );
    assert.equal((await s.list('vip')).length, vips + 1);
    // The same collision seen from the port: a router port given a VIP's address, new or updated.
    const ports = await s.list('port');
    await rejects(
      s.create('port', { name: uniq('p'), deviceId: lb.routerId, address: '203.0.113.20/24' }),
      'invalid',
      /port\.address: '203\.0\.113\.20\/24' is the address of VIP/,
    );
    const up = ports.find((p) => p.deviceId === lb.routerId && p.address === '203.0.113.1/24')!;
    await rejects(
      s.update('port', up.id, { address: '203.0.113.20/24' }),
      'invalid',
      /port\.address: '203\.0\.113\.20\/24' is the address of VIP/,
    );
    assert.deepEqual(await s.list('port'), ports, 'no port written');
    const monitors = (await s.list('health-monitor')).length;
    await rejects(
      s.create('health-monitor', { name: uniq('hm'), poolId: pool.id, interval: 5, timeout: 10 }),
      'invalid',
      /health-monitor\.timeout: 10 is above the interval \(5\)/,
    );
    assert.equal((await s.list('health-monitor')).length, monitors);
  });

  it('refuses the same bad inputs on update, leaving the stored object as it was', async () => {
    const { s, pool } = await world();
    const m = await s.create('pool-member', {
      name: uniq('m'),
      poolId: pool.id,
      address: '192.0.2.10',
      port: 80,
    });
    const hm = await s.create('health-monitor', {
      name: uniq('hm'),
      poolId: pool.id,
      interval: 5,
      timeout: 2,
    });
    await rejects(
      s.update('pool-member', m.id, { weight: -1 }),
      'invalid',
      /pool-member\.weight: -1: must be at least 0/,
    );
    await rejects(
      s.update('pool-member', m.id, { port: 0 }),
      'invalid',
      /pool-member\.port: 0: must be at least 1/,
    );
    await rejects(
      s.update('health-monitor', hm.id, { timeout: 6 }),
      'invalid',
      /health-monitor\.timeout: 6 is above the interval \(5\)/,
    );
    // Lowering the interval under the stored timeout is the same conflict, named on the timeout.
    await rejects(
      s.update('health-monitor', hm.id, { interval: 1 }),
      'invalid',
      /health-monitor\.timeout: 2 is above the interval \(1\)/,
    );
    assert.deepEqual(await s.get('pool-member', m.id), m);
    assert.deepEqual(await s.get('health-monitor', hm.id), hm);
  });

  it('refuses a member the router cannot reach, a second balancer on a router, a second monitor', async () => {
    const { s, rt, pool } = await world();
    await rejects(
      s.create('pool-member', { name: uniq('m'), poolId: pool.id, address: '198.51.100.9', port: 80 }),
      'invalid',
      /pool-member\.address: '198\.51\.100\.9' is not reachable from router/,
    );
    await rejects(
      s.create('load-balancer', { name: uniq('lb'), routerId: rt.id }),
      'exists',
      /load-balancer\.routerId: router .* already has load balancer/,
    );
    await s.create('health-monitor', { name: uniq('hm'), poolId: pool.id });
    await rejects(
      s.create('health-monitor', { name: uniq('hm'), poolId: pool.id }),
      'exists',
      /already has health monitor/,
    );
  });

  it('stores IPv6 VIPs and members on the IPv6 subnets; one family per pool; IPv6 NAT refused saying so', async () => {
    const { s, rt, lb, pool } = await world();
    const up = (await s.list('port')).find((p) => p.deviceId === rt.id && p.address === '203.0.113.1/24')!;
    const inside = (await s.list('port')).find((p) => p.deviceId === rt.id && p.address === '192.0.2.1/24')!;
    await s.update('port', up.id, { address6: '2001:db8:f::1/64' });
    await s.update('port', inside.id, { address6: '2001:db8:1::1/64' });
    const vip = await s.create('vip', {
      name: uniq('vip6'),
      loadBalancerId: lb.id,
      poolId: pool.id,
      address: '2001:DB8:F:0::50',
      port: 80,
    });
    assert.equal(vip.address, '2001:db8:f::50', 'stored canonical');
    const m = await s.create('pool-member', {
      name: uniq('m6'),
      poolId: pool.id,
      address: '2001:db8:1::10',
      port: 8080,
    });
    assert.equal(m.address, '2001:db8:1::10');
    await rejects(
      s.create('pool-member', { name: uniq('m4'), poolId: pool.id, address: '192.0.2.10', port: 80 }),
      'invalid',
      /pool-member\.address: '192\.0\.2\.10' is IPv4 but member .* of the pool is IPv6 .*one address family/,
    );
    await rejects(
      s.create('pool-member', { name: uniq('m6'), poolId: pool.id, address: '2001:db8:9::10', port: 80 }),
      'invalid',
      /pool-member\.address: '2001:db8:9::10' is not reachable from router .*2001:db8:1::1\/64/,
    );
    const pool4 = await s.create('pool', { name: uniq('pool4'), loadBalancerId: lb.id });
    await s.create('pool-member', { name: uniq('m4'), poolId: pool4.id, address: '192.0.2.10', port: 80 });
    await rejects(
      s.create('vip', {
        name: uniq('v'),
        loadBalancerId: lb.id,
        poolId: pool4.id,
        address: '2001:db8:f::51',
        port: 80,
      }),
      'invalid',
      /vip\.address: '2001:db8:f::51' is IPv6 but member .* is IPv4/,
    );
    await rejects(
      s.create('vip', {
        name: uniq('v'),
        loadBalancerId: lb.id,
        poolId: pool.id,
        address: '2001:db8:f::1',
        port: 81,
      }),
      'invalid',
      /vip\.address: '2001:db8:f::1' is the address of port/,
    );
    await rejects(
      s.create('vip', {
        name: uniq('v'),
        loadBalancerId: lb.id,
        poolId: pool.id,
        address: '2001:db8:e::1',
        port: 81,
      }),
      'invalid',
      /vip\.address: '2001:db8:e::1' is in no subnet of router .*2001:db8:f::1\/64/,
    );
    await rejects(
      s.update('port', up.id, { address6: '2001:db8:f::50/64' }),
      'invalid',
      /port\.address6: '2001:db8:f::50\/64' is the address of VIP/,
    );
    await rejects(
      s.create('floating-ip', { name: uniq('fip6'), routerId: rt.id, address: '2001:db8:f::60' }),
      'invalid',
      /floating-ip\.address: '2001:db8:f::60'.*IPv6 NAT .* is not supported yet/,
    );
  });
}
