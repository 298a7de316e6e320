/**
 * Where a load balancer's health checks are made from: a network namespace attached to the
 * balancer's router, so a check takes the virtual path a client's connection takes (MidoNet's
 * health-monitor port). For balancer L, on the host the leading midonet-lb-health runs on:
 *
 *   router port `lb-health-<L id>`   an exterior port of L's router, address ROUTER/30 on a link
 *                                    subnet (a /30 of --link-subnet, 169.254.0.0/16 by default, that no
 *                                    other port of the router overlaps), bound to (this host, IFACE)
 *   IFACE `mlbh<8 hex of L id>`      the outer end of a veth, in the namespace where br-int's
 *                                    interfaces live (the agent plugs it into br-int for the binding)
 *   namespace PREFIX<8 hex of L id>  the inner end `hm0` with address NS/30 and a default route via
 *                                    ROUTER; the checker process runs here
 *
 * and the same over IPv6 for IPv6 members: the port's address6 is PREFIX::1/64, a /64 of
 * --link-subnet6 (fd6c:6268::/48 by default) that no other port of the router overlaps, and `hm0` has
 * PREFIX::2/64 with a default route via PREFIX::1 (no router advertisements taken).
 *
 * The port is created once (by the first leader) and moved by rebinding it when another host's
 * process takes over, so the router's connected route to the link subnet follows the leader; replies
 * of members reach the namespace through the overlay like any reply.
 *
 * Invariants: `attach` is idempotent (a namespace left by an earlier process of this host, e.g. a
 * leader that was killed, is adopted when its address is right, rebuilt otherwise); the store is
 * written only after the veth exists, so the agent never binds a missing interface; `detach` removes
 * only this host's namespace and veth, never the port (the next leader rebinds it).
 */
import {
  formatIpv4,
  formatIpv6,
  ipv6Network,
  ipv6PrefixContains,
  parseCidr,
  parseIpv6Cidr,
  prefixMask,
  type Ipv4Prefix,
  type Ipv6Prefix,
} from '../addr.js';
import { run, tryRun } from '../exec.js';
import { killNamespace } from '../netns-remove.js';
import type { Logger } from '../log.js';
import type { Obj } from '../state/model.js';
import type { TopologyStore } from '../state/store.js';

/** The inner interface's name inside a health namespace. */
export const NS_IFACE = 'hm0';
/** The link subnets' default block. */
export const DEFAULT_LINK_BLOCK = '169.254.0.0/16';
/** The IPv6 link subnets' default block (unique-local): a /64 of it per balancer. */
export const DEFAULT_LINK_BLOCK6 = 'fd6c:6268::/48';

export interface HealthPortEnv {
  /** The host (store id) the ports of the balancers this process leads are bound to. */
  readonly hostId: string;
  /** Namespace where br-int's interfaces live (null: the root namespace; the lab: its hypervisor). */
  readonly hostNetns: string | null;
  /** Health namespaces are named PREFIX + 8 hex digits of the balancer's id. */
  readonly namespacePrefix: string;
  /** The block the /30 link subnets are taken from. */
  readonly linkBlock: Ipv4Prefix;
  /** The block the IPv6 /64 link subnets are taken from (prefix length 32 to 64). */
  readonly linkBlock6: Ipv6Prefix;
  readonly log: Logger;
}

/** The two ends of a balancer's link subnet. */
export interface LinkAddresses {
  /** The router port's address, ROUTER/30. */
  readonly router: string;
  /** The namespace's address, NS/30. */
  readonly namespace: string;
}

/** The two ends of a balancer's IPv6 link subnet (checks of IPv6 members). */
export interface LinkAddresses6 {
  /** The router port's address6, PREFIX::1/64. */
  readonly router: string;
  /** The namespace's address, PREFIX::2/64. */
  readonly namespace: string;
}

export function healthPortName(lbId: string): string {
  return `lb-health-${lbId}`;
}

function shortId(lbId: string): string {
  return lbId.replace(/-/g, '').slice(0, 8);
}

export function healthNamespace(prefix: string, lbId: string): string {
  return `${prefix}${shortId(lbId)}`;
}

export function healthHostIface(lbId: string): string {
  return `mlbh${shortId(lbId)}`;
}

function overlaps(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const len = Math.min(a.len, b.len);
  const m = prefixMask(len);
  return (a.addr & m) >>> 0 === (b.addr & m) >>> 0;
}

