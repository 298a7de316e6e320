/**
 * Sharing learned state between agents through the store (MidoNet's replicated MAC and ARP tables):
 * what a local simulation learns (a MAC seen on a port, an IP's MAC answered to a router) is published,
 * and what other agents published is turned back into the same effects and committed here, so a
 * bridge on host A unicasts to a VM on host B, and a router on host A reaches a next hop that answered
 * host B's ARP request.
 *
 * Invariant: an entry is published when its value changes or when a third of its lifetime has passed
 * since it was last published (so it never expires while in use, and a busy flow does not write to the
 * store per packet); entries this host published are not applied again when they come back.
 */
import { formatIpv4, parseIpv4 } from '../addr.js';
import type { Effect } from '../sim/result.js';
import type { LearnedEntry } from '../state/store.js';

export class LearnedSync {
  private readonly published = new Map<string, { value: string; at: number }>();
  private outbox: LearnedEntry[] = [];

  constructor(
    private readonly hostId: string,
    private readonly macLifetimeMs: number,
    private readonly arpLifetimeMs: number,
  ) {}

  /** Queues the shareable effects of a committed result; returns the entries it queued. */
  offer(effects: readonly Effect[], now: number): LearnedEntry[] {
    const fresh: LearnedEntry[] = [];
    for (const e of effects) {
      let entry: LearnedEntry | undefined;
      if (e.kind === 'macLearned') {
        entry = {
          table: 'mac',
          scope: e.vlan === 0 ? e.bridgeId : `${e.bridgeId}/${e.vlan}`,
          key: e.mac.toString(16),
          value: e.portId,
          origin: this.hostId,
          expiresAt: now + this.macLifetimeMs,
        };
      } else if (e.kind === 'arpLearned') {
        entry = {
          table: 'arp',
          scope: e.routerId,
          key: formatIpv4(e.ip),
          value: e.mac.toString(16),
          origin: this.hostId,
          expiresAt: now + this.arpLifetimeMs,
        };
      }
      if (entry === undefined) continue;
      const id = `${entry.table}|${entry.scope}|${entry.key}`;
      const last = this.published.get(id);
      const lifetime = entry.table === 'mac' ? this.macLifetimeMs : this.arpLifetimeMs;
      if (last && last.value === entry.value && now - last.at < lifetime / 3) continue;
      this.published.set(id, { value: entry.value, at: now });
      this.outbox.push(entry);
      fresh.push(entry);
    }
    return fresh;
  }

  /** Queues entries made elsewhere (flow state) for the same flush to the store. */
  queue(entries: readonly LearnedEntry[]): void {
    for (const e of entries) this.outbox.push(e);
  }

  /** Forgets what was published (and what waits to be). */
  reset(): void {
    this.published.clear();
    this.outbox = [];
  }

  /** Entries waiting to be published (and empties the queue). */
  take(): LearnedEntry[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** Effects equivalent to other agents' entries, for committing into the local runtime state. */
  effectsOf(entries: readonly LearnedEntry[], now: number, includeOwn = false): Effect[] {
    const out: Effect[] = [];
    for (const e of entries) {
      if ((e.origin === this.hostId && !includeOwn) || e.expiresAt <= now) continue;
      if (e.table === 'nat' || e.table === 'ct') continue; // flow state: FlowStateSync applies it
      if (e.table === 'mac') {
        const slash = e.scope.indexOf('/');
        const bridgeId = slash < 0 ? e.scope : e.scope.slice(0, slash);
        const vlan = slash < 0 ? 0 : Number(e.scope.slice(slash + 1));
        out.push({ kind: 'macLearned', bridgeId, vlan, mac: parseInt(e.key, 16), portId: e.value });
      } else {
        const ip = parseIpv4(e.key);
        if (ip !== undefined)
          out.push({ kind: 'arpLearned', routerId: e.scope, ip, mac: parseInt(e.value, 16) });
      }
      // Remember what others published so this host does not echo it back at once.
      this.published.set(`${e.table}|${e.scope}|${e.key}`, { value: e.value, at: now });
    }
    return out;
  }
}
