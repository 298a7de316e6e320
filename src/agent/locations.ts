/**
 * Where virtual ports are, as one agent sees them: a local OpenFlow port of br-int (a port bound to an
 * interface of this host), a tunnel to another host (the host's address in a tunnel zone shared with
 * this one, and the port's tunnel key), a host that is down, or unknown.
 *
 * Invariants: the ofport <-> port maps change only in `refreshBindings`, which reports the location
 * tags of every port whose OpenFlow port changed (flows through it must go); tunnel-zone peers are
 * derived from the topology on first use after `tunnelZonesChanged`; a host is 'down' only for
 * flooding (unicast to a host whose agent restarts must not blackhole), and a flow that skipped it
 * carries its liveness tag so it is redone when the host is back.
 */
import type { Tag } from '../sim/tags.js';
import { Tags } from '../sim/tags.js';
import type { Topology } from '../sim/topology.js';
import type { Obj } from '../state/model.js';
import { TUNNEL_PORTS, type TunnelType } from './datapath.js';
import type { PortLocation } from './translate.js';

/** Tag carried by every flow that outputs through a tunnel: any tunnel-zone change invalidates it. */
export const TUNNEL_ZONES_TAG = Tags.of('tunnel-zones', 'all');
/** Tag of a host's liveness: flows that skipped its ports while it was down carry it. */
export const livenessTag = (hostId: string): Tag => Tags.of('liveness', hostId);
/** Tag of a port's location (its OpenFlow port number on this host). */
export const locationTag = (portId: string): Tag => Tags.of('location', portId);

export class PortLocator {
  /** Interface name -> OpenFlow port number on br-int. */
  readonly ifaceOfport = new Map<string, number>();
  /** OpenFlow port -> the local virtual port bound there. */
  private readonly ofportToPort = new Map<number, string>();
  /** Local virtual port -> OpenFlow port. */
  private readonly portToOfport = new Map<string, number>();
  readonly tunnelOfports = new Map<TunnelType, number>();
  /** Remote host -> (underlay address, tunnel type), from the tunnel zones shared with this host. */
  private peers: Map<string, { ip: string; type: TunnelType }> | undefined;
  /** Hosts known to be down: nothing is flooded to them. */
  private readonly deadHosts = new Set<string>();
  /** One shared location-tag string per port (100,000 flows must not hold 100,000 copies). */
  private readonly locationTags = new Map<string, Tag>();

  constructor(
    private readonly hostId: string,
    private readonly topology: () => Topology,
  ) {}

  /** The local virtual port on OpenFlow port `ofport`, if one is bound there. */
  portAt(ofport: number): string | undefined {
    return this.ofportToPort.get(ofport);
  }

  /** The OpenFlow port of a local virtual port. */
  ofportOf(portId: string): number | undefined {
    return this.portToOfport.get(portId);
  }

  /** The local virtual ports bound to an OpenFlow port of the bridge. */
  localPortIds(): IterableIterator<string> {
    return this.portToOfport.keys();
  }

  /** How many local virtual ports are bound to an OpenFlow port of the bridge. */
  get boundPorts(): number {
    return this.portToOfport.size;
  }

  locationTagOf(portId: string): Tag {
    let t = this.locationTags.get(portId);
    if (t === undefined) this.locationTags.set(portId, (t = locationTag(portId)));
    return t;
  }

  /**
   * Takes the store's liveness view (host -> alive; hosts without a record count as alive) and
   * returns the tags of flows made under the other view of a host whose state changed.
   */
  setLiveness(alive: ReadonlyMap<string, boolean>): Tag[] {
    const changed: Tag[] = [];
    for (const [host, up] of alive) {
      if (host === this.hostId) continue;
      if (!up && !this.deadHosts.has(host)) {
        this.deadHosts.add(host);
        changed.push(livenessTag(host));
      } else if (up && this.deadHosts.delete(host)) {
        changed.push(livenessTag(host));
      }
    }
    // A host that went down: flows that output to it are tagged with the tunnel zones, not its liveness.
    if (changed.length > 0) changed.push(TUNNEL_ZONES_TAG);
    return changed;
  }

