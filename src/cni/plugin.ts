/**
 * The CNI commands of midonet-cni (specification 1.0, with GC and STATUS of 1.1):
 *   ADD     veth into the pod, a port on the configured bridge bound to this host at the host end
 *           (the agent then delivers to it), the host end plugged into br-int, an address from the
 *           subnet's lease allocator (or static), the default route; returns the CNI result.
 *   DEL     removes the port (its lease goes with it) and the veth; idempotent.
 *   CHECK   verifies the port, its binding, its lease, br-int's plug and the pod's interface.
 *   GC      removes this network's attachments on this host that the runtime no longer lists.
 *   STATUS  the store answers, this host is registered and the bridge exists.
 *
 * Invariant: an ADD that fails leaves nothing behind (it undoes what it made), and an ADD after a
 * crash half-way first removes what the crashed one left, found by the names plumbing.ts derives from
 * the attachment; DEL after any of these leaves no port, lease or interface of the attachment.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import { parseCidr } from '../addr.js';
import { StoreError } from '../state/errors.js';
import { allocate } from '../state/leases.js';
import type { DhcpSubnet, Host, Obj } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';
import { CNI_CODES, CniError, type CniEnv, type NetConf } from './config.js';
import {
  addVeth,
  configurePod,
  hostIfName,
  hostLinks,
  hostMac,
  plug,
  pluggedPort,
  podAddresses,
  podLinkExists,
  portName,
  removeVeth,
  type Where,
} from './plumbing.js';

export interface PluginDeps {
  readonly store: TopologyStore;
  readonly where: Where;
  readonly log: Logger;
  readonly now: () => number;
  /**
   * Fault injection for tests of crash recovery: the process exits at once, as if killed, right after
   * this step of ADD ('port', 'lease', 'veth'). Set from $MIDONET_CNI_CRASH_AFTER by main.ts.
   */
  readonly crashAfter?: string;
}

function crashPoint(deps: PluginDeps, step: string): void {
  if (deps.crashAfter === step) process.exit(137);
}

export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces: ReadonlyArray<{ name: string; mac: string; sandbox?: string }>;
  readonly ips: ReadonlyArray<{ address: string; gateway?: string; interface: number; version?: string }>;
  readonly routes: ReadonlyArray<{ dst: string; gw?: string }>;
  readonly dns: { nameservers?: string[] };
}

