/**
 * Flow state (NAT bindings, tracked connections) between this agent, its peers and its flows:
 *
 * - Which hosts must know a new binding or connection: those that may see its reply or a later
 *   packet — the host the packet leaves to, and the hosts of every exterior port of the device that
 *   made the state (a router's uplinks on several hosts: its replies may come in through any).
 * - Applying what peers (or the store) say: bindings and connections go into this host's tables, and
 *   the tags of entries that appeared or changed come back to invalidate the flows that read their
 *   absence.
 * - Lifetime while flows use it: an installed flow pins the entries its tags name; when the last flow
 *   that names an entry goes, the entry starts to age (flow-state.ts), and `sweep` removes aged ones
 *   and returns their tags, so the flows that used them go too.
 *
 * Invariant: a key is pinned exactly while at least one recorded flow carries its tag (the caller
 * reports every install and every removal); nothing here does I/O.
 */
import { formatIpv6, parseIpv6 } from '../addr.js';
import { reverseOfForward, type NatBinding } from '../sim/nat.js';
import type { Effect } from '../sim/result.js';
import type { MemoryRuntimeState } from '../sim/runtime-state.js';
import { Tags, type Tag } from '../sim/tags.js';
import type { Topology } from '../sim/topology.js';
import type { LearnedEntry } from '../state/store.js';
import type { CtStateEntry, NatStateEntry, PeerMessage } from './peer-codec.js';

const NAT_PREFIX = 'nat:';
const CT_PREFIX = 'ct:';

/** The device (zone) a NAT key or conntrack key belongs to. */
function zoneOf(key: string, sep: string): string {
  const i = key.indexOf(sep);
  return i < 0 ? key : key.slice(0, i);
}

/** A binding as agents share it (an IPv6 one keeps its address in `ip6`). */
function natEntry(key: string, b: NatBinding, expiresAt: number): NatStateEntry {
  return b.ip6 === undefined
    ? { key, ip: b.ip, port: b.port, expiresAt }
    : { key, ip: b.ip, port: b.port, ip6: b.ip6, expiresAt };
}

export class FlowStateSync {
  /** Zone -> hosts of its exterior ports (cached until the topology changes). */
  private readonly zoneHosts = new Map<string, readonly string[]>();
  /** Pinned keys (tag strings) -> flows that carry them. */
  private readonly pins = new Map<string, number>();

  constructor(
    private readonly hostId: string,
    private readonly state: MemoryRuntimeState,
    private readonly topology: () => Topology,
    /** How long shared state lives unless renewed (ms). */
    readonly idleMs = 60_000,
  ) {}

  topologyChanged(): void {
    this.zoneHosts.clear();
  }

  private hostsOfZone(zone: string): readonly string[] {
    let h = this.zoneHosts.get(zone);
    if (h === undefined) {
      const set = new Set<string>();
      for (const p of this.topology().all('port'))
        if (p.deviceId === zone && p.peerId === null && p.hostId !== null && p.hostId !== this.hostId)
          set.add(p.hostId);
      this.zoneHosts.set(zone, (h = [...set]));
    }
    return h;
  }

  /**
   * The state a committed result made, as a message, and the hosts to send it to (besides this one):
   * `egressHosts` (where the packet goes) and the hosts of the zone's exterior ports.
   */
  outgoing(
    effects: readonly Effect[],
    egressHosts: readonly string[],
    now: number,
  ): { to: string[]; msg: PeerMessage } | undefined {
    const nat: NatStateEntry[] = [];
    const ct: CtStateEntry[] = [];
    const to = new Set(egressHosts);
    const expiresAt = now + this.idleMs;
    for (const e of effects) {
      if (e.kind === 'natCreated') {
        nat.push(natEntry(e.forwardKey, e.forward, expiresAt));
        nat.push(natEntry(e.reverseKey, e.reverse, expiresAt));
        for (const h of this.hostsOfZone(e.zone)) to.add(h);
      } else if (e.kind === 'conntrackForward') {
        ct.push({ key: e.key, expiresAt, ended: false });
        for (const h of this.hostsOfZone(zoneOf(e.key, '|'))) to.add(h);
      }
    }
    to.delete(this.hostId);
    if (nat.length === 0 && ct.length === 0) return undefined;
    return { to: [...to], msg: { kind: 'flowState', from: this.hostId, nat, ct } };
  }

