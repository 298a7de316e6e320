/**
 * MAC learning across hosts on real Open vSwitch, in a three-host lab (hv1: vm1 a, vm2 b; hv2: vm3 a,
 * vm4 b; hv3: vm5 a, vm6 b) whose agents age MAC entries after 4 s and flows after 2 s idle: MAC and ARP entries learned on one
 * host are used on another without a flood or an ARP request of its own; a silent MAC ages out and
 * traffic to it floods again; a VM whose port is re-bound on another host gets traffic there as soon
 * as the agents applied the change; flooding follows host liveness (hv3's agent and OVS killed:
 * broadcast still reaches the live hosts and no flow keeps sending to hv3's tunnel). Frames are
 * watched with tcpdump in the VMs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { labNames, uniqueLabName } from '../../src/lab/layout.js';
import { hostOvs, labDown, labUp, type LabState, type LabVm } from '../../src/lab/lab.js';
import { addNamespace, addVeth, setAddress } from '../../src/lab/netns.js';
import { stopAgent } from '../../src/lab/hypervisor.js';
import { stopOvs } from '../../src/lab/ovs-daemons.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { controlRequest } from '../../src/control/control-api.js';
import {
  agentSettled,
  barrier,
  capture,
  host,
  ping,
  reactiveFlows,
  stats,
  vm,
  type Capture,
} from './lab-helpers.js';

const MAC_LIFETIME_MS = 4000;
/** Flows idle this long (s) go: a MAC no flow learns from any more is silent, and ages. */
const IDLE_S = 2;

