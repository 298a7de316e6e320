/**
 * Tags: names of the things a simulation consulted, so a change to any of them finds the flows that
 * depended on it.
 *
 * Invariant: a tag is only ever made by one of the constructors below, so the simulation (which adds
 * tags where it reads) and the topology's change handling (which says which tags a change touches) can
 * never disagree on spelling. Object tags are precomputed on the compiled topology so the hot path
 * allocates no strings; per-entry tags (MAC table, ARP cache, conntrack) are built on a read.
 */
import { formatIpv4 } from '../addr.js';

export type Tag = string & { readonly __tag: true };

/**
 * A tag from its parts, as one flat string: a template literal would make a rope of several string
 * objects, and a flow table keeps hundreds of thousands of per-entry tags.
 */
function t(...parts: string[]): Tag {
  return parts.join('') as Tag;
}

export const Tags = {
  port: (id: string): Tag => t(`port:${id}`),
  bridge: (id: string): Tag => t(`bridge:${id}`),
  router: (id: string): Tag => t(`router:${id}`),
  /** The route table of a router (any route, connected route or local address). */
  routes: (routerId: string): Tag => t(`routes:${routerId}`),
  /** A chain: its rule list and every rule in it. */
  chain: (id: string): Tag => t(`chain:${id}`),
  portGroup: (id: string): Tag => t(`port-group:${id}`),
  ipAddrGroup: (id: string): Tag => t(`ip-address-group:${id}`),
  /** A MAC table entry (present or absent) of a bridge on a VLAN. */
  mac: (bridgeId: string, vlan: number, mac: number): Tag =>
    t('mac:', bridgeId, '/', String(vlan), '/', mac.toString(16)),
  /** Carried by a flow whose packets teach the bridge this MAC (the entry is in use while it lives). */
  macSource: (bridgeId: string, vlan: number, mac: number): Tag =>
    t('macsrc:', bridgeId, '/', String(vlan), '/', mac.toString(16)),
  /** An ARP cache entry (present or absent) of a router. */
  arp: (routerId: string, ip: number): Tag => t('arp:', routerId, '/', formatIpv4(ip)),
  /** A connection-tracking entry. */
  conntrack: (key: string): Tag => t('ct:', key),
  /** A NAT binding (present or absent), by its key (nat.ts). */
  nat: (key: string): Tag => t('nat:', key),
  /** A port mirror (mirror.ts): carried by every flow whose simulation consulted it. */
  mirror: (id: string): Tag => t(`mirror:${id}`),
  /** Anything else the caller names (used by tests). */
  of: (kind: string, id: string): Tag => t(`${kind}:${id}`),
};
