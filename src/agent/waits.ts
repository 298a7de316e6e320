/**
 * The controller's waits: packets that cannot go on yet are held (held-packets.ts) until what they
 * wait for arrives (a router's next hop MAC, a block of SNAT ports, the flow state of a reply's
 * connection), what they wait for is asked again while they wait, and the clock (`tick`) gives up on
 * waits that last too long. A released or given-up packet goes back to the controller's packet-in
 * handling (`rehandle`), which simulates it again from scratch.
 *
 * ARP follows RFC 1122 (2.3.2.1): a next hop is asked at once, again once a second while packets
 * wait, and after 3 s it is marked failed: the held packets, and new ones while it stays failed (20 s,
 * runtime-state.ts), get ICMP host unreachable. A failed next hop is still asked now and then, with a
 * back-off (2, 4, 8, 8 s ...) until its failure ages out, so a reply that was lost, or a next hop that
 * comes back, resolves it without waiting for the failure to age out; an answer ends the probing.
 *
 * Invariant: a held packet is handed back at most once, either when its wait is resolved or when it
 * expires; an ARP wait that expires marks its next hop failed and invalidates the flows that read the
 * old entry before the held packets are simulated again (so they meet the failure: ICMP host
 * unreachable); an ARP request for a router and address goes out at most once a second (emitter.ts);
 * probes of failed next hops are bounded in number (MAX_PROBES) and end with the failure.
 */
import type { Outgoing, PacketInView } from '../openflow/index.js';
import type { Effect } from '../sim/result.js';
import type { MemoryRuntimeState } from '../sim/runtime-state.js';
import { ndTag } from '../sim/ndp.js';
import { parseIpv6 } from '../addr.js';
import { Tags } from '../sim/tags.js';
import type { Emitter } from './emitter.js';
import {
  HeldPackets,
  arpWaitKey,
  ndWaitKey,
  natStateWaitKey,
  snatWaitKey,
  waitKey,
  type Want,
} from './held-packets.js';
import type { AgentStats } from './stats.js';

/** Where the controller asks for SNAT port blocks (leased through the store by the daemon). */
export interface NatBlockSource {
  /** This host needs (more) ports of `ip` for protocol `proto`, in [from, to]; natBlocksGranted answers. */
  want(ip: number, proto: number, from: number, to: number): void;
}

/** What the waits act through (the controller's parts). */
export interface WaitsDeps {
  readonly emitter: Emitter;
  readonly state: MemoryRuntimeState;
  readonly stats: AgentStats;
  readonly natBlocks: NatBlockSource | undefined;
  /**
   * The controller's packet-in handling; `waited`: the packet already waited for flow state;
   * `loads`: how many times it waited for topology objects.
   */
  readonly rehandle: (
    pi: PacketInView,
    now: number,
    out: Outgoing[],
    waited?: boolean,
    loads?: number,
  ) => void;
  /** Deletes (into `out`) the flows tagged with any of `tags`. */
  readonly invalidateInto: (tags: Iterable<string>, out: Outgoing[]) => void;
}

/** How long a packet waits for topology objects loaded from the store (ms). */
const LOAD_WAIT_MS = 2000;
/** Packets held for loads at most per set of ids (the first packets of a flow, a burst of them). */
const LOAD_WAIT_PACKETS = 16;

/** How long a reply waits for its connection's flow state from another host (ms). */
const FLOW_STATE_WAIT_MS = 300;

/** Probes of a failed next hop: the first this long after the failure, each next one twice as late, at most the last (ms). */
export const ARP_PROBE_MS = [2000, 8000] as const;

/** Failed next hops probed at most at once (a scan of dead addresses cannot grow the memory). */
const MAX_PROBES = 4096;

/** A failed next hop still asked now and then. */
interface Probe {
  readonly want: Extract<Want, { kind: 'arp' }>;
  /** When to ask next (ms). */
  at: number;
  /** The wait after that ask (ms). */
  every: number;
  /** When the failure ages out (ms): the probing ends. */
  readonly until: number;
}

export class Waits {
  private readonly held = new HeldPackets();
  /** arp wait key -> its probe, for next hops marked failed. */
  private readonly probes = new Map<string, Probe>();