describe('MAC learning across hosts, aging, moves and host liveness on Open vSwitch', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-macs-'));
  const captures: Capture[] = [];

  before(async () => {
    lab = await labUp({
      runDir,
      name: uniqueLabName('tm'),
      hosts: 3,
      vmsPerHost: 2,
      tunnel: 'gre',
      macLifetimeMs: MAC_LIFETIME_MS,
      idleTimeout: IDLE_S,
    });
    store = await openStore(lab.storeUrl);
  });
  after(async () => {
    for (const c of captures) await c.stop().catch(() => undefined);
    await store?.close();
    await labDown(runDir);
  });

  async function watch(v: LabVm, filter: string): Promise<Capture> {
    const c = await capture(v.netns, filter);
    captures.push(c);
    return c;
  }

  async function settled(): Promise<void> {
    for (const h of lab.hosts) await agentSettled(store, h);
  }

  it('a MAC learned on one host is used on another: simulated anew, the unicast frames are not flooded', async () => {
    const [vm1, vm3, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm3'), vm(lab, 'vm5')];
    const [hv1, hv2] = [host(lab, 'hv1'), host(lab, 'hv2')];
    // hv1 learns vm1's MAC, hv2 vm3's; each has the other's from its peer.
    assert.ok((await ping(vm3, vm1.ip, ['-c', '3', '-i', '0.2', '-W', '1'])).received >= 1);
    const knows = async (h: typeof hv1, mac: string) =>
      (
        (await controlRequest(h.controlSocket, { cmd: 'macs' })) as { entries: Array<{ mac: string }> }
      ).entries.some((e) => e.mac === mac);
    await until(async () => (await knows(hv1, vm3.mac)) && (await knows(hv2, vm1.mac)), {
      what: "each host knowing the other's VM MAC",
    });
    // Without flows, every frame of the next exchange is simulated on its ingress host.
    for (const h of [hv1, hv2]) {
      await hostOvs(h).delFlows('br-int', 'cookie=0x0/0x8000000000000000');
      await hostOvs(h).purgeDatapath();
      await barrier(h);
    }
    // vm5 (hv3, the same bridge) would see any frame between vm1 and vm3 that a host flooded.
    const spy = await watch(vm5, `ether host ${vm1.mac} and not ether broadcast`);
    const [s1, s2] = [await stats(hv1), await stats(hv2)];
    assert.equal((await ping(vm1, vm3.ip, ['-c', '3', '-i', '0.1', '-W', '1'])).received, 3);
    const [t1, t2] = [await stats(hv1), await stats(hv2)];
    const seen = await spy.stop();
    assert.ok((t1.packetIns ?? 0) > (s1.packetIns ?? 0), 'hv1 simulated the requests');
    // hv2 simulated the replies: as packet-ins, or ahead of them as the reply flow hv1 asked for.
    const onHv2 = (x: Record<string, number>) => (x.packetIns ?? 0) + (x.replyFlows ?? 0);
    assert.ok(onHv2(t2) > onHv2(s2), 'hv2 simulated the replies');
    assert.deepEqual(seen, [], `vm5 saw unicast frames of vm1 and vm3:\n${seen.join('\n')}`);
  });

  it('an ARP entry learned on one host is used on another: its router sends no ARP request', async () => {
    const [vm2, vm3, vm6] = [vm(lab, 'vm2'), vm(lab, 'vm3'), vm(lab, 'vm6')];
    // vm2 (hv1) to vm3 (hv2): the router on hv1 asks for vm3; hv2 simulates vm3's answer and learns it.
    assert.equal((await ping(vm2, vm3.ip)).received, 3);
    const asks = await watch(vm3, `arp and arp[6:2] = 1 and dst host ${vm3.ip}`);
    // vm6 (hv3) to vm3: hv3's router knows vm3's MAC from hv2 and asks nobody.
    const r = await ping(vm6, vm3.ip);
    const seen = await asks.stop();
    assert.deepEqual(seen, [], `vm3 was asked for its MAC again:\n${seen.join('\n')}`);
    assert.equal(r.received, 3, r.output);
  });

  it('a silent MAC ages out and traffic to it floods again', async () => {
    const [vm1, vm3, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm3'), vm(lab, 'vm5')];
    assert.equal((await ping(vm3, vm1.ip, ['-c', '1', '-W', '1'])).received, 1, 'every host knows vm3');
    // ...and vm3 forgets vm1, so its kernel sends no probe later (a probe would renew vm3's entry).
    await run('ip', ['neigh', 'flush', 'all'], { netns: vm3.netns });
    // Pings to an address nobody has, sent to vm3's MAC: vm3, no router, drops them and stays silent.
    for (const k of ['net.ipv4.ip_forward=0', 'net.ipv4.conf.all.send_redirects=0'])
      await run('sysctl', ['-q', '-w', k], { netns: vm3.netns });
    await run('ip', ['neigh', 'replace', '192.0.2.99', 'lladdr', vm3.mac, 'dev', 'eth0'], {
      netns: vm1.netns,
    });
    const flood = await watch(vm5, `ether dst ${vm3.mac} and icmp`);
    const pinger = spawn('ip', ['netns', 'exec', vm1.netns, 'ping', '-i', '0.2', '-c', '80', '192.0.2.99'], {
      stdio: 'ignore',
    });
    try {
      const at = await until(() => flood.lines.find((l) => /seq \d+/.test(l)), {
        what: `echo requests to vm3's MAC flooded to vm5 after ${MAC_LIFETIME_MS} ms of silence`,
        timeoutMs: MAC_LIFETIME_MS + IDLE_S * 1000 + 9000,
      });
      const seq = Number(/seq (\d+)/.exec(at)![1]);
      // One request each 200 ms: while vm3's entry lived (4 s) the requests were unicast.
      assert.ok(seq > 5, `the first flooded request is #${seq}: the entry was gone too early\n${at}`);
    } finally {
      pinger.kill();
      await flood.stop();
    }
  });

  it("a VM's port re-bound on another host gets traffic there once the agents applied it", async () => {
    const [vm1, vm3, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm3'), vm(lab, 'vm5')];
    const [hv2, hv3] = [host(lab, 'hv2'), host(lab, 'hv3')];
    assert.equal((await ping(vm1, vm5.ip)).received, 3, 'vm5 on hv3 first');
    // The VM moves: its old interface goes, a namespace on hv2 with its MAC and address comes.
    const names = labNames(lab.name ?? null);
    const moved = names.vmNamespace('vm5m');
    const tap = names.vmTap('vm5m');
    await run('ip', ['netns', 'del', vm5.netns]);
    await addNamespace(moved);
    await run(
      'sysctl',
      ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
      {
        netns: moved,
      },
    );
    await addVeth(tap, hv2.netns, 'eth0', moved);
    await setAddress(moved, 'eth0', `${vm5.ip}/${vm5.prefixLen}`, vm5.mac);
    await run('ip', ['route', 'add', 'default', 'via', vm5.gateway], { netns: moved });
    await run('ethtool', ['-K', 'eth0', 'tx', 'off'], { netns: moved }).catch(() => undefined);
    const port = await store.resolve('port', vm5.port);
    const hv2Id = (await store.resolve('host', 'hv2')).id;
    await store.update('port', port.id, { hostId: hv2Id, interfaceName: tap });
    await settled();
    // Its tunnel key delivered to the new interface on hv2 (a proactive flow, written by ovs-ofctl).
    const key = `tun_id=0x${port.tunnelKey.toString(16)}`;
    await until(async () => (await hostOvs(hv2).dumpFlows('br-int')).some((l) => l.includes(key)), {
      what: `hv2's agent delivering ${key} to ${tap}`,
    });
    await settled();
    const here = { ...vm5, netns: moved, host: 'hv2' };
    const first = await ping(vm1, vm5.ip, ['-c', '1', '-W', '1']);
    assert.equal(
      first.received,
      1,
      `the first ping after the move is answered: ${first.output}\nhv1:\n${(await reactiveFlows(host(lab, 'hv1'))).join('\n')}\nhv2:\n${(await reactiveFlows(hv2)).join('\n')}`,
    );
    assert.equal((await ping(vm3, vm5.ip)).received, 3, 'from its new host');
    assert.equal((await ping(here, vm1.ip)).received, 3, 'and back');
    const stale = (await reactiveFlows(hv3)).filter((l) => l.includes(vm5.mac));
    assert.deepEqual(stale, [], `hv3 keeps no flow of the VM that left:\n${stale.join('\n')}`);
  });

  it("flooding follows host liveness: with hv3 dead, broadcast reaches hv2 and no flow sends to hv3's tunnel", async () => {
    const [vm2, vm4, vm6] = [vm(lab, 'vm2'), vm(lab, 'vm4'), vm(lab, 'vm6')];
    const [hv1, hv3] = [host(lab, 'hv1'), host(lab, 'hv3')];
    const hv3Tunnel = `${hv3.underlayIp}->tun_dst`;
    const broadcast = ['-b', '-c', '2', '-i', '0.2', '-W', '1'];
    const seen4 = await watch(vm4, 'icmp and ether broadcast');
    const seen6 = await watch(vm6, 'icmp and ether broadcast');
    await ping(vm2, '192.0.2.255', broadcast);
    await until(() => seen4.lines.length > 0 && seen6.lines.length > 0, {
      what: 'the broadcast on hv2 and hv3',
    });
    const toHv3 = (await reactiveFlows(hv1)).filter((l) => l.includes(hv3Tunnel));
    assert.ok(toHv3.length > 0, 'while hv3 lives, hv1 floods to its tunnel');
    await seen6.stop();
    const hv3Id = (await store.resolve('host', 'hv3')).id;
    await stopAgent({ dir: hv3.dir }, true);
    await stopOvs(join(hv3.dir, 'ovs'));
    await until(async () => (await store.liveness()).find((l) => l.hostId === hv3Id)?.alive === false, {
      what: 'hv3 dead in the store',
    });
    await until(async () => !(await reactiveFlows(hv1)).some((l) => l.includes(hv3Tunnel)), {
      what: "hv1's flows to hv3's tunnel removed",
    });
    const before = seen4.lines.length;
    await ping(vm2, '192.0.2.255', broadcast);
    await until(() => seen4.lines.length > before, { what: 'the broadcast on hv2 with hv3 dead' });
    const still = (await reactiveFlows(hv1)).filter((l) => l.includes(hv3Tunnel));
    assert.deepEqual(still, [], `no flow sends to the dead host:\n${still.join('\n')}`);
    await seen4.stop();
  });
});