/**
 * The first /30 of `block` that overlaps none of `taken` (the router's port subnets), as its router
 * (first host) and namespace (second host) addresses; undefined when every one is taken.
 */
export function pickLinkSubnet(block: Ipv4Prefix, taken: readonly Ipv4Prefix[]): LinkAddresses | undefined {
  if (block.len > 30) return undefined;
  const base = (block.addr & prefixMask(block.len)) >>> 0;
  const count = 2 ** (30 - block.len);
  for (let i = 0; i < count; i++) {
    const net = base + i * 4;
    if (taken.some((t) => overlaps(t, { addr: net, len: 30 }))) continue;
    return { router: `${formatIpv4(net + 1)}/30`, namespace: `${formatIpv4(net + 2)}/30` };
  }
  return undefined;
}

/** The namespace end of a router port's /30 (its other host address). */
export function namespaceEnd(routerAddress: string): LinkAddresses {
  const p = parseCidr(routerAddress, false);
  if (typeof p === 'string') throw new Error(`health port address ${routerAddress}: ${p}`);
  const net = (p.addr & prefixMask(p.len)) >>> 0;
  const other = p.addr === net + 1 ? net + 2 : net + 1;
  return { router: routerAddress, namespace: `${formatIpv4(other)}/${p.len}` };
}

/**
 * The first /64 of `block` (32 to 64 bits long) that none of `taken` (the router's IPv6 port subnets)
 * overlaps, as ::1 (router) and ::2 (namespace); undefined when the first 65,536 are all taken.
 */
export function pickLinkSubnet6(block: Ipv6Prefix, taken: readonly Ipv6Prefix[]): LinkAddresses6 | undefined {
  if (block.len < 32 || block.len > 64) return undefined;
  const base = ipv6Network(block.addr, block.len);
  const count = Math.min(2 ** (64 - block.len), 65536);
  for (let i = 0; i < count; i++) {
    const net = [base[0], (base[1] + i) >>> 0, 0, 0] as const;
    // Two prefixes overlap when the shorter one holds the other's network.
    if (taken.some((t) => ipv6PrefixContains(t.addr, Math.min(t.len, 64), net))) continue;
    return {
      router: `${formatIpv6([net[0], net[1], 0, 1])}/64`,
      namespace: `${formatIpv6([net[0], net[1], 0, 2])}/64`,
    };
  }
  return undefined;
}

/** The namespace end of a router port's IPv6 link /64 (::1 is the router's, ::2 the namespace's). */
export function namespaceEnd6(routerAddress6: string): LinkAddresses6 {
  const p = parseIpv6Cidr(routerAddress6, false);
  if (typeof p === 'string') throw new Error(`health port address6 ${routerAddress6}: ${p}`);
  const net = ipv6Network(p.addr, p.len);
  const other = [net[0], net[1], net[2], p.addr[3] === 1 ? 2 : 1] as const;
  return { router: routerAddress6, namespace: `${formatIpv6(other)}/${p.len}` };
}

function hostIp(env: HealthPortEnv, args: string[]): string[] {
  return env.hostNetns === null ? args : ['-n', env.hostNetns, ...args];
}

/** True when `ns` exists with `hm0` holding both addresses and the host end exists. */
async function intact(
  env: HealthPortEnv,
  ns: string,
  iface: string,
  address: string,
  address6: string,
): Promise<boolean> {
  const addrs = await tryRun('ip', ['-n', ns, '-o', 'addr', 'show', 'dev', NS_IFACE]);
  if (addrs === undefined || !addrs.includes(` ${address} `) || !addrs.includes(` ${address6} `))
    return false;
  return (await tryRun('ip', hostIp(env, ['link', 'show', iface]))) !== undefined;
}

