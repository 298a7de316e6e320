/**
 * Sharing learned state between agents (MidoNet's replicated MAC and ARP tables): what a local
 * simulation learns (a MAC seen on a port, an IPv4 or IPv6 neighbour's MAC answered to a router: the
 * `arp` and `nd` tables, handled alike) is used here at once (the
 * controller commits it before offering it), sent to the other agents directly, and published to the
 * store; what other agents published is turned back into the same effects and committed here, so a
 * bridge on host A unicasts to a VM on host B, and a router on host A reaches a next hop that answered
 * host B's ARP request or neighbour solicitation (the answer enters the switch of the host the
 * answering VM is on, not the one whose router asked).
 *
 * Publication survives a store outage: entries wait in a pending table (one per table, scope and key:
 * the newest value wins) until the store took them; a failed publication is tried again with a
 * back-off (100 ms doubling to 1 s), so what was learned while the store was away reaches it soon
 * after it is back. The table is bounded (the oldest entry goes first when full, counted); an entry
 * that expired while it waited is not published.
 *
 * Invariants: an entry is published when its value changes or when a third of its lifetime has passed
 * since it was last published (so it never expires while in use, and a busy flow does not write to
 * the store per packet); it leaves the pending table only when the store acknowledged it or a newer
 * value replaced it; at most one publication is in flight; entries this host published are not
 * applied again when they come back. A neighbour entry (ARP or ND) is sent to the other agents every
 * time it is learned (a reply is rare and usually answers a request another host sent: that host must
 * hear of it even when an earlier message was lost).
 *
 * Held per device (`scopeTo`, an agent that loads on demand): other agents' entries are applied only
 * for the bridges and routers this host holds, each store entry at most once (a later position of the
 * same key replaces it; the same or an older one is skipped, so the watch can read everything again
 * when a device enters the set: interest-learned.ts), and `forgetDevices` drops what is kept of a
 * device that left.
 */
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../addr.js';
import type { Effect } from '../sim/result.js';
import { learnedDevice } from '../state/learned-scope.js';
import type { LearnedChange, LearnedEntry } from '../state/store.js';

/** The counters LearnedSync keeps (AgentStats has them). */
export interface LearnedCounters {
  /** Entries waiting for the store (a gauge). */
  learnedUnpublished: number;
  /** Publications the store refused or did not answer (each retried). */
  learnedPublishFailures: number;
  /** Entries dropped unpublished because the pending table was full. */
  learnedDropped: number;
}

/** Retry back-off of a failed publication (ms): doubles from the first to the last. */
export const PUBLISH_RETRY_MS = [100, 1000] as const;

/** The learned tables LearnedSync publishes (flow state, `nat` and `ct`, is FlowStateSync's). */
type OwnTable = 'mac' | 'arp' | 'nd';

/** How long an entry of each table lives after it was learned (ms): the local cache's lifetime. */
export type LearnedLifetimes = Readonly<Record<OwnTable, number>>;

export class LearnedSync {
  private readonly published = new Map<string, { value: string; at: number }>();
  /** id -> feed position of the store entry last applied (entries that came through the store). */
  private readonly appliedSeq = new Map<string, number>();
  /** Which devices' entries are applied (all, unless scoped). */
  private holds: (kind: 'bridge' | 'router', id: string) => boolean = () => true;
  /** id -> newest entry not yet acknowledged by the store; Map order is the order of first waiting. */
  private readonly pending = new Map<string, LearnedEntry>();
  private inFlight = false;
  private retryAt = 0;
  private backoffMs = 0;

  constructor(
    private readonly hostId: string,
    private readonly lifetimes: LearnedLifetimes,
    private readonly counters: LearnedCounters = {
      learnedUnpublished: 0,
      learnedPublishFailures: 0,
      learnedDropped: 0,
    },
    /** Pending entries at most. */
    private readonly maxPending = 50_000,
    /** Entries per publication at most. */
    private readonly batch = 5000,
  ) {}

