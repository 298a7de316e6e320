/**
 * Route types, router replies and filter chains on real Open vSwitch, each seen from a VM of a
 * two-host lab (hv1: vm1 a, vm2 b, vm3 a; hv2: vm4 b, vm5 a, vm6 b): the router's echo reply, host
 * unreachable for a next hop that never answers ARP, blackhole (silence) and reject (ICMP admin
 * prohibited) routes, a source route; chains with L2 conditions (a MAC with a mask, the ethertype),
 * inversion on several fields, jump/return across three chains, port-group and IP-address-group
 * conditions; DSCP marking by rule (QoS). Every test leaves the topology as it found it (its chains and routes deleted), so they
 * do not depend on each other's order.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { labDown, labUp, type LabState, type LabVm } from '../../src/lab/lab.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { agentSettled, capture, ping, probe, startEcho, vm } from './lab-helpers.js';
import { until } from '../until.js';

const ONE = ['-c', '1', '-W', '1'];
const THREE = ['-c', '3', '-i', '0.2', '-W', '1'];

describe('route types, router replies and chains seen from VMs on Open vSwitch', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-l2l3-'));

  before(async () => {
    lab = await labUp({ runDir, name: uniqueLabName('tr'), hosts: 2, vmsPerHost: 3, tunnel: 'gre' });
    store = await openStore(lab.storeUrl);
  });
  after(async () => {
    await store?.close();
    await labDown(runDir);
  });

  async function settled(): Promise<void> {
    for (const h of lab.hosts) await agentSettled(store, h);
  }

  async function pings(from: LabVm, to: string, args = THREE): Promise<number> {
    return (await ping(from, to, args)).received;
  }

  /** A chain of rules (created in order) on a bridge's or the router's inbound hook; returns an undo. */
  async function inboundChain(
    kind: 'bridge' | 'router',
    device: string,
    name: string,
    rules: Array<Record<string, unknown>>,
  ): Promise<{ chainId: string; undo: () => Promise<void> }> {
    const chain = await store.create('chain', { name });
    for (const r of rules) await store.create('rule', { chainId: chain.id, ...r });
    const dev = await store.resolve(kind, device);
    await store.update(kind, dev.id, { inboundChainId: chain.id });
    await settled();
    return {
      chainId: chain.id,
      undo: async () => {
        await store.update(kind, dev.id, { inboundChainId: null });
        for (const id of (await store.get('chain', chain.id))!.ruleIds) await store.delete('rule', id);
        await store.delete('chain', chain.id);
        await settled();
      },
    };
  }

  it("the router answers pings to its ports' addresses, from both sides", async () => {
    const [vm1, vm4] = [vm(lab, 'vm1'), vm(lab, 'vm4')];
    assert.equal(await pings(vm1, vm1.gateway), 3, 'vm1 pings its gateway');
    assert.equal(await pings(vm1, vm4.gateway), 3, "vm1 pings the router's port on the other bridge");
    const out = (await ping(vm4, vm1.gateway)).output;
    assert.match(out, /3 received/, out);
    assert.match(out, new RegExp(`from ${vm1.gateway.replace(/\./g, '\\.')}: icmp_seq=1 ttl=64`), out);
  });

  it('a next hop that never answers ARP: ICMP host unreachable from the router', async () => {
    const vm1 = vm(lab, 'vm1');
    // 192.0.2.200 is on tenant-b's subnet, where no VM has it: the router asks three times, then answers.
    const r = await ping(vm1, '192.0.2.200', ['-c', '1', '-W', '8']);
    assert.equal(r.received, 0, r.output);
    assert.match(r.output, /From 192\.0\.2\.1 icmp_seq=1 Destination Host Unreachable/, r.output);
  });

  it('blackhole and reject routes: silence, then ICMP admin prohibited; deleting them restores the route', async () => {
    const [vm1, vm4, vm6] = [vm(lab, 'vm1'), vm(lab, 'vm4'), vm(lab, 'vm6')];
    const edge = await store.resolve('router', 'edge');
    assert.equal(await pings(vm1, vm4.ip), 3, 'routed before');
    const hole = await store.create('route', {
      routerId: edge.id,
      dstPrefix: `${vm4.ip}/32`,
      type: 'blackhole',
    });
    const rej = await store.create('route', { routerId: edge.id, dstPrefix: `${vm6.ip}/32`, type: 'reject' });
    await settled();
    const silent = await ping(vm1, vm4.ip, ['-c', '2', '-i', '0.2', '-W', '1']);
    assert.equal(silent.received, 0, silent.output);
    assert.doesNotMatch(silent.output, /From /, `a blackhole sends nothing back: ${silent.output}`);
    const rejected = await ping(vm1, vm6.ip, ONE);
    assert.equal(rejected.received, 0, rejected.output);
    // ICMP type 3 code 13 is what ping prints as "Packet filtered".
    assert.match(rejected.output, /From 192\.0\.2\.1 icmp_seq=1 Packet filtered/, rejected.output);
    await store.delete('route', hole.id);
    await store.delete('route', rej.id);
    await settled();
    assert.equal(await pings(vm1, vm4.ip), 3, 'the blackhole is gone');
    assert.equal(await pings(vm1, vm6.ip), 3, 'the reject route is gone');
  });

  it('a source route: a reject route for one source leaves other sources routed', async () => {
    const [vm1, vm3, vm5, vm4] = [vm(lab, 'vm1'), vm(lab, 'vm3'), vm(lab, 'vm5'), vm(lab, 'vm4')];
    const edge = await store.resolve('router', 'edge');
    // More specific than the connected route to tenant-b, but only for packets from vm3: others fall
    // back to the connected route.
    const rt = await store.create('route', {
      routerId: edge.id,
      dstPrefix: `${vm4.ip}/32`,
      srcPrefix: `${vm3.ip}/32`,
      type: 'reject',
    });
    try {
      await settled();
      // vm1 first: its flow must match on its source, or vm3's packets would ride it.
      assert.equal(await pings(vm1, vm4.ip), 3, 'vm1 (hv1) is routed');
      const r = await ping(vm3, vm4.ip, ONE);
      assert.match(
        r.output,
        /From 192\.0\.2\.1 icmp_seq=1 Packet filtered/,
        `vm3 matches the source route: ${r.output}`,
      );
      assert.equal(await pings(vm5, vm4.ip), 3, 'vm5 (hv2) is routed');
    } finally {
      await store.delete('route', rt.id);
      await settled();
    }
    assert.equal(await pings(vm3, vm4.ip), 3, 'vm3 is routed again');
  });

  it('L2 conditions: a source MAC with a mask and an ethertype (IPv4 dropped, ARP passes)', async () => {
    const [vm1, vm3, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm3'), vm(lab, 'vm5')];
    // Lab VMs on tenant-a have MACs 02:00:00:00:01:NN; the mask keeps those bits and the last one:
    // vm1 (..:01) and vm5 (..:03) match, vm3 (..:02) and the router's port (another prefix) do not.
    const { undo } = await inboundChain('bridge', 'tenant-a', 'l2', [
      {
        action: 'drop',
        conditions: {
          srcMac: { value: '02:00:00:00:01:01', mask: 'ff:ff:ff:ff:ff:01' },
          ethertype: { value: 0x0800 },
        },
      },
    ]);
    try {
      await run('ip', ['neigh', 'flush', 'all'], { netns: vm1.netns });
      assert.equal(await pings(vm1, vm3.ip, ONE), 0, 'IPv4 from vm1 is dropped');
      const neigh = await run('ip', ['neigh', 'show', vm3.ip], { netns: vm1.netns });
      assert.match(neigh, new RegExp(`lladdr ${vm3.mac}`), `ARP passed the chain: ${neigh}`);
      assert.equal(await pings(vm5, vm3.ip, ONE), 0, 'vm5 (other host, odd MAC) is dropped too');
      assert.equal(await pings(vm3, vm(lab, 'vm2').ip, ONE), 1, 'vm3 (even MAC) is routed');
    } finally {
      await undo();
    }
    assert.equal(await pings(vm1, vm3.ip), 3);
  });

  it('invert on several fields: drop what is neither UDP nor to vm3', async () => {
    const [vm1, vm3, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm3'), vm(lab, 'vm5')];
    const { undo } = await inboundChain('bridge', 'tenant-a', 'inv', [
      {
        action: 'drop',
        conditions: {
          ethertype: { value: 0x0800 },
          ipProto: { value: 17, invert: true },
          dstPrefix: { value: `${vm3.ip}/32`, invert: true },
          srcMac: { value: vm3.mac, invert: true },
        },
      },
    ]);
    const stop = await startEcho(vm5);
    try {
      assert.equal(await pings(vm1, vm3.ip), 3, 'ICMP to vm3: not inverted-matched');
      assert.equal(await pings(vm1, vm5.ip, ONE), 0, 'ICMP to vm5: dropped');
      const rtts = await probe(vm1, vm5.ip, 2, 2, 31000);
      assert.ok(
        rtts.flat().every((r) => r !== null),
        `UDP to vm5 passes: ${JSON.stringify(rtts)}`,
      );
    } finally {
      await stop();
      await undo();
    }
  });

  it('jump and return across three chains: return continues the caller, accept ends every chain', async () => {
    const [vm1, vm2, vm4, vm6] = [vm(lab, 'vm1'), vm(lab, 'vm2'), vm(lab, 'vm4'), vm(lab, 'vm6')];
    const to = (v: LabVm): Record<string, unknown> => ({ dstPrefix: { value: `${v.ip}/32` } });
    const c3 = await store.create('chain', { name: 'third' });
    await store.create('rule', { chainId: c3.id, action: 'accept', conditions: to(vm4) });
    await store.create('rule', { chainId: c3.id, action: 'drop', conditions: to(vm2) });
    await store.create('rule', { chainId: c3.id, action: 'return' });
    await store.create('rule', { chainId: c3.id, action: 'drop' }); // never reached: return came first
    const c2 = await store.create('chain', { name: 'second' });
    await store.create('rule', { chainId: c2.id, action: 'jump', jumpChainId: c3.id });
    const { undo } = await inboundChain('router', 'edge', 'first', [
      { action: 'jump', jumpChainId: c2.id },
      { action: 'drop', conditions: to(vm4) },
      { action: 'drop', conditions: to(vm6) },
    ]);
    try {
      assert.equal(await pings(vm1, vm2.ip, ONE), 0, 'vm2: dropped in the third chain');
      assert.equal(
        await pings(vm1, vm4.ip),
        3,
        "vm4: accepted in the third chain, the first's drop not reached",
      );
      assert.equal(
        await pings(vm1, vm6.ip, ONE),
        0,
        'vm6: returned through two chains, dropped in the first',
      );
      assert.equal(await pings(vm1, vm2.gateway), 3, "the router's own address: no rule matches");
    } finally {
      await undo();
      for (const c of [c2, c3]) {
        for (const id of (await store.get('chain', c.id))!.ruleIds) await store.delete('rule', id);
        await store.delete('chain', c.id);
      }
      await settled();
    }
  });

  it('port-group and IP-address-group conditions match, and follow their groups as they change', async () => {
    const [vm1, vm2, vm3, vm4, vm5] = ['vm1', 'vm2', 'vm3', 'vm4', 'vm5'].map((n) => vm(lab, n)) as [
      LabVm,
      LabVm,
      LabVm,
      LabVm,
      LabVm,
    ];
    const p1 = await store.resolve('port', vm1.port);
    const p5 = await store.resolve('port', vm5.port);
    const pg = await store.create('port-group', { name: 'quarantine', portIds: [p1.id] });
    const ag = await store.create('ip-address-group', { name: 'blocked', addresses: [vm4.ip] });
    // In-port groups are seen by the bridge's chain (the router's sees its own port as in-port).
    try {
      const bridgeChain = await inboundChain('bridge', 'tenant-a', 'pg', [
        { action: 'drop', conditions: { inPortGroup: { value: pg.id }, ipProto: { value: 1 } } },
      ]);
      const routerChain = await inboundChain('router', 'edge', 'ag', [
        { action: 'drop', conditions: { ipAddrGroupDst: { value: ag.id } } },
      ]);
      try {
        assert.equal(await pings(vm1, vm3.ip, ONE), 0, 'vm1 is in the port group: dropped');
        assert.equal(await pings(vm5, vm3.ip), 3, 'vm5 is not');
        assert.equal(await pings(vm3, vm4.ip, ONE), 0, "vm4's address is in the address group: dropped");
        assert.equal(await pings(vm3, vm2.ip), 3, "vm2's is not");
        await store.update('port-group', pg.id, { portIds: [p1.id, p5.id] });
        await store.update('ip-address-group', ag.id, { addresses: [vm4.ip, vm2.ip] });
        await settled();
        assert.equal(await pings(vm5, vm3.ip, ONE), 0, 'vm5 joined the port group: dropped now');
        assert.equal(await pings(vm3, vm2.ip, ONE), 0, "vm2's address joined the group: dropped now");
        await store.update('port-group', pg.id, { portIds: [p5.id] });
        await store.update('ip-address-group', ag.id, { addresses: [] });
        await settled();
        assert.equal(await pings(vm1, vm3.ip), 3, 'vm1 left the port group');
        assert.equal(await pings(vm3, vm4.ip), 3, 'the address group is empty');
      } finally {
        await bridgeChain.undo();
        await routerChain.undo();
      }
    } finally {
      await store.delete('port-group', pg.id);
      await store.delete('ip-address-group', ag.id);
      await settled();
    }
  });

  it('DSCP marking by rule: marked packets cross the tunnel with their DSCP, others keep theirs', async () => {
    const [vm1, vm3, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm3'), vm(lab, 'vm5')];
    // EF (46) for ICMP from vm5 (hv2): marked on hv2, carried to vm3 on hv1.
    const { undo } = await inboundChain('bridge', 'tenant-a', 'qos', [
      {
        action: 'accept',
        setDscp: 46,
        conditions: { ipProto: { value: 1 }, srcPrefix: { value: `${vm5.ip}/32` } },
      },
    ]);
    const dump = await capture(vm3.netns, 'icmp[icmptype] = icmp-echo', { verbose: true });
    try {
      assert.equal(await pings(vm5, vm3.ip), 3);
      assert.equal(await pings(vm1, vm3.ip), 3);
      await until(() => dump.lines.filter((l) => /ICMP echo request/.test(l)).length >= 6, {
        what: 'tcpdump in vm3 printing the six requests',
      });
    } finally {
      await dump.stop();
      await undo();
    }
    const text = dump.lines.join('\n');
    const from = (ip: string, tos: string) =>
      new RegExp(
        `tos ${tos},[^\n]*\n\\s*${ip.replace(/\./g, '\\.')} > ${vm3.ip.replace(/\./g, '\\.')}: ICMP echo request`,
        'g',
      );
    assert.equal(
      text.match(from(vm5.ip, '0xb8'))?.length,
      3,
      `vm5's requests arrive as EF (tos 0xb8):\n${text}`,
    );
    assert.equal(text.match(from(vm1.ip, '0x0'))?.length, 3, `vm1's are not marked:\n${text}`);
  });
});