/** A locally administered unicast MAC. */
function randomMac(): string {
  const b = randomBytes(5);
  return ['02', ...[...b].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

async function thisHost(store: TopologyStore, conf: NetConf): Promise<Host> {
  try {
    return await store.resolve('host', conf.hostName);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'not-found')
      throw new CniError(
        CNI_CODES.tryAgainLater,
        `host '${conf.hostName}' is not registered in the store: start midonet-agent on this host (or set hostName in the network configuration)`,
      );
    throw e;
  }
}

async function configuredBridge(store: TopologyStore, conf: NetConf): Promise<Obj<'bridge'>> {
  try {
    return await store.resolve('bridge', conf.bridge);
  } catch (e) {
    if (e instanceof StoreError && e.code === 'not-found')
      throw new CniError(
        CNI_CODES.invalidConfig,
        `network configuration: key 'bridge': no bridge named or with id '${conf.bridge}'`,
      );
    throw e;
  }
}

/** The DHCP subnet addresses are leased from. */
async function leaseSubnet(store: TopologyStore, conf: NetConf, bridgeId: string): Promise<DhcpSubnet> {
  if (conf.dhcp !== undefined) {
    const d = await store.resolve('dhcp', conf.dhcp);
    if (d.bridgeId !== bridgeId)
      throw new CniError(
        CNI_CODES.invalidConfig,
        `network configuration: key 'dhcp': subnet '${d.name}' is not on bridge '${conf.bridge}'`,
      );
    return d;
  }
  const ranged = (await store.list('dhcp', { refersTo: bridgeId })).filter((d) => d.rangeStart !== null);
  if (ranged.length === 1) return ranged[0]!;
  throw new CniError(
    CNI_CODES.invalidConfig,
    ranged.length === 0
      ? `bridge '${conf.bridge}' has no DHCP subnet with a range to lease from: add one (midonet-cli dhcp create ... --range-start --range-end) or use ipam type static`
      : `bridge '${conf.bridge}' has ${ranged.length} DHCP subnets with a range: name one with key 'dhcp'`,
  );
}

/** Removes the attachment's port (and so its lease) and its veth; what is not there is skipped. */
async function removeAttachment(
  deps: PluginDeps,
  host: Host | undefined,
  hostIf: string,
  name: string,
): Promise<number> {
  const { store } = deps;
  const doomed = new Set<string>();
  try {
    doomed.add((await store.resolve('port', name)).id);
  } catch (e) {
    if (!(e instanceof StoreError && e.code === 'not-found')) throw e;
  }
  if (host) {
    for (const p of await store.list('port', { refersTo: host.id }))
      if (p.hostId === host.id && p.interfaceName === hostIf) doomed.add(p.id);
  }
  for (const id of doomed) {
    try {
      await store.delete('port', id, { cascade: true });
    } catch (e) {
      if (!(e instanceof StoreError && e.code === 'not-found')) throw e;
    }
  }
  await removeVeth(deps.where, hostIf);
  return doomed.size;
}

export async function cmdAdd(conf: NetConf, env: CniEnv, deps: PluginDeps): Promise<CniResult> {
  const { store, log } = deps;
  const host = await thisHost(store, conf);
  const bridge = await configuredBridge(store, conf);
  const subnet = conf.ipam.type === 'midonet-lease' ? await leaseSubnet(store, conf, bridge.id) : undefined;
  const hostIf = hostIfName(env.containerId, env.ifname);
  const name = portName(env.containerId, env.ifname);
  const leftovers = await removeAttachment(deps, host, hostIf, name);
  if (leftovers > 0) log.warn({ containerId: env.containerId, hostIf }, 'removed what an earlier ADD left');
  if (await podLinkExists(env.netns, env.ifname))
    throw new CniError(CNI_CODES.ioFailure, `interface '${env.ifname}' already exists in ${env.netns}`);
  const mac = randomMac();
  const port = await store.create('port', {
    name,
    deviceId: bridge.id,
    hostId: host.id,
    interfaceName: hostIf,
  });
  crashPoint(deps, 'port');
  try {
    let cidr: string;
    let gateway: string | null;
    if (subnet) {
      const net = parseCidr(subnet.subnet, true) as { addr: number; len: number };
      const requested = conf.runtimeConfig?.ips?.[0]?.split('/')[0] ?? null;
      const podName = env.args.get('K8S_POD_NAME');
      const lease = await allocate(store, subnet.id, {
        mac,
        now: deps.now(),
        hostId: host.id,
        portId: port.id,
        requested,
        clientId: env.containerId.slice(0, 255),
        hostname: podName && /^[A-Za-z0-9.-]{1,63}$/.test(podName) ? podName : null,
      });
      crashPoint(deps, 'lease');
      cidr = `${lease.address}/${net.len}`;
      gateway = subnet.gateway;
    } else {
      const a = (conf.ipam as { addresses: Array<{ address: string; gateway?: string }> }).addresses[0]!;
      cidr = a.address;
      gateway = a.gateway ?? null;
    }
    await addVeth(deps.where, hostIf, env.netns, env.ifname, mac, conf.mtu);
    crashPoint(deps, 'veth');
    await configurePod(env.netns, env.ifname, cidr, gateway, conf.userspaceDatapath);
    await plug(deps.where, hostIf, port.id);
    const v1 = !conf.cniVersion.startsWith('0.');
    return {
      cniVersion: conf.cniVersion,
      interfaces: [
        { name: hostIf, mac: await hostMac(deps.where, hostIf) },
        { name: env.ifname, mac, sandbox: env.netns },
      ],
      ips: [
        { ...(v1 ? {} : { version: '4' }), address: cidr, ...(gateway ? { gateway } : {}), interface: 1 },
      ],
      routes: gateway ? [{ dst: '0.0.0.0/0', gw: gateway }] : [],
      dns: subnet && subnet.dnsServers.length > 0 ? { nameservers: [...subnet.dnsServers] } : {},
    };
  } catch (e) {
    await removeAttachment(deps, host, hostIf, name).catch((u: Error) =>
      log.error({ err: u.message, hostIf }, 'could not undo a failed ADD; the next ADD or DEL removes it'),
    );
    throw e;
  }
}

export async function cmdDel(conf: NetConf, env: CniEnv, deps: PluginDeps): Promise<void> {
  let host: Host | undefined;
  try {
    host = await deps.store.resolve('host', conf.hostName);
  } catch (e) {
    if (!(e instanceof StoreError && e.code === 'not-found')) throw e;
  }
  await removeAttachment(
    deps,
    host,
    hostIfName(env.containerId, env.ifname),
    portName(env.containerId, env.ifname),
  );
}

export async function cmdCheck(conf: NetConf, env: CniEnv, deps: PluginDeps): Promise<void> {
  const { store } = deps;
  const fail = (msg: string, code: number = CNI_CODES.checkFailed) => {
    throw new CniError(code, `CHECK ${env.containerId}/${env.ifname}: ${msg}`);
  };
  const prev = conf.prevResult as { ips?: Array<{ address: string }> } | undefined;
  if (!prev?.ips?.[0]) fail('no prevResult with an address to check against', CNI_CODES.invalidConfig);
  const want = prev!.ips![0]!.address;
  const host = await thisHost(store, conf);
  const hostIf = hostIfName(env.containerId, env.ifname);
  let port: Obj<'port'>;
  try {
    port = await store.resolve('port', portName(env.containerId, env.ifname));
  } catch {
    return fail('its port is gone from the store');
  }
  if (port.hostId !== host.id || port.interfaceName !== hostIf)
    fail(`port '${port.name}' is not bound to ${hostIf} on host '${host.name}'`);
  if (conf.ipam.type === 'midonet-lease') {
    const leases = await store.list('dhcp-lease', { refersTo: port.id });
    if (!leases.some((l) => l.portId === port.id && l.state === 'active' && want.startsWith(`${l.address}/`)))
      fail(`port '${port.name}' holds no active lease of ${want}`);
  }
  if ((await pluggedPort(deps.where, hostIf)) !== port.id)
    fail(`${hostIf} is not plugged into br-int for port ${port.id}`);
  if (!(await podLinkExists(env.netns, env.ifname)))
    fail(`interface '${env.ifname}' is missing in ${env.netns}`, CNI_CODES.unknownContainer);
  const pod = await podAddresses(env.netns, env.ifname);
  if (!pod.addrs.includes(want))
    fail(`interface '${env.ifname}' has ${pod.addrs.join(', ') || 'no address'}, not ${want}`);
}

export async function cmdGc(conf: NetConf, deps: PluginDeps): Promise<number> {
  const { store } = deps;
  const host = await thisHost(store, conf);
  const bridge = await configuredBridge(store, conf);
  const valid = new Set(
    (conf['cni.dev/valid-attachments'] ?? []).map((a) => hostIfName(a.containerID, a.ifname)),
  );
  let removed = 0;
  const ours = (await store.list('port', { refersTo: host.id })).filter(
    (p) =>
      p.hostId === host.id &&
      p.deviceId === bridge.id &&
      p.name.startsWith('cni-') &&
      p.interfaceName?.startsWith('mnc'),
  );
  const bound = new Set((await store.list('port', { refersTo: host.id })).map((p) => p.interfaceName));
  for (const p of ours) {
    if (valid.has(p.interfaceName!)) continue;
    await store.delete('port', p.id, { cascade: true });
    await removeVeth(deps.where, p.interfaceName!);
    removed++;
  }
  // Interfaces no port is bound to any more (a crash between DEL's two steps) go too.
  for (const link of await hostLinks(deps.where)) {
    if (valid.has(link) || bound.has(link)) continue;
    await removeVeth(deps.where, link);
    removed++;
  }
  return removed;
}

export async function cmdStatus(conf: NetConf, deps: PluginDeps): Promise<void> {
  try {
    await deps.store.position();
    await thisHost(deps.store, conf);
    await configuredBridge(deps.store, conf);
  } catch (e) {
    throw new CniError(CNI_CODES.notAvailable, `not available: ${(e as Error).message}`);
  }
}
