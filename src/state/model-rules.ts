/**
 * The rules of the model that need more than one object: every check an object must pass against the
 * rest of the store as a transaction leaves it (unique names and bindings, references to existing
 * objects of the right kinds, ports either bound or linked and never to their own device, routes
 * through ports of their router, rule jumps that cannot loop, DHCP subnets that hold their gateway
 * and hosts and do not overlap another subnet of the same bridge, unicast port MACs (and one on a port with port security), BGP peers on
 * router ports). The planner (transaction.ts) runs `checkObject` on every object it writes.
 *
 * Invariant: a check reads only through the `PlanView` it is given, so it sees the store as the
 * transaction leaves it; it throws a StoreError naming the object, the field and the value (through
 * `quote`), and writes nothing.
 */
import { formatIpv4, isMulticastMac, macToNumber, parseCidr, parseIpv4, prefixContains } from '../addr.js';
import { quote } from '../quote.js';
import { StoreError } from './errors.js';
import { OPTIONAL_NAME_KINDS, type Kind, type Obj } from './model.js';
import { checkLbObject, checkPortAddress, type LbKind } from './lb-objects.js';
import { checkMirror, checkPortQos } from './mirror-objects.js';
import { referencesOf } from './references.js';
import { routeFamilyProblem } from './ipv6-fields.js';
import type { StoredObject } from './store-base.js';
import type { Referrer } from './store.js';

/** What a check may read: the store as the transaction leaves it. */
export interface PlanView {
  lookup(id: string): Promise<StoredObject | undefined>;
  /** The object, which must exist and be of one of `kinds`; `what` names the reference in errors. */
  getKind<K extends Kind>(kinds: readonly K[], id: string, what: string): Promise<Obj<K>>;
  /** Another object of `kind` named `name`, if any. */
  nameTaken(kind: Kind, name: string, self: string): Promise<string | undefined>;
  /** Another port bound to this host interface, if any. */
  bindingTaken(hostId: string, iface: string, self: string): Promise<string | undefined>;
  referrers(id: string): Promise<Referrer[]>;
}

/** How an object is named in errors: "bridge 'tenant-a'", or "route ID" for an unnamed one. */
export function label(kind: Kind, o: { id: string; name?: unknown }): string {
  return typeof o.name === 'string' ? `${kind} ${quote(o.name)}` : `${kind} ${o.id}`;
}

export function invalid(msg: string): never {
  throw new StoreError('invalid', msg);
}

