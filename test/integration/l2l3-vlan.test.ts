/**
 * A VLAN-aware bridge and an L2 gateway on real Open vSwitch, in a two-host lab. The bridge `vlans`
 * has access ports for VMs (va: hv1 VLAN 10, vb: hv2 VLAN 10, vc: hv1 VLAN 20, all in 203.0.113.0/24)
 * and a trunk port bound to hv2's physical-side interface, a veth to a top-of-rack switch: a plain
 * Open vSwitch (NORMAL) in a namespace of its own, whose access ports lead to physical servers
 * (s10 on VLAN 10, s20 on VLAN 20, s30 on VLAN 30). The L2 gateway: an interior port of `vlans` on
 * VLAN 30 peered with the lab's tenant-a bridge, so vm1 (tenant-a, hv1) shares a segment with s30.
 * The lab's kernel has no 802.1Q module: tags are pushed and popped by the switches only, and
 * tcpdump on the trunk's far end shows them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { labNames, uniqueLabName, type LabNames } from '../../src/lab/layout.js';
import { labDown, labUp, type LabState, type LabVm } from '../../src/lab/lab.js';
import { addNamespace, addVeth, setAddress } from '../../src/lab/netns.js';
import { startOvs, stopOvs } from '../../src/lab/ovs-daemons.js';
import type { Ovs } from '../../src/ovs/ovs.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { agentSettled, host, ping, vm } from './lab-helpers.js';

const ONE = ['-c', '1', '-W', '1'];
const THREE = ['-c', '3', '-i', '0.2', '-W', '1'];

/** A namespace with one interface eth0 at `cidr`: the far end (`peer`) is in `peerNs`. */
async function endpoint(ns: string, peer: string, peerNs: string, cidr: string, mac: string): Promise<void> {
  await addNamespace(ns);
  await run(
    'sysctl',
    ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
    {
      netns: ns,
    },
  );
  await addVeth(peer, peerNs, 'eth0', ns);
  await setAddress(ns, 'eth0', cidr, mac);
  await run('ethtool', ['-K', 'eth0', 'tx', 'off'], { netns: ns }).catch(() => undefined);
}