  /** Flow state as the store keeps it (the learned table, with expiry): what a restarted agent reads. */
  toStore(nat: readonly NatStateEntry[], ct: readonly CtStateEntry[]): LearnedEntry[] {
    return [
      ...nat.map((e) => ({
        table: 'nat' as const,
        scope: zoneOf(e.key, '/'),
        key: e.key,
        value: e.ip6 === undefined ? `${e.ip}:${e.port}` : `[${formatIpv6(e.ip6)}]:${e.port}`,
        origin: this.hostId,
        expiresAt: e.expiresAt,
      })),
      ...ct.map((e) => ({
        table: 'ct' as const,
        scope: zoneOf(e.key, '|'),
        key: e.key,
        value: e.ended ? 'ended' : 'open',
        origin: this.hostId,
        expiresAt: e.expiresAt,
      })),
    ];
  }

  /** Flow state from the store's entries (other tables are skipped). */
  fromStore(entries: readonly LearnedEntry[]): { nat: NatStateEntry[]; ct: CtStateEntry[] } {
    const nat: NatStateEntry[] = [];
    const ct: CtStateEntry[] = [];
    for (const e of entries) {
      if (e.table === 'nat') {
        const i = e.value.lastIndexOf(':');
        const addr = e.value.slice(0, i);
        const port = Number(e.value.slice(i + 1));
        if (i <= 0 || !Number.isInteger(port)) continue;
        // An IPv6 binding's address is in brackets (toStore); an IPv4 one is its number.
        const ip6 = addr.startsWith('[') && addr.endsWith(']') ? parseIpv6(addr.slice(1, -1)) : undefined;
        const ip = Number(addr);
        if (ip6 !== undefined) nat.push({ key: e.key, ip: 0, port, ip6, expiresAt: e.expiresAt });
        else if (Number.isInteger(ip)) nat.push({ key: e.key, ip, port, expiresAt: e.expiresAt });
      } else if (e.table === 'ct')
        ct.push({ key: e.key, expiresAt: e.expiresAt, ended: e.value === 'ended' });
    }
    return { nat, ct };
  }

  /** Puts what another agent (or the store) shared into this host's tables; returns changed tags. */
  apply(nat: readonly NatStateEntry[], ct: readonly CtStateEntry[], now: number): Tag[] {
    const changed: Tag[] = [];
    for (const e of nat) {
      if (e.expiresAt <= now) continue;
      if (this.state.nat.bind(e.key, e, now, e.expiresAt - now)) changed.push(Tags.nat(e.key));
    }
    for (const e of ct) {
      if (e.expiresAt <= now) continue;
      if (e.ended) {
        if (this.state.conntrack.ended(e.key, now)) continue; // its closing time runs already
        this.state.conntrack.end(e.key, now);
        changed.push(Tags.conntrack(e.key));
      } else if (!this.state.conntrack.has(e.key, now) || this.state.conntrack.ended(e.key, now)) {
        this.state.conntrack.track(e.key, now);
        changed.push(Tags.conntrack(e.key));
      }
    }
    return changed;
  }

  /** A flow with `tags` was installed: the flow state it names does not age while it lives. */
  flowInstalled(tags: readonly string[], now: number): void {
    for (const t of tags) {
      if (!t.startsWith(NAT_PREFIX) && !t.startsWith(CT_PREFIX)) continue;
      const n = this.pins.get(t) ?? 0;
      this.pins.set(t, n + 1);
      if (n === 0) this.pin(t, true, now);
    }
  }

  /** A flow with `tags` is gone: state no other flow names starts to age now. */
  flowRemoved(tags: readonly string[], now: number): void {
    for (const t of tags) this.tagReleased(t, now);
  }

  /** One tag of a flow that is gone (flowRemoved, a tag at a time). */
  tagReleased(tag: string, now: number): void {
    const n = this.pins.get(tag);
    if (n === undefined) return;
    if (n > 1) this.pins.set(tag, n - 1);
    else {
      this.pins.delete(tag);
      this.pin(tag, false, now);
    }
  }

  /** True while some flow pins state: false, removed flows' tags need not be told. */
  get pinning(): boolean {
    return this.pins.size > 0;
  }

