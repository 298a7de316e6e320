/**
 * The health monitor against a real TCP/HTTP server on loopback and an in-memory store: a member
 * whose server stops is marked down after `retries` failed checks and up again once it answers; an
 * HTTP check wants the expected status; of two monitors, one leads and the other takes over when it
 * stops. (The lab test, test/integration/lb.test.ts, runs it against member VMs through OVS.)
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { registerLbHealthMetrics } from '../../src/lb/metrics.js';
import { HealthMonitor } from '../../src/lb/monitor.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';

const log = pino({ level: 'silent' });
/** Checks from this process's own namespace (the lab test makes them from the router's). */
const LOCAL = { kind: 'netns', netns: null } as const;

async function listen(status: number): Promise<Server> {
  const s = createServer((_req, res) => {
    res.statusCode = status;
    res.end('ok');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.2', r));
  return s;
}

async function world(store: TopologyStore, port: number, type: 'tcp' | 'http') {
  const rt = await store.create('router', { name: 'r' });
  await store.create('port', { name: 'r-lo', deviceId: rt.id, address: '127.0.0.1/8' });
  const lb = await store.create('load-balancer', { name: 'lb', routerId: rt.id });
  const pool = await store.create('pool', { name: 'p', loadBalancerId: lb.id });
  const m = await store.create('pool-member', { name: 'm', poolId: pool.id, address: '127.0.0.2', port });
  await store.create('health-monitor', {
    name: 'hm',
    poolId: pool.id,
    type,
    interval: 1,
    timeout: 1,
    retries: 2,
  });
  return m;
}

describe('midonet-lb-health: member status from real checks', () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const s of stops) await s();
  });

  it('follows the change feed: a monitor and a member created after start are checked, a deleted one no longer', async () => {
    const store = await openStore(`memory:lb-${randomBytes(4).toString('hex')}`);
    const server = await listen(200);
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const mon = new HealthMonitor(store, { candidate: 'a', source: LOCAL }, log);
    stops.push(() => mon.stop());
    await mon.start();
    assert.equal(mon.leads().length, 0, 'no balancer yet');
    const m = await world(store, (server.address() as AddressInfo).port, 'tcp');
    await until(() => mon.leads().length === 1 && mon.counts.checks >= 1, {
      what: 'the new balancer led and its member checked',
    });
    await store.delete('pool-member', m.id);
    await new Promise((r) => setTimeout(r, 300));
    const checks = mon.counts.checks;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(mon.counts.checks, checks, 'a deleted member is not checked');
  });

  it('tcp: a stopped server goes down after 2 failed checks, and up again when it answers', async () => {
    const store = await openStore(`memory:lb-${randomBytes(4).toString('hex')}`);
    let server = await listen(200);
    const port = (server.address() as AddressInfo).port;
    const m = await world(store, port, 'tcp');
    const mon = new HealthMonitor(store, { candidate: 'a', source: LOCAL }, log);
    stops.push(() => mon.stop());
    await mon.start();
    await until(() => mon.counts.checks >= 2, { what: 'two checks' });
    assert.equal((await store.get('pool-member', m.id))!.status, 'up');
    await new Promise<void>((r) => server.close(() => r()));
    await until(async () => (await store.get('pool-member', m.id))!.status === 'down', {
      what: 'the member marked down',
      timeoutMs: 6000,
    });
    server = createServer((_q, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(port, '127.0.0.2', r));
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    await until(async () => (await store.get('pool-member', m.id))!.status === 'up', {
      what: 'the member marked up again',
      timeoutMs: 6000,
    });
    assert.equal(mon.counts.transitions, 2);
    const registry = new Registry();
    registerLbHealthMetrics(registry, mon);
    const text = await registry.metrics();
    assert.match(text, /midonet_lb_health_transitions_total\{member="m",status="down"\} 1/);
    assert.match(text, /midonet_lb_health_transitions_total\{member="m",status="up"\} 1/);
    assert.match(text, /midonet_lb_health_checks_total\{result="fail"\} [1-9]/);
    assert.match(text, /midonet_lb_health_leading 1/);
  });

  it('http: a status other than the expected one is a failure; a standby takes over from a leader that stops', async () => {
    const store = await openStore(`memory:lb-${randomBytes(4).toString('hex')}`);
    const server = await listen(503);
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    const m = await world(store, (server.address() as AddressInfo).port, 'http');
    const a = new HealthMonitor(store, { candidate: 'a', source: LOCAL }, log);
    const b = new HealthMonitor(store, { candidate: 'b', source: LOCAL }, log);
    stops.push(
      () => a.stop(),
      () => b.stop(),
    );
    await a.start();
    await b.start();
    await until(() => a.leads().length + b.leads().length === 1, { what: 'one leader' });
    const [leader, standby] = a.leads().length === 1 ? [a, b] : [b, a];
    await until(async () => (await store.get('pool-member', m.id))!.status === 'down', {
      what: 'the member marked down (503)',
      timeoutMs: 6000,
    });
    await leader.stop();
    await until(() => standby.leads().length === 1, { what: 'the standby leading', timeoutMs: 5000 });
  });
});
