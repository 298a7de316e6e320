/**
 * The first packet at the floor, on real Open vSwitch: a new flow costs the agent one packet-in (the
 * reply's flow comes with the forward one, installed by the egress host's agent when the reply
 * enters there); packet-ins a just-installed flow covers are sent on without a new flow, so the
 * agent's flow table is exactly the switch's; a first contact across the router and hosts, with every
 * MAC, ARP and flow table emptied, is answered (learned entries travel agent to agent); the agent's
 * rehearsals while idle add nothing to either table.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from '../../src/control/control-api.js';
import { run } from '../../src/exec.js';
import { PROACTIVE_COOKIE_BIT } from '../../src/agent/flow-table.js';
import { hostOvs, labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { until } from '../until.js';
import {
  agentFlows,
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

describe('the first packet at the floor', () => {
  let lab: LabState;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-first-'));
  const stops: Array<() => Promise<void>> = [];
  before(async () => {
    // hv1: vm1 (a), vm2 (b), vm3 (a); hv2: vm4 (b), vm5 (a), vm6 (b)
    lab = await labUp({ runDir, name: uniqueLabName('tf'), hosts: 2, vmsPerHost: 3, tunnel: 'gre' });
    for (const name of ['vm3', 'vm4', 'vm5']) stops.push(await startEcho(vm(lab, name)));
  });
  after(async () => {
    for (const s of stops) await s().catch(() => undefined);
    await labDown(runDir);
  });

  it('a new flow across hosts costs one packet-in: the egress agent installs the reply flow', async () => {
    const [vm1, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm5')];
    const [hv1, hv2] = [host(lab, 'hv1'), host(lab, 'hv2')];
    assert.equal((await ping(vm1, vm5.ip)).received, 3, 'MACs learned');
    // The ping's flows would cover the probes: the switches drop every reactive flow (the agents hear
    // of it), the MAC tables stay.
    for (const h of [hv1, hv2]) {
      await hostOvs(h).delFlows('br-int', `cookie=0/0x${PROACTIVE_COOKIE_BIT.toString(16)}`);
      await until(async () => (await stats(h)).flowsLive === 0, { what: `${h.name} forgetting its flows` });
    }
    const [a1, a2] = [await stats(hv1), await stats(hv2)];
    // New source ports: new flows (the probe waits for each echo before the next packet).
    const rtts = await probe(vm1, vm5.ip, 10, 3, 41000);
    assert.ok(
      rtts.every((f) => f.every((r) => r !== null)),
      `every probe answered: ${JSON.stringify(rtts)}`,
    );
    const [b1, b2] = [await stats(hv1), await stats(hv2)];
    assert.ok(b1.replyFlowRequests! > a1.replyFlowRequests!, 'hv1 asked hv2 for reply flows');
    assert.ok(b2.replyFlows! > a2.replyFlows!, 'hv2 installed them');
    // Predicted reply flows are not counted as simulations: hv2's agent sees no reply. hv1 holds each
    // first packet until hv2 answers that the reply's flow is written to its switch (at most 5 ms: a
    // wait that runs out on a loaded machine lets the reply race its flow, and hv2 then simulates it:
    // one packet-in, the same flow). Without reply flows every one of the 10 would come up.
    const answered = b1.replyFlowAnswers! - a1.replyFlowAnswers!;
    assert.ok(answered > 0, 'hv2 answered');
    // A flow whose wait was answered does not come up (one spare: the answer is sent once the flow is
    // written to hv2's switch, a moment before the switch applies it).
    const up = b2.packetIns! - a2.packetIns!;
    assert.ok(
      up <= 10 - answered + 1,
      `replies that came up to hv2: ${up} of 10 flows (answered: ${answered})`,
    );
    assert.equal(
      b1.packetIns! - a1.packetIns!,
      b1.flowsInstalled! - a1.flowsInstalled!,
      'one packet-in per new flow on hv1',
    );
  });

  it("the agent's flow table is exactly the switch's, also after back-to-back packets of new flows", async () => {
    const [vm1, vm3] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
    const hv1 = host(lab, 'hv1');
    // Two UDP flows at a time of ten packets each, no wait between packets of a flow.
    const send = Array.from(
      { length: 20 },
      (_, i) =>
        `import dgram from 'node:dgram'; const s = dgram.createSocket('udp4'); s.bind(${42000 + i}, () => { for (let k = 0; k < 10; k++) s.send(Buffer.alloc(16), 7, '${vm3.ip}'); setTimeout(() => s.close(), 200); });`,
    );
    for (const code of send)
      await run(process.execPath, ['--input-type=module', '-e', code], { netns: vm1.netns });
    await controlRequest(hv1.controlSocket, { cmd: 'barrier' });
    const inAgent = (await agentFlows(hv1)).map((f) => f.cookie).sort();
    const inSwitch = (await reactiveFlows(hv1)).map(cookieOf).sort();
    assert.deepEqual(inAgent, inSwitch);
    assert.equal((await stats(hv1)).flowsLive, inSwitch.length);
  });

  it('rehearsals while idle (flows.rehearseMs) install nothing and simulate nothing the switch sees', async () => {
    const hv1 = host(lab, 'hv1');
    const a = await stats(hv1);
    // The default period is 2 ms: dozens of rehearsals in the wait, each of the last table miss.
    await until(async () => (await stats(hv1)).rehearsals! >= a.rehearsals! + 50, {
      what: 'hv1 rehearsing while idle',
    });
    await controlRequest(hv1.controlSocket, { cmd: 'barrier' });
    const b = await stats(hv1);
    const inAgent = (await agentFlows(hv1)).map((f) => f.cookie).sort();
    const inSwitch = (await reactiveFlows(hv1)).map(cookieOf).sort();
    assert.deepEqual(inAgent, inSwitch, 'no flow recorded or written by a rehearsal');
    assert.ok(
      b.simulations! - a.simulations! <= b.packetIns! - a.packetIns!,
      `simulations counted only for packet-ins: ${b.simulations! - a.simulations!} for ${b.packetIns! - a.packetIns!}`,
    );
    assert.ok(
      b.flowsInstalled! - a.flowsInstalled! <= b.packetIns! - a.packetIns!,
      'flows installed only for packet-ins',
    );
  });

  it('a first contact across the router and hosts is answered with every table empty', async () => {
    const [vm1, vm4] = [vm(lab, 'vm1'), vm(lab, 'vm4')];
    for (const h of lab.hosts) await controlRequest(h.controlSocket, { cmd: 'forget' });
    for (const v of [vm1, vm4]) await run('ip', ['neigh', 'flush', 'all'], { netns: v.netns });
    const peersSent = async () =>
      ((await stats(host(lab, 'hv2'))) as unknown as { peers: { sent: number } }).peers.sent;
    const before2 = await peersSent();
    const first = await ping(vm1, vm4.ip, ['-c', '1', '-W', '2']);
    assert.equal(first.received, 1, `the very first ping is answered: ${first.output}`);
    assert.ok((await peersSent()) > before2, 'hv2 pushed what it learned (the ARP answer) straight to hv1');
  });
});
