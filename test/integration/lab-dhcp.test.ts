/**
 * A lab whose VMs get their IPv4 address, MTU and router from the agents' DHCP server
 * (`midonet-lab up --addressing dhcp`: busybox udhcpc in every VM): two hosts, two VMs each. Every VM
 * has its planned address (a static host entry), the MTU the agent hands out (1450, which its
 * baseline interface takes too) and its default route; they reach each other within a bridge, across hosts and across the router; each agent
 * answered its own VMs. Then port security with `--addresses-from-dhcp`: the DHCP host entry is the
 * only address vm1's port knows, and it is enough; without it, vm1's traffic is dropped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { agentSettled, host, ping, stats, vm } from './lab-helpers.js';

describe('a lab addressed by the agents’ DHCP server (busybox udhcpc in every VM)', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-labdhcp-'));

  before(async () => {
    // hv1: vm1 (tenant-a), vm2 (tenant-b); hv2: vm3 (tenant-a), vm4 (tenant-b).
    lab = await labUp({
      runDir,
      name: uniqueLabName('tl'),
      hosts: 2,
      vmsPerHost: 2,
      tunnel: 'gre',
      addressing: 'dhcp',
    });
    store = await openStore(lab.storeUrl);
  });
  after(async () => {
    await store?.close();
    await labDown(runDir);
  });

  it('every VM has its address, the MTU and the route from DHCP, and they all reach each other', async () => {
    for (const v of lab.vms) {
      const addr = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'], { netns: v.netns });
      assert.match(addr, new RegExp(` ${v.ip.replace(/\./g, '\\.')}/${v.prefixLen} `), `${v.name} address`);
      const link = await run('ip', ['-o', 'link', 'show', 'dev', 'eth0'], { netns: v.netns });
      assert.match(link, / mtu 1450 /, `${v.name} MTU from DHCP option 26`);
      // The evaluation's NORMAL baseline interface carries the same packet sizes (lab-vms.ts).
      const baseline = await run('ip', ['-o', 'link', 'show', 'dev', 'eth1'], { netns: v.netns });
      assert.match(baseline, / mtu 1450 /, `${v.name} baseline interface MTU matches eth0's`);
      const route = await run('ip', ['route', 'show', 'default'], { netns: v.netns });
      assert.match(route, new RegExp(`default via ${v.gateway.replace(/\./g, '\\.')} `), `${v.name} route`);
    }
    const [v1, v2, v3, v4] = ['vm1', 'vm2', 'vm3', 'vm4'].map((n) => vm(lab, n));
    const reaches = async (to: string, what: string) => {
      // The first packet may wait on ARP at the router: one success first, then three of three.
      await until(async () => (await ping(v1!, to, ['-c', '1', '-W', '1'])).received === 1, {
        what: `vm1 reaching ${to} (${what})`,
        timeoutMs: 15000,
      });
      assert.equal((await ping(v1!, to)).received, 3, what);
    };
    await reaches(v3!.ip, 'within a bridge, across hosts');
    await reaches(v2!.ip, 'across the router');
    await reaches(v4!.ip, 'across the router and hosts');
    for (const h of lab.hosts) {
      const d = (await stats(h)).dhcp as unknown as { replies: number };
      assert.ok(d.replies >= 4, `the agent of ${h.name} answered its two VMs (OFFER and ACK each)`);
    }
  });

  it('port security counts the DHCP host entry as the port address with --addresses-from-dhcp', async () => {
    const [v1, v3] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
    const port = await store.resolve('port', v1.port);
    const secure = async (fromDhcp: boolean) => {
      await store.update('port', port.id, { mac: v1.mac, portSecurity: true, addressesFromDhcp: fromDhcp });
      for (const h of lab.hosts) await agentSettled(store, h);
    };
    await secure(true);
    assert.equal((await ping(v1, v3.ip)).received, 3, 'the DHCP address is allowed');
    await secure(false);
    const blocked = await ping(v1, v3.ip, ['-c', '2', '-i', '0.2', '-W', '1']);
    assert.equal(blocked.received, 0, 'with no address of its own, vm1 sends nothing');
    const drops = (await stats(host(lab, 'hv1'))).portSecurityDrops as unknown as Record<string, number>;
    assert.ok((drops.ip ?? 0) + (drops.arp ?? 0) >= 1, 'counted as source IP (or ARP sender) drops');
  });
});
