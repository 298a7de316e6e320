/**
 * Periodic unsolicited router advertisements (RFC 4861 section 6.2.4). A router answers router
 * solicitations in the simulation (router6.ts), but a host solicits only when its link comes up, and
 * its default route lives as long as the advertisement's router lifetime (30 minutes): without
 * unsolicited advertisements every VM loses its IPv6 default route 30 minutes after it booted.
 *
 * Each agent advertises, for every router port with an IPv6 address peered with a bridge that has a
 * VM port bound on this host, to those local ports only (the agents of the other hosts advertise to
 * theirs): the advertisement leaves the router port as a generated packet does (emitter.ts), and only
 * its outputs to local ports are kept. Intervals are random between MinRtrAdvInterval and
 * MaxRtrAdvInterval (200-600 s); the first three after a router port starts advertising here are at
 * most 16 s apart (MAX_INITIAL_RTR_ADVERT_INTERVAL), so a VM that missed its answer soon hears one.
 *
 * Invariant: there are no timers here; the agent's clock calls `due(now, advertisers)` (time and
 * randomness come in as parameters), and a router port that no longer advertises on this host (its
 * address, its bridge's last local VM port or the port itself went away) loses its schedule at the
 * next call; when it advertises again it starts over with the fast first ones. A stopped agent stops
 * calling: nothing is left to cancel.
 */
import { formatIpv6, formatMac, ipv6Network } from '../addr.js';
import { RA_MTU } from '../sim/router6.js';
import type { Topology } from '../sim/topology.js';
import { routerAdvertFrame } from './generated6.js';

/** MinRtrAdvInterval and MaxRtrAdvInterval (ms); the router lifetime (1800 s) is 3 x the maximum. */
export const RA_INTERVAL_MS = [200_000, 600_000] as const;
/** MAX_INITIAL_RTR_ADVERTISEMENTS and MAX_INITIAL_RTR_ADVERT_INTERVAL (ms). */
export const RA_INITIAL = { count: 3, maxIntervalMs: 16_000 } as const;

/** A router port that advertises on this host, and the local ports of its bridge that hear it. */
export interface Advertiser {
  readonly routerPortId: string;
  readonly localPortIds: readonly string[];
}

/** An advertisement to send now: its frame, leaving router port `routerPortId`, for `localPortIds`. */
export interface DueAdvert extends Advertiser {
  readonly frame: Uint8Array;
}

/**
 * The router ports that advertise to local VMs: for each local port of a bridge, the router ports
 * with an IPv6 address peered with that bridge (keyed by router port id, in first-seen order).
 */
export function advertisers(topo: Topology, localPortIds: Iterable<string>): Map<string, Advertiser> {
  const out = new Map<string, { routerPortId: string; localPortIds: string[] }>();
  for (const id of localPortIds) {
    const port = topo.port(id);
    if (port === undefined || port.deviceKind !== 'bridge' || port.peerId !== null) continue;
    const bridge = topo.bridge(port.deviceId);
    if (bridge === undefined) continue;
    for (const bridgePortId of bridge.routerMacs.values()) {
      const routerPortId = topo.port(bridgePortId)?.peerId;
      const rp = routerPortId == null ? undefined : topo.port(routerPortId);
      if (rp === undefined || rp.ip6 === null || rp.linkLocal6 === null || rp.mac === null) continue;
      let a = out.get(rp.id);
      if (a === undefined) out.set(rp.id, (a = { routerPortId: rp.id, localPortIds: [] }));
      a.localPortIds.push(id);
    }
  }
  return out;
}

export class RouterAdverts {
  /** Router port id -> when its next advertisement is due (ms) and how many were sent. */
  private readonly schedule = new Map<string, { at: number; sent: number }>();

  /** @param random uniform in [0, 1): the source of the random intervals (seeded in tests) */
  constructor(private readonly random: () => number = Math.random) {}

  /**
   * The advertisements due at `now` among `current` advertisers (advertisers() of the topology now);
   * schedules new advertisers, forgets those that are gone, and schedules the next of those sent.
   */
  due(now: number, current: ReadonlyMap<string, Advertiser>, topo: Topology): DueAdvert[] {
    for (const id of this.schedule.keys()) if (!current.has(id)) this.schedule.delete(id);
    const out: DueAdvert[] = [];
    for (const [id, a] of current) {
      let s = this.schedule.get(id);
      if (s === undefined) this.schedule.set(id, (s = { at: now + this.interval(0), sent: 0 }));
      if (now < s.at) continue;
      const frame = advertFrame(topo, id);
      if (frame !== undefined) out.push({ ...a, frame });
      s.sent++;
      s.at = now + this.interval(s.sent);
    }
    return out;
  }

  /** Router ports with a schedule (for inspection and tests). */
  get scheduled(): number {
    return this.schedule.size;
  }

  /** The wait before the next advertisement, `sent` having gone out already (ms). */
  private interval(sent: number): number {
    const [min, max] = RA_INTERVAL_MS;
    const t = min + Math.floor(this.random() * (max - min));
    return sent < RA_INITIAL.count ? Math.min(t, RA_INITIAL.maxIntervalMs) : t;
  }
}

/** The unsolicited advertisement of router port `id` (to all nodes), or undefined (no IPv6 now). */
function advertFrame(topo: Topology, id: string): Uint8Array | undefined {
  const p = topo.port(id);
  if (p === undefined || p.ip6 === null || p.linkLocal6 === null || p.mac === null) return undefined;
  return routerAdvertFrame(
    formatMac(p.mac),
    formatIpv6(p.linkLocal6),
    formatIpv6(ipv6Network(p.ip6, p.ip6Len)),
    p.ip6Len,
    RA_MTU,
  );
}