  /** Forgets tunnel-zone derived locations (call after a tunnel-zone change). */
  tunnelZonesChanged(): void {
    this.peers = undefined;
  }

  private peerOf(hostId: string): { ip: string; type: TunnelType } | undefined {
    if (this.peers === undefined) {
      this.peers = new Map();
      for (const tz of this.topology().all('tunnel-zone')) {
        if (!tz.members.some((m) => m.hostId === this.hostId)) continue;
        for (const m of tz.members)
          if (m.hostId !== this.hostId && !this.peers.has(m.hostId))
            this.peers.set(m.hostId, { ip: m.address, type: tz.type });
      }
    }
    return this.peers.get(hostId);
  }

  /** This host's underlay address in its first tunnel zone, if any. */
  localTunnelIp(): string | null {
    for (const tz of this.topology().all('tunnel-zone')) {
      const me = tz.members.find((m) => m.hostId === this.hostId);
      if (me) return me.address;
    }
    return null;
  }

  /** The underlay address of another host, when it shares a tunnel zone with this one. */
  peerAddress(hostId: string): string | undefined {
    return this.peerOf(hostId)?.ip;
  }

  /** locate(portId, true): one function for every flooded result, not one per packet. */
  readonly locateFlooding = (portId: string): PortLocation => this.locate(portId, true);

  /** Where a port is; with `flooding`, a port on a host that is down is skipped ('down'). */
  locate = (portId: string, flooding = false): PortLocation => {
    const local = this.portToOfport.get(portId);
    if (local !== undefined) return { kind: 'local', ofport: local };
    const p = this.topology().get('port', portId);
    if (p === undefined) return { kind: 'unknown', why: 'no such port' };
    if (p.hostId === null) return { kind: 'unknown', why: 'not bound to a host' };
    if (p.hostId === this.hostId)
      return { kind: 'unknown', why: `interface ${p.interfaceName} is not on the bridge` };
    if (flooding && this.deadHosts.has(p.hostId)) return { kind: 'down', tag: livenessTag(p.hostId) };
    const peer = this.peerOf(p.hostId);
    if (peer === undefined)
      return { kind: 'unknown', why: `host ${p.hostId} shares no tunnel zone with this host` };
    const tunnelPort = this.tunnelOfports.get(peer.type);
    if (tunnelPort === undefined) return { kind: 'unknown', why: `no ${peer.type} tunnel port` };
    return { kind: 'remote', tunnelPort, remoteIp: peer.ip, tunnelKey: p.tunnelKey, hostId: p.hostId };
  };

  /** Ports bound to this host, by interface name. */
  localBindings(): Map<string, Obj<'port'>> {
    const out = new Map<string, Obj<'port'>>();
    for (const p of this.topology().all('port')) {
      if (p.hostId === this.hostId && p.interfaceName !== null) out.set(p.interfaceName, p);
    }
    return out;
  }

  /**
   * Recomputes which local virtual port sits on which OpenFlow port. Returns the tunnel deliveries
   * (tunnel key -> OpenFlow port) for the proactive flows, and the tags of ports whose location changed.
   */
  refreshBindings(): { deliveries: Map<number, number>; moved: Tag[] } {
    this.tunnelOfports.clear();
    for (const [type, name] of Object.entries(TUNNEL_PORTS)) {
      const n = this.ifaceOfport.get(name);
      if (n !== undefined) this.tunnelOfports.set(type as TunnelType, n);
    }
    const deliveries = new Map<number, number>();
    const next = new Map<string, number>();
    for (const [iface, p] of this.localBindings()) {
      const ofport = this.ifaceOfport.get(iface);
      if (ofport === undefined) continue;
      next.set(p.id, ofport);
      deliveries.set(p.tunnelKey, ofport);
    }
    const moved: Tag[] = [];
    for (const [id, of] of this.portToOfport) if (next.get(id) !== of) moved.push(locationTag(id));
    for (const [id, of] of next) if (this.portToOfport.get(id) !== of) moved.push(locationTag(id));
    this.portToOfport.clear();
    this.ofportToPort.clear();
    for (const [id, of] of next) {
      this.portToOfport.set(id, of);
      this.ofportToPort.set(of, id);
    }
    return { deliveries, moved };
  }
}
