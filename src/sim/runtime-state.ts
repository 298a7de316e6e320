/**
 * Runtime state the simulation reads but does not own: MAC tables per bridge and VLAN, ARP caches per
 * router, connection tracking and NAT bindings (flow-state.ts). The simulation sees them only through the read-only interfaces below
 * and tags every read (present or absent entry) so learning, expiry and deletion can invalidate flows.
 *
 * Invariant: lookups are pure functions of (table contents, key, now); an entry older than its lifetime
 * is absent. The Memory* classes are the reference implementation used by tests and the benchmark; the
 * agent commits simulation effects into them (or its own implementation of the same interfaces).
 */
import { MemoryConntrack, MemoryNatTable, reverseKey, type Conntrack } from './flow-state.js';
import type { NatTable } from './nat.js';
import { Tags, type Tag } from './tags.js';
import type { Effect } from './result.js';
import { MemoryNeighbourCache, ndTag, type NeighbourCache } from './ndp.js';
import { parseIpv6 } from '../addr.js';

export interface MacEntry {
  readonly portId: string;
  /** Tag of this entry (Tags.mac of its key). */
  readonly tag: Tag;
}

export interface MacTable {
  lookup(bridgeId: string, vlan: number, mac: number, now: number): MacEntry | undefined;
}

export interface ArpEntry {
  /** 'failed': resolution was tried and gave up (ICMP host unreachable). */
  readonly state: 'resolved' | 'failed';
  readonly mac: number;
  readonly tag: Tag;
}

export interface ArpCache {
  lookup(routerId: string, ip: number, now: number): ArpEntry | undefined;
}

/** The runtime state a simulation reads. */
export interface RuntimeState {
  readonly macs: MacTable;
  readonly arp: ArpCache;
  /** IPv6 neighbours of routers (ndp.ts); absent: every neighbour is unknown (solicited on use). */
  readonly nd?: NeighbourCache;
  readonly conntrack: Conntrack;
  readonly nat: NatTable;
}

interface Timed<T> {
  readonly value: T;
  readonly at: number;
}

export class MemoryMacTable implements MacTable {
  private readonly entries = new Map<string, Map<number, Timed<MacEntry>>>();
  /** @param lifetimeMs entries not refreshed for this long are absent */
  constructor(readonly lifetimeMs = 300_000) {}
  private table(bridgeId: string, vlan: number): Map<number, Timed<MacEntry>> {
    const k = vlan === 0 ? bridgeId : `${bridgeId}/${vlan}`;
    let t = this.entries.get(k);
    if (t === undefined) {
      t = new Map();
      this.entries.set(k, t);
    }
    return t;
  }
  lookup(bridgeId: string, vlan: number, mac: number, now: number): MacEntry | undefined {
    const e = this.table(bridgeId, vlan).get(mac);
    if (e === undefined || now - e.at >= this.lifetimeMs) return undefined;
    return e.value;
  }
  learn(bridgeId: string, vlan: number, mac: number, portId: string, now: number): void {
    const t = this.table(bridgeId, vlan);
    const old = t.get(mac);
    const value =
      old !== undefined && old.value.portId === portId
        ? old.value
        : { portId, tag: Tags.mac(bridgeId, vlan, mac) };
    t.set(mac, { value, at: now });
  }
  forget(bridgeId: string, vlan: number, mac: number): void {
    this.table(bridgeId, vlan).delete(mac);
  }
  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
  }
  /** [ops] Every live entry, for inspection (`midonet-cli agent macs`). */
  *list(
    now: number,
  ): Iterable<{ bridgeId: string; vlan: number; mac: number; portId: string; ageMs: number }> {
    for (const [k, t] of this.entries) {
      const slash = k.indexOf('/');
      const bridgeId = slash < 0 ? k : k.slice(0, slash);
      const vlan = slash < 0 ? 0 : Number(k.slice(slash + 1));
      for (const [mac, e] of t)
        if (now - e.at < this.lifetimeMs)
          yield { bridgeId, vlan, mac, portId: e.value.portId, ageMs: now - e.at };
    }
  }
  /**
   * Ages the table (MAC aging that flows can see): an entry that `inUse` says installed flows still
   * learn it from is refreshed once a third of its lifetime has passed (returned in `refreshed`, so
   * peers renew their copies); any other entry past its lifetime is removed and its tag returned in
   * `expired` (the flows that unicast to it must go: the next packet to it floods).
   */
  age(
    now: number,
    inUse: (bridgeId: string, vlan: number, mac: number) => boolean,
  ): { expired: Tag[]; refreshed: Array<{ bridgeId: string; vlan: number; mac: number; portId: string }> } {
    const expired: Tag[] = [];
    const refreshed: Array<{ bridgeId: string; vlan: number; mac: number; portId: string }> = [];
    for (const [k, t] of this.entries) {
      const slash = k.indexOf('/');
      const bridgeId = slash < 0 ? k : k.slice(0, slash);
      const vlan = slash < 0 ? 0 : Number(k.slice(slash + 1));
      for (const [mac, e] of t) {
        const age = now - e.at;
        if (age < this.lifetimeMs / 3) continue;
        if (inUse(bridgeId, vlan, mac)) {
          t.set(mac, { value: e.value, at: now });
          refreshed.push({ bridgeId, vlan, mac, portId: e.value.portId });
        } else if (age >= this.lifetimeMs) {
          t.delete(mac);
          expired.push(e.value.tag);
        }
      }
    }
    return { expired, refreshed };
  }
  /** Forgets the tables of a bridge, every VLAN (this host no longer holds it); returns their tags. */
  forgetBridge(bridgeId: string): Tag[] {
    const gone: Tag[] = [];
    for (const [k, t] of this.entries)
      if (k === bridgeId || k.startsWith(`${bridgeId}/`)) {
        for (const e of t.values()) gone.push(e.value.tag);
        this.entries.delete(k);
      }
    return gone;
  }
  /** Forgets every entry on `portId` (the port was deleted); returns their tags. */
  forgetPort(portId: string): Tag[] {
    const gone: Tag[] = [];
    for (const t of this.entries.values())
      for (const [mac, e] of t)
        if (e.value.portId === portId) {
          t.delete(mac);
          gone.push(e.value.tag);
        }
    return gone;
  }
}

