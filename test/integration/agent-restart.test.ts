/**
 * A restart that keeps flows, on real Open vSwitch with the lab's ISP: while a 1,000 packet/s UDP
 * stream from 50 source ports (100 flows through source NAT: each connection its own flow, both ways)
 * and a TCP transfer through the same NAT cross the hosts, an agent is killed (SIGKILL) or stopped
 * (SIGTERM) and started again. Nothing may be lost while it is down or while it comes back, the new
 * run must keep the flows of the earlier one (packet-ins for the live flows close to 0, not one per
 * flow), and no stale flow may stay: every reactive flow in the switch is one the new run knows.
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
import { startAgent, stopAgent } from '../../src/lab/hypervisor.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import {
  agentFlows,
  agentRunning,
  agentSettled,
  cookieOf,
  host,
  ping,
  reactiveFlows,
  stats,
  vm,
  ispReachable,
  NAT_PROBE,
  startNatProbe,
} from './lab-helpers.js';

const UPLINK = '203.0.113.1';
const STREAM_S = 8;

interface UdpStream {
  sent: number;
  received: number;
  lost: number;
  firstLost: number | null;
  lastLost: number | null;
}
interface TcpStream {
  sent: number;
  counted: number | null;
  error: string | null;
}

describe('an agent restart keeps its flows: nothing lost under traffic through NAT', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-restart-'));
  const servers: ChildProcess[] = [];

  async function streams(basePort: number): Promise<[Promise<UdpStream>, Promise<TcpStream>]> {
    const udp = run(
      process.execPath,
      [
        NAT_PROBE,
        'udp-stream',
        '--to',
        ISP_PINGABLE,
        '--port',
        '7100',
        '--rate',
        '1000',
        '--seconds',
        String(STREAM_S),
        '--sources',
        '50',
        '--base-port',
        String(basePort),
      ],
      { netns: vm(lab, 'vm1').netns, timeoutMs: 60000 },
    ).then((o) => JSON.parse(o) as UdpStream);
    const tcp = run(
      process.execPath,
      [
        NAT_PROBE,
        'tcp-stream',
        '--to',
        ISP_PINGABLE,
        '--port',
        '7500',
        '--seconds',
        String(STREAM_S),
        '--kbps',
        '2000',
      ],
      { netns: vm(lab, 'vm5').netns, timeoutMs: 60000 },
    ).then((o) => JSON.parse(o) as TcpStream);
    // Let every flow be set up before the agent goes.
    await new Promise((r) => setTimeout(r, 2000));
    return [udp, tcp];
  }

  before(async () => {
    // hv1: vm1 and the uplink; hv2: vm5. The UDP stream's forward flows and every reply flow are on
    // hv1; the TCP transfer's forward flows on hv2.
    lab = await labUp({
      runDir,
      name: uniqueLabName('tr'),
      hosts: 2,
      vmsPerHost: 3,
      tunnel: 'gre',
      bgp: true,
    });
    const ispNs = lab.bgp!.isp.netns;
    store = await openStore(lab.storeUrl);
    servers.push(await startNatProbe(ispNs, ['serve', '--port', '7100', '--name', 'isp']));
    servers.push(await startNatProbe(ispNs, ['tcp-sink', '--port', '7500']));
    await ispReachable(lab);
    const edge = await store.resolve('router', 'edge');
    await store.create('source-nat', {
      name: 'snat',
      routerId: edge.id,
      subnet: '192.0.2.0/24',
      address: UPLINK,
    });
    for (const h of lab.hosts) await agentSettled(store, h);
  });
  after(async () => {
    for (const s of servers) s.kill();
    await store?.close();
    await labDown(runDir);
  });

  it('with no restart the streams lose nothing (the measure itself is sound)', async () => {
    const [udp, tcp] = await streams(25000);
    const [u, t] = await Promise.all([udp, tcp]);
    process.stdout.write(`# no restart: ${JSON.stringify({ udp: u, tcp: t })}\n`);
    assert.equal(u.lost, 0, JSON.stringify(u));
    assert.equal(t.error, null, JSON.stringify(t));
    assert.equal(t.counted, t.sent);
  });

  for (const [hostName, signal, basePort] of [
    ['hv1', 'SIGKILL', 26000],
    ['hv2', 'SIGTERM', 27000],
  ] as const) {
    it(`${signal} of the agent of ${hostName} during the streams: no packet lost, the flows kept, none stale`, async () => {
      const h = host(lab, hostName);
      const [udp, tcp] = await streams(basePort);
      const before = (await reactiveFlows(h)).length;
      await stopAgent({ dir: h.dir }, signal === 'SIGKILL');
      await new Promise((r) => setTimeout(r, 1000)); // down for a second under traffic
      const pid = startAgent({ dir: h.dir, agentConfig: join(h.dir, 'agent.json') } as never);
      await agentRunning(store, h, pid);
      const restarted = await stats(h);
      const [u, t] = await Promise.all([udp, tcp]);
      const later = await stats(h);
      const report = {
        host: hostName,
        signal,
        flowsBefore: before,
        adopted: later.flowsAdopted,
        discarded: later.flowsDiscarded,
        packetInsAfterRestart: later.packetIns,
        udp: u,
        tcp: t,
      };
      process.stdout.write(`# restart: ${JSON.stringify(report)}\n`);
      assert.equal(u.lost, 0, `UDP datagrams lost: ${JSON.stringify(u)}`);
      assert.equal(t.error, null, `the TCP transfer through NAT went on: ${JSON.stringify(t)}`);
      assert.equal(t.counted, t.sent, 'every byte sent reached the sink');
      assert.ok(
        (restarted.flowsAdopted ?? 0) >= Math.min(50, before / 2),
        `the new run kept the earlier run's flows: ${JSON.stringify(report)}`,
      );
      assert.ok(
        (later.packetIns ?? 0) < 20,
        `packet-ins after the restart (${later.packetIns}) are not one per live flow (${before})`,
      );
      const known = new Set((await agentFlows(h)).map((f) => f.cookie));
      for (const c of (await reactiveFlows(h)).map(cookieOf))
        assert.ok(known.has(c), `flow ${c} in the switch is known to the restarted agent`);
    });
  }

  it('a flow whose treatment changed while the agent was down is replaced, not kept', async () => {
    const h = host(lab, 'hv1');
    const [vm1, vm3] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
    assert.equal((await ping(vm1, vm3.ip)).received, 3);
    const bridged = (await reactiveFlows(h)).filter((l) => l.includes(`dl_dst=${vm3.mac}`)).map(cookieOf);
    assert.ok(bridged.length > 0);
    await stopAgent({ dir: h.dir }, true);
    // While it is down: a rule on vm3's port drops ICMP.
    const chain = await store.create('chain', { name: 'no-ping' });
    await store.create('rule', { chainId: chain.id, action: 'drop', conditions: { ipProto: { value: 1 } } });
    const port = await store.resolve('port', vm3.port);
    await store.update('port', port.id, { outboundChainId: chain.id });
    const pid = startAgent({ dir: h.dir, agentConfig: join(h.dir, 'agent.json') } as never);
    await agentRunning(store, h, pid);
    const inSwitch = (await reactiveFlows(h)).map(cookieOf);
    for (const c of bridged) assert.ok(!inSwitch.includes(c), `stale flow ${c} was deleted`);
    assert.equal((await ping(vm1, vm3.ip, ['-c', '2', '-i', '0.2', '-W', '1'])).received, 0, 'now dropped');
    await store.update('port', port.id, { outboundChainId: null });
    await store.delete('chain', chain.id, { cascade: true });
  });
});
