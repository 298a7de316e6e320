/**
 * midonet-router with real FRR on both sides: a one-host lab with an ISP (FRR, AS 64500) on an uplink.
 * The session reaches Established, the ISP learns the tenant prefixes, the virtual router learns the
 * ISP's prefix and a VM pings behind the ISP; a withdrawal removes the route; killing the leader leaves
 * the datapath alone and a standby restores the session; a clean stop removes FRR and namespaces.
 * The lab is torn down after the tests, also when they fail.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { ISP_ANNOUNCED, ispFrr, routerPid, startRouter, stopRouter } from '../../src/lab/bgp-lab.js';
import { listNamespaces } from '../../src/lab/netns.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { peerStates } from '../../src/router/peer-state.js';
import { ping, vm } from './lab-helpers.js';
import { until } from '../until.js';
import { uniqueLabName } from '../../src/lab/layout.js';

describe('midonet-router: BGP with an ISP through FRR', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-bgp-'));
  const bgpRoutes = async () =>
    (await store.list('route')).filter((r) => r.source === 'bgp').map((r) => r.dstPrefix);
  const peerState = async () => [...(await peerStates(store)).values()][0]?.state ?? 'unknown';

  before(async () => {
    lab = await labUp({
      runDir,
      name: uniqueLabName('tb'),
      hosts: 1,
      vmsPerHost: 1,
      tunnel: 'gre',
      bgp: true,
    });
    store = await openStore(lab.storeUrl);
  });
  after(async () => {
    await store?.close();
    await labDown(runDir);
  });

  /**
   * Traffic is back: a first echo may be lost while the next hop is re-learned (ARP through the new
   * speaker's steering flows); once one comes back, every later one must.
   */
  const reachable = async () => {
    await until(
      async () => (await ping(vm(lab, 'vm1'), lab.bgp!.isp.pingable, ['-c', '1', '-W', '1'])).received === 1,
      { what: 'an echo from behind the ISP', timeoutMs: 10000, intervalMs: 200 },
    );
    const p = await ping(vm(lab, 'vm1'), lab.bgp!.isp.pingable);
    assert.equal(p.received, 3, p.output);
  };

  it("reaches Established; each side learns the other's prefixes; a VM pings behind the ISP", async () => {
    await until(async () => (await peerState()) === 'Established', {
      what: 'the session reaching Established',
      timeoutMs: 30000,
      intervalMs: 200,
    });
    await until(async () => (await bgpRoutes()).includes(ISP_ANNOUNCED), {
      what: 'the ISP prefix in the virtual router',
      timeoutMs: 15000,
      intervalMs: 200,
    });
    await until(
      async () => {
        const r = (
          (await ispFrr(lab.bgp!.isp.netns).showJson('show bgp ipv4 unicast json')) as {
            routes: Record<string, unknown>;
          }
        ).routes;
        return '192.0.2.0/25' in r && '192.0.2.128/25' in r;
      },
      { what: 'the ISP learning the tenant prefixes', timeoutMs: 15000, intervalMs: 200 },
    );
    const route = (await store.list('route')).find((r) => r.source === 'bgp')!;
    assert.equal(route.gateway, lab.bgp!.isp.address);
    const up = await store.resolve('port', lab.bgp!.uplinkPort);
    assert.equal(route.nextHopPortId, up.id);
    const p = await ping(vm(lab, 'vm1'), lab.bgp!.isp.pingable);
    assert.equal(p.received, 3, p.output);
    const st = [...(await peerStates(store)).values()][0]!;
    assert.ok((st.prefixesReceived ?? 0) >= 1 && (st.prefixesAdvertised ?? 0) >= 2, JSON.stringify(st));
    // The router's metrics endpoint says the same.
    const metrics = await (await fetch(`http://${lab.bgp!.routers[0]!.metricsListen}/metrics`)).text();
    assert.match(metrics, /midonet_router_bgp_session_established\{[^}]*\} 1/);
    assert.match(metrics, /midonet_router_bgp_prefixes_received\{[^}]*\} [1-9]/);
    assert.match(metrics, /process_resident_memory_bytes/);
    const health = await fetch(`http://${lab.bgp!.routers[0]!.metricsListen}/health`);
    assert.equal(health.status, 200);
  });

  it('a withdrawal at the ISP removes the route and the ping fails; announcing again restores it', async () => {
    const frr = ispFrr(lab.bgp!.isp.netns);
    await frr.vtysh([
      'configure terminal',
      'router bgp 64500',
      'address-family ipv4 unicast',
      `no network ${ISP_ANNOUNCED}`,
      'end',
    ]);
    await until(async () => !(await bgpRoutes()).includes(ISP_ANNOUNCED), {
      what: 'the route being withdrawn',
      timeoutMs: 15000,
      intervalMs: 200,
    });
    const p = await ping(vm(lab, 'vm1'), lab.bgp!.isp.pingable, ['-c', '2', '-i', '0.2', '-W', '1']);
    assert.equal(p.received, 0, p.output);
    await frr.vtysh([
      'configure terminal',
      'router bgp 64500',
      'address-family ipv4 unicast',
      `network ${ISP_ANNOUNCED}`,
      'end',
    ]);
    await until(async () => (await bgpRoutes()).includes(ISP_ANNOUNCED), {
      what: 'the route coming back',
      timeoutMs: 15000,
      intervalMs: 200,
    });
    await reachable();
  });

  it('killing the leader leaves the datapath alone; a standby takes over within 10 s', async () => {
    const leader = lab.bgp!.routers[0]!;
    // A standby process on the same host, with its own run directory.
    const sdir = join(runDir, 'hv1', 'standby');
    mkdirSync(sdir, { recursive: true });
    const cfg = JSON.parse(readFileSync(leader.config, 'utf8')) as Record<string, unknown>;
    const scfg = join(sdir, 'router.json');
    writeFileSync(scfg, JSON.stringify({ ...cfg, runDir: join(sdir, 'run'), metrics: { listen: null } }));
    const standby = startRouter({ dir: sdir, config: scfg });
    try {
      await until(async () => (await store.liveness()).some((l) => l.alive && l.info.pid === standby), {
        what: 'the standby router running (a candidate for the uplink)',
        timeoutMs: 30000,
      });
      await stopRouter(leader.dir, true);
      const during = await ping(vm(lab, 'vm1'), lab.bgp!.isp.pingable, ['-c', '5', '-i', '0.1', '-W', '1']);
      assert.equal(during.received, 5, `the datapath forwards with the leader dead: ${during.output}`);
      await until(
        async () => {
          const st = [...(await peerStates(store)).values()][0];
          return st?.state === 'Established' && st.servedBy?.includes(String(routerPid(sdir))) === true;
        },
        { what: 'the standby re-establishing the session', timeoutMs: 10000, intervalMs: 200 },
      );
      await until(async () => (await bgpRoutes()).includes(ISP_ANNOUNCED), {
        what: 'the route learned again',
        timeoutMs: 10000,
        intervalMs: 200,
      });
      await reachable();
    } finally {
      // A clean stop removes FRR, the speaker namespace and the learned routes.
      await stopRouter(sdir, false);
    }
    assert.deepEqual(
      (await listNamespaces()).filter((n) => n.startsWith(`${lab.prefix}r`)),
      [],
    );
    assert.deepEqual(
      readdirSync('/var/run/frr').filter((d) => d.startsWith(`${lab.prefix}r`)),
      [],
      'FRR path spaces removed',
    );
    assert.deepEqual(await bgpRoutes(), [], 'routes withdrawn on clean stop');
    assert.equal(await peerState(), 'unknown');
  });
});