export class MemoryArpCache implements ArpCache {
  private readonly entries = new Map<string, Map<number, Timed<ArpEntry>>>();
  /**
   * @param lifetimeMs resolved entries not refreshed for this long are absent
   * @param failedMs a next hop that did not answer is remembered as failed this long, then tried again
   */
  constructor(
    readonly lifetimeMs = 600_000,
    readonly failedMs = 20_000,
  ) {}
  private table(routerId: string): Map<number, Timed<ArpEntry>> {
    let t = this.entries.get(routerId);
    if (t === undefined) {
      t = new Map();
      this.entries.set(routerId, t);
    }
    return t;
  }
  lookup(routerId: string, ip: number, now: number): ArpEntry | undefined {
    const e = this.table(routerId).get(ip);
    if (e === undefined) return undefined;
    if (now - e.at >= (e.value.state === 'failed' ? this.failedMs : this.lifetimeMs)) return undefined;
    return e.value;
  }
  learn(routerId: string, ip: number, mac: number, now: number): void {
    this.table(routerId).set(ip, { value: { state: 'resolved', mac, tag: Tags.arp(routerId, ip) }, at: now });
  }
  fail(routerId: string, ip: number, now: number): void {
    this.table(routerId).set(ip, {
      value: { state: 'failed', mac: 0, tag: Tags.arp(routerId, ip) },
      at: now,
    });
  }
  forget(routerId: string, ip: number): void {
    this.table(routerId).delete(ip);
  }
  /** Forgets a router's cache (this host no longer holds it); returns the tags of its entries. */
  forgetRouter(routerId: string): Tag[] {
    const t = this.entries.get(routerId);
    this.entries.delete(routerId);
    return t === undefined ? [] : [...t.values()].map((e) => e.value.tag);
  }
  clear(): void {
    this.entries.clear();
  }
  /** [ops] Every live entry, for inspection (`midonet-cli agent arp`). */
  *list(now: number): Iterable<{ routerId: string; ip: number; entry: ArpEntry; ageMs: number }> {
    for (const [routerId, t] of this.entries)
      for (const [ip, e] of t)
        if (now - e.at < this.lifetimeMs) yield { routerId, ip, entry: e.value, ageMs: now - e.at };
  }
}

/** A complete in-memory runtime state, with a way to commit a result's effects into it. */
export class MemoryRuntimeState implements RuntimeState {
  readonly macs: MemoryMacTable;
  /** @param macLifetimeMs MAC aging: how long an entry no flow learns from lives */
  constructor(macLifetimeMs?: number) {
    this.macs = new MemoryMacTable(macLifetimeMs);
  }
  readonly arp = new MemoryArpCache();
  readonly nd = new MemoryNeighbourCache();
  readonly conntrack = new MemoryConntrack();
  readonly nat = new MemoryNatTable();
  /** Commits effects; returns the tags of entries that changed (for flow invalidation). */
  commit(effects: readonly Effect[], now: number): Tag[] {
    const changed: Tag[] = [];
    for (const e of effects) {
      switch (e.kind) {
        case 'macLearned': {
          const before = this.macs.lookup(e.bridgeId, e.vlan, e.mac, now);
          this.macs.learn(e.bridgeId, e.vlan, e.mac, e.portId, now);
          if (before?.portId !== e.portId) changed.push(Tags.mac(e.bridgeId, e.vlan, e.mac));
          break;
        }
        case 'arpLearned': {
          const before = this.arp.lookup(e.routerId, e.ip, now);
          this.arp.learn(e.routerId, e.ip, e.mac, now);
          if (before?.state !== 'resolved' || before.mac !== e.mac) changed.push(Tags.arp(e.routerId, e.ip));
          break;
        }
        case 'ndLearned': {
          const ip = parseIpv6(e.ip);
          if (ip === undefined) break;
          const before = this.nd.lookup(e.routerId, ip, now);
          this.nd.learn(e.routerId, ip, e.mac, now);
          if (before?.state !== 'resolved' || before.mac !== e.mac) changed.push(ndTag(e.routerId, ip));
          break;
        }
        case 'arpWanted':
        case 'ndWanted':
          break;
        case 'conntrackForward':
          // A new connection (or one opened again): flows that read its state must be redone.
          if (this.conntrack.state(e.key, now) === 'new' || this.conntrack.ended(e.key, now))
            changed.push(Tags.conntrack(e.key), Tags.conntrack(reverseKey(e.key)));
          this.conntrack.track(e.key, now);
          break;
        case 'natCreated':
          if (this.nat.bind(e.forwardKey, e.forward, now)) changed.push(Tags.nat(e.forwardKey));
          if (this.nat.bind(e.reverseKey, e.reverse, now)) changed.push(Tags.nat(e.reverseKey));
          break;
        case 'natPortsWanted':
        case 'natStateWanted':
        case 'natExhausted':
        case 'dhcpRequest':
        case 'portSecurityDrop':
          break;
      }
    }
    return changed;
  }
}

export { MemoryConntrack, MemoryNatTable, conntrackKey, reverseKey, type Conntrack } from './flow-state.js';
