/**
 * The IPv6 part of the compiled topology (topology.ts calls these): a router port's IPv6 address and
 * link-local address, and a router's IPv6 route entries (each port's connected prefix and local
 * addresses, plus the IPv6 static and learned routes).
 *
 * Invariant: pure functions of the model objects and port views they are given, so the incremental
 * rebuild in topology.ts stays equal to a build from scratch; a stored value that does not parse
 * (the model refuses such values) is left out rather than guessed.
 */
import { formatIpv6, ipv6Network, macToNumber, parseIpv6, parseIpv6Cidr, type Ipv6Words } from '../addr.js';
import type { Port, Route } from '../state/model.js';
import { linkLocalOf } from './port-security.js';
import type { Route6Entry } from './route-table6.js';

/** A router port's IPv6 view fields. */
export interface Port6 {
  /** IPv6 interface address and prefix length; null when the port has none. */
  readonly ip6: Ipv6Words | null;
  readonly ip6Len: number;
  /** fe80::/64 with the EUI-64 of the port's MAC, when the port has an IPv6 address and a MAC. */
  readonly linkLocal6: Ipv6Words | null;
}

export function port6Of(p: Port, mac: number | null): Port6 {
  const c = p.address6 === null ? null : parseIpv6Cidr(p.address6, false);
  if (c === null || typeof c === 'string') return { ip6: null, ip6Len: 0, linkLocal6: null };
  return { ip6: c.addr, ip6Len: c.len, linkLocal6: mac === null ? null : linkLocalOf(mac) };
}

const ZERO: Ipv6Words = [0, 0, 0, 0];

/** The IPv6 route entries of a router: its ports' (id, view) and its route objects. */
export function routes6Of(
  ports: ReadonlyArray<{ readonly id: string } & Port6>,
  routes: readonly Route[],
): Route6Entry[] {
  const out: Route6Entry[] = [];
  const entry = (id: string, kind: Route6Entry['kind'], dst: Ipv6Words, len: number, port: string | null) =>
    out.push({
      id,
      kind,
      dstAddr: ipv6Network(dst, len),
      dstLen: len,
      srcAddr: ZERO,
      srcLen: 0,
      nextHopPortId: port,
      gateway: null,
      weight: 0,
    });
  for (const p of ports) {
    if (p.ip6 === null) continue;
    entry(`port:${p.id}`, 'normal', p.ip6, p.ip6Len, p.id);
    entry(`local:${p.id}`, 'local', p.ip6, 128, p.id);
  }
  for (const rt of routes) {
    const dst = parseIpv6Cidr(rt.dstPrefix, false);
    if (typeof dst === 'string') continue;
    const src = rt.srcPrefix === '0.0.0.0/0' ? { addr: ZERO, len: 0 } : parseIpv6Cidr(rt.srcPrefix, false);
    if (typeof src === 'string') continue;
    const gw = rt.gateway === null ? null : (parseIpv6(rt.gateway) ?? null);
    if (rt.gateway !== null && gw === null) continue;
    out.push({
      id: rt.id,
      kind: rt.type,
      dstAddr: ipv6Network(dst.addr, dst.len),
      dstLen: dst.len,
      srcAddr: ipv6Network(src.addr, src.len),
      srcLen: src.len,
      nextHopPortId: rt.nextHopPortId,
      gateway: gw,
      weight: rt.weight,
    });
  }
  return out;
}

/** An address a bridge answers neighbour solicitations for (ND suppression, bridge-nd.ts). */
export interface NdAnswer {
  readonly mac: number;
  /** The router whose port has the address (it learns the asker), or null for a VM's address. */
  readonly routerId: string | null;
}

/**
 * The IPv6 addresses a bridge answers solicitations for, by canonical text: the global and
 * link-local addresses of router ports peered with its ports, and the fixed IPv6 addresses of its
 * ports that have a MAC.
 */
export function ndTableOf(
  ports: ReadonlyArray<{
    readonly view: { readonly peerId: string | null };
    readonly model: Port | undefined;
  }>,
  peerOf: (
    id: string,
  ) =>
    | ({ readonly deviceKind: string; readonly deviceId: string; readonly mac: number | null } & Port6)
    | undefined,
): Map<string, NdAnswer> {
  const out = new Map<string, NdAnswer>();
  for (const { view, model } of ports) {
    const peer = view.peerId === null ? undefined : peerOf(view.peerId);
    if (peer !== undefined && peer.deviceKind === 'router' && peer.mac !== null) {
      for (const a of [peer.ip6, peer.linkLocal6])
        if (a !== null) out.set(formatIpv6(a), { mac: peer.mac, routerId: peer.deviceId });
    }
    if (model?.mac) {
      for (const a of model.addresses) {
        const w = a.includes(':') ? parseIpv6(a) : undefined;
        if (w !== undefined && !out.has(formatIpv6(w)))
          out.set(formatIpv6(w), { mac: macToNumber(model.mac), routerId: null });
      }
    }
  }
  return out;
}
