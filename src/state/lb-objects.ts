/**
 * The rules of the load balancer objects that span objects (model.ts has their fields): a router has
 * at most one load balancer; a VIP's pool is a pool of the same balancer, its address lies in a subnet
 * of one of the router's ports (an uplink for a public service) without being a port's own address,
 * and no other VIP of the router listens on the same address, protocol and port; a member's address is
 * reachable from the router (in a port's subnet or under one of its routes); a health monitor's
 * timeout is at most its interval, one monitor per pool. The other way round, a router port is not
 * given the address of one of its router's VIPs (`checkPortAddress`). Addresses are IPv4 or IPv6 (a
 * router port's `address6` subnet holds IPv6 VIPs and members); a pool, its members and its VIPs are of
 * one family, since the balancer translates no IPv4 to IPv6 nor back.
 *
 * Invariant: like model-rules.ts, a check reads only through the PlanView, throws a StoreError naming
 * the object, the field and the value (quoted), and writes nothing.
 */
import {
  parseCidr,
  parseIpv4,
  parseIpv6,
  parseIpv6Cidr,
  prefixContains,
  ipv6PrefixContains,
} from '../addr.js';
import { quote } from '../quote.js';
import { StoreError } from './errors.js';
import { invalid, label, type PlanView } from './model-rules.js';
import type { Obj } from './model.js';
import { routerPorts } from './nat-objects.js';

export type LbKind = 'load-balancer' | 'pool' | 'vip' | 'pool-member' | 'health-monitor';

/** The objects of `kind` that refer to `id` (through any field), as the transaction leaves them. */
async function referring<K extends LbKind>(view: PlanView, id: string, kind: K): Promise<Obj<K>[]> {
  const out: Obj<K>[] = [];
  for (const r of await view.referrers(id)) {
    if (r.kind !== kind) continue;
    const o = (await view.lookup(r.id))?.obj as Obj<K> | undefined;
    if (o !== undefined && !out.some((x) => x.id === o.id)) out.push(o);
  }
  return out;
}

/** Whether the address `ip` lies in `cidr`, either family (of different families: no). */
function inCidr(cidr: string, ip: string): boolean {
  const v4 = parseIpv4(ip);
  if (v4 !== undefined) {
    const c = parseCidr(cidr, false);
    return typeof c !== 'string' && prefixContains(c.addr, c.len, v4);
  }
  const v6 = parseIpv6(ip);
  const c6 = parseIpv6Cidr(cidr, false);
  return v6 !== undefined && typeof c6 !== 'string' && ipv6PrefixContains(c6.addr, c6.len, v6);
}

/** A router port's interface addresses (IPv4 and IPv6, with their prefix lengths). */
function subnetsOf(p: Obj<'port'>): string[] {
  return [p.address, p.address6].filter((a): a is string => a !== null);
}

function hostOf(cidr: string): string {
  return cidr.split('/')[0]!;
}

function familyName(address: string): 'IPv4' | 'IPv6' {
  return parseIpv4(address) !== undefined ? 'IPv4' : 'IPv6';
}

/**
 * A pool serves one address family, that of its VIPs and members (no translation between IPv4 and
 * IPv6): `address` (of the object `what` adds to pool `poolId`) must be of the family of the pool's
 * other members and VIPs.
 */
async function checkPoolFamily(
  view: PlanView,
  poolId: string,
  selfId: string,
  address: string,
  what: string,
  field: string,
): Promise<void> {
  const fam = familyName(address);
  const others = [
    ...(await referring(view, poolId, 'pool-member')).map((m) => ({
      kind: 'member',
      o: m,
    })),
    ...(await referring(view, poolId, 'vip')).map((v) => ({
      kind: 'VIP',
      o: v,
    })),
  ];
  for (const { kind, o } of others)
    if (o.id !== selfId && familyName(o.address) !== fam)
      invalid(
        `${what}: ${field}: ${quote(address)} is ${fam} but ${kind} ${quote(o.name)} of the pool is ${familyName(o.address)} (${o.address}); a pool serves one address family (no translation between IPv4 and IPv6)`,
      );
}

/** The router a balancer object belongs to (through its load balancer, or its pool's). */
async function routerOf(view: PlanView, lbId: string, what: string): Promise<Obj<'router'>> {
  const lb = await view.getKind(['load-balancer'], lbId, `${what}: loadBalancerId`);
  return view.getKind(['router'], lb.routerId, `${what}: load-balancer.routerId`);
}

