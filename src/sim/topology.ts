/**
 * Topology: the in-memory replica the simulation walks, built from model objects and kept up to date
 * incrementally by `apply(changes)`.
 *
 * Raw objects are held per kind; from them the topology derives compiled views the hot path reads
 * without parsing or allocating: ports with numeric addresses, bridges with their port lists and
 * ARP-suppression table (router port and DHCP host addresses), routers with a route trie (static
 * routes plus each port's connected and local routes), chains with a compiled classifier, groups as
 * sets.
 *
 * Invariant: after `apply`, every derived view equals what `Topology.from` would build from the same
 * objects (a change marks exactly the views derived from the changed objects dirty and rebuilds them),
 * and `apply` returns the tags of every view it rebuilt, so a flow whose simulation would now differ
 * carries at least one of them (the simulation tags each view it reads).
 *
 * The views' types and the builders that need no index are in topology-views.ts; the load balancer's
 * views are built in lb-view.ts.
 */
import { parseIpv4, macToNumber } from '../addr.js';
import type { DhcpSubnet, IpAddressGroup, Kind, Obj, Port, PortGroup, Route, Rule } from '../state/model.js';
import { Classifier } from './classifier.js';
import { RouteTable } from './route-table.js';
import type { GroupView } from './rule-match.js';
import { Tags, type Tag } from './tags.js';
import { LoadBalancers, type LbView } from './lb-view.js';
import { RouteTable6 } from './route-table6.js';
import { ndTableOf, routes6Of } from './topology6.js';
import { Mirrors } from './mirror.js';
import {
  portViewOf,
  routeEntriesOf,
  type BridgeView,
  type ChainView,
  type PortView,
  type RouterView,
} from './topology-views.js';

export type { BridgeView, ChainView, PortView, RouterView } from './topology-views.js';

/** A model object with its kind (what a snapshot or change feed delivers). */
export type TopologyObject = { [K in Kind]: { readonly kind: K; readonly object: Obj<K> } }[Kind];

/** One change, shaped like the store's change feed entries. */
export interface TopologyChange {
  readonly op: 'create' | 'update' | 'delete';
  readonly kind: Kind;
  /** The object after the write; for a delete, as it was. */
  readonly object: Obj;
}

function isNatConvenience(kind: Kind): boolean {
  return kind === 'floating-ip' || kind === 'port-forward' || kind === 'source-nat';
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  s.add(v);
}

export class Topology {
  private readonly objs = new Map<Kind, Map<string, Obj>>();
  private readonly portsByDevice = new Map<string, Set<string>>();
  private readonly routesByRouter = new Map<string, Set<string>>();
  /** Floating IPs, port forwards and source NATs of each router. */
  private readonly natByRouter = new Map<string, Set<string>>();
  private readonly dhcpByBridge = new Map<string, Set<string>>();
  /** DHCP leases by the port of their client (port security's addresses from DHCP). */
  private readonly leasesByPort = new Map<string, Set<string>>();
  private readonly ports = new Map<string, PortView>();
  private readonly bridges = new Map<string, BridgeView>();
  private readonly routers = new Map<string, RouterView>();
  private readonly chains = new Map<string, ChainView>();
  private readonly portGroups = new Map<string, GroupView<string>>();
  private readonly ipGroups = new Map<string, GroupView<number>>();
  /** Load balancers by router (lb-view.ts). */
  private readonly lbs = new LoadBalancers(this);
  /** Port mirrors by source (mirror.ts). */
  readonly mirrors = new Mirrors();

  /** Builds a topology from a full set of objects. */
  static from(objects: readonly TopologyObject[]): Topology {
    const t = new Topology();
    t.apply(objects.map((o) => ({ op: 'create', kind: o.kind, object: o.object })));
    return t;
  }

