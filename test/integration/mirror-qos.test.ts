/**
 * Port mirroring and port QoS on real Open vSwitch, in a two-host lab (hv1: vm1 a, vm2 b, vm3 a;
 * hv2: vm4 b, vm5 a, vm6 b).
 *
 * Mirroring: a mirror of vm1's ICMP (both directions) to vm5's port on the other host. A tcpdump in
 * vm5 sees exactly the mirrored packets, vm1 <-> vm3 echo requests and replies that never cross hv2
 * otherwise, and none of vm1's UDP (the filter); deleting the mirror removes exactly the flows that
 * carried it, and vm5 sees nothing more.
 *
 * A mirror of an interior port: the router's port on tenant-b, direction out, to vm5: vm5 sees vm1's
 * echo requests to vm2 as the router sent them (TTL 63), not the replies (they enter the router there).
 *
 * QoS: vm1's port limited to 100 Mbit/s; iperf3 (TCP, vm1 -> vm3, the warm-up omitted) measures within
 * 10% of it, where the same run without the limit measures well above it. A limit of 1 kbit/s with a
 * 1 kbit burst, below one 1 kB ping: no echo request gets through, the first of each flow included
 * (the agent sends it through table 0, so the flow's meter sees it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { hostOvs, labDown, labUp, type LabState, type LabVm } from '../../src/lab/lab.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { Tags } from '../../src/sim/tags.js';
import {
  agentFlows,
  agentSettled,
  capture,
  host,
  ping,
  probe,
  reactiveFlows,
  startEcho,
  vm,
} from './lab-helpers.js';
import { until } from '../until.js';

const LIMIT_KBPS = 100_000;

/** Ethernet (14), IPv4 (20) and TCP with timestamps (32) header bytes of each full-sized segment. */
const FRAME_OVERHEAD = 66;

/**
 * iperf3 TCP from `src` to `dst` for 6 s, the first 2 omitted (a policer's initial burst): the rate
 * received on the wire in Mbit/s, i.e. iperf3's payload rate scaled by frame size / MSS, since the
 * meter polices whole frames (a 100 Mbit/s meter leaves at most about 95.6 Mbit/s of TCP payload).
 */
async function iperf(src: LabVm, dst: LabVm): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', dst.netns, 'iperf3', '-s', '-1', '-p', '5201'], {
    stdio: 'ignore',
  });
  try {
    // iperf3 buffers what it prints into a pipe: readiness is its listening socket.
    const exited = new Promise<never>((_, reject) =>
      server.once('exit', (c) => reject(new Error(`iperf3 server in ${dst.name} exited with ${c}`))),
    );
    await Promise.race([
      exited,
      until(async () => (await run('ss', ['-ltnH', 'sport = :5201'], { netns: dst.netns })).trim() !== '', {
        what: `iperf3 listening in ${dst.name}`,
      }),
    ]);
    const out = await run('iperf3', ['-c', dst.ip, '-p', '5201', '-t', '6', '-O', '2', '-J'], {
      netns: src.netns,
      timeoutMs: 30000,
    });
    const j = JSON.parse(out) as {
      start: { tcp_mss_default?: number };
      end: { sum_received: { bits_per_second: number } };
    };
    const mss = j.start.tcp_mss_default ?? 1448;
    return ((j.end.sum_received.bits_per_second / 1e6) * (mss + FRAME_OVERHEAD)) / mss;
  } finally {
    if (server.exitCode === null) server.kill();
  }
}

