/**
 * The compose lab's topology and its readiness, seen from the distributed store (run inside the `cli`
 * container by `npm run compose -- up`, as `midonet-role setup`; `midonet-role report` for `status`):
 * waits until the three agents are alive and connected to their switches, makes the namespace lab's
 * demo topology (tunnel zone, tenant bridges, router: src/lab/lab.ts) with the compose hosts, binds
 * each VM container's port to its tap on its hypervisor, adds the router's uplink and BGP peer to the
 * ISP (src/lab/bgp-lab.ts), and waits until that BGP session is Established.
 *
 * Invariant: setup refuses a store that already holds the lab's topology (it never edits a lab it did
 * not just make); every wait has a deadline and its failure says what was awaited.
 */
import type { TopologyStore } from '../state/store.js';
import { openStore } from '../state/open.js';
import { createDemoTopology, createVmPort, waitForAgent } from '../lab/lab.js';
import { ISP_PEER, createUplinkPeer } from '../lab/bgp-lab.js';
import { peerStates } from '../router/peer-state.js';
import { ROUTER_ROLE } from '../router/daemon.js';
import { HOSTS, VMS } from './layout.js';
import { RoleError } from './roles.js';

export interface LabReport {
  readonly hosts: Array<{ name: string; alive: boolean; openflowConnected: boolean; role: string }>;
  readonly bgp: Array<{
    peer: string;
    state: string;
    established: boolean | null;
    prefixesReceived: number | null;
  }>;
  readonly bridges: string[];
  readonly ports: number;
}

async function poll(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new RoleError(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function setup(store: TopologyStore, say: (l: string) => void): Promise<void> {
  if ((await store.list('tunnel-zone')).some((z) => z.name === 'lab'))
    throw new RoleError('the store already holds a lab topology (tunnel zone "lab"); run down, then up');
  const ids: string[] = [];
  for (const h of HOSTS) {
    say(`setup: waiting for the agent of ${h.name} (${h.service})`);
    ids.push(await waitForAgent(store, h.name, 300000));
  }
  say('setup: tunnel zone lab (gre), bridges tenant-a and tenant-b, router edge');
  await createDemoTopology(
    store,
    'gre',
    HOSTS.map((h, i) => ({ hostId: ids[i]!, address: h.underlayIp })),
  );
  for (const vm of VMS) {
    await createVmPort(store, vm.bridge, vm.port, vm.hostName, vm.tap);
    say(
      `setup: ${vm.service} ${vm.ip}/${vm.prefixLen} on ${vm.bridge}, bound to ${vm.tap} on ${vm.hostName}`,
    );
  }
  const routerHost = HOSTS.find((h) => h.uplink !== undefined)!;
  say(`setup: uplink edge-up on ${routerHost.name} (${routerHost.uplink}), BGP peer ${ISP_PEER}`);
  await createUplinkPeer(store, routerHost.name, routerHost.uplink!);
  say('setup: waiting for the BGP session with the ISP to be Established');
  const peer = await store.resolve('bgp-peer', ISP_PEER);
  await poll(`BGP peer ${ISP_PEER} Established`, 300000, async () => {
    return (await peerStates(store)).get(peer.id)?.established === true;
  });
  say('setup: BGP Established');
}

export async function report(store: TopologyStore): Promise<LabReport> {
  const names = new Map((await store.list('host')).map((h) => [h.id, h.name]));
  const hosts: LabReport['hosts'] = [];
  for (const l of await store.liveness()) {
    const name = names.get(l.hostId);
    if (name === undefined && l.info.role !== ROUTER_ROLE) continue;
    hosts.push({
      name: name ?? (typeof l.info.hostName === 'string' ? l.info.hostName : l.hostId),
      alive: l.alive,
      openflowConnected: l.info.openflowConnected === true,
      role: typeof l.info.role === 'string' ? l.info.role : 'midonet-agent',
    });
  }
  const states = await peerStates(store);
  const bgp = (await store.list('bgp-peer')).map((p) => {
    const s = states.get(p.id);
    return {
      peer: p.name,
      state: s?.state ?? 'unknown',
      established: s?.established ?? null,
      prefixesReceived: s?.prefixesReceived ?? null,
    };
  });
  return {
    hosts: hosts.sort((a, b) => `${a.name}${a.role}`.localeCompare(`${b.name}${b.role}`)),
    bgp,
    bridges: (await store.list('bridge')).map((b) => b.name).sort(),
    ports: (await store.list('port')).length,
  };
}

export async function withStore<T>(url: string, f: (s: TopologyStore) => Promise<T>): Promise<T> {
  const store = await openStore(url);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}
