/**
 * The L4 load balancer on real Open vSwitch, on a two-host lab with an ISP beyond the uplink: three
 * member VMs on bridge A (vm1, vm3 on hv1; vm5 on hv2) run busybox httpd answering their name; a
 * client on bridge B of hv2 (vm4) makes HTTP requests to a VIP on B's subnet, each on a new
 * connection. Round robin spreads 300 requests over every member (each at least 20%); weights 3:1:0
 * split 400 connections within 10 points of 75:25:0; source-ip persistence keeps one client on one
 * member; the ISP reaches a VIP on the uplink (a public service). Health checks are made by
 * midonet-lb-health from a namespace attached to router `edge` through a health port of its own (so
 * they take the path clients take): a stopped member is found through it, and when the leader on hv1
 * is killed the standby on hv2 rebinds the port to its host and still finds a failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { labDown, labUp, type LabHost, type LabState } from '../../src/lab/lab.js';
import { lbHealthNsPrefix, startLbHealth } from '../../src/lab/lb-lab.js';
import { healthNamespace, healthPortName, NS_IFACE } from '../../src/lb/health-port.js';
import { openStore } from '../../src/state/open.js';
import type { Obj } from '../../src/state/model.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { agentSettled, ispReachable, vm } from './lab-helpers.js';
import { failures, httpGet, memberOutAndBack, MemberServers } from './lb-helpers.js';

const CLI = fileURLToPath(new URL('../../../bin/midonet-cli', import.meta.url));
const VIP = '192.0.2.200';
const PUBLIC_VIP = '203.0.113.50';
const MEMBERS = ['vm1', 'vm3', 'vm5'] as const;

describe('load balancer: a VIP spreads HTTP connections over member VMs on two hosts', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-lb-'));
  const servers = new MemberServers(() => lab, runDir);
  const monitors: ChildProcess[] = [];

  /** busybox httpd in a member VM, answering its name on :8080; resolves once it answers. */
  async function startHttpd(name: string): Promise<void> {
    const v = vm(lab, name);
    await servers.start(name, v.netns, `http://${v.ip}:8080/`);
  }

  const stopHttpd = (name: string) => servers.stop(name);

  /** midonet-lb-health of hypervisor `host` (its health ports bound there); `leading`: resolves once it leads. */
  async function startMonitor(candidate: string, host: LabHost, leading: boolean): Promise<ChildProcess> {
    const child = startLbHealth(lab, host, candidate, true);
    monitors.push(child);
    let out = '';
    const led = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('leading the health checks')) resolve();
      });
      child.once('exit', (c) => reject(new Error(`midonet-lb-health ${candidate} exited with ${c}`)));
    });
    led.catch(() => undefined);
    if (leading) await led;
    return child;
  }

  async function status(name: string): Promise<string | undefined> {
    return (await store.get('pool-member', members[name]!.id))?.status;
  }
  const members: Record<string, Obj<'pool-member'>> = {};
  let vip: Obj<'vip'>;
  let lbId = '';

  /** The health port as stored, and the address its namespace on `host` has. */
  async function healthPort(host: LabHost): Promise<{ port: Obj<'port'>; nsAddress: string }> {
    const port = await store.resolve('port', healthPortName(lbId));
    const ns = healthNamespace(lbHealthNsPrefix(lab, host), lbId);
    const out = await run('ip', ['-n', ns, '-4', '-o', 'addr', 'show', 'dev', NS_IFACE]);
    return { port, nsAddress: /inet (\S+)/.exec(out)?.[1] ?? '' };
  }

  const get = (netns: string, host: string, count: number, extra: string[] = []) =>
    httpGet(netns, `http://${host}/`, count, extra);

  async function settled(): Promise<void> {
    for (const h of lab.hosts) await agentSettled(store, h);
  }

  before(async () => {
    lab = await labUp({
      runDir,
      name: uniqueLabName('lb'),
      hosts: 2,
      vmsPerHost: 3,
      tunnel: 'gre',
      bgp: true,
    });
    store = await openStore(lab.storeUrl);
    for (const name of MEMBERS) await startHttpd(name);
    const edge = await store.resolve('router', 'edge');
    const lb = await store.create('load-balancer', { name: 'lb', routerId: edge.id });
    lbId = lb.id;
    const pool = await store.create('pool', { name: 'web', loadBalancerId: lb.id });
    for (const name of MEMBERS)
      members[name] = await store.create('pool-member', {
        name,
        poolId: pool.id,
        address: vm(lab, name).ip,
        port: 8080,
      });
    vip = await store.create('vip', {
      name: 'web',
      loadBalancerId: lb.id,
      poolId: pool.id,
      address: VIP,
      port: 80,
    });
    await store.create('vip', {
      name: 'public-web',
      loadBalancerId: lb.id,
      poolId: pool.id,
      address: PUBLIC_VIP,
      port: 80,
    });
    await settled();
  });
  after(async () => {
    servers.killAll();
    for (const s of monitors) s.kill('SIGKILL');
    await store?.close();
    await labDown(runDir);
  });

  it('round robin: 300 requests from a client on another bridge, every member answers at least 20%', async () => {
    const r = await get(vm(lab, 'vm4').netns, VIP, 300);
    assert.equal(r.failed, 0, failures(r));
    for (const name of MEMBERS)
      assert.ok(
        (r.answers[name] ?? 0) >= 60,
        `${name} answered ${r.answers[name] ?? 0} of 300: ${JSON.stringify(r.answers)}`,
      );
  });

  it('weights 3:1:0 split 400 connections within 10 points of 75:25:0', async () => {
    const weights = { vm1: 3, vm3: 1, vm5: 0 };
    for (const name of MEMBERS)
      await store.update('pool-member', members[name]!.id, { weight: weights[name] });
    await settled();
    const r = await get(vm(lab, 'vm4').netns, VIP, 400);
    for (const name of MEMBERS) await store.update('pool-member', members[name]!.id, { weight: 1 });
    await settled();
    assert.equal(r.failed, 0, failures(r));
    const share = (n: string) => (100 * (r.answers[n] ?? 0)) / 400;
    assert.ok(Math.abs(share('vm1') - 75) <= 10, `vm1 ${share('vm1')}%`);
    assert.ok(Math.abs(share('vm3') - 25) <= 10, `vm3 ${share('vm3')}%`);
    assert.equal(r.answers.vm5 ?? 0, 0, 'weight 0: no connection');
  });

  it('source-ip persistence: each client stays on one member', async () => {
    await store.update('vip', vip.id, { sessionPersistence: 'source-ip' });
    await settled();
    // Clients that made no connection yet: a 5-tuple reused while its binding lives keeps its member.
    for (const client of ['vm6', 'vm2']) {
      const r = await get(vm(lab, client).netns, VIP, 40);
      assert.equal(r.failed, 0);
      assert.equal(Object.keys(r.answers).length, 1, `${client}: ${JSON.stringify(r.answers)}`);
    }
    await store.update('vip', vip.id, { sessionPersistence: 'none' });
    await settled();
  });

  it('the ISP reaches a VIP on the uplink: a public service', async () => {
    await ispReachable(lab);
    const r = await get(lab.bgp!.isp.netns, PUBLIC_VIP, 30);
    assert.equal(r.failed, 0, JSON.stringify(r));
    assert.equal(
      Object.keys(r.answers).length,
      3,
      `every member serves the ISP: ${JSON.stringify(r.answers)}`,
    );
  });

  it('health: checks from the router health port; a stopped member gets no new request within interval x retries + 2 s and none fails; started again, it gets traffic', async () => {
    const pool = await store.resolve('pool', 'web');
    await store.create('health-monitor', {
      name: 'web',
      poolId: pool.id,
      type: 'http',
      interval: 1,
      timeout: 1,
      retries: 2,
    });
    // The leader on hv1 makes its checks from a namespace whose only link is the router's health port.
    const hv1 = lab.hosts[0]!;
    await startMonitor('a', hv1, true);
    const hp = await healthPort(hv1);
    assert.equal(hp.port.deviceId, (await store.resolve('router', 'edge')).id);
    assert.equal(hp.port.hostId, (await store.resolve('host', hv1.name)).id, 'bound on the leader host');
    assert.match(hp.port.address ?? '', /^169\.254\.\d+\.\d+\/30$/);
    assert.equal(hp.nsAddress.split('/')[1], '30', `namespace address ${hp.nsAddress}`);
    // Checks that could not pass through the port would mark every member down after 2 intervals.
    await new Promise((r) => setTimeout(r, 3500));
    for (const name of MEMBERS) assert.equal(await status(name), 'up', `${name} passes its checks`);
    await memberOutAndBack({
      netns: vm(lab, 'vm4').netns,
      url: `http://${VIP}/`,
      member: 'vm3',
      detectMs: 1000 * 2,
      stop: stopHttpd,
      start: startHttpd,
      status,
      settled,
    });
  });

  it('health: the leader is killed, the standby takes over and still detects a member failure', async () => {
    const hv2 = lab.hosts[1]!;
    const standby = await startMonitor('b', hv2, false);
    // The first monitor ('a', hv1) leads; it dies without resigning. The standby (hv2) takes over
    // and moves the health port to its host; its checks go through hv2's OVS and the overlay.
    monitors[0]!.kill('SIGKILL');
    const hostId = (await store.resolve('host', hv2.name)).id;
    await until(async () => (await store.resolve('port', healthPortName(lbId))).hostId === hostId, {
      what: 'the health port bound on hv2',
      timeoutMs: 20000,
    });
    await stopHttpd('vm5');
    await until(async () => (await status('vm5')) === 'down', {
      what: 'vm5 marked down by the standby',
      timeoutMs: 20000,
    });
    assert.equal(standby.exitCode, null, 'the standby runs on');
    await startHttpd('vm5');
    await until(async () => (await status('vm5')) === 'up', {
      what: 'vm5 marked up again',
      timeoutMs: 15000,
    });
  });

  it('load-balancer show: connections per member from the agents, health transitions and the leader from midonet-lb-health', async () => {
    const show = () => run(CLI, ['--store', lab.storeUrl, 'load-balancer', 'show', 'lb']);
    // midonet-lb-health renews its record every 2 s: the last transition may not be in it yet.
    let shown = await show();
    await until(async () => /^vm5\s.*1 down, 1 up$/m.test((shown = await show())), {
      what: 'vm5 transitions published',
      timeoutMs: 10000,
    }).catch(() => undefined);
    assert.match(shown, /connections: new connections counted by 2 of 2 running agents/, shown);
    assert.match(shown, new RegExp(`health checks: led by 'b' on host '${lab.hosts[1]!.name}'`), shown);
    const row = (name: string) => {
      const m = new RegExp(`^${name}\\s+\\S+\\s+\\d+\\s+\\S+\\s+\\S+\\s+\\S+\\s+(\\d+)\\s+(\\S+)`, 'm').exec(
        shown,
      );
      assert.ok(m, `a row for ${name}:\n${shown}`);
      return { connections: Number(m[1]), transitions: shown.slice(m.index).split('\n')[0]! };
    };
    // Round robin alone sent each member at least 60 of 300 connections.
    for (const name of MEMBERS) assert.ok(row(name).connections >= 60, `${name}: ${row(name).transitions}`);
    assert.match(row('vm5').transitions, /1 down, 1 up$/, 'the standby marked vm5 down and up');
  });
});