  constructor(private readonly deps: WaitsDeps) {}

  /** Holds a packet that waits for what `effects` asked for (a next hop's MAC, SNAT ports). */
  holdFor(effects: readonly Effect[], pi: PacketInView, now: number): void {
    for (const e of effects) {
      if (e.kind === 'arpWanted') {
        this.held.hold({ kind: 'arp', routerId: e.routerId, ip: e.ip, portId: e.portId }, pi, now);
      } else if (e.kind === 'ndWanted') {
        this.held.hold({ kind: 'nd', routerId: e.routerId, ip: e.ip, portId: e.portId }, pi, now);
      } else if (e.kind === 'natStateWanted') {
        // A reply racing its connection's flow state from another host: a short wait, then it goes on.
        this.held.hold({ kind: 'natState', key: e.key }, pi, now, 64, FLOW_STATE_WAIT_MS);
      } else if (e.kind === 'natPortsWanted') {
        const want: Want = { kind: 'snat', ip: e.ip, proto: e.proto, portFrom: e.portFrom, portTo: e.portTo };
        // A burst of new connections may wait for a block: hold more of them than for an ARP.
        if (this.held.hold(want, pi, now, 512))
          this.deps.natBlocks?.want(e.ip, e.proto, e.portFrom, e.portTo);
      }
    }
  }

  /**
   * Holds a packet whose simulation needs objects the replica lacks; true when the wait is new (the
   * caller asks for the load now). `attempt`: the loads this packet waited for, this one included.
   */
  holdForLoad(ids: readonly string[], pi: PacketInView, now: number, attempt: number): boolean {
    return this.held.hold({ kind: 'load', ids, attempt }, pi, now, LOAD_WAIT_PACKETS, LOAD_WAIT_MS);
  }

  /** Loads ended: packets whose objects are all `settled` (held, or known absent) are simulated again. */
  loaded(settled: (id: string) => boolean, now: number): Outgoing[] {
    const out: Outgoing[] = [];
    const done = this.held.releaseWhere((w) => w.kind === 'load' && w.ids.every(settled));
    for (const { want, packets } of done)
      for (const pi of packets)
        this.deps.rehandle(pi, now, out, false, (want as { attempt: number }).attempt);
    return out;
  }

  /** The held packets that committed `effects` let go on (next hops whose MAC became known). */
  resolvedBy(effects: readonly Effect[]): PacketInView[] {
    const keys = resolvedWaits(effects);
    for (const k of keys) this.probes.delete(k);
    return this.held.release(keys);
  }

  /** Sends the ARP requests `effects` want (at most one a second per router and address). */
  askArp(effects: readonly Effect[], now: number, out: Outgoing[]): void {
    for (const e of effects)
      if (e.kind === 'arpWanted') this.deps.emitter.askArp(e.routerId, e.ip, e.portId, now, out);
      else if (e.kind === 'ndWanted') this.deps.emitter.askNd(e.routerId, e.ip, e.portId, now, out);
  }

  /** Asks for one more SNAT block for each pool `effects` found exhausted (for the next connections). */
  askPorts(effects: readonly Effect[]): void {
    for (const e of effects)
      if (e.kind === 'natExhausted') {
        this.deps.stats.natExhausted++;
        this.deps.natBlocks?.want(e.ip, e.proto, e.portFrom, e.portTo);
      }
  }

  /** Flow state arrived under `keys`: the replies that waited for it are simulated again. */
  natStateArrived(keys: readonly string[], now: number, out: Outgoing[]): void {
    for (const pi of this.held.release(keys.map(natStateWaitKey))) this.deps.rehandle(pi, now, out);
  }

