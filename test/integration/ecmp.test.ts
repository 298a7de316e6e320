/**
 * ECMP over two uplinks on two hosts on real Open vSwitch and FRR (midonet-lab up --bgp --ecmp): the
 * ISP (one FRR, two sessions) announces the default route over uplink `edge-up` on hv1 and `edge-up2`
 * on hv2; the virtual router learns it twice, so two paths. 200 UDP flows from a VM to an address
 * behind the ISP spread over both uplinks (counted per uplink by tcpdump on the ISP's two interfaces,
 * each uplink at least 30%); while both are up no flow changes uplink, also when a change of the route
 * table makes the agents simulate every flow again; when the second uplink's link is cut its session
 * ends by hold time, and once it is down every flow it carried arrives over the first uplink within
 * the hold time. Mending the link brings the second path back: new flows spread over both again. The lab is torn down
 * after the tests, also when they fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/exec.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { uniqueLabName } from '../../src/lab/layout.js';
import { DEFAULT_ROUTE, ISP1_IFACE, ISP2_IFACE, setIsp2Link } from '../../src/lab/ecmp-lab.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { peerStates } from '../../src/router/peer-state.js';
import { until } from '../until.js';
import { NAT_PROBE, capture, host, ping, startNatProbe, stats, vm, type Capture } from './lab-helpers.js';

const FLOWS = 200;
const BASE_PORT = 31000;
const PORT = 7;

/** Source port -> interfaces of the ISP it arrived on, from tcpdump lines. */
function arrivals(lines: readonly string[], to: string): Map<number, number> {
  const out = new Map<number, number>();
  const re = new RegExp(`\\.(\\d+) > ${to.replaceAll('.', '\\.')}\\.${PORT}:`);
  for (const l of lines) {
    const m = re.exec(l);
    if (m) out.set(Number(m[1]), (out.get(Number(m[1])) ?? 0) + 1);
  }
  return out;
}