export async function checkLbObject(view: PlanView, kind: LbKind, o: Obj<LbKind>): Promise<void> {
  const what = label(kind, o);
  switch (kind) {
    case 'load-balancer': {
      const lb = o as Obj<'load-balancer'>;
      const others = (await referring(view, lb.routerId, 'load-balancer')).filter((x) => x.id !== lb.id);
      if (others.length > 0)
        throw new StoreError(
          'exists',
          `${what}: load-balancer.routerId: router ${lb.routerId} already has load balancer ${quote(others[0]!.name)} (one per router)`,
        );
      return;
    }
    case 'pool':
      return;
    case 'vip':
      return checkVip(view, o as Obj<'vip'>, what);
    case 'pool-member': {
      const m = o as Obj<'pool-member'>;
      const pool = await view.getKind(['pool'], m.poolId, `${what}: pool-member.poolId`);
      const router = await routerOf(view, pool.loadBalancerId, `${what}: pool ${quote(pool.name)}`);
      await checkPoolFamily(view, pool.id, m.id, m.address, what, 'pool-member.address');
      const ports = await routerPorts(view, router.id);
      if (ports.some((p) => subnetsOf(p).some((a) => hostOf(a) === m.address)))
        invalid(`${what}: pool-member.address: ${quote(m.address)} is the address of a port of the router`);
      if (ports.some((p) => subnetsOf(p).some((a) => inCidr(a, m.address)))) return;
      for (const r of await view.referrers(router.id)) {
        if (r.kind !== 'route') continue;
        const rt = (await view.lookup(r.id))?.obj as Obj<'route'> | undefined;
        if (rt !== undefined && rt.type === 'normal' && inCidr(rt.dstPrefix, m.address)) return;
      }
      invalid(
        `${what}: pool-member.address: ${quote(m.address)} is not reachable from router ${quote(router.name)} (in none of its port subnets: ${ports.flatMap(subnetsOf).join(', ') || 'none'}, under none of its routes)`,
      );
      return;
    }
    case 'health-monitor': {
      const h = o as Obj<'health-monitor'>;
      if (h.timeout > h.interval)
        invalid(
          `${what}: health-monitor.timeout: ${h.timeout} is above the interval (${h.interval}); allowed 1 to ${h.interval}`,
        );
      const others = (await referring(view, h.poolId, 'health-monitor')).filter((x) => x.id !== h.id);
      if (others.length > 0)
        throw new StoreError(
          'exists',
          `${what}: health-monitor.poolId: pool ${h.poolId} already has health monitor ${quote(others[0]!.name)}`,
        );
      return;
    }
  }
}

async function checkVip(view: PlanView, v: Obj<'vip'>, what: string): Promise<void> {
  const pool = await view.getKind(['pool'], v.poolId, `${what}: vip.poolId`);
  if (pool.loadBalancerId !== v.loadBalancerId)
    invalid(
      `${what}: vip.poolId: pool ${quote(pool.name)} belongs to another load balancer (${pool.loadBalancerId})`,
    );
  await checkPoolFamily(view, pool.id, v.id, v.address, what, 'vip.address');
  const router = await routerOf(view, v.loadBalancerId, `${what}: vip`);
  const ports = await routerPorts(view, router.id);
  const clash = ports.find((p) => subnetsOf(p).some((a) => hostOf(a) === v.address));
  if (clash !== undefined)
    invalid(
      `${what}: vip.address: ${quote(v.address)} is the address of port ${quote(clash.name)} of router ${quote(router.name)}`,
    );
  if (!ports.some((p) => subnetsOf(p).some((a) => inCidr(a, v.address)))) {
    const subnets = ports.flatMap(subnetsOf).join(', ');
    invalid(
      `${what}: vip.address: ${quote(v.address)} is in no subnet of router ${quote(router.name)} (its ports: ${subnets === '' ? 'none' : subnets})`,
    );
  }
  for (const other of await referring(view, v.loadBalancerId, 'vip')) {
    if (other.id === v.id) continue;
    if (other.address === v.address && other.protocol === v.protocol && other.port === v.port)
      throw new StoreError(
        'exists',
        `${what}: vip: ${v.protocol} ${v.address}:${v.port} is already VIP ${quote(other.name)}`,
      );
  }
}

/** A router port's address must not be a VIP of its router (the VIP's rule, seen from the port). */
export async function checkPortAddress(view: PlanView, p: Obj<'port'>, what: string): Promise<void> {
  if (p.deviceKind !== 'router' || (p.address === null && p.address6 === null)) return;
  for (const lb of await referring(view, p.deviceId, 'load-balancer'))
    for (const v of await referring(view, lb.id, 'vip'))
      for (const [field, a] of [
        ['address', p.address],
        ['address6', p.address6],
      ] as const)
        if (a !== null && hostOf(a) === v.address)
          invalid(
            `${what}: port.${field}: ${quote(a)} is the address of VIP ${quote(v.name)} of load balancer ${quote(lb.name)}`,
          );
}