  port(id: string): PortView | undefined {
    return this.ports.get(id);
  }
  bridge(id: string): BridgeView | undefined {
    return this.bridges.get(id);
  }
  router(id: string): RouterView | undefined {
    return this.routers.get(id);
  }
  chain(id: string): ChainView | undefined {
    return this.chains.get(id);
  }
  portGroup(id: string): GroupView<string> | undefined {
    return this.portGroups.get(id);
  }
  ipAddrGroup(id: string): GroupView<number> | undefined {
    return this.ipGroups.get(id);
  }
  /** The load balancer of a router, if it has one. */
  loadBalancer(routerId: string): LbView | undefined {
    return this.lbs.of(routerId);
  }
  /** A raw object by kind and id. */
  get<K extends Kind>(kind: K, id: string): Obj<K> | undefined {
    return this.objs.get(kind)?.get(id);
  }
  /** Every raw object of a kind. */
  all<K extends Kind>(kind: K): Obj<K>[] {
    return [...(this.objs.get(kind)?.values() ?? [])] as Obj<K>[];
  }
  /** How many raw objects it holds. */
  count(): number {
    let n = 0;
    for (const m of this.objs.values()) n += m.size;
    return n;
  }
  /** Objects as a list with kinds (to rebuild from scratch, e.g. in tests). */
  objects(): TopologyObject[] {
    const out: TopologyObject[] = [];
    for (const [kind, m] of this.objs)
      for (const o of m.values()) out.push({ kind, object: o } as TopologyObject);
    return out;
  }

  /**
   * Applies changes (in order) and rebuilds the derived views they touch. Returns the tags of every
   * rebuilt view and changed object: the flows to invalidate.
   */
  apply(changes: readonly TopologyChange[]): Tag[] {
    const dirtyPorts = new Set<string>();
    const dirtyBridges = new Set<string>();
    const dirtyRouters = new Set<string>();
    const dirtyChains = new Set<string>();
    const dirtyPortGroups = new Set<string>();
    const dirtyIpGroups = new Set<string>();
    const dirtyLbs = new Set<string>();
    const lbTags: Tag[] = [];
    const deviceOf = (portId: string | null): void => {
      if (portId === null) return;
      const p = this.get('port', portId);
      if (p === undefined) return;
      if (p.deviceKind === 'bridge') dirtyBridges.add(p.deviceId);
      else dirtyRouters.add(p.deviceId);
    };
    const touch = (kind: Kind, o: Obj): void => {
      switch (kind) {
        case 'port': {
          const p = o as Port;
          dirtyPorts.add(p.id);
          if (p.deviceKind === 'bridge') dirtyBridges.add(p.deviceId);
          else dirtyRouters.add(p.deviceId);
          deviceOf(p.peerId);
          break;
        }
        case 'bridge':
          dirtyBridges.add(o.id);
          break;
        case 'router':
          dirtyRouters.add(o.id);
          break;
        case 'route':
          dirtyRouters.add((o as Route).routerId);
          break;
        case 'chain':
          dirtyChains.add(o.id);
          break;
        case 'rule':
          dirtyChains.add((o as Rule).chainId);
          break;
        case 'port-group':
          dirtyPortGroups.add(o.id);
          break;
        case 'ip-address-group':
          dirtyIpGroups.add(o.id);
          break;
        case 'dhcp':
          dirtyBridges.add((o as DhcpSubnet).bridgeId);
          // Ports that count the bridge's DHCP host entries as their addresses (port security).
          for (const pid of this.portsByDevice.get((o as DhcpSubnet).bridgeId) ?? [])
            if (this.get('port', pid)?.addressesFromDhcp === true) dirtyPorts.add(pid);
          break;
        case 'dhcp-lease': {
          const pid = (o as Obj<'dhcp-lease'>).portId;
          if (pid !== null && this.get('port', pid)?.addressesFromDhcp === true) dirtyPorts.add(pid);
          break;
        }
        case 'host':
        case 'tunnel-zone':
        case 'bgp-peer':
        case 'bgp-network':
        case 'api-token':
        case 'nat-block':
        case 'mirror': // mirror.ts keeps its own index (below)
          break;
        case 'load-balancer':
        case 'pool':
        case 'vip':
        case 'pool-member':
        case 'health-monitor': {
          const router = this.lbs.routerOf(kind, o);
          if (router !== undefined) dirtyLbs.add(router);
          const tag = LoadBalancers.tagOf(kind, o.id);
          if (tag !== undefined) lbTags.push(tag);
          break;
        }
        case 'floating-ip':
        case 'port-forward':
        case 'source-nat':
          // Their public addresses are answered for (proxy ARP) by the router's uplinks.
          dirtyRouters.add((o as Obj<'floating-ip'>).routerId);
          break;
      }
    };
    for (const ch of changes) {
      let m = this.objs.get(ch.kind);
      if (m === undefined) this.objs.set(ch.kind, (m = new Map<string, Obj>()));
      const old = m.get(ch.object.id);
      if (old !== undefined) {
        touch(ch.kind, old);
        this.unindex(ch.kind, old);
      }
      if (ch.kind === 'mirror')
        lbTags.push(
          ...this.mirrors.change(
            old as Obj<'mirror'> | undefined,
            ch.op === 'delete' ? undefined : (ch.object as Obj<'mirror'>),
          ),
        );
      if (ch.op === 'delete') m.delete(ch.object.id);
      else {
        m.set(ch.object.id, ch.object);
        this.index(ch.kind, ch.object);
      }
      touch(ch.kind, ch.object);
    }
    // Ports first: bridges and routers read port views.
    const tags: Tag[] = [];
    for (const id of dirtyPorts) {
      this.rebuildPort(id);
      tags.push(Tags.port(id));
    }
    for (const id of dirtyBridges) {
      this.rebuildBridge(id);
      tags.push(Tags.bridge(id));
    }
    for (const id of dirtyRouters) {
      this.rebuildRouter(id);
      tags.push(Tags.router(id), Tags.routes(id));
    }
    for (const id of dirtyChains) {
      this.rebuildChain(id);
      tags.push(Tags.chain(id));
    }
    for (const id of dirtyPortGroups) {
      const g = this.get('port-group', id);
      if (g === undefined) this.portGroups.delete(id);
      else this.portGroups.set(id, { tag: Tags.portGroup(id), members: new Set((g as PortGroup).portIds) });
      tags.push(Tags.portGroup(id));
    }
    for (const id of dirtyIpGroups) {
      const g = this.get('ip-address-group', id);
      if (g === undefined) this.ipGroups.delete(id);
      else
        this.ipGroups.set(id, {
          tag: Tags.ipAddrGroup(id),
          members: new Set((g as IpAddressGroup).addresses.flatMap((a) => parseIpv4(a) ?? [])),
          members6: new Set((g as IpAddressGroup).addresses.filter((a) => a.includes(':'))),
        });
      tags.push(Tags.ipAddrGroup(id));
    }
    for (const id of dirtyLbs) tags.push(...this.lbs.rebuild(id));
    tags.push(...lbTags);
    return tags;
  }