  /**
   * Queues the shareable effects of a committed result for the store; returns the entries to send to
   * the other agents now (those queued, and every neighbour entry: ARP and ND).
   */
  offer(effects: readonly Effect[], now: number): LearnedEntry[] {
    const fresh: LearnedEntry[] = [];
    for (const e of effects) {
      const entry = this.entryOf(e, now);
      if (entry === undefined) continue;
      const id = entryId(entry);
      const last = this.published.get(id);
      if (last && last.value === entry.value && now - last.at < this.lifetimes[entry.table] / 3) {
        if (entry.table !== 'mac') fresh.push(entry);
        continue;
      }
      this.published.set(id, { value: entry.value, at: now });
      this.put(id, entry);
      fresh.push(entry);
    }
    return fresh;
  }

  /** The entry a learning effect makes, or undefined (the effect is not learned state). */
  private entryOf(e: Effect, now: number): (LearnedEntry & { table: OwnTable }) | undefined {
    let table: OwnTable, scope: string, key: string, value: string;
    if (e.kind === 'macLearned') {
      [table, scope, key, value] = ['mac', macScope(e.bridgeId, e.vlan), e.mac.toString(16), e.portId];
    } else if (e.kind === 'arpLearned') {
      [table, scope, key, value] = ['arp', e.routerId, formatIpv4(e.ip), e.mac.toString(16)];
    } else if (e.kind === 'ndLearned') {
      [table, scope, key, value] = ['nd', e.routerId, e.ip, e.mac.toString(16)];
    } else return undefined;
    return { table, scope, key, value, origin: this.hostId, expiresAt: now + this.lifetimes[table] };
  }

  /** Queues entries made elsewhere (flow state) for the same publication to the store. */
  queue(entries: readonly LearnedEntry[]): void {
    for (const e of entries) this.put(entryId(e), e);
  }

  /** Applies other agents' entries only for the devices `holds` says this host holds. */
  scopeTo(holds: (kind: 'bridge' | 'router', id: string) => boolean): void {
    this.holds = holds;
  }

  /** Forgets what was applied and published of these devices (they left the interest set). */
  forgetDevices(ids: ReadonlySet<string>): void {
    for (const m of [this.published, this.appliedSeq])
      for (const id of m.keys()) if (ids.has(deviceOfId(id))) m.delete(id);
  }

  /** Entries of other agents applied from the store and still kept (tests, statistics). */
  get applied(): number {
    return this.appliedSeq.size;
  }

  /** Forgets what was published and what waits to be. */
  reset(): void {
    this.published.clear();
    this.appliedSeq.clear();
    this.pending.clear();
    this.counters.learnedUnpublished = 0;
    this.inFlight = false;
    this.retryAt = 0;
    this.backoffMs = 0;
  }

  /**
   * The entries to publish now, oldest first (at most one batch), or undefined: nothing waits, a
   * publication is in flight, or a failed one's back-off has not passed. The caller reports the
   * outcome with `settle`. Entries that expired while they waited are dropped here.
   */
  take(now: number): LearnedEntry[] | undefined {
    if (this.inFlight || this.pending.size === 0 || now < this.retryAt) return undefined;
    const out: LearnedEntry[] = [];
    for (const [id, e] of this.pending) {
      if (e.expiresAt <= now) {
        this.pending.delete(id);
        continue;
      }
      out.push(e);
      if (out.length >= this.batch) break;
    }
    this.counters.learnedUnpublished = this.pending.size;
    if (out.length === 0) return undefined;
    this.inFlight = true;
    return out;
  }

  /**
   * The store took `entries` (ok) or did not: taken entries leave the pending table unless a newer
   * value replaced them meanwhile; after a failure they stay, and the next `take` waits a back-off.
   * Returns whether this ended a run of failures (the store is back).
   */
  settle(entries: readonly LearnedEntry[], ok: boolean, now: number): boolean {
    this.inFlight = false;
    if (!ok) {
      this.counters.learnedPublishFailures++;
      this.backoffMs = Math.min(
        PUBLISH_RETRY_MS[1],
        this.backoffMs === 0 ? PUBLISH_RETRY_MS[0] : this.backoffMs * 2,
      );
      this.retryAt = now + this.backoffMs;
      return false;
    }
    for (const e of entries) {
      const id = entryId(e);
      if (this.pending.get(id) === e) this.pending.delete(id);
    }
    this.counters.learnedUnpublished = this.pending.size;
    const recovered = this.backoffMs > 0;
    this.backoffMs = 0;
    this.retryAt = 0;
    return recovered;
  }

