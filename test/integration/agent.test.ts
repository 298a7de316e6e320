/**
 * midonet-agent on real Open vSwitch (userspace datapath) in network namespaces: first-packet flows,
 * tunnels (GRE and VXLAN), routing with ARP/TTL/ICMP errors, exact invalidation, restart under traffic.
 * Every lab is torn down after its tests, also when they fail. No test sleeps for a fixed time: after
 * a store change a test waits until the agent applied it and the switch acknowledged the agent's flow
 * changes (agentSettled: the store position, then the control API's barrier).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp, hostOvs, type LabState } from '../../src/lab/lab.js';
import { agentPid, startAgent, stopAgent } from '../../src/lab/hypervisor.js';
import { run } from '../../src/exec.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import {
  agentFlows,
  agentRunning,
  agentSettled,
  barrier,
  cookieOf,
  host,
  ping,
  probe,
  reactiveFlows,
  startEcho,
  stats,
  vm,
} from './lab-helpers.js';
import { uniqueLabName } from '../../src/lab/layout.js';

for (const tunnel of ['gre', 'vxlan'] as const) {
  describe(`agent on a two-host lab (${tunnel})`, () => {
    let lab: LabState;
    let store: TopologyStore;
    const runDir = mkdtempSync(join(tmpdir(), `midonet-it-${tunnel}-`));
    before(async () => {
      // hv1: vm1 (a), vm2 (b), vm3 (a); hv2: vm4 (b), vm5 (a), vm6 (b)
      // A short change log (20 changes), so that a test can make an agent fall behind it.
      const storeUrl = `sqlite:${join(runDir, 'state.db')}?retain=20`;
      lab = await labUp({ runDir, name: uniqueLabName('ta'), hosts: 2, vmsPerHost: 3, tunnel, storeUrl });
      store = await openStore(lab.storeUrl);
    });
    after(async () => {
      await store?.close();
      await labDown(runDir);
    });

    it('forwards within a bridge on one host; the first packet goes through the agent, later ones do not', async () => {
      const [vm1, vm3] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
      const hv1 = host(lab, 'hv1');
      const warm = await ping(vm1, vm3.ip, ['-c', '1', '-W', '2']);
      assert.equal(warm.received, 1, warm.output);
      const flows = await reactiveFlows(hv1);
      const flow = flows.find((l) => l.includes(`dl_dst=${vm3.mac}`) && l.includes(`dl_src=${vm1.mac}`));
      assert.ok(flow, `a flow vm1 -> vm3 is installed:\n${flows.join('\n')}`);
      // The mask of a bridge-only path: in_port and MACs, no IP or L4 fields.
      assert.doesNotMatch(flow, /nw_src|nw_dst|tp_src|tp_dst/);
      const before = await stats(hv1);
      const later = await ping(vm1, vm3.ip, ['-c', '5', '-i', '0.05', '-W', '1']);
      assert.equal(later.received, 5, later.output);
      const after2 = await stats(hv1);
      assert.equal(after2.packetIns, before.packetIns, 'later packets never reached the agent');
      assert.ok((after2.flowsInstalled ?? 0) >= 1);
    });

    it('carries traffic between hosts over the tunnel; the receiving host does not simulate', async () => {
      const [vm1, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm5')];
      const [hv1, hv2] = [host(lab, 'hv1'), host(lab, 'hv2')];
      const there = await ping(vm1, vm5.ip);
      assert.equal(there.received, 3, there.output);
      const back = await ping(vm5, vm1.ip);
      assert.equal(back.received, 3, back.output);
      const stop = await startEcho(vm5);
      try {
        await probe(vm1, vm5.ip, 1, 2, 30000); // flows both ways exist now
        // Drop hv1's reactive flows only: the next packet is simulated on hv1 and delivered on hv2 by
        // the proactive tunnel flow, without a packet-in there.
        await hostOvs(hv1).delFlows('br-int', 'cookie=0x0/0x8000000000000000');
        // ...and the datapath's cache of them, so the next packet misses for certain; the barrier makes
        // sure the agent has heard of the removals before the counters are read.
        await hostOvs(hv1).purgeDatapath();
        // (the same control socket refuses what it does not know, in its own words: unixctl.ts)
        await assert.rejects(
          hostOvs(hv1).appctl('ovs-vswitchd.ctl', ['no/such-command']),
          /ovs-vswitchd\.ctl no\/such-command: "no\/such-command" is not a valid command/,
        );
        await barrier(hv1);
        const [s1, s2] = [await stats(hv1), await stats(hv2)];
        const rtts = await probe(vm1, vm5.ip, 1, 3, 30100);
        assert.ok(
          rtts[0]!.every((r) => r !== null),
          `all probes answered: ${JSON.stringify(rtts)}`,
        );
        const [t1, t2] = [await stats(hv1), await stats(hv2)];
        assert.ok((t1.packetIns ?? 0) > (s1.packetIns ?? 0), 'the sending host simulated the first packet');
        assert.equal(t2.simulations, s2.simulations, 'the receiving host did not simulate');
      } finally {
        await stop();
      }
    });

    it('routes between bridges: ARP for the router port, TTL exceeded and net unreachable come back', async () => {
      const [vm1, vm2, vm4] = [vm(lab, 'vm1'), vm(lab, 'vm2'), vm(lab, 'vm4')];
      const same = await ping(vm1, vm2.ip);
      assert.equal(same.received, 3, same.output);
      const cross = await ping(vm1, vm4.ip);
      assert.equal(cross.received, 3, cross.output);
      const edgeA = await store.resolve('port', 'edge-a');
      const neigh = await run('ip', ['neigh', 'show', vm1.gateway], { netns: vm1.netns });
      assert.match(
        neigh,
        new RegExp(`lladdr ${edgeA.mac}`),
        `the router answered ARP for ${vm1.gateway}: ${neigh}`,
      );
      const ttl = await ping(vm1, vm2.ip, ['-c', '1', '-W', '2', '-t', '1']);
      assert.match(ttl.output, /Time to live exceeded/, ttl.output);
      assert.match(ttl.output, new RegExp(`From ${vm1.gateway.replace(/\./g, '\\.')}`));
      const unreach = await ping(vm1, '203.0.113.9', ['-c', '1', '-W', '2']);
      assert.match(unreach.output, /Destination Net Unreachable/, unreach.output);
    });

    it('a drop rule removes exactly the flows it affects; removing it restores traffic', async () => {
      const [vm1, vm2, vm3] = [vm(lab, 'vm1'), vm(lab, 'vm2'), vm(lab, 'vm3')];
      const hv1 = host(lab, 'hv1');
      const router = await store.resolve('router', 'edge');
      const chain = await store.create('chain', { name: `filter-${tunnel}` });
      await store.update('router', router.id, { inboundChainId: chain.id });
      await agentSettled(store, hv1);
      assert.equal((await ping(vm1, vm2.ip)).received, 3, 'routed traffic flows through the empty chain');
      assert.equal((await ping(vm1, vm3.ip)).received, 3, 'bridged traffic flows');
      const flows = await agentFlows(hv1);
      const routed = flows.filter((f) => f.tags.includes(`chain:${chain.id}`));
      const unrelated = flows.filter(
        (f) => !f.tags.includes(`chain:${chain.id}`) && !f.tags.includes(`router:${router.id}`),
      );
      assert.ok(routed.length > 0, 'routed flows carry the chain tag');
      assert.ok(unrelated.length > 0, 'bridged flows do not');
      const rule = await store.create('rule', {
        chainId: chain.id,
        action: 'drop',
        conditions: { ipProto: { value: 1 }, dstPrefix: { value: `${vm2.ip}/32` } },
      });
      await agentSettled(store, hv1);
      const inSwitch = (await reactiveFlows(hv1)).map(cookieOf);
      for (const f of routed)
        assert.ok(!inSwitch.includes(f.cookie), `flow ${f.cookie} through the chain was removed`);
      for (const f of unrelated)
        assert.ok(inSwitch.includes(f.cookie), `unrelated flow ${f.cookie} (${f.match}) stayed`);
      assert.equal(
        (await ping(vm1, vm2.ip, ['-c', '2', '-i', '0.2', '-W', '1'])).received,
        0,
        'pings are dropped',
      );
      assert.equal((await ping(vm1, vm3.ip)).received, 3, 'unrelated traffic still flows');
      await store.delete('rule', rule.id);
      await agentSettled(store, hv1);
      assert.equal((await ping(vm1, vm2.ip)).received, 3, 'traffic is restored');
      await store.update('router', router.id, { inboundChainId: null });
      await store.delete('chain', chain.id);
    });

    it('keeps forwarding while the agent is down, and leaves no stale flow after its restart', async () => {
      const [vm1, vm3] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
      const hv1 = host(lab, 'hv1');
      assert.equal((await ping(vm1, vm3.ip)).received, 3);
      await stopAgent({ dir: hv1.dir }, true);
      const during = await ping(vm1, vm3.ip, ['-c', '10', '-i', '0.05', '-W', '1']);
      assert.equal(during.received, 10, `existing flows forward with the agent dead: ${during.output}`);
      const pid = startAgent({ dir: hv1.dir, agentConfig: join(hv1.dir, 'agent.json') } as never);
      // The dead agent's record may still say alive: wait for the new process's own.
      await agentRunning(store, hv1, pid);
      const after2 = await ping(vm1, vm3.ip);
      assert.equal(after2.received, 3, after2.output);
      const known = new Set((await agentFlows(hv1)).map((f) => f.cookie));
      const inSwitch = (await reactiveFlows(hv1)).map(cookieOf);
      assert.ok(inSwitch.length > 0);
      for (const c of inSwitch)
        assert.ok(known.has(c), `flow ${c} in the switch is known to the restarted agent`);
    });

    it('catches up from a snapshot when its position was compacted out of the change log, invalidating only what changed', async () => {
      const [vm1, vm2, vm3, vm4] = [vm(lab, 'vm1'), vm(lab, 'vm2'), vm(lab, 'vm3'), vm(lab, 'vm4')];
      const hv1 = host(lab, 'hv1');
      assert.equal((await ping(vm1, vm3.ip)).received, 3);
      assert.equal((await ping(vm2, vm4.ip)).received, 3);
      const flowsOf = (lines: string[], macs: string[]) =>
        lines.filter((l) => macs.some((m) => l.includes(`dl_dst=${m}`))).map(cookieOf);
      const before = await reactiveFlows(hv1);
      const untouched = flowsOf(before, [vm1.mac, vm3.mac]); // tenant-a: nothing it reads changes
      const changed = flowsOf(before, [vm2.mac, vm4.mac]); // tenant-b: its bridge is updated
      assert.ok(untouched.length > 0 && changed.length > 0, before.join('\n'));
      const behind = (await stats(hv1)).lastChangeSeq!;
      const pid = agentPid({ dir: hv1.dir })!;
      const tenantB = await store.resolve('bridge', 'tenant-b');
      // The agent is stopped while 41 changes are committed: its position leaves the 20-change log.
      process.kill(pid, 'SIGSTOP');
      try {
        await store.update('bridge', tenantB.id, { name: 'tenant-b-renamed' });
        for (let i = 0; i < 40; i++) await store.create('chain', { name: `resync-${tunnel}-${i}` });
        await assert.rejects(store.changesSince(behind), /no longer in the change log/);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      try {
        await agentSettled(store, hv1);
        const log = readFileSync(join(hv1.dir, 'agent.log'), 'utf8');
        assert.match(log, /store watch fell behind the change log: reloading the topology/);
        const inSwitch = (await reactiveFlows(hv1)).map(cookieOf);
        for (const c of untouched)
          assert.ok(inSwitch.includes(c), `flow ${c} (nothing it read changed) was kept`);
        for (const c of changed)
          assert.ok(!inSwitch.includes(c), `flow ${c} (its bridge changed) was invalidated`);
        assert.equal((await ping(vm1, vm3.ip)).received, 3, 'traffic flows on the caught-up topology');
        assert.equal((await ping(vm2, vm4.ip)).received, 3);
      } finally {
        await store.update('bridge', tenantB.id, { name: 'tenant-b' });
        for (const c of await store.list('chain'))
          if (c.name.startsWith('resync-')) await store.delete('chain', c.id);
      }
    });
  });
}
