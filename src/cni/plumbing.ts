/**
 * What midonet-cni does to Linux and Open vSwitch: a veth pair whose container end goes into the
 * pod's network namespace (renamed to CNI_IFNAME, with its MAC, address and routes) and whose host
 * end is plugged into br-int with `external_ids:iface-id` naming the virtual port (as the agent does
 * for every bound interface), all through `ip`, `nsenter` and `ovs-vsctl` with argument arrays.
 *
 * Invariant: every name is derived from (container id, interface name) alone (`hostIfName`), so a
 * later ADD, DEL or GC finds what an earlier call made, even one that crashed half-way; every removal
 * tolerates that the thing is already gone.
 */
import { createHash } from 'node:crypto';
import { run, tryRun } from '../exec.js';
import type { Ovs } from '../ovs/ovs.js';

/** Host-side interface name of an attachment: `mnc` + 12 hex digits (15 characters, Linux's limit). */
export function hostIfName(containerId: string, ifname: string): string {
  return `mnc${createHash('sha256').update(`${containerId}/${ifname}`).digest('hex').slice(0, 12)}`;
}

/** The virtual port's name: readable, unique per attachment. */
export function portName(containerId: string, ifname: string): string {
  return `cni-${containerId}-${ifname}`.slice(0, 255);
}

export const HOST_IF_PREFIX = 'mnc';

export interface Where {
  /** Namespace of br-int's interfaces (undefined: this process's). */
  readonly hostNs: string | undefined;
  readonly ovs: Ovs;
  readonly ovsBridge: string;
}

function inHost(w: Where): { netns?: string } {
  return w.hostNs ? { netns: w.hostNs } : {};
}

/** Runs `ip ...` inside the namespace at `path` (a runtime's netns path, not a name). */
function inPod(path: string, args: readonly string[]): Promise<string> {
  return run('nsenter', [`--net=${path}`, 'ip', ...args]);
}

export async function hostLinkExists(w: Where, name: string): Promise<boolean> {
  return (await tryRun('ip', ['-o', 'link', 'show', 'dev', name], inHost(w))) !== undefined;
}

export async function podLinkExists(netns: string, ifname: string): Promise<boolean> {
  try {
    await inPod(netns, ['-o', 'link', 'show', 'dev', ifname]);
    return true;
  } catch {
    return false;
  }
}

/** Host interfaces whose names this plugin makes (for GC). */
export async function hostLinks(w: Where): Promise<string[]> {
  const out = (await tryRun('ip', ['-o', 'link', 'show'], inHost(w))) ?? '';
  const names: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\d+: ([^:@]+)[@:]/.exec(line);
    if (m && m[1]!.startsWith(HOST_IF_PREFIX) && m[1]!.length === 15) names.push(m[1]!);
  }
  return names;
}

/**
 * Makes the veth pair: `hostIf` in the host namespace (up), its peer in the pod's namespace named
 * `ifname` with `mac` (up), loopback up there too.
 */
export async function addVeth(
  w: Where,
  hostIf: string,
  netns: string,
  ifname: string,
  mac: string,
  mtu: number | undefined,
): Promise<void> {
  const tmp = `mnt${hostIf.slice(3)}`;
  await run(
    'ip',
    ['link', 'add', hostIf, ...(mtu ? ['mtu', String(mtu)] : []), 'type', 'veth', 'peer', 'name', tmp],
    inHost(w),
  );
  await run('ip', ['link', 'set', tmp, 'netns', netns], inHost(w));
  await inPod(netns, ['link', 'set', tmp, 'name', ifname]);
  await inPod(netns, ['link', 'set', ifname, 'address', mac]);
  await inPod(netns, ['link', 'set', ifname, 'up']);
  await inPod(netns, ['link', 'set', 'lo', 'up']);
  await run('ip', ['link', 'set', hostIf, 'up'], inHost(w));
}

/** Gives the pod's interface its address and default route; transmit offload off on request. */
export async function configurePod(
  netns: string,
  ifname: string,
  cidr: string,
  gateway: string | null,
  noOffload: boolean,
): Promise<void> {
  await inPod(netns, ['addr', 'add', cidr, 'dev', ifname]);
  if (gateway) await inPod(netns, ['route', 'add', 'default', 'via', gateway, 'dev', ifname]);
  if (noOffload) await run('nsenter', [`--net=${netns}`, 'ethtool', '-K', ifname, 'tx', 'off']);
}

/** Plugs the host end into br-int, marked with the virtual port it is bound to. */
export async function plug(w: Where, hostIf: string, portId: string): Promise<void> {
  await w.ovs.vsctl([
    '--may-exist',
    'add-port',
    w.ovsBridge,
    hostIf,
    '--',
    'set',
    'interface',
    hostIf,
    `external_ids:iface-id=${portId}`,
  ]);
}

/** Removes the host end from br-int and deletes the pair (both ends); nothing there is fine. */
export async function removeVeth(w: Where, hostIf: string): Promise<void> {
  await tryRun('ovs-vsctl', [`--db=unix:${w.ovs.ep.dbSock}`, '--if-exists', 'del-port', w.ovsBridge, hostIf]);
  if (await hostLinkExists(w, hostIf)) await run('ip', ['link', 'del', hostIf], inHost(w));
}

/** The iface-id br-int records for a host interface (undefined when it is not plugged). */
export async function pluggedPort(w: Where, hostIf: string): Promise<string | undefined> {
  const out = await tryRun('ovs-vsctl', [
    `--db=unix:${w.ovs.ep.dbSock}`,
    '--if-exists',
    'get',
    'interface',
    hostIf,
    'external_ids:iface-id',
  ]);
  const v = out?.trim().replace(/^"|"$/g, '');
  return v ? v : undefined;
}

/** The pod interface's MAC and IPv4 addresses (with prefix length). */
export async function podAddresses(netns: string, ifname: string): Promise<{ mac: string; addrs: string[] }> {
  const out = await inPod(netns, ['-j', 'addr', 'show', 'dev', ifname]);
  const info = (
    JSON.parse(out) as Array<{
      address: string;
      addr_info: Array<{ family: string; local: string; prefixlen: number }>;
    }>
  )[0];
  if (!info) return { mac: '', addrs: [] };
  return {
    mac: info.address,
    addrs: info.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/** The host end's MAC. */
export async function hostMac(w: Where, hostIf: string): Promise<string> {
  const out = await run('ip', ['-j', 'link', 'show', 'dev', hostIf], inHost(w));
  return (JSON.parse(out) as Array<{ address: string }>)[0]?.address ?? '';
}
