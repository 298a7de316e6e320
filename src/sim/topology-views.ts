/**
 * The compiled views of the topology (topology.ts) and the pure builders of the ones that need no
 * index: a port's view from its model object, a router's IPv4 route entries from its ports' views and
 * its routes.
 *
 * Invariant: a builder reads only its arguments, so the view it returns is a function of the objects
 * the caller marked dirty (topology.ts rebuilds a view exactly when one of them changes).
 */
import { macToNumber, parseCidr, parseIpv4, prefixMask } from '../addr.js';
import type { Port, Route } from '../state/model.js';
import type { Classifier } from './classifier.js';
import type { Decision } from './device.js';
import { portSecurityView, type PortSecurityView } from './port-security.js';
import type { RouteEntry, RouteTable } from './route-table.js';
import type { Route6Entry, RouteTable6 } from './route-table6.js';
import { Tags, type Tag } from './tags.js';
import { port6Of, type NdAnswer, type Port6 } from './topology6.js';

export interface PortView {
  readonly id: string;
  readonly name: string;
  readonly deviceId: string;
  readonly deviceKind: 'bridge' | 'router';
  readonly adminStateUp: boolean;
  /** Interior ports: the peer; null: an exterior port (an egress point). */
  readonly peerId: string | null;
  readonly inboundChainId: string | null;
  readonly outboundChainId: string | null;
  readonly vlanId: number | null;
  /** Router ports: interface address and prefix length; null when unset. */
  readonly ip: number | null;
  readonly ipLen: number;
  readonly mac: number | null;
  /** Router ports: IPv6 address, prefix length and link-local address (topology6.ts). */
  readonly ip6: Port6['ip6'];
  readonly ip6Len: number;
  readonly linkLocal6: Port6['linkLocal6'];
  /** Port security on: what the port may send (port-security.ts); null when off. */
  readonly security: PortSecurityView | null;
  readonly tag: Tag;
  /** The decision "leave the device through this port", shared so devices allocate none. */
  readonly toPort: Decision;
}

export interface BridgeView {
  readonly id: string;
  readonly name: string;
  readonly adminStateUp: boolean;
  readonly inboundChainId: string | null;
  readonly outboundChainId: string | null;
  readonly vlanAware: boolean;
  /** Port ids, sorted (flood order). */
  readonly portIds: readonly string[];
  /** MACs of router ports peered with this bridge's ports -> the bridge port leading there. */
  readonly routerMacs: ReadonlyMap<number, string>;
  /** IPs the bridge answers ARP for (router ports, DHCP hosts) -> MAC. */
  readonly arpTable: ReadonlyMap<number, number>;
  /** Of those, the router port addresses -> the router (which learns who asked, as if it answered). */
  readonly arpRouters: ReadonlyMap<number, string>;
  /** IPv6 addresses the bridge answers neighbour solicitations for (topology6.ts, bridge-nd.ts). */
  readonly ndTable: ReadonlyMap<string, NdAnswer>;
  /** The enabled DHCP subnet the agent serves on this bridge (the first by id), or null. */
  readonly dhcpId: string | null;
  readonly tag: Tag;
}

export interface RouterView {
  readonly id: string;
  readonly name: string;
  readonly adminStateUp: boolean;
  readonly inboundChainId: string | null;
  readonly outboundChainId: string | null;
  /** NAT before routing and after it (nat.ts). */
  readonly natInboundChainId: string | null;
  readonly natOutboundChainId: string | null;
  readonly table: RouteTable;
  readonly routes: readonly RouteEntry[];
  /** IPv6 routes (route-table6.ts): the ports' IPv6 prefixes and addresses, the IPv6 routes. */
  readonly table6: RouteTable6;
  readonly routes6: readonly Route6Entry[];
  readonly tag: Tag;
  readonly routesTag: Tag;
  /** Public addresses of its floating IPs, port forwards and source NATs: it answers ARP for them. */
  readonly natAddresses: ReadonlySet<number>;
}

export interface ChainView {
  readonly id: string;
  readonly name: string;
  readonly classifier: Classifier;
  /** Rule ids in the chain's order that are not loaded. */
  readonly missingRules: readonly string[];
  readonly tag: Tag;
}

/** A port's view; `dhcpAddresses` are what port security allows it from DHCP (host entries, leases). */
export function portViewOf(p: Port, dhcpAddresses: readonly string[]): PortView {
  const cidr = p.address === null ? null : parseCidr(p.address, false);
  const ok = cidr !== null && typeof cidr !== 'string';
  const mac = p.mac === null ? null : macToNumber(p.mac);
  const view: { -readonly [K in keyof PortView]: PortView[K] } = {
    id: p.id,
    name: p.name,
    deviceId: p.deviceId,
    deviceKind: p.deviceKind,
    adminStateUp: p.adminStateUp,
    peerId: p.peerId,
    inboundChainId: p.inboundChainId,
    outboundChainId: p.outboundChainId,
    vlanId: p.vlanId,
    ip: ok ? cidr.addr : null,
    ipLen: ok ? cidr.len : 0,
    mac,
    ...port6Of(p, mac),
    security: portSecurityView(p, dhcpAddresses),
    tag: Tags.port(p.id),
    toPort: undefined as unknown as Decision,
  };
  view.toPort = { kind: 'toPort', port: view };
  return view;
}

/**
 * A router's IPv4 route entries: each port's connected network and local address, then its routes
 * (a route whose prefixes do not parse is skipped).
 */
export function routeEntriesOf(ports: readonly PortView[], routes: readonly Route[]): RouteEntry[] {
  const entries: RouteEntry[] = [];
  for (const p of ports) {
    if (p.ip === null) continue;
    const pid = p.id;
    const net = (p.ip & prefixMask(p.ipLen)) >>> 0;
    entries.push({
      id: `port:${pid}`,
      kind: 'normal',
      dstAddr: net,
      dstLen: p.ipLen,
      srcAddr: 0,
      srcLen: 0,
      nextHopPortId: pid,
      gateway: null,
      weight: 0,
    });
    entries.push({
      id: `local:${pid}`,
      kind: 'local',
      dstAddr: p.ip,
      dstLen: 32,
      srcAddr: 0,
      srcLen: 0,
      nextHopPortId: pid,
      gateway: null,
      weight: 0,
    });
  }
  for (const rt of routes) {
    const rid = rt.id;
    const dst = parseCidr(rt.dstPrefix, false);
    const src = parseCidr(rt.srcPrefix, false);
    if (typeof dst === 'string' || typeof src === 'string') continue;
    const gw = rt.gateway === null ? null : (parseIpv4(rt.gateway) ?? null);
    entries.push({
      id: rid,
      kind: rt.type,
      dstAddr: (dst.addr & prefixMask(dst.len)) >>> 0,
      dstLen: dst.len,
      srcAddr: (src.addr & prefixMask(src.len)) >>> 0,
      srcLen: src.len,
      nextHopPortId: rt.nextHopPortId,
      gateway: gw,
      weight: rt.weight,
    });
  }
  return entries;
}