  /** Entries waiting for the store. */
  get unpublished(): number {
    return this.pending.size;
  }

  /** Puts the newest value of an entry in the pending table (its place moves to the end: newest). */
  private put(id: string, e: LearnedEntry): void {
    this.pending.delete(id);
    this.pending.set(id, e);
    if (this.pending.size > this.maxPending) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.counters.learnedDropped++;
    }
    this.counters.learnedUnpublished = this.pending.size;
  }

  /** Effects equivalent to other agents' entries, for committing into the local runtime state. */
  effectsOf(entries: readonly LearnedEntry[], now: number, includeOwn = false): Effect[] {
    const out: Effect[] = [];
    for (const e of entries) {
      if ((e.origin === this.hostId && !includeOwn) || e.expiresAt <= now) continue;
      const device = learnedDevice(e);
      if (device === undefined || !this.holds(device.kind, device.id)) continue;
      const effect = effectOf(e);
      if (effect === undefined) continue;
      const id = entryId(e);
      const seq = (e as Partial<LearnedChange>).seq;
      if (seq !== undefined) {
        if ((this.appliedSeq.get(id) ?? 0) >= seq) continue; // applied already (a watch read again)
        this.appliedSeq.set(id, seq);
      }
      out.push(effect);
      // Remember what others published so this host does not echo it back at once; an entry of this
      // host's waiting for the store that is older than theirs is theirs now (newest wins).
      this.published.set(id, { value: e.value, at: now });
      const mine = this.pending.get(id);
      if (mine !== undefined && mine.origin !== e.origin && mine.expiresAt <= e.expiresAt) {
        this.pending.delete(id);
        this.counters.learnedUnpublished = this.pending.size;
      }
    }
    return out;
  }
}

/** The scope of a MAC table entry: the bridge, with '/VLAN' when tagged. */
function macScope(bridgeId: string, vlan: number): string {
  return vlan === 0 ? bridgeId : `${bridgeId}/${vlan}`;
}

/** The learning effect of another agent's entry of a learned table, or undefined (unreadable). */
function effectOf(e: LearnedEntry): Effect | undefined {
  switch (e.table) {
    case 'mac': {
      const slash = e.scope.indexOf('/');
      const bridgeId = slash < 0 ? e.scope : e.scope.slice(0, slash);
      const vlan = slash < 0 ? 0 : Number(e.scope.slice(slash + 1));
      return { kind: 'macLearned', bridgeId, vlan, mac: parseInt(e.key, 16), portId: e.value };
    }
    case 'arp': {
      const ip = parseIpv4(e.key);
      return ip === undefined
        ? undefined
        : { kind: 'arpLearned', routerId: e.scope, ip, mac: parseInt(e.value, 16) };
    }
    case 'nd': {
      // The canonical text: held packets wait under it (waits.ts), whatever text a peer sent.
      const ip = parseIpv6(e.key);
      return ip === undefined
        ? undefined
        : { kind: 'ndLearned', routerId: e.scope, ip: formatIpv6(ip), mac: parseInt(e.value, 16) };
    }
    case 'nat':
    case 'ct':
      return undefined; // flow state: FlowStateSync applies it
  }
}

/** The device of an entry's identity (`entryId`): its scope without a VLAN. */
function deviceOfId(id: string): string {
  const scope = id.split('|')[1] ?? '';
  const slash = scope.indexOf('/');
  return slash < 0 ? scope : scope.slice(0, slash);
}

/** The identity of an entry: its table, scope and key (the value is what changes). */
function entryId(e: LearnedEntry): string {
  return `${e.table}|${e.scope}|${e.key}`;
}