describe('port mirroring and QoS on Open vSwitch', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-mirror-'));

  before(async () => {
    lab = await labUp({ runDir, name: uniqueLabName('mq'), hosts: 2, vmsPerHost: 3, tunnel: 'gre' });
    store = await openStore(lab.storeUrl);
  });
  after(async () => {
    await store?.close();
    await labDown(runDir);
  });

  async function settled(): Promise<void> {
    for (const h of lab.hosts) await agentSettled(store, h);
  }

  /** A mirror of the ICMP crossing port `source` (a name) to vm5's port, once the agents have it. */
  async function icmpMirrorToVm5(name: string, source: string, direction: 'in' | 'out' | 'both') {
    const src = await store.resolve('port', source);
    const dst = await store.resolve('port', vm(lab, 'vm5').port);
    const mirror = await store.create('mirror', {
      name,
      portIds: [src.id],
      toPortId: dst.id,
      direction,
      conditions: { ipProto: { value: 1 } },
    });
    await settled();
    return mirror;
  }

  it('a tcpdump on the destination VM on another host sees exactly the mirrored packets', async () => {
    const [vm1, vm3, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm3'), vm(lab, 'vm5')];
    const mirror = await icmpMirrorToVm5('icmp-of-vm1', vm1.port, 'both');
    // Everything vm5 receives that is not its own: the copies, and anything that should not be there.
    const dump = await capture(vm5.netns, `not host ${vm5.ip} and (icmp or udp)`);
    const stopEcho = await startEcho(vm3);
    try {
      assert.equal((await ping(vm1, vm3.ip, ['-c', '4', '-i', '0.2', '-W', '1'])).received, 4);
      const rtts = await probe(vm1, vm3.ip, 3, 2, 41000);
      assert.ok(
        rtts.flat().every((r) => r !== null),
        'UDP vm1 -> vm3 answered',
      );
      await until(() => dump.lines.length >= 8, { what: 'tcpdump in vm5 printing 8 mirrored packets' });
      // The flows of vm1's ICMP carry the mirror; its UDP flows consulted it too.
      const carrying = (await agentFlows(host(lab, 'hv1'))).filter((f) =>
        f.tags.includes(Tags.mirror(mirror.id)),
      );
      assert.ok(carrying.length > 0, 'hv1 has flows tagged with the mirror');
    } finally {
      await stopEcho();
    }
    await store.delete('mirror', mirror.id);
    await settled();
    const left = (await agentFlows(host(lab, 'hv1'))).filter((f) => f.tags.includes(Tags.mirror(mirror.id)));
    assert.deepEqual(left, [], 'deleting the mirror removed the flows that carried it');
    assert.equal((await ping(vm1, vm3.ip, ['-c', '2', '-i', '0.2', '-W', '1'])).received, 2);
    const lines = await dump.stop();
    const text = lines.join('\n');
    const v = (ip: string) => ip.replace(/\./g, '\\.');
    const requests = text.match(new RegExp(`${v(vm1.ip)} > ${v(vm3.ip)}: ICMP echo request`, 'g')) ?? [];
    const replies = text.match(new RegExp(`${v(vm3.ip)} > ${v(vm1.ip)}: ICMP echo reply`, 'g')) ?? [];
    assert.equal(
      requests.length,
      4,
      `the 4 requests of the mirrored pings, not the 2 after its delete:\n${text}`,
    );
    assert.equal(replies.length, 4, `the 4 replies:\n${text}`);
    assert.equal(lines.length, 8, `nothing else (no UDP, no other VM):\n${text}`);
  });

  it("a mirror of the router's port on tenant-b copies what the router sends there, as routed", async () => {
    const [vm1, vm2, vm5] = [vm(lab, 'vm1'), vm(lab, 'vm2'), vm(lab, 'vm5')];
    const mirror = await icmpMirrorToVm5('out-of-edge-b', 'edge-b', 'out');
    const dump = await capture(vm5.netns, `icmp and host ${vm2.ip}`, { verbose: true });
    try {
      assert.equal((await ping(vm1, vm2.ip, ['-c', '3', '-i', '0.2', '-W', '1'])).received, 3);
      await until(() => dump.lines.length >= 6, { what: 'tcpdump in vm5 printing 3 mirrored requests' });
    } finally {
      await store.delete('mirror', mirror.id);
      await settled();
    }
    const text = (await dump.stop()).join('\n');
    const v = (ip: string) => ip.replace(/\./g, '\\.');
    const requests = text.match(new RegExp(`${v(vm1.ip)} > ${v(vm2.ip)}: ICMP echo request`, 'g')) ?? [];
    assert.equal(requests.length, 3, `the 3 requests leaving the router toward vm2:\n${text}`);
    assert.equal((text.match(/ttl 63,/g) ?? []).length, 3, `each as routed (TTL 63):\n${text}`);
    assert.ok(!/echo reply/.test(text), `the replies enter the router at edge-b: no out copy:\n${text}`);
  });

  it('iperf3 through a 100 Mbit/s port limit measures within 10%', async (t) => {
    const [vm1, vm3] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
    const hv1 = host(lab, 'hv1');
    const port = await store.resolve('port', vm1.port);
    const free = await iperf(vm1, vm3);
    assert.ok(
      free > 1.3 * (LIMIT_KBPS / 1000),
      `without a limit the path carries more than the limit: ${free.toFixed(1)} Mbit/s`,
    );
    await store.update('port', port.id, { rateKbps: LIMIT_KBPS });
    await settled();
    await until(
      async () => (await hostOvs(hv1).ofctl(['dump-meters', 'br-int'])).includes(`rate=${LIMIT_KBPS}`),
      {
        what: "vm1's meter in hv1's switch",
      },
    );
    try {
      const limited = await iperf(vm1, vm3);
      t.diagnostic(`iperf3 vm1 -> vm3: ${free.toFixed(1)} Mbit/s free, ${limited.toFixed(1)} Mbit/s limited`);
      assert.ok(
        Math.abs(limited - LIMIT_KBPS / 1000) <= 0.1 * (LIMIT_KBPS / 1000),
        `${limited.toFixed(1)} Mbit/s through a ${LIMIT_KBPS / 1000} Mbit/s limit (without it: ${free.toFixed(1)})`,
      );
      const metered = (await reactiveFlows(hv1)).filter((l) => /meter:\d+/.test(l));
      assert.ok(metered.length > 0, "vm1's flows go through its meter");
    } finally {
      await store.update('port', port.id, { rateKbps: null });
      await settled();
    }
    await until(
      async () => !(await hostOvs(hv1).ofctl(['dump-meters', 'br-int'])).includes(`rate=${LIMIT_KBPS}`),
      {
        what: "vm1's meter removed",
      },
    );
  });

  it("a flow's first packet goes through the port's meter: a 1 kbit/s port gets no 1 kB ping through", async (t) => {
    const [vm1, vm3] = [vm(lab, 'vm1'), vm(lab, 'vm3')];
    const hv1 = host(lab, 'hv1');
    const port = await store.resolve('port', vm1.port);
    const big = ['-c', '3', '-i', '0.2', '-W', '1', '-s', '1000'];
    // Unlimited, the pings are answered (and vm1 knows vm3's MAC: no ARP left to the meter).
    assert.equal((await ping(vm1, vm3.ip, big)).received, 3);
    await store.update('port', port.id, { rateKbps: 1, burstKb: 1 });
    await settled();
    await until(
      async () => /rate=1 burst_size=1\b/.test(await hostOvs(hv1).ofctl(['dump-meters', 'br-int'])),
      {
        what: "vm1's 1 kbit/s meter in hv1's switch",
      },
    );
    try {
      // Each request (8.3 kbit) is over the burst: the meter drops every one it sees. Before the agent
      // sent first packets through table 0, the first request of the flow got through and was answered.
      const r = await ping(vm1, vm3.ip, big);
      t.diagnostic(await hostOvs(hv1).ofctl(['meter-stats', 'br-int']));
      assert.equal(r.received, 0, `no request through a 1 kbit/s meter, the first included:\n${r.output}`);
    } finally {
      await store.update('port', port.id, { rateKbps: null, burstKb: null });
      await settled();
    }
  });
});
