/**
 * The lab's demo tenant topology: two bridges on documentation addresses (IPv4 /25s of 192.0.2.0/24,
 * IPv6 /64s of vm-ipv6.ts) joined by one router, made through the store API the CLI uses. The
 * namespace lab and the compose lab (src/compose) both make it with this.
 *
 * Invariant: every router port has the gateway address its bridge's VMs route by, and a route to its
 * bridge's network; VM ports are added separately (lab-vms.ts).
 */
import type { TopologyStore } from '../state/store.js';
import { TENANT_PREFIX6 } from './vm-ipv6.js';

export const BRIDGES = [
  {
    name: 'tenant-a',
    net: '192.0.2.0',
    len: 25,
    gateway: '192.0.2.1',
    first: 10,
    routerPort: 'edge-a',
    uplink: 'tenant-a-up',
  },
  {
    name: 'tenant-b',
    net: '192.0.2.128',
    len: 25,
    gateway: '192.0.2.129',
    first: 138,
    routerPort: 'edge-b',
    uplink: 'tenant-b-up',
  },
] as const;
export const ROUTER = 'edge';

/**
 * The demo tenant topology, through the store API the CLI uses: a tunnel zone `lab` with `members`,
 * the bridges of BRIDGES joined by the router ROUTER (a port and a route per bridge). VM ports are
 * added separately. The namespace lab and the compose lab (src/compose) both make it with this.
 */
export async function createDemoTopology(
  store: TopologyStore,
  tunnel: 'gre' | 'vxlan',
  members: ReadonlyArray<{ readonly hostId: string; readonly address: string }>,
): Promise<void> {
  await store.create('tunnel-zone', { name: 'lab', type: tunnel, members: [...members] });
  const router = await store.create('router', { name: ROUTER });
  for (const b of BRIDGES) {
    const br = await store.create('bridge', { name: b.name });
    const rp = await store.create('port', {
      name: b.routerPort,
      deviceId: router.id,
      address: `${b.gateway}/${b.len}`,
      // Dual stack: the port advertises this /64 and VMs configure themselves by SLAAC (vm-ipv6.ts).
      address6: `${TENANT_PREFIX6[BRIDGES.indexOf(b)]}1/64`,
    });
    const up = await store.create('port', { name: b.uplink, deviceId: br.id });
    await store.update('port', up.id, { peerId: rp.id });
    await store.create('route', {
      routerId: router.id,
      dstPrefix: `${b.net}/${b.len}`,
      nextHopPortId: rp.id,
    });
  }
}
