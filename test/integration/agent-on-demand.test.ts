/**
 * Agents load on demand (issue 19), on a real two-host lab with an ISP (FRR over BGP): two tenants,
 * each a bridge behind a router of its own linked to the lab's edge router, their prefixes announced
 * to the ISP. hv2 first has no port at all; a VM of tenant 1 on it makes its agent load tenant 1, the
 * edge router and what names them, and nothing of tenant 2 (the agent's `held` control command lists
 * its replica); that VM reaches its router and the ISP, and a lab VM behind the edge router's other
 * side, whose bridge hv2 loads when a packet first needs it. A VM of tenant 2 added on hv2 then brings
 * tenant 2 in, and its traffic flows too. Learned state goes the same way: MAC and ARP entries another
 * host published for both tenants reach hv2 only for the tenant it holds (the `macs` and `arp` control
 * commands list its tables), and tenant 2's come in when tenant 2 does.
 *
 * The lab (namespaces, OVS, FRR, agents, the VMs made here, named with the lab's prefix) is torn down
 * after the tests, also when they fail.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from '../../src/control/control-api.js';
import { ISP_PINGABLE } from '../../src/lab/bgp-lab.js';
import { addVm, labDown, labUp, ROUTER, type LabState, type LabVm } from '../../src/lab/lab.js';
import { labNames, uniqueLabName } from '../../src/lab/layout.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { agentSettled, host, ispReachable, ping, stats, vm } from './lab-helpers.js';

interface Held {
  kind: string;
  id: string;
  name: string | null;
}

/** Tenant t's addresses: a /27 of 203.0.113.64/26 behind its router, a /30 link to the edge router. */
function plan(t: 1 | 2) {
  const base = t === 1 ? 64 : 96;
  const link = (t - 1) * 4;
  return {
    net: `203.0.113.${base}/27`,
    gateway: `203.0.113.${base + 1}`,
    vmIp: `203.0.113.${base + 6}`,
    edgeSide: `100.64.0.${link + 1}`,
    tenantSide: `100.64.0.${link + 2}`,
  };
}

