/**
 * A lab's VMs and the evaluation's baseline network: a VM namespace with its tap on br-int and its
 * port in the store, addressing by plan or by the agents' DHCP server, and beside br-int a plain Open
 * vSwitch bridge with the NORMAL action that every VM also reaches (the floor the evaluation compares
 * with).
 *
 * Invariant: everything made here is named by the lab's LabNames (layout.ts), so `labDown` finds and
 * removes it by the lab's prefix, and nothing of another lab.
 */
import { formatIpv4, parseIpv4 } from '../addr.js';
import { run } from '../exec.js';
import type { TopologyStore } from '../state/store.js';
import type { Hypervisor } from './hypervisor.js';
import type { LabVm } from './lab.js';
import { BASELINE_BRIDGE, BASELINE_PREFIX_LEN, DEFAULT_LAB, type LabNames } from './layout.js';
import { addNamespace, addVeth, setAddress } from './netns.js';
import { enableSlaac } from './vm-ipv6.js';

export function ipLast(ip: string): number {
  return parseIpv4(ip)! & 255;
}

export function ipAdd(net: string, add: number): string {
  return formatIpv4((parseIpv4(net)! + add) >>> 0);
}

/** A VM namespace on `hv`, its port on its bridge, and the binding of that port to the VM's tap. */
export async function addVm(
  store: TopologyStore,
  hv: Pick<Hypervisor, 'netns'>,
  vm: LabVm,
  names: LabNames = DEFAULT_LAB,
  dhcp = false,
): Promise<void> {
  await addNamespace(vm.netns);
  // IPv6 stays off until the port is bound: then the kernel solicits a router at once (vm-ipv6.ts).
  await run(
    'sysctl',
    ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
    { netns: vm.netns },
  );
  await addVeth(names.vmTap(vm.name), hv.netns, 'eth0', vm.netns);
  if (dhcp) {
    // The address, MTU and route come later, from the agent's DHCP server (vm-dhcp.ts).
    await run('ip', ['link', 'set', 'eth0', 'address', vm.mac], { netns: vm.netns });
    await run('ip', ['link', 'set', 'eth0', 'up'], { netns: vm.netns });
  } else {
    await setAddress(vm.netns, 'eth0', `${vm.ip}/${vm.prefixLen}`, vm.mac);
    await run('ip', ['route', 'add', 'default', 'via', vm.gateway], { netns: vm.netns });
  }
  // Checksum offload makes veth send partial checksums that the userspace datapath passes on as is.
  await run('ethtool', ['-K', 'eth0', 'tx', 'off'], { netns: vm.netns }).catch(() => undefined);
  await createVmPort(store, vm.bridge, vm.port, vm.host, names.vmTap(vm.name));
  await enableSlaac(vm.netns);
}

/**
 * Each hypervisor resolves every other one's underlay address once, so their switches' tunnel
 * neighbour caches are warm before the first tunnelled packet: Open vSwitch's userspace tunnels learn
 * a remote's MAC by snooping ARP on br-phy and drop the packet that found the cache cold (a first
 * packet to a host no traffic went to before was lost; a physical underlay has its ARP warm too).
 */
export async function warmUnderlay(hvs: readonly Hypervisor[]): Promise<void> {
  for (const a of hvs)
    for (const b of hvs)
      if (a !== b)
        await run('ping', ['-c', '1', '-W', '2', b.underlayIp], { netns: a.netns }).catch(() => undefined);
}

/** A VM's port on `bridge`, bound to interface `iface` on host `host` (names), in the store. */
export async function createVmPort(
  store: TopologyStore,
  bridge: string,
  port: string,
  host: string,
  iface: string,
): Promise<void> {
  const b = await store.resolve('bridge', bridge);
  const h = await store.resolve('host', host);
  await store.create('port', { name: port, deviceId: b.id, hostId: h.id, interfaceName: iface });
}

/**
 * The evaluation's baseline: on every hypervisor a plain Open vSwitch bridge with the NORMAL action and
 * no controller, joined to hv1 by GRE (a star: no loop for NORMAL's flooding).
 */
export async function addBaselineNetwork(hvs: readonly Hypervisor[]): Promise<void> {
  for (const hv of hvs) {
    await hv.ovs.vsctl([
      'add-br',
      BASELINE_BRIDGE,
      '--',
      'set',
      'bridge',
      BASELINE_BRIDGE,
      'datapath_type=netdev',
      'fail_mode=standalone',
    ]);
  }
  // One GRE port on `from` towards `to`, named for `to`.
  const gre = (from: Hypervisor, to: Hypervisor): Promise<string> =>
    from.ovs.vsctl([
      'add-port',
      BASELINE_BRIDGE,
      `gre-${to.name}`,
      '--',
      'set',
      'interface',
      `gre-${to.name}`,
      'type=gre',
      `options:remote_ip=${to.underlayIp}`,
    ]);
  const hub = hvs[0]!;
  for (const hv of hvs.slice(1)) {
    await gre(hub, hv);
    await gre(hv, hub);
  }
}

/**
 * Gives each VM's baseline interface (eth1) the MTU of its tenant interface (eth0; the agents' DHCP
 * server hands out 1500 less the tunnel overhead), so the evaluation's NORMAL baseline carries the
 * same packet sizes as the agent's flows and its throughput compares the paths, not the MTUs.
 */
export async function matchBaselineMtu(vms: readonly LabVm[]): Promise<void> {
  for (const vm of vms) {
    const links = JSON.parse(await run('ip', ['-j', 'link', 'show', 'eth0'], { netns: vm.netns })) as Array<{
      mtu?: number;
    }>;
    const mtu = links[0]?.mtu;
    if (mtu === undefined) throw new Error(`${vm.name}: no MTU in ip -j link show eth0`);
    await run('ip', ['link', 'set', 'eth1', 'mtu', String(mtu)], { netns: vm.netns });
  }
}

export async function addBaselineInterface(hv: Hypervisor, vm: LabVm, names: LabNames): Promise<void> {
  await addVeth(names.vmBaselineTap(vm.name), hv.netns, 'eth1', vm.netns);
  await setAddress(vm.netns, 'eth1', `${vm.baselineIp}/${BASELINE_PREFIX_LEN}`);
  await run('ethtool', ['-K', 'eth1', 'tx', 'off'], { netns: vm.netns }).catch(() => undefined);
  await hv.ovs.vsctl(['add-port', BASELINE_BRIDGE, names.vmBaselineTap(vm.name)]);
}

/** Runs a command inside a lab VM. */
export function vmExec(vm: Pick<LabVm, 'netns'>, cmd: readonly string[], timeoutMs = 30000): Promise<string> {
  return run(cmd[0]!, cmd.slice(1), { netns: vm.netns, timeoutMs });
}