  private pin(tag: string, pinned: boolean, now: number): void {
    if (!tag.startsWith(NAT_PREFIX)) {
      this.state.conntrack.pin(tag.slice(CT_PREFIX.length), pinned, now);
      return;
    }
    // A forward binding and its reverse live together: the reply may come back through this host.
    const key = tag.slice(NAT_PREFIX.length);
    this.state.nat.pin(key, pinned, now);
    const b = this.state.nat.lookup(key, now);
    const rev = b === undefined ? undefined : reverseOfForward(key, b);
    if (rev !== undefined) this.state.nat.pin(rev, pinned, now);
  }

  /**
   * A TCP FIN or RST: the connections and NAT bindings the result read end (they live a short while
   * more, then go with their flows). Returns the connections ended now, to tell peers: one that had
   * ended already (a retransmitted FIN, the RST answering each segment still in flight) is not ended
   * again, so its closing time runs from its first end, here and on the peers.
   */
  ended(tags: readonly string[], now: number): CtStateEntry[] {
    const out: CtStateEntry[] = [];
    const closingMs = this.state.conntrack.closingMs;
    for (const t of tags) {
      if (t.startsWith(NAT_PREFIX)) {
        const key = t.slice(NAT_PREFIX.length);
        if (this.state.nat.has(key, now)) this.state.nat.end(key, now, closingMs);
        continue;
      }
      if (!t.startsWith(CT_PREFIX)) continue;
      const key = t.slice(CT_PREFIX.length);
      if (!this.state.conntrack.has(key, now) || this.state.conntrack.ended(key, now)) continue;
      this.state.conntrack.end(key, now);
      out.push({ key, expiresAt: now + closingMs, ended: true });
    }
    return out;
  }

  /**
   * Renewals of the state pinned here (used by installed flows), per host that holds a copy (the
   * zone's exterior ports), so a long connection's state does not age out on the hosts that might
   * take over its replies.
   */
  renewals(now: number): Array<{ to: string; msg: PeerMessage }> {
    const expiresAt = now + this.idleMs;
    const byHost = new Map<string, { nat: NatStateEntry[]; ct: CtStateEntry[] }>();
    const add = (zone: string, f: (b: { nat: NatStateEntry[]; ct: CtStateEntry[] }) => void) => {
      for (const h of this.hostsOfZone(zone)) {
        let b = byHost.get(h);
        if (b === undefined) byHost.set(h, (b = { nat: [], ct: [] }));
        f(b);
      }
    };
    for (const tag of this.pins.keys()) {
      if (tag.startsWith(NAT_PREFIX)) {
        const key = tag.slice(NAT_PREFIX.length);
        const b = this.state.nat.lookup(key, now);
        if (b !== undefined) add(zoneOf(key, '/'), (x) => x.nat.push(natEntry(key, b, expiresAt)));
      } else {
        const key = tag.slice(CT_PREFIX.length);
        if (this.state.conntrack.has(key, now))
          add(zoneOf(key, '|'), (x) => x.ct.push({ key, expiresAt, ended: false }));
      }
    }
    const out: Array<{ to: string; msg: PeerMessage }> = [];
    for (const [to, b] of byHost)
      for (let i = 0; i < Math.max(b.nat.length, b.ct.length); i += 500)
        out.push({
          to,
          msg: {
            kind: 'flowState',
            from: this.hostId,
            nat: b.nat.slice(i, i + 500),
            ct: b.ct.slice(i, i + 500),
          },
        });
    return out;
  }

  /** Removes aged entries; returns the tags of the flows that used them. */
  sweep(now: number): Tag[] {
    return [
      ...this.state.nat.sweep(now).map((k) => Tags.nat(k)),
      ...this.state.conntrack.sweep(now).map((k) => Tags.conntrack(k)),
    ];
  }

  /** Pinned state to renew with peers and the store (long-lived connections must not expire there). */
  live(now: number): { nat: NatStateEntry[]; ct: CtStateEntry[] } {
    const expiresAt = now + this.idleMs;
    return {
      nat: this.state.nat.entries(now).map((e) => natEntry(e.key, e, expiresAt)),
      ct: this.state.conntrack.entries(now).map((e) => ({ key: e.key, expiresAt, ended: false })),
    };
  }
}