  /**
   * Time passes: ARP requests for next hops that still do not answer are sent again (once a second);
   * after three, the next hop is marked failed and the packets held for it are simulated again (they
   * get ICMP host unreachable); SNAT port requests are repeated, and packets that waited too long for
   * ports are dropped (counted).
   */
  tick(now: number): Outgoing[] {
    const { emitter, state, stats, natBlocks } = this.deps;
    const out: Outgoing[] = [];
    const { retry, expired } = this.held.due(now);
    for (const w of retry) {
      if (w.kind === 'arp') emitter.askArp(w.routerId, w.ip, w.portId, now, out);
      else if (w.kind === 'nd') emitter.askNd(w.routerId, w.ip, w.portId, now, out);
      else if (w.kind === 'snat') natBlocks?.want(w.ip, w.proto, w.portFrom, w.portTo);
    }
    for (const { want: w, packets } of expired) {
      if (w.kind === 'natState') {
        stats.flowStateWaitsExpired++;
        for (const pi of packets) this.deps.rehandle(pi, now, out, true);
      } else if (w.kind === 'nd') {
        // Three solicitations went unanswered: the next hop is failed (ICMPv6 address unreachable).
        const ip = parseIpv6(w.ip);
        if (ip !== undefined) {
          state.nd.fail(w.routerId, ip, now);
          this.deps.invalidateInto([ndTag(w.routerId, ip)], out);
        }
        for (const pi of packets) this.deps.rehandle(pi, now, out);
      } else if (w.kind === 'load') {
        stats.notYetDrops += packets.length;
      } else if (w.kind === 'arp') {
        state.arp.fail(w.routerId, w.ip, now);
        stats.arpFailures++;
        this.probe(w, now);
        this.deps.invalidateInto([Tags.arp(w.routerId, w.ip)], out);
        for (const pi of packets) this.deps.rehandle(pi, now, out);
      } else {
        stats.natPortDrops += packets.length;
      }
    }
    for (const [key, p] of this.probes) {
      if (now >= p.until) this.probes.delete(key);
      else if (now >= p.at) {
        emitter.askArp(p.want.routerId, p.want.ip, p.want.portId, now, out);
        stats.arpProbes++;
        p.at = now + p.every;
        p.every = Math.min(ARP_PROBE_MS[1], p.every * 2);
      }
    }
    return out;
  }

  /** Starts probing a next hop just marked failed (until its failure ages out). */
  private probe(want: Extract<Want, { kind: 'arp' }>, now: number): void {
    if (this.probes.size >= MAX_PROBES) return;
    const first = ARP_PROBE_MS[0];
    this.probes.set(waitKey(want), {
      want,
      at: now + first,
      every: Math.min(ARP_PROBE_MS[1], first * 2),
      until: now + this.deps.state.arp.failedMs,
    });
  }

  /**
   * No block of (ip, proto) is left to lease: packets waiting for one are simulated again and get an
   * ICMP error (a refused connection, never a collision).
   */
  natExhausted(ip: number, proto: number, now: number): Outgoing[] {
    this.deps.state.nat.setExhausted(ip, proto, true);
    const out: Outgoing[] = [];
    for (const pi of this.held.release([snatWaitKey(ip, proto)])) this.deps.rehandle(pi, now, out);
    return out;
  }

  /** How many packets wait for SNAT ports of (ip, proto) (a lease takes as many blocks as they need). */
  portsWaiting(ip: number, proto: number): number {
    return this.held.count(snatWaitKey(ip, proto));
  }

  /** Blocks of SNAT ports leased for (ip, proto): packets waiting for them go on. */
  natBlocksGranted(
    ip: number,
    proto: number,
    ranges: ReadonlyArray<readonly [number, number]>,
    now: number,
  ): Outgoing[] {
    this.deps.state.nat.setBlocks(ip, proto, ranges);
    this.deps.state.nat.setExhausted(ip, proto, false);
    const out: Outgoing[] = [];
    for (const pi of this.held.release([snatWaitKey(ip, proto)])) this.deps.rehandle(pi, now, out);
    return out;
  }

  /** Forgets every held packet. */
  clear(): void {
    this.held.clear();
    this.probes.clear();
  }
}

/** The waits the effects end: next hops whose MAC became known. */
function resolvedWaits(effects: readonly Effect[]): string[] {
  const keys: string[] = [];
  for (const e of effects)
    if (e.kind === 'arpLearned') keys.push(arpWaitKey(e.routerId, e.ip));
    else if (e.kind === 'ndLearned') keys.push(ndWaitKey(e.routerId, e.ip));
  return keys;
}