describe('a VLAN-aware bridge with access and trunk ports, and an L2 gateway, on Open vSwitch', () => {
  let lab: LabState;
  let store: TopologyStore;
  let names: LabNames;
  let tor: Ovs;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-vlan-'));
  const torDir = join(runDir, 'tor');
  const ns = (n: string): LabVm => ({ ...vm(lab, 'vm1'), name: n, netns: names.vmNamespace(n) });

  before(async () => {
    lab = await labUp({ runDir, name: uniqueLabName('tv'), hosts: 2, vmsPerHost: 1, tunnel: 'gre' });
    store = await openStore(lab.storeUrl);
    names = labNames(lab.name ?? null);
    const [hv1, hv2] = [host(lab, 'hv1'), host(lab, 'hv2')];
    const hostId = async (h: string) => (await store.resolve('host', h)).id;
    const br = await store.create('bridge', { name: 'vlans', vlanAware: true });
    // VMs on access ports.
    const vms = [
      { n: 'va', hv: hv1, vlan: 10, ip: '203.0.113.11', mac: '02:00:00:00:0a:01' },
      { n: 'vb', hv: hv2, vlan: 10, ip: '203.0.113.12', mac: '02:00:00:00:0a:02' },
      { n: 'vc', hv: hv1, vlan: 20, ip: '203.0.113.21', mac: '02:00:00:00:14:01' },
    ];
    for (const v of vms) {
      const tap = names.vmTap(v.n);
      await endpoint(names.vmNamespace(v.n), tap, v.hv.netns, `${v.ip}/24`, v.mac);
      await store.create('port', {
        name: `${v.n}-port`,
        deviceId: br.id,
        vlanId: v.vlan,
        hostId: await hostId(v.hv.name),
        interfaceName: tap,
      });
    }
    // The top-of-rack switch and its physical servers.
    const torNs = `${names.prefix}tor`;
    await addNamespace(torNs);
    tor = await startOvs(torDir, torNs);
    await tor.vsctl([
      'add-br',
      'br-tor',
      '--',
      'set',
      'bridge',
      'br-tor',
      'datapath_type=netdev',
      'fail_mode=standalone',
    ]);
    const trunkHv = `${names.prefix}tk`;
    const trunkTor = `${names.prefix}tkt`;
    await addVeth(trunkHv, hv2.netns, trunkTor, torNs);
    await tor.vsctl(['add-port', 'br-tor', trunkTor, '--', 'set', 'port', trunkTor, 'trunks=10,20,30']);
    const servers = [
      { n: 's10', vlan: 10, cidr: '203.0.113.13/24', mac: '02:00:00:00:0a:03' },
      { n: 's20', vlan: 20, cidr: '203.0.113.22/24', mac: '02:00:00:00:14:02' },
      { n: 's30', vlan: 30, cidr: '192.0.2.50/25', mac: '02:00:00:00:1e:01' },
    ];
    for (const s of servers) {
      const p = `${names.prefix}${s.n}`;
      await endpoint(names.vmNamespace(s.n), p, torNs, s.cidr, s.mac);
      await tor.vsctl(['add-port', 'br-tor', p, `tag=${s.vlan}`]);
    }
    // The trunk: a port of `vlans` with no VLAN of its own, bound to hv2's physical-side interface.
    await store.create('port', {
      name: 'vlans-trunk',
      deviceId: br.id,
      hostId: await hostId('hv2'),
      interfaceName: trunkHv,
    });
    // The L2 gateway: VLAN 30 of `vlans` is tenant-a.
    const gw = await store.create('port', { name: 'vlans-v30', deviceId: br.id, vlanId: 30 });
    const ta = await store.create('port', {
      name: 'tenant-a-l2gw',
      deviceId: (await store.resolve('bridge', 'tenant-a')).id,
    });
    await store.update('port', gw.id, { peerId: ta.id });
    for (const h of lab.hosts) await agentSettled(store, h);
  });
  after(async () => {
    await stopOvs(torDir).catch(() => undefined);
    await store?.close();
    await labDown(runDir);
  });

  it('access ports: one VLAN across hosts, no traffic between VLANs', async () => {
    const [va, vb, vc] = [ns('va'), ns('vb'), ns('vc')];
    assert.equal((await ping(va, '203.0.113.12', THREE)).received, 3, 'va (hv1) and vb (hv2) on VLAN 10');
    assert.equal((await ping(vb, '203.0.113.11', THREE)).received, 3);
    assert.equal(
      (await ping(va, '203.0.113.21', ONE)).received,
      0,
      'va (VLAN 10) does not reach vc (VLAN 20)',
    );
    assert.equal((await ping(vc, '203.0.113.12', ONE)).received, 0, 'nor vc vb');
  });

  it('the trunk carries each VLAN tagged to the physical servers, and only their own VLAN reaches them', async () => {
    const [va, vc] = [ns('va'), ns('vc')];
    const torNs = `${names.prefix}tor`;
    const dump = spawn(
      'ip',
      ['netns', 'exec', torNs, 'tcpdump', '-i', `${names.prefix}tkt`, '-n', '-e', '-l', 'vlan and icmp'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let seen = '';
    dump.stdout.setEncoding('utf8');
    dump.stdout.on('data', (d: string) => (seen += d));
    await new Promise<void>((resolve) =>
      dump.stderr.on('data', (d: Buffer) => /listening on/.test(String(d)) && resolve()),
    );
    try {
      assert.equal((await ping(va, '203.0.113.13', THREE)).received, 3, 'va (hv1, VLAN 10) reaches s10');
      assert.equal((await ping(vc, '203.0.113.22', THREE)).received, 3, 'vc (hv1, VLAN 20) reaches s20');
      assert.equal((await ping(va, '203.0.113.22', ONE)).received, 0, 'va does not reach s20');
    } finally {
      dump.kill('SIGINT');
      await new Promise((r) => dump.once('exit', r));
    }
    assert.match(seen, /vlan 10, .*203\.0\.113\.11 > 203\.0\.113\.13: ICMP echo request/, seen);
    assert.match(seen, /vlan 10, .*203\.0\.113\.13 > 203\.0\.113\.11: ICMP echo reply/, seen);
    assert.match(seen, /vlan 20, .*203\.0\.113\.21 > 203\.0\.113\.22: ICMP echo request/, seen);
    assert.doesNotMatch(seen, /vlan 10, .*> 203\.0\.113\.22/, 'no VLAN 10 frame to s20');
  });

  it('an L2 gateway: vm1 on tenant-a shares a segment with the physical server on VLAN 30', async () => {
    const vm1 = vm(lab, 'vm1');
    const s30 = ns('s30');
    assert.equal((await ping(vm1, '192.0.2.50', THREE)).received, 3, 'vm1 (hv1) reaches s30 behind hv2');
    assert.equal((await ping(s30, vm1.ip, THREE)).received, 3, 's30 reaches vm1');
    const neigh = await run('ip', ['neigh', 'show', '192.0.2.50'], { netns: vm1.netns });
    assert.match(neigh, /lladdr 02:00:00:00:1e:01/, `ARP crossed the gateway: ${neigh}`);
    assert.equal((await ping(ns('va'), '192.0.2.50', ONE)).received, 0, 'VLAN 10 does not');
  });
});