  private index(kind: Kind, o: Obj): void {
    if (kind === 'port') addTo(this.portsByDevice, (o as Port).deviceId, o.id);
    else if (kind === 'route') addTo(this.routesByRouter, (o as Route).routerId, o.id);
    else if (kind === 'dhcp') addTo(this.dhcpByBridge, (o as DhcpSubnet).bridgeId, o.id);
    else if (kind === 'dhcp-lease' && (o as Obj<'dhcp-lease'>).portId !== null)
      addTo(this.leasesByPort, (o as Obj<'dhcp-lease'>).portId!, o.id);
    else if (isNatConvenience(kind)) addTo(this.natByRouter, (o as Obj<'floating-ip'>).routerId, o.id);
  }
  private unindex(kind: Kind, o: Obj): void {
    if (kind === 'port') this.portsByDevice.get((o as Port).deviceId)?.delete(o.id);
    else if (kind === 'route') this.routesByRouter.get((o as Route).routerId)?.delete(o.id);
    else if (kind === 'dhcp') this.dhcpByBridge.get((o as DhcpSubnet).bridgeId)?.delete(o.id);
    else if (kind === 'dhcp-lease' && (o as Obj<'dhcp-lease'>).portId !== null)
      this.leasesByPort.get((o as Obj<'dhcp-lease'>).portId!)?.delete(o.id);
    else if (isNatConvenience(kind)) this.natByRouter.get((o as Obj<'floating-ip'>).routerId)?.delete(o.id);
  }

  private rebuildPort(id: string): void {
    const p = this.get('port', id);
    if (p === undefined) {
      this.ports.delete(id);
      return;
    }
    this.ports.set(id, portViewOf(p, p.addressesFromDhcp ? this.dhcpAddressesOf(p) : []));
  }