describe('ECMP over two uplinks on two hosts, each with its BGP session', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-ecmp-'));
  const captures: Capture[] = [];
  const children: Array<{ kill(): boolean }> = [];
  /** The uplink interface (of the ISP) each flow took in the first test. */
  const pathOf = new Map<number, string>();
  let target = '';
  let ispNs = '';

  before(async () => {
    lab = await labUp({
      runDir,
      name: uniqueLabName('te'),
      hosts: 2,
      vmsPerHost: 1,
      tunnel: 'gre',
      bgp: true,
      ecmp: true,
    });
    store = await openStore(lab.storeUrl);
    target = lab.bgp!.isp.pingable;
    ispNs = lab.bgp!.isp.netns;
    children.push(await startNatProbe(ispNs, ['serve', '--port', String(PORT)]));
  });
  after(async () => {
    for (const c of children) c.kill();
    for (const c of captures) await c.stop().catch(() => undefined);
    await store?.close();
    await labDown(runDir);
  });

  const watch = async (iface: string): Promise<Capture> => {
    const c = await capture(ispNs, `udp and dst port ${PORT} and dst host ${target}`, { iface });
    captures.push(c);
    return c;
  };
  const peerState = async (name: string): Promise<string> => {
    const peer = await store.resolve('bgp-peer', name);
    return (await peerStates(store)).get(peer.id)?.state ?? 'unknown';
  };
  /** The uplink ports of the BGP routes to the default route. */
  const defaultPaths = async (): Promise<string[]> => {
    const ports = new Map((await store.list('port')).map((p) => [p.id, p.name]));
    return (await store.list('route'))
      .filter((r) => r.source === 'bgp' && r.dstPrefix === DEFAULT_ROUTE)
      .map((r) => ports.get(r.nextHopPortId ?? '') ?? '?')
      .sort();
  };
  const bothPaths = async (): Promise<void> => {
    await until(
      async () => (await peerState('isp1')) === 'Established' && (await peerState('isp2')) === 'Established',
      {
        what: 'both sessions Established',
        timeoutMs: 60000,
        intervalMs: 200,
      },
    );
    await until(async () => (await defaultPaths()).join(' ') === 'edge-up edge-up2', {
      what: `${DEFAULT_ROUTE} learned over both uplinks`,
      timeoutMs: 15000,
      intervalMs: 200,
    });
    await until(async () => (await ping(vm(lab, 'vm1'), target, ['-c', '1', '-W', '1'])).received === 1, {
      what: 'an echo from behind the ISP',
      timeoutMs: 15000,
      intervalMs: 200,
    });
  };

  /**
   * One datagram on each of FLOWS flows (source ports base..base+FLOWS-1), every one answered; returns
   * the ISP interface each arrived on (exactly one each).
   */
  const spread = async (base: number): Promise<Map<number, string>> => {
    const [c1, c2] = [await watch(ISP1_IFACE), await watch(ISP2_IFACE)];
    const out = await run(
      process.execPath,
      [
        NAT_PROBE,
        'udp',
        '--to',
        target,
        '--port',
        String(PORT),
        '--count',
        String(FLOWS),
        '--base-port',
        String(base),
        '--timeout-ms',
        '10000',
      ],
      { netns: vm(lab, 'vm1').netns, timeoutMs: 30000 },
    );
    const answers = JSON.parse(out) as Array<{ sport: number; seen: string | null }>;
    assert.equal(
      answers.filter((a) => a.seen !== null).length,
      FLOWS,
      `every flow answered: ${out.slice(0, 400)}`,
    );
    // Every flow was answered, so it passed the ISP: wait for tcpdump to have printed it.
    const printed = () =>
      new Set([...arrivals(c1.lines, target).keys(), ...arrivals(c2.lines, target).keys()]);
    await until(() => printed().size >= FLOWS, {
      what: 'tcpdump printing every flow',
      timeoutMs: 5000,
    }).catch(() => undefined);
    const [a1, a2] = [arrivals(await c1.stop(), target), arrivals(await c2.stop(), target)];
    const paths = new Map<number, string>();
    // Every flow was answered, so it reached the ISP over one of its two interfaces. tcpdump misses a
    // packet only when its capture buffer is full (it says so: "N packets dropped by kernel"): with
    // libpcap's default 2 MiB, the burst the switch sends after one write of many answers overflowed it
    // (24 to 103 of 200 flows unseen, none lost; docs/perturn-ecmp.md). capture() asks for 32 MiB; a
    // flow seen on no interface beyond the packets tcpdump says it dropped is a fault.
    const unseen: number[] = [];
    for (let i = 0; i < FLOWS; i++) {
      const sport = base + i;
      const on = [a1.has(sport) ? ISP1_IFACE : null, a2.has(sport) ? ISP2_IFACE : null].filter(
        (x) => x !== null,
      );
      assert.ok(on.length <= 1, `flow from port ${sport} arrived over both uplinks`);
      if (on.length === 0) unseen.push(sport);
      else paths.set(sport, on[0]!);
    }
    const dropped = (c1.drops() ?? 0) + (c2.drops() ?? 0);
    assert.ok(
      unseen.length <= dropped,
      `flows answered but seen by tcpdump on no uplink: ${unseen.length} (${unseen.slice(0, 10).join(' ')}), ` +
        `packets tcpdump dropped: ${dropped}`,
    );
    const n1 = [...paths.values()].filter((x) => x === ISP1_IFACE).length;
    const n2 = paths.size - n1;
    assert.ok(
      n1 >= 0.3 * paths.size && n2 >= 0.3 * paths.size,
      `flows per uplink: edge-up ${n1}, edge-up2 ${n2} (each at least 30%)`,
    );
    return paths;
  };

  it(`the default route learned twice gives two paths; ${FLOWS} flows spread over both uplinks`, async () => {
    await bothPaths();
    for (const [p, i] of await spread(BASE_PORT)) pathOf.set(p, i);
  });

  it('while both uplinks are up, no flow changes uplink, also when the route table changes', async () => {
    assert.ok(pathOf.size >= FLOWS * 0.98, 'the first test found each flow its uplink');
    const [c1, c2] = [await watch(ISP1_IFACE), await watch(ISP2_IFACE)];
    // Every flow again, 20 packets each over 4 s, round robin; meanwhile an unrelated route comes and
    // goes, so every flow through the router is invalidated and simulated again.
    const streaming = run(
      process.execPath,
      [
        NAT_PROBE,
        'udp-stream',
        '--to',
        target,
        '--port',
        String(PORT),
        '--rate',
        String(FLOWS * 5),
        '--seconds',
        '4',
        '--sources',
        String(FLOWS),
        '--base-port',
        String(BASE_PORT),
      ],
      { netns: vm(lab, 'vm1').netns, timeoutMs: 30000 },
    );
    const hv1 = host(lab, 'hv1');
    await until(() => arrivals(c1.lines, target).size > 0, { what: 'the stream arriving' });
    const invalidated = (await stats(hv1)).flowsInvalidated ?? 0;
    const [router, up] = [await store.resolve('router', 'edge'), await store.resolve('port', 'edge-up')];
    const extra = await store.create('route', {
      routerId: router.id,
      dstPrefix: '203.0.113.192/27',
      nextHopPortId: up.id,
      gateway: lab.bgp!.isp.address,
    });
    await until(async () => ((await stats(hv1)).flowsInvalidated ?? 0) > invalidated, {
      what: "hv1's flows through the router invalidated by the new route",
    });
    await store.delete('route', extra.id);
    const out = await streaming;
    const [a1, a2] = [arrivals(await c1.stop(), target), arrivals(await c2.stop(), target)];
    const flapped: string[] = [];
    for (const [sport, iface] of pathOf) {
      const other = iface === ISP1_IFACE ? a2 : a1;
      const mine = iface === ISP1_IFACE ? a1 : a2;
      if (other.has(sport) || !mine.has(sport))
        flapped.push(
          `${sport}: ${mine.get(sport) ?? 0} over its uplink, ${other.get(sport) ?? 0} over the other`,
        );
    }
    assert.deepEqual(flapped, [], `flows that left their uplink (stream: ${out.trim()})`);
  });

  it('a session going down moves its flows to the other uplink within the hold time', async (t) => {
    const moving = [...pathOf].filter(([, i]) => i === ISP2_IFACE).map(([p]) => p);
    assert.ok(moving.length > 0);
    const holdMs = lab.bgp!.ecmp!.holdTime * 1000;
    const c1 = await watch(ISP1_IFACE);
    const stream = spawn(
      'ip',
      [
        'netns',
        'exec',
        vm(lab, 'vm1').netns,
        process.execPath,
        NAT_PROBE,
        'udp-stream',
        '--to',
        target,
        '--port',
        String(PORT),
        '--rate',
        String(FLOWS * 10),
        '--seconds',
        '30',
        '--sources',
        String(FLOWS),
        '--base-port',
        String(BASE_PORT),
      ],
      { stdio: 'ignore' },
    );
    children.push(stream);
    try {
      await until(() => arrivals(c1.lines, target).size > 0, { what: 'the stream arriving over edge-up' });
      const cut = Date.now();
      await setIsp2Link(ispNs, false);
      await until(async () => (await peerState('isp2')) !== 'Established', {
        what: "isp2's session ending by hold time",
        timeoutMs: holdMs + 10000,
        intervalMs: 100,
      });
      const down = Date.now();
      const movedBefore = new Set(arrivals(c1.lines, target).keys());
      await until(
        () => {
          const seen = arrivals(c1.lines, target);
          return moving.every((p) => seen.has(p));
        },
        {
          what: `the ${moving.length} flows of edge-up2 arriving over edge-up`,
          timeoutMs: holdMs,
          intervalMs: 50,
        },
      );
      t.diagnostic(
        `${moving.length} flows moved; session seen down ${down - cut} ms after the cut, all flows over edge-up ${Date.now() - down} ms after that (${moving.filter((p) => movedBefore.has(p)).length} already before)`,
      );
      assert.deepEqual(await defaultPaths(), ['edge-up'], 'one path left');
    } finally {
      stream.kill();
    }
  });

  it('mending the link brings the second session back, and new flows spread over both uplinks again', async () => {
    await setIsp2Link(ispNs, true);
    await bothPaths();
    // Right after the session is back, a run of flows can be answered yet missed by the captures (seen
    // twice in CI, 1 and 8 of 200, never on both uplinks): what this test holds is that both uplinks
    // carry new flows again, so up to 10% unattributed flows are allowed here.
    await spread(BASE_PORT + FLOWS);
  });
});
