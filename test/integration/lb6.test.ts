/**
 * The L4 load balancer over IPv6 on real Open vSwitch, on a two-host lab: three member VMs on bridge A
 * (vm1, vm3 on hv1; vm5 on hv2) run busybox httpd answering their name on their SLAAC addresses; a
 * client on bridge B of hv2 (vm4) makes HTTP requests to an IPv6 VIP on B's /64, each on a new
 * connection, so every first packet is balanced, translated by set_field ipv6_dst/tcp_dst in OVS (whose
 * checksum update the members' kernels check) and its binding shared with the member's host, which
 * translates the reply back. Round robin spreads 150 requests over every member; health checks over
 * IPv6, made by midonet-lb-health from its namespace through the router's health port (fd6c:6268::/64),
 * take a stopped member out with no request failing after interval x retries + 2 s, and put it back.
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
import { labDown, labUp, vmIpv6, type LabState } from '../../src/lab/lab.js';
import { lbHealthNsPrefix, startLbHealth } from '../../src/lab/lb-lab.js';
import { healthNamespace, healthPortName, NS_IFACE } from '../../src/lb/health-port.js';
import { openStore } from '../../src/state/open.js';
import type { Obj } from '../../src/state/model.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { agentSettled, vm } from './lab-helpers.js';
import { failures, httpGet, memberOutAndBack, MemberServers } from './lb-helpers.js';

const CLI = fileURLToPath(new URL('../../../bin/midonet-cli', import.meta.url));
const VIP6 = '2001:db8:b::200';
const MEMBERS = ['vm1', 'vm3', 'vm5'] as const;

describe('load balancer over IPv6: an IPv6 VIP spreads HTTP connections over IPv6 members on two hosts', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-lb6-'));
  const servers = new MemberServers(() => lab, runDir);
  const monitors: ChildProcess[] = [];
  const members: Record<string, Obj<'pool-member'>> = {};
  let lbId = '';
  const get = httpGet;

  /** A member's httpd, ready once the client gets its name over IPv6 (a VM's loopback has no IPv6). */
  async function startHttpd(name: string): Promise<void> {
    await servers.start(name, vm(lab, 'vm4').netns, `http://[${vmIpv6(vm(lab, name))}]:8080/`);
  }

  const stopHttpd = (name: string) => servers.stop(name);

  async function status(name: string): Promise<string | undefined> {
    return (await store.get('pool-member', members[name]!.id))?.status;
  }

  async function settled(): Promise<void> {
    for (const h of lab.hosts) await agentSettled(store, h);
  }

  before(async () => {
    lab = await labUp({ runDir, name: uniqueLabName('lb6'), hosts: 2, vmsPerHost: 3, tunnel: 'gre' });
    store = await openStore(lab.storeUrl);
    for (const name of MEMBERS) await startHttpd(name);
    const edge = await store.resolve('router', 'edge');
    const lb = await store.create('load-balancer', { name: 'lb6', routerId: edge.id });
    lbId = lb.id;
    const pool = await store.create('pool', { name: 'web6', loadBalancerId: lb.id });
    for (const name of MEMBERS)
      members[name] = await store.create('pool-member', {
        name,
        poolId: pool.id,
        address: vmIpv6(vm(lab, name)),
        port: 8080,
      });
    await store.create('vip', {
      name: 'web6',
      loadBalancerId: lb.id,
      poolId: pool.id,
      address: VIP6,
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

  it('round robin: 150 requests from a client on another bridge, every member answers at least 20%', async () => {
    const r = await get(vm(lab, 'vm4').netns, `http://[${VIP6}]/`, 150);
    assert.equal(r.failed, 0, failures(r));
    for (const name of MEMBERS)
      assert.ok(
        (r.answers[name] ?? 0) >= 30,
        `${name} answered ${r.answers[name] ?? 0} of 150: ${failures(r)}`,
      );
  });

  it('health over IPv6: checks from the health port; a stopped member gets no request after interval x retries + 2 s; started again, it gets traffic', async () => {
    const pool = await store.resolve('pool', 'web6');
    await store.create('health-monitor', {
      name: 'web6',
      poolId: pool.id,
      type: 'http',
      interval: 1,
      timeout: 1,
      retries: 2,
    });
    const hv1 = lab.hosts[0]!;
    const child = startLbHealth(lab, hv1, 'a');
    monitors.push(child);
    await until(async () => (await store.list('port')).some((p) => p.name === healthPortName(lbId)), {
      what: 'the health port',
      timeoutMs: 30000,
    });
    const port = await store.resolve('port', healthPortName(lbId));
    assert.match(port.address6 ?? '', /^fd6c:6268:[0-9a-f:]*:1\/64$/, `address6 ${port.address6}`);
    const ns = healthNamespace(lbHealthNsPrefix(lab, hv1), lbId);
    await until(
      async () => (await run('ip', ['-n', ns, '-6', '-o', 'addr', 'show', 'dev', NS_IFACE])).includes('fd6c'),
      {
        what: 'the health namespace has its IPv6 link address',
        timeoutMs: 30000,
      },
    );
    // Checks that could not pass through the port would mark every member down after 2 intervals.
    await new Promise((r) => setTimeout(r, 4000));
    for (const name of MEMBERS) assert.equal(await status(name), 'up', `${name} passes its IPv6 checks`);
    const back = await memberOutAndBack({
      netns: vm(lab, 'vm4').netns,
      url: `http://[${VIP6}]/`,
      member: 'vm3',
      detectMs: 1000 * 2,
      stop: stopHttpd,
      start: startHttpd,
      status,
      settled,
    });
    assert.equal(back.failed, 0, failures(back));
  });

  it('load-balancer show lists the IPv6 endpoints in brackets with connections per member', async () => {
    const shown = await run(CLI, ['--store', lab.storeUrl, 'load-balancer', 'show', 'lb6']);
    assert.match(shown, /tcp \[2001:db8:b::200\]:80/, shown);
    assert.match(shown, new RegExp(`\\[${vmIpv6(vm(lab, 'vm1')).replace(/\./g, '\\.')}\\]:8080`), shown);
  });
});