/** Checks one object against the rest of the store (as the transaction leaves it). */
export async function checkObject(
  view: PlanView,
  kind: Kind,
  obj: Obj,
  before: Obj | undefined,
): Promise<void> {
  // Built only for an error: most objects pass, and quoting a name costs as much as a check.
  const what = () => label(kind, obj);
  if (obj.name === null && !OPTIONAL_NAME_KINDS.has(kind)) invalid(`${kind}.name: is required`);
  if (typeof obj.name === 'string') {
    const other = await view.nameTaken(kind, obj.name, obj.id);
    if (other)
      throw new StoreError('exists', `${kind}.name: ${quote(obj.name)} is already used by ${kind} ${other}`);
  }
  for (const ref of referencesOf(kind, obj)) {
    if (kind === 'chain') continue; // the rule order list is maintained by the store itself
    if (ref.target === obj.id && kind !== 'rule')
      invalid(`${what()}: ${kind}.${ref.field} refers to the object itself`);
    await view.getKind(ref.targetKinds, ref.target, `${what()}: ${kind}.${ref.field}`);
  }
  switch (kind) {
    case 'port':
      checkPortQos(obj as Obj<'port'>);
      return checkPort(view, obj as Obj<'port'>, before as Obj<'port'> | undefined);
    case 'mirror':
      return checkMirror(view, obj as Obj<'mirror'>);
    case 'route':
      return checkRoute(view, obj as Obj<'route'>);
    case 'rule':
      return checkRule(view, obj as Obj<'rule'>);
    case 'dhcp':
      return checkDhcp(view, obj as Obj<'dhcp'>, before as Obj<'dhcp'> | undefined);
    case 'dhcp-lease':
      return checkLease(view, obj as Obj<'dhcp-lease'>, before as Obj<'dhcp-lease'> | undefined);
    case 'tunnel-zone': {
      const seen = new Set<string>();
      for (const m of (obj as Obj<'tunnel-zone'>).members) {
        if (seen.has(m.hostId)) invalid(`${what()}: host ${m.hostId} is a member twice`);
        seen.add(m.hostId);
      }
      return;
    }
    case 'port-group': {
      const ids = (obj as Obj<'port-group'>).portIds;
      if (new Set(ids).size !== ids.length) invalid(`${what()}: port-group.portIds lists a port twice`);
      return;
    }
    case 'bgp-peer': {
      const port = await view.getKind(
        ['port'],
        (obj as Obj<'bgp-peer'>).portId,
        `${what()}: bgp-peer.portId`,
      );
      if (port.deviceKind !== 'router')
        invalid(
          `${what()}: bgp-peer.portId: port ${quote(port.name)} is a bridge port; BGP peers need a router port`,
        );
      if (port.address === null)
        invalid(
          `${what()}: bgp-peer.portId: port ${quote(port.name)} has no IPv4 address; BGP peers need one (BGP here is IPv4)`,
        );
      return;
    }
    case 'load-balancer':
    case 'pool':
    case 'vip':
    case 'pool-member':
    case 'health-monitor':
      return checkLbObject(view, kind, obj as Obj<LbKind>);
    case 'nat-block': {
      const b = obj as Obj<'nat-block'>;
      const want = `${b.address}/${b.protocol}/${b.index}`;
      if (b.name !== want)
        invalid(`${what()}: nat-block.name: must be ADDRESS/PROTOCOL/INDEX, here ${quote(want)}`);
      return;
    }
    case 'host':
    case 'bridge':
    case 'router':
    case 'chain':
    case 'ip-address-group':
    case 'bgp-network':
    case 'api-token':
    case 'floating-ip': // the NAT conveniences are checked against their router by the planner
    case 'port-forward': // (nat-objects.ts), which also writes their rules
    case 'source-nat':
      return;
  }
}

async function checkPort(view: PlanView, p: Obj<'port'>, before: Obj<'port'> | undefined): Promise<void> {
  const what = label('port', p);
  if (p.deviceKind === 'router') {
    if (p.address === null && p.address6 === null)
      invalid(
        `${what}: port.address: a router port needs an address, IPv4 (address, e.g. 192.0.2.1/24) or IPv6 (address6, e.g. 2001:db8::1/64) or both`,
      );
    if (p.address === null)
      for (const r of await view.referrers(p.id))
        if (r.kind === 'bgp-peer')
          invalid(
            `${what}: port.address: is required while BGP peer ${r.id} uses the port (BGP here is IPv4)`,
          );
    if (p.vlanId !== null) invalid(`${what}: port.vlanId: applies to bridge ports only`);
    await checkPortAddress(view, p, what);
  } else {
    if (p.address !== null) invalid(`${what}: port.address: applies to router ports only`);
    if (p.address6 !== null) invalid(`${what}: port.address6: applies to router ports only`);
    if (p.vlanId !== null) {
      const br = await view.getKind(['bridge'], p.deviceId, `${what}: port.deviceId`);
      if (!br.vlanAware) invalid(`${what}: port.vlanId: bridge ${quote(br.name)} is not VLAN-aware`);
    }
  }
  if (p.mac !== null && isMulticastMac(macToNumber(p.mac)))
    invalid(
      `${what}: port.mac: ${quote(p.mac)} is a multicast MAC; a port needs a unicast one (lowest bit of the first byte clear)`,
    );
  if (p.portSecurity && p.mac === null)
    invalid(`${what}: port.mac: port security needs the port's MAC (e.g. --mac 02:00:00:00:00:01)`);
  if ((p.hostId === null) !== (p.interfaceName === null)) {
    invalid(`${what}: a binding needs both port.hostId and port.interfaceName`);
  }
  if (p.hostId !== null && p.peerId !== null) {
    invalid(
      `${what}: a port is either exterior (bound to a host interface) or interior (linked to a peer), not both`,
    );
  }
  if (p.hostId !== null && p.interfaceName !== null) {
    const other = await view.bindingTaken(p.hostId, p.interfaceName, p.id);
    if (other)
      throw new StoreError(
        'exists',
        `${what}: interface ${quote(p.interfaceName)} on host ${p.hostId} is already bound to port ${other}`,
      );
  }
  if (p.peerId !== null && p.peerId !== before?.peerId) {
    if (before?.peerId) invalid(`${what}: already linked to port ${before.peerId}; unlink it first`);
    if (p.peerId === p.id) invalid(`${what}: port.peerId: a port cannot be linked to itself`);
    const peer = await view.getKind(['port'], p.peerId, `${what}: port.peerId`);
    if (peer.peerId !== null && peer.peerId !== p.id) {
      invalid(`${what}: port.peerId: port ${quote(peer.name)} is already linked to port ${peer.peerId}`);
    }
    if (peer.hostId !== null)
      invalid(`${what}: port.peerId: port ${quote(peer.name)} is bound to a host interface (exterior)`);
    if (peer.deviceId === p.deviceId)
      invalid(`${what}: port.peerId: port ${quote(peer.name)} is on the same device`);
  }
}

