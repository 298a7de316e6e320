/**
 * Layer 4 on real Open vSwitch, with the lab's ISP (FRR) beyond the router's uplink on hv1: source NAT
 * (the ISP sees the uplink address, from VMs on both hosts; 2,000 UDP flows get 2,000 distinct ports
 * and every reply reaches its VM), a floating IP (both ways; deleting it stops it and removes only the
 * flows it affected), a port forward, and a stateful firewall whose replies are simulated on another
 * host than the request (the state travels between agents).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { ISP_PINGABLE } from '../../src/lab/bgp-lab.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { labDown, labUp, type LabState, type LabVm } from '../../src/lab/lab.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import {
  agentSettled,
  cookieOf,
  host,
  ispReachable,
  NAT_PROBE,
  ping,
  reactiveFlows,
  startNatProbe,
  vm,
} from './lab-helpers.js';

/** The lab's ISP namespace (its name carries the lab's prefix). */
let ISP_NS = '';
const UPLINK = '203.0.113.1';
const FIP = '203.0.113.10';

describe('NAT, floating IPs, port forwards and a stateful firewall on a two-host lab with an ISP', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-nat-'));
  const servers: ChildProcess[] = [];

  async function serve(netns: string, port: number, name: string): Promise<void> {
    servers.push(await startNatProbe(netns, ['serve', '--port', String(port), '--name', name]));
  }

  async function tcpFrom(netns: string, to: string, port: number, timeoutMs = 3000): Promise<string> {
    return (
      await run(
        process.execPath,
        [NAT_PROBE, 'tcp', '--to', to, '--port', String(port), '--timeout-ms', String(timeoutMs)],
        { netns },
      )
    ).trim();
  }

  async function udpFlows(
    v: LabVm,
    count: number,
    base: number,
  ): Promise<Array<{ sport: number; seen: string | null }>> {
    const out = await run(
      process.execPath,
      [
        NAT_PROBE,
        'udp',
        '--to',
        ISP_PINGABLE,
        '--port',
        '7100',
        '--count',
        String(count),
        '--base-port',
        String(base),
        '--timeout-ms',
        '20000',
      ],
      { netns: v.netns, timeoutMs: 60000 },
    );
    return JSON.parse(out) as Array<{ sport: number; seen: string | null }>;
  }

  before(async () => {
    // hv1: vm1 (a), vm2 (b), vm3 (a); hv2: vm4 (b), vm5 (a), vm6 (b); the uplink edge-up on hv1.
    lab = await labUp({
      runDir,
      name: uniqueLabName('tn'),
      hosts: 2,
      vmsPerHost: 3,
      tunnel: 'gre',
      bgp: true,
    });
    ISP_NS = lab.bgp!.isp.netns;
    store = await openStore(lab.storeUrl);
    await serve(ISP_NS, 7100, 'isp');
    await ispReachable(lab);
  });
  after(async () => {
    for (const s of servers) s.kill();
    await store?.close();
    await labDown(runDir);
  });

  async function settled(): Promise<void> {
    for (const h of lab.hosts) await agentSettled(store, h);
  }

  it('source NAT: VMs on both hosts reach the ISP as the uplink address (TCP, UDP, ping)', async () => {
    const edge = await store.resolve('router', 'edge');
    await store.create('source-nat', {
      name: 'snat',
      routerId: edge.id,
      subnet: '192.0.2.0/24',
      address: UPLINK,
    });
    await settled();
    for (const name of ['vm1', 'vm5']) {
      const seen = await tcpFrom(vm(lab, name).netns, ISP_PINGABLE, 7100);
      assert.match(
        seen,
        new RegExp(`^${UPLINK.replace(/\./g, '\\.')}:\\d+ isp$`),
        `${name} over TCP: ${seen}`,
      );
      assert.equal((await ping(vm(lab, name), ISP_PINGABLE)).received, 3, `${name} pings through the NAT`);
    }
    const [one] = await udpFlows(vm(lab, 'vm5'), 1, 24000);
    assert.match(one!.seen ?? '', new RegExp(`^${UPLINK.replace(/\./g, '\\.')}:`));
  });

  it('2,000 concurrent UDP flows from two hosts through one SNAT address: no port twice, every reply home', async () => {
    const [a, b] = await Promise.all([
      udpFlows(vm(lab, 'vm1'), 1000, 30000),
      udpFlows(vm(lab, 'vm5'), 1000, 30000),
    ]);
    const all = [...a, ...b];
    const lost = all.filter((f) => f.seen === null).length;
    assert.equal(lost, 0, `${lost} of 2,000 flows got no reply`);
    const endpoints = new Set(all.map((f) => f.seen));
    assert.equal(endpoints.size, 2000, 'every flow had its own public address and port');
    assert.ok(all.every((f) => f.seen!.startsWith(`${UPLINK}:`)));
  });

  it('a floating IP: the ISP reaches a VM on hv2 and the VM leaves as its floating IP; deleting it stops it and only its flows go', async () => {
    const edge = await store.resolve('router', 'edge');
    const vm4 = vm(lab, 'vm4');
    const port = await store.resolve('port', 'vm4-port');
    await store.update('port', port.id, { addresses: [vm4.ip] });
    const fip = await store.create('floating-ip', {
      name: 'fip-vm4',
      routerId: edge.id,
      address: FIP,
      portId: port.id,
    });
    await settled();
    await serve(vm4.netns, 7200, 'vm4');
    assert.match(
      await tcpFrom(ISP_NS, FIP, 7200),
      /^203\.0\.113\.2:\d+ vm4$/,
      'the ISP reaches vm4 at its floating IP',
    );
    assert.match(
      await tcpFrom(vm4.netns, ISP_PINGABLE, 7100),
      new RegExp(`^${FIP.replace(/\./g, '\\.')}:\\d+ isp$`),
    );
    // An unrelated flow (bridged, hv1) survives the delete.
    assert.equal((await ping(vm(lab, 'vm1'), vm(lab, 'vm3').ip)).received, 3);
    const hv1 = host(lab, 'hv1');
    const bridged = (await reactiveFlows(hv1))
      .filter((l) => /dl_dst=02:00:00:00:01:02/.test(l))
      .map(cookieOf);
    assert.ok(bridged.length > 0);
    await store.delete('floating-ip', fip.id);
    await settled();
    await assert.rejects(tcpFrom(ISP_NS, FIP, 7200, 1500), 'gone with its floating IP');
    const still = (await reactiveFlows(hv1)).map(cookieOf);
    for (const c of bridged) assert.ok(still.includes(c), `unrelated flow ${c} stayed`);
  });

  it('a port forward: the ISP connects to uplink:8080 and reaches vm3:7300', async () => {
    const edge = await store.resolve('router', 'edge');
    const vm3 = vm(lab, 'vm3');
    await serve(vm3.netns, 7300, 'vm3');
    await store.create('port-forward', {
      name: 'web',
      routerId: edge.id,
      address: UPLINK,
      protocol: 'tcp',
      port: 8080,
      toAddress: vm3.ip,
      toPort: 7300,
    });
    await settled();
    assert.match(await tcpFrom(ISP_NS, UPLINK, 8080), /^203\.0\.113\.2:\d+ vm3$/);
  });

  it('a stateful firewall: VMs open connections out, new ones in are dropped, replies come back through the other host', async () => {
    const edge = await store.resolve('router', 'edge');
    const a = await store.resolve('port', 'edge-a');
    const b = await store.resolve('port', 'edge-b');
    const fw = await store.create('chain', { name: 'fw' });
    await store.create('rule', {
      chainId: fw.id,
      action: 'accept',
      conditions: { conntrack: { value: 'established' } },
    });
    await store.create('rule', {
      chainId: fw.id,
      action: 'accept',
      conditions: { conntrack: { value: 'new' }, inPorts: { value: [a.id, b.id] } },
    });
    await store.create('rule', { chainId: fw.id, action: 'drop' });
    await store.update('router', edge.id, { inboundChainId: fw.id });
    await settled();
    // vm5 on hv2: the request is simulated on hv2, the ISP's reply enters on hv1's uplink.
    const vm5 = vm(lab, 'vm5');
    assert.match(await tcpFrom(vm5.netns, ISP_PINGABLE, 7100), /^203\.0\.113\.1:\d+ isp$/);
    await serve(vm5.netns, 7400, 'vm5');
    await assert.rejects(tcpFrom(ISP_NS, vm5.ip, 7400, 1500), 'a new connection from outside is dropped');
    await store.update('router', edge.id, { inboundChainId: null });
  });
});