describe('agents load on demand: a host holds the tenants of its ports only', () => {
  let lab: LabState;
  let store: TopologyStore;
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-ondemand-'));
  /** Ids of each tenant's own objects (router, bridge, their ports and routes). */
  const own: Record<1 | 2, string[]> = { 1: [], 2: [] };

  async function tenant(t: 1 | 2): Promise<void> {
    const p = plan(t);
    const edge = await store.resolve('router', ROUTER);
    const r = await store.create('router', { name: `t${t}-r` });
    const br = await store.create('bridge', { name: `t${t}-br` });
    const edgePort = await store.create('port', {
      name: `edge-t${t}`,
      deviceId: edge.id,
      address: `${p.edgeSide}/30`,
    });
    const up = await store.create('port', {
      name: `t${t}-r-up`,
      deviceId: r.id,
      address: `${p.tenantSide}/30`,
    });
    await store.update('port', up.id, { peerId: edgePort.id });
    const inside = await store.create('port', {
      name: `t${t}-r-in`,
      deviceId: r.id,
      address: `${p.gateway}/27`,
    });
    const brUp = await store.create('port', { name: `t${t}-br-up`, deviceId: br.id });
    await store.update('port', brUp.id, { peerId: inside.id });
    const dflt = await store.create('route', {
      routerId: r.id,
      dstPrefix: '0.0.0.0/0',
      nextHopPortId: up.id,
      gateway: p.edgeSide,
    });
    await store.create('route', {
      routerId: edge.id,
      dstPrefix: p.net,
      nextHopPortId: edgePort.id,
      gateway: p.tenantSide,
    });
    await store.create('bgp-network', { routerId: edge.id, prefix: p.net });
    own[t].push(r.id, br.id, up.id, inside.id, brUp.id, dflt.id);
  }

  function tenantVm(t: 1 | 2): LabVm {
    const p = plan(t);
    const name = `t${t}vm`;
    return {
      name,
      netns: labNames(lab.name ?? null).vmNamespace(name),
      host: 'hv2',
      hostNumber: 2,
      bridge: `t${t}-br`,
      port: `${name}-port`,
      ip: p.vmIp,
      prefixLen: 27,
      mac: `02:00:00:00:7${t}:06`,
      gateway: p.gateway,
      baselineIp: '',
    };
  }

  const held = async (): Promise<Held[]> =>
    (await controlRequest(host(lab, 'hv2').controlSocket, { cmd: 'held' })) as Held[];

  /** The MAC that another host is said to have learned on tenant t's bridge (and its router's ARP). */
  const learnedMac = (t: 1 | 2) => `02:00:00:00:7${t}:99`;
  const learnedIp = (t: 1 | 2) => `203.0.113.${t === 1 ? 64 + 29 : 96 + 29}`;
  /** hv2's MAC entries on tenant t's bridge, and ARP entries of tenant t's router. */
  async function learnedOn(t: 1 | 2): Promise<{ macs: string[]; arp: string[] }> {
    const sock = host(lab, 'hv2').controlSocket;
    const m = (await controlRequest(sock, { cmd: 'macs', bridge: own[t][1] })) as {
      entries: Array<{ mac: string }>;
    };
    const a = (await controlRequest(sock, { cmd: 'arp', router: own[t][0] })) as {
      entries: Array<{ ip: string }>;
    };
    return { macs: m.entries.map((e) => e.mac), arp: a.entries.map((e) => e.ip) };
  }
  const holdsLearned = async (t: 1 | 2) => {
    const l = await learnedOn(t);
    return l.macs.includes(learnedMac(t)) && l.arp.includes(learnedIp(t));
  };

  /** The VM answers pings to its gateway and, once the ISP learned its prefix, to the ISP. */
  async function reaches(v: LabVm): Promise<void> {
    const gw = await ping(v, v.gateway, ['-c', '3', '-i', '0.2', '-W', '1']);
    assert.ok(gw.received >= 2, `${v.name} -> its router ${v.gateway}: ${gw.output}`);
    await until(async () => (await ping(v, ISP_PINGABLE, ['-c', '1', '-W', '1'])).received === 1, {
      what: `${v.name} reaching the ISP`,
      timeoutMs: 30000,
      intervalMs: 500,
    });
    const isp = await ping(v, ISP_PINGABLE, ['-c', '3', '-i', '0.2', '-W', '1']);
    assert.equal(isp.received, 3, isp.output);
  }

  before(async () => {
    lab = await labUp({
      runDir,
      name: uniqueLabName('tn'),
      hosts: 2,
      vmsPerHost: 1,
      tunnel: 'gre',
      bgp: true,
    });
    store = await openStore(lab.storeUrl);
    await ispReachable(lab);
    // hv2 gives its lab VM's port up: a host with no port of any tenant.
    await store.delete('port', (await store.resolve('port', 'vm2-port')).id);
    await tenant(1);
    await tenant(2);
    // What another host learned on both tenants (a MAC behind each bridge's uplink, a neighbour of
    // each router), as its agent publishes it.
    const expiresAt = Date.now() + 600_000;
    await store.learn(
      ([1, 2] as const).flatMap((t) => [
        {
          table: 'mac' as const,
          scope: own[t][1]!,
          key: learnedMac(t).replaceAll(':', ''),
          value: own[t][4]!,
          origin: 'another-host',
          expiresAt,
        },
        {
          table: 'arp' as const,
          scope: own[t][0]!,
          key: learnedIp(t),
          value: learnedMac(t).replaceAll(':', ''),
          origin: 'another-host',
          expiresAt,
        },
      ]),
    );
    for (const h of lab.hosts) await agentSettled(store, h);
  });
  after(async () => {
    await store?.close();
    await labDown(runDir);
  });

  it('a host with a port of tenant 1 holds none of tenant 2, and reaches its router and the ISP', async () => {
    const before = await held();
    assert.ok(
      !before.some((o) => own[1].includes(o.id) || own[2].includes(o.id)),
      `hv2 without ports holds no tenant: ${JSON.stringify(before)}`,
    );
    const v = tenantVm(1);
    await addVm(store, host(lab, 'hv2'), v, labNames(lab.name ?? null));
    await agentSettled(store, host(lab, 'hv2'));
    await until(async () => (await held()).some((o) => o.id === own[1][0]), {
      what: 'hv2 loading tenant 1',
      timeoutMs: 10000,
    });
    await reaches(v);
    const now = await held();
    const ids = new Set(now.map((o) => o.id));
    for (const id of own[1]) assert.ok(ids.has(id), `tenant 1's ${id} held`);
    assert.ok(
      now.some((o) => o.kind === 'router' && o.name === ROUTER),
      'the edge router held',
    );
    const leaked = now.filter((o) => own[2].includes(o.id));
    assert.deepEqual(leaked, [], "none of tenant 2's objects held");
    await until(() => holdsLearned(1), { what: "hv2 holding tenant 1's learned MAC and ARP entries" });
    assert.deepEqual(await learnedOn(2), { macs: [], arp: [] }, "none of tenant 2's learned entries held");
    const total = (await store.snapshot()).objects.length;
    const s = await stats(host(lab, 'hv2'));
    assert.equal(s.objectsHeld, now.length);
    assert.ok(now.length < total, `hv2 holds ${now.length} of ${total} objects`);
    process.stdout.write(
      `# on demand: hv2 holds ${now.length} of ${total} objects with a port of tenant 1\n`,
    );

    // A lab VM behind the edge router's other side: its bridge is not held until a packet needs it.
    const labVm = vm(lab, 'vm1');
    assert.ok(
      !now.some((o) => o.kind === 'bridge' && o.name === labVm.bridge),
      `${labVm.bridge} not held yet`,
    );
    await until(async () => (await ping(v, labVm.ip, ['-c', '1', '-W', '1'])).received === 1, {
      what: `${v.name} reaching ${labVm.name} (${labVm.ip}) on ${labVm.bridge}`,
      timeoutMs: 15000,
      intervalMs: 200,
    });
    assert.ok(
      (await held()).some((o) => o.kind === 'bridge' && o.name === labVm.bridge),
      `${labVm.bridge} loaded on demand`,
    );
    assert.ok(((await stats(host(lab, 'hv2'))).demandLoads ?? 0) >= 1, 'a simulation asked for it');
  });

  it('a port of tenant 2 on that host loads tenant 2, and its traffic flows', async () => {
    const v = tenantVm(2);
    await addVm(store, host(lab, 'hv2'), v, labNames(lab.name ?? null));
    await agentSettled(store, host(lab, 'hv2'));
    await until(async () => (await held()).some((o) => o.id === own[2][0]), {
      what: 'hv2 loading tenant 2',
      timeoutMs: 10000,
    });
    await reaches(v);
    const ids = new Set((await held()).map((o) => o.id));
    for (const id of [...own[1], ...own[2]]) assert.ok(ids.has(id), `${id} held`);
    await until(() => holdsLearned(2), { what: "hv2 loading tenant 2's learned entries with tenant 2" });
  });
});