async function checkRoute(view: PlanView, r: Obj<'route'>): Promise<void> {
  const what = label('route', r);
  if (r.type === 'normal' && r.nextHopPortId === null)
    invalid(`${what}: route.nextHopPortId: is required for a normal route`);
  const mixed = routeFamilyProblem(r);
  if (mixed !== null) invalid(`${what}: route.${mixed.field}: ${quote(mixed.value)} ${mixed.why}`);
  if (r.nextHopPortId !== null) {
    const port = await view.getKind(['port'], r.nextHopPortId, `${what}: route.nextHopPortId`);
    if (port.deviceId !== r.routerId) {
      invalid(`${what}: route.nextHopPortId: port ${quote(port.name)} is not a port of router ${r.routerId}`);
    }
  }
}

async function checkRule(view: PlanView, r: Obj<'rule'>): Promise<void> {
  const what = label('rule', r);
  if ((r.action === 'jump') !== (r.jumpChainId !== null)) {
    invalid(
      `${what}: rule.jumpChainId: ${r.action === 'jump' ? 'is required for action jump' : 'applies to action jump only'}`,
    );
  }
  if (r.jumpChainId !== null) {
    if (r.jumpChainId === r.chainId) invalid(`${what}: a rule cannot jump to its own chain`);
    // A cycle exists when the jump target can reach this rule's chain through jump rules.
    const seen = new Set<string>();
    const stack = [r.jumpChainId];
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (c === r.chainId)
        invalid(`${what}: jumping to chain ${r.jumpChainId} would create a loop back to chain ${r.chainId}`);
      if (seen.has(c)) continue;
      seen.add(c);
      const chain = await view.lookup(c);
      if (!chain) continue;
      for (const rid of (chain.obj as Obj<'chain'>).ruleIds) {
        if (rid === r.id) continue;
        const rule = await view.lookup(rid);
        const j = rule && (rule.obj as Obj<'rule'>).jumpChainId;
        if (j) stack.push(j);
      }
    }
  }
  const needsTargets = r.action === 'dnat' || r.action === 'snat' || r.action.startsWith('static-');
  if (needsTargets && r.natTargets.length === 0)
    invalid(
      `${what}: rule.natTargets: is required for action ${r.action} (e.g. --nat-target 203.0.113.1:1024-65535)`,
    );
  if (!needsTargets && r.natTargets.length > 0)
    invalid(
      `${what}: rule.natTargets: applies to actions dnat, snat, static-dnat and static-snat, not ${r.action}`,
    );
  if (r.action.startsWith('static-')) {
    const t = r.natTargets[0]!;
    if (r.natTargets.length !== 1 || t.addressFrom !== t.addressTo || t.portFrom !== 0)
      invalid(`${what}: rule.natTargets: action ${r.action} maps to exactly one address, with no ports`);
  }
  const c = r.conditions;
  for (const [f, v] of [
    ['srcPort', c.srcPort],
    ['dstPort', c.dstPort],
  ] as const) {
    if (v && c.ipProto && ![6, 17, 132].includes(c.ipProto.value) && !c.ipProto.invert) {
      invalid(
        `${what}: rule.conditions.${f}: L4 ports need ipProto tcp (6), udp (17) or sctp (132), not ${c.ipProto.value}`,
      );
    }
  }
}