/** Builds (or adopts) the namespace and veth for `link`; returns the namespace's name. */
async function plumb(
  env: HealthPortEnv,
  lbId: string,
  link: LinkAddresses,
  link6: LinkAddresses6,
): Promise<string> {
  const ns = healthNamespace(env.namespacePrefix, lbId);
  const iface = healthHostIface(lbId);
  if (await intact(env, ns, iface, link.namespace, link6.namespace)) {
    await run('ip', hostIp(env, ['link', 'set', iface, 'up']));
    return ns;
  }
  await removeNamespace(env, lbId);
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  // IPv6 for checks of IPv6 members, with the address given here: no router advertisements taken, no
  // duplicate address detection to wait for (the /64 is this namespace's and the router port's only).
  await run(
    'sysctl',
    [
      '-q',
      '-w',
      'net.ipv6.conf.all.accept_ra=0',
      'net.ipv6.conf.default.accept_ra=0',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
    ],
    { netns: ns },
  );
  const outer = env.hostNetns === null ? [iface] : [iface, 'netns', env.hostNetns];
  await run('ip', ['link', 'add', ...outer, 'type', 'veth', 'peer', 'name', NS_IFACE, 'netns', ns]);
  await run('ip', ['-n', ns, 'addr', 'add', link.namespace, 'dev', NS_IFACE]);
  await run('ip', ['-n', ns, 'link', 'set', NS_IFACE, 'up']);
  await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', link.router.split('/')[0]!]);
  await run('ip', ['-n', ns, '-6', 'addr', 'add', link6.namespace, 'dev', NS_IFACE, 'nodad']);
  await run('ip', ['-n', ns, '-6', 'route', 'add', 'default', 'via', link6.router.split('/')[0]!]);
  // veth checksum offload leaves partial checksums that the userspace datapath passes on as they are.
  await tryRun('ethtool', ['-K', NS_IFACE, 'tx', 'off'], { netns: ns });
  await run('ip', hostIp(env, ['link', 'set', iface, 'up']));
  return ns;
}

/**
 * Makes the health namespace of `lb` on this host and binds the balancer's router port to it
 * (creating the port on first use); returns the namespace the checks are made from.
 */
export async function attachHealthPort(
  store: TopologyStore,
  lb: Obj<'load-balancer'>,
  env: HealthPortEnv,
): Promise<string> {
  const name = healthPortName(lb.id);
  const iface = healthHostIface(lb.id);
  const ports = (await store.list('port', { refersTo: lb.routerId })).filter(
    (p) => p.deviceId === lb.routerId,
  );
  const existing = ports.find((p) => p.name === name);
  let link: LinkAddresses;
  if (existing?.address) link = namespaceEnd(existing.address);
  else {
    const taken = ports.flatMap((p) => {
      const c = p.address === null ? undefined : parseCidr(p.address, false);
      return c === undefined || typeof c === 'string' ? [] : [c];
    });
    const picked = pickLinkSubnet(env.linkBlock, taken);
    if (picked === undefined)
      throw new Error(`no free /30 in the link block for the health port of load balancer '${lb.name}'`);
    link = picked;
  }
  let link6: LinkAddresses6;
  if (existing?.address6) link6 = namespaceEnd6(existing.address6);
  else {
    const taken = ports.flatMap((p) => {
      const c = p.address6 === null ? undefined : parseIpv6Cidr(p.address6, false);
      return c === undefined || typeof c === 'string' ? [] : [c];
    });
    const picked = pickLinkSubnet6(env.linkBlock6, taken);
    if (picked === undefined)
      throw new Error(`no free /64 in the IPv6 link block for the health port of load balancer '${lb.name}'`);
    link6 = picked;
  }
  const ns = await plumb(env, lb.id, link, link6);
  const binding = { hostId: env.hostId, interfaceName: iface };
  if (existing === undefined) {
    await store.create('port', {
      name,
      deviceId: lb.routerId,
      address: link.router,
      address6: link6.router,
      ...binding,
    });
    env.log.info(
      { loadBalancer: lb.name, port: name, address: link.router, address6: link6.router },
      'health port created',
    );
  } else if (
    existing.hostId !== env.hostId ||
    existing.interfaceName !== iface ||
    existing.address6 !== link6.router
  ) {
    // A port made before IPv6 checks gets its IPv6 link address here.
    await store.update(
      'port',
      existing.id,
      { ...binding, address6: link6.router },
      {
        expectedVersion: existing.version,
      },
    );
    env.log.info({ loadBalancer: lb.name, port: name }, 'health port bound to this host');
  }
  return ns;
}

/** Removes this host's namespace and veth of `lbId` (whatever is left of them). */
export async function removeNamespace(env: HealthPortEnv, lbId: string): Promise<void> {
  await killNamespace(healthNamespace(env.namespacePrefix, lbId));
  await tryRun('ip', hostIp(env, ['link', 'delete', healthHostIface(lbId)]));
}

/** Deletes the router port of a balancer that is gone (if still there). */
export async function deleteHealthPort(store: TopologyStore, lbId: string): Promise<void> {
  const port = await store.resolve('port', healthPortName(lbId)).catch(() => undefined);
  if (port !== undefined) await store.delete('port', port.id, { cascade: true }).catch(() => undefined);
}