  /** The port's DHCP addresses: host entries for its MAC on its bridge, and its active leases. */
  private dhcpAddressesOf(p: Port): string[] {
    const out: string[] = [];
    for (const did of this.dhcpByBridge.get(p.deviceId) ?? []) {
      const d = this.get('dhcp', did);
      if (d === undefined || !d.enabled) continue;
      for (const h of d.hosts) if (h.mac === p.mac) out.push(h.address);
    }
    for (const lid of this.leasesByPort.get(p.id) ?? []) {
      const l = this.get('dhcp-lease', lid);
      if (l !== undefined && l.state === 'active' && l.mac === p.mac) out.push(l.address);
    }
    return out;
  }

  private rebuildBridge(id: string): void {
    const b = this.get('bridge', id);
    if (b === undefined) {
      this.bridges.delete(id);
      return;
    }
    const portIds = [...(this.portsByDevice.get(id) ?? [])].filter((p) => this.ports.has(p)).sort(byId);
    const routerMacs = new Map<number, string>();
    const arpTable = new Map<number, number>();
    const arpRouters = new Map<number, string>();
    for (const pid of portIds) {
      const p = this.ports.get(pid)!;
      if (p.peerId === null) continue;
      const peer = this.ports.get(p.peerId);
      if (peer === undefined || peer.deviceKind !== 'router' || peer.mac === null) continue;
      routerMacs.set(peer.mac, pid);
      if (peer.ip !== null) {
        arpTable.set(peer.ip, peer.mac);
        arpRouters.set(peer.ip, peer.deviceId);
      }
    }
    let dhcpId: string | null = null;
    for (const did of [...(this.dhcpByBridge.get(id) ?? [])].sort(byId)) {
      const d = this.get('dhcp', did);
      if (d === undefined || !d.enabled) continue;
      dhcpId ??= did;
      for (const h of d.hosts) {
        const ip = parseIpv4(h.address);
        if (ip !== undefined && !arpTable.has(ip)) arpTable.set(ip, macToNumber(h.mac));
      }
    }
    this.bridges.set(id, {
      id,
      name: b.name,
      adminStateUp: b.adminStateUp,
      inboundChainId: b.inboundChainId,
      outboundChainId: b.outboundChainId,
      vlanAware: b.vlanAware,
      portIds,
      routerMacs,
      arpTable,
      arpRouters,
      ndTable: ndTableOf(
        portIds.map((pid) => ({ view: this.ports.get(pid)!, model: this.get('port', pid) })),
        (id) => this.ports.get(id),
      ),
      dhcpId,
      tag: Tags.bridge(id),
    });
  }

  private rebuildRouter(id: string): void {
    const r = this.get('router', id);
    if (r === undefined) {
      this.routers.delete(id);
      return;
    }
    const ports = [...(this.portsByDevice.get(id) ?? [])].flatMap((pid) => this.ports.get(pid) ?? []);
    const routes = [...(this.routesByRouter.get(id) ?? [])].flatMap((rid) => this.get('route', rid) ?? []);
    const entries = routeEntriesOf(ports, routes);
    const routes6 = routes6Of(ports, routes);
    this.routers.set(id, {
      id,
      name: r.name,
      adminStateUp: r.adminStateUp,
      inboundChainId: r.inboundChainId,
      outboundChainId: r.outboundChainId,
      natInboundChainId: r.natInboundChainId,
      natOutboundChainId: r.natOutboundChainId,
      natAddresses: this.natAddressesOf(id),
      table: new RouteTable(entries),
      routes: entries,
      table6: new RouteTable6(routes6),
      routes6,
      tag: Tags.router(id),
      routesTag: Tags.routes(id),
    });
  }

  private natAddressesOf(routerId: string): Set<number> {
    const out = new Set<number>();
    for (const oid of this.natByRouter.get(routerId) ?? []) {
      for (const kind of ['floating-ip', 'port-forward', 'source-nat'] as const) {
        const o = this.get(kind, oid);
        const ip = o === undefined ? undefined : parseIpv4(o.address);
        if (ip !== undefined) out.add(ip);
      }
    }
    return out;
  }

  private rebuildChain(id: string): void {
    const c = this.get('chain', id);
    if (c === undefined) {
      this.chains.delete(id);
      return;
    }
    const rules: Rule[] = [];
    const missing: string[] = [];
    for (const rid of c.ruleIds) {
      const r = this.get('rule', rid);
      if (r === undefined) missing.push(rid);
      else rules.push(r);
    }
    this.chains.set(id, {
      id,
      name: c.name,
      classifier: new Classifier(rules),
      missingRules: missing,
      tag: Tags.chain(id),
    });
  }
}