async function checkDhcp(view: PlanView, d: Obj<'dhcp'>, before: Obj<'dhcp'> | undefined): Promise<void> {
  const what = label('dhcp', d);
  const net = subnetOf(d);
  const inside = (ip: string) => prefixContains(net.addr, net.len, parseIpv4(ip)!);
  if (d.gateway !== null && !inside(d.gateway))
    invalid(`${what}: dhcp.gateway: ${quote(d.gateway)} is outside the subnet ${d.subnet}`);
  for (const [i, r] of d.staticRoutes.entries())
    if (!inside(r.gateway))
      invalid(
        `${what}: dhcp.staticRoutes.${i}.gateway: ${quote(r.gateway)} is outside the subnet ${d.subnet} (clients reach a route's gateway directly)`,
      );
  const macs = new Set<string>();
  for (const h of d.hosts) {
    if (!inside(h.address))
      invalid(`${what}: dhcp.hosts: ${quote(h.address)} is outside the subnet ${d.subnet}`);
    if (macs.has(h.mac)) invalid(`${what}: dhcp.hosts: MAC ${h.mac} is listed twice`);
    macs.add(h.mac);
  }
  await checkRange(view, d, net);
  if (before?.subnet === d.subnet) return; // checked when the subnet was set
  for (const r of await view.referrers(d.bridgeId)) {
    if (r.kind !== 'dhcp' || r.id === d.id) continue;
    const other = (await view.lookup(r.id))?.obj as Obj<'dhcp'> | undefined;
    if (!other) continue;
    const o = parseCidr(other.subnet, true) as { addr: number; len: number };
    if (prefixContains(net.addr, Math.min(net.len, o.len), o.addr))
      invalid(
        `${what}: dhcp.subnet: ${d.subnet} overlaps subnet ${other.subnet} of dhcp ${quote(other.name)} on the same bridge`,
      );
  }
}

function subnetOf(d: Obj<'dhcp'>): { addr: number; len: number } {
  return parseCidr(d.subnet, true) as { addr: number; len: number };
}

/** First and last host address of a prefix (no network or broadcast address below /31). */
export function usableRange(net: { addr: number; len: number }): [number, number] {
  const size = 2 ** (32 - net.len);
  if (net.len >= 31) return [net.addr, net.addr + size - 1];
  return [net.addr + 1, net.addr + size - 2];
}

/** A DHCP subnet's dynamic range: both ends or neither, host addresses in order, clear of gateways. */
async function checkRange(view: PlanView, d: Obj<'dhcp'>, net: { addr: number; len: number }): Promise<void> {
  const what = label('dhcp', d);
  if ((d.rangeStart === null) !== (d.rangeEnd === null))
    invalid(`${what}: a dynamic range needs both dhcp.rangeStart and dhcp.rangeEnd`);
  if (d.rangeStart === null || d.rangeEnd === null) return;
  const [first, last] = usableRange(net);
  const start = parseIpv4(d.rangeStart)!;
  const end = parseIpv4(d.rangeEnd)!;
  for (const [f, v, n] of [
    ['rangeStart', d.rangeStart, start],
    ['rangeEnd', d.rangeEnd, end],
  ] as const) {
    if (n < first || n > last)
      invalid(
        `${what}: dhcp.${f}: ${quote(v)} is not a host address of the subnet ${d.subnet}; allowed ${formatIpv4(first)} to ${formatIpv4(last)}`,
      );
  }
  if (start > end)
    invalid(`${what}: dhcp.rangeStart: ${quote(d.rangeStart)} is above dhcp.rangeEnd ${quote(d.rangeEnd)}`);
  const within = (ip: number) => ip >= start && ip <= end;
  if (d.gateway !== null && within(parseIpv4(d.gateway)!))
    invalid(
      `${what}: dhcp.rangeStart..rangeEnd: ${d.rangeStart}-${d.rangeEnd} contains the gateway ${d.gateway}`,
    );
  for (const a of await routerAddressesOn(view, d.bridgeId)) {
    if (within(parseIpv4(a.address)!))
      invalid(
        `${what}: dhcp.rangeStart..rangeEnd: ${d.rangeStart}-${d.rangeEnd} contains ${a.address}, the address of router port ${quote(a.port)}`,
      );
  }
}

/** Addresses of the router ports linked to a bridge's ports (the bridge's gateways). */
async function routerAddressesOn(
  view: PlanView,
  bridgeId: string,
): Promise<Array<{ port: string; address: string }>> {
  const out: Array<{ port: string; address: string }> = [];
  for (const r of await view.referrers(bridgeId)) {
    if (r.kind !== 'port' || r.field !== 'deviceId') continue;
    const p = (await view.lookup(r.id))?.obj as Obj<'port'> | undefined;
    if (!p?.peerId) continue;
    const peer = (await view.lookup(p.peerId))?.obj as Obj<'port'> | undefined;
    if (peer?.address) out.push({ port: peer.name, address: peer.address.split('/')[0]! });
  }
  return out;
}

/**
 * A lease's address belongs to its subnet (a host address, not the gateway, not reserved for another
 * client by a static entry) and to no other lease of that subnet; a client holds at most one active
 * lease per subnet. Leases are checked against the range only when made: a range that shrinks later
 * leaves running leases alone until they expire.
 */
async function checkLease(
  view: PlanView,
  l: Obj<'dhcp-lease'>,
  before: Obj<'dhcp-lease'> | undefined,
): Promise<void> {
  const what = label('dhcp-lease', l);
  const d = await view.getKind(['dhcp'], l.dhcpId, `${what}: dhcp-lease.dhcpId`);
  const net = subnetOf(d);
  const ip = parseIpv4(l.address)!;
  const [first, last] = usableRange(net);
  if (ip < first || ip > last)
    invalid(`${what}: dhcp-lease.address: ${quote(l.address)} is not a host address of ${d.subnet}`);
  if (l.address === d.gateway)
    invalid(`${what}: dhcp-lease.address: ${quote(l.address)} is the gateway of dhcp ${quote(d.name)}`);
  const reserved = d.hosts.find((h) => h.address === l.address);
  if (reserved && reserved.mac !== l.mac)
    throw new StoreError(
      'exists',
      `${what}: dhcp-lease.address: ${quote(l.address)} is reserved for MAC ${reserved.mac} in dhcp ${quote(d.name)}`,
    );
  if (!before && !reserved) {
    if (d.rangeStart === null || d.rangeEnd === null)
      invalid(`${what}: dhcp ${quote(d.name)} has no dynamic range (dhcp.rangeStart, dhcp.rangeEnd)`);
    if (ip < parseIpv4(d.rangeStart)! || ip > parseIpv4(d.rangeEnd)!)
      invalid(
        `${what}: dhcp-lease.address: ${quote(l.address)} is outside the range ${d.rangeStart}-${d.rangeEnd} of dhcp ${quote(d.name)}`,
      );
  }
  for (const r of await view.referrers(d.id)) {
    if (r.kind !== 'dhcp-lease' || r.id === l.id) continue;
    const o = (await view.lookup(r.id))!.obj as Obj<'dhcp-lease'>;
    if (o.address === l.address)
      throw new StoreError(
        'exists',
        `${what}: dhcp-lease.address: ${quote(l.address)} is already leased in dhcp ${quote(d.name)} (lease ${o.id}, MAC ${o.mac})`,
      );
    if (l.state === 'active' && o.state === 'active' && o.mac === l.mac)
      throw new StoreError(
        'exists',
        `${what}: dhcp-lease.mac: ${l.mac} already holds lease ${o.id} (${o.address}) in dhcp ${quote(d.name)}`,
      );
  }
}
