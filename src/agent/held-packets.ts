/**
 * Packets that cannot go on yet, held until what they wait for arrives: a router's next hop MAC
 * (ARP, or neighbour discovery for IPv6), a block of SNAT ports (leased through the store), or the flow state of a reply's connection
 * (sent by the host that created it; a short wait). Each wait has a key and carries what
 * it asked for (`Want`); the agent asks again while packets wait (an ARP request at most once a
 * second, RFC 1122) and gives up after a deadline: held packets are then simulated again and meet
 * the failure (ICMP host unreachable for a next hop that never answered).
 *
 * Invariant: memory is bounded (at most `limit` packets per wait and `maxWaits` waits, their bytes
 * copied so no socket buffer is retained); a packet is handed back at most once.
 */
import type { PacketInView } from '../openflow/index.js';

/** What a wait asked for. */
export type Want =
  | { readonly kind: 'arp'; readonly routerId: string; readonly ip: number; readonly portId: string }
  /** An IPv6 next hop's MAC (neighbour solicitation); `ip` is canonical IPv6 text. */
  | { readonly kind: 'nd'; readonly routerId: string; readonly ip: string; readonly portId: string }
  /** The flow state (NAT binding) under `key`, which another host may be sending. */
  | { readonly kind: 'natState'; readonly key: string }
  /** Topology objects a simulation found missing, loaded from the store (`attempt`: loads so far). */
  | { readonly kind: 'load'; readonly ids: readonly string[]; readonly attempt: number }
  | {
      readonly kind: 'snat';
      readonly ip: number;
      readonly proto: number;
      readonly portFrom: number;
      readonly portTo: number;
    };

export const arpWaitKey = (routerId: string, ip: number): string => `arp/${routerId}/${ip}`;
export const ndWaitKey = (routerId: string, ip: string): string => `nd/${routerId}/${ip}`;
export const snatWaitKey = (ip: number, proto: number): string => `snat/${ip}/${proto}`;

export const natStateWaitKey = (key: string): string => `nat/${key}`;

export const loadWaitKey = (ids: readonly string[]): string => `load/${[...ids].sort().join(',')}`;

export function waitKey(w: Want): string {
  if (w.kind === 'arp') return arpWaitKey(w.routerId, w.ip);
  if (w.kind === 'nd') return ndWaitKey(w.routerId, w.ip);
  if (w.kind === 'load') return loadWaitKey(w.ids);
  return w.kind === 'natState' ? natStateWaitKey(w.key) : snatWaitKey(w.ip, w.proto);
}

interface Wait {
  readonly want: Want;
  readonly packets: PacketInView[];
  /** When the next retry of the request is due (ms). */
  retryAt: number;
  /** When to give up (ms). */
  readonly until: number;
}

export class HeldPackets {
  private readonly waiting = new Map<string, Wait>();

  constructor(
    /** How long a wait lasts before it gives up (ms): 3 ARP requests a second apart. */
    private readonly giveUpMs = 3000,
    private readonly retryMs = 1000,
    private readonly perKey = 8,
    /** Waits at most, all keys together (a flood of new keys cannot grow the memory without end). */
    private readonly maxWaits = 4096,
  ) {}

  /**
   * Holds a packet until `want` arrives (at most `limit` packets per wait; default perKey), for at
   * most `forMs` (default giveUpMs; such a short wait asks nothing again); returns true when the wait
   * is new (the caller asks for it now).
   */
  hold(want: Want, pi: PacketInView, now: number, limit = this.perKey, forMs?: number): boolean {
    const key = waitKey(want);
    let w = this.waiting.get(key);
    const fresh = w === undefined;
    if (w === undefined && this.waiting.size >= this.maxWaits) return false; // bounded: dropped
    if (w === undefined)
      this.waiting.set(
        key,
        (w = {
          want,
          packets: [],
          retryAt: forMs === undefined ? now + this.retryMs : Infinity,
          until: now + (forMs ?? this.giveUpMs),
        }),
      );
    if (w.packets.length < limit) w.packets.push({ ...pi, data: Buffer.from(pi.data) });
    return fresh;
  }

  /** The packets waiting under `keys`, which just became available. */
  release(keys: Iterable<string>): PacketInView[] {
    const out: PacketInView[] = [];
    for (const key of keys) {
      const w = this.waiting.get(key);
      if (w === undefined) continue;
      this.waiting.delete(key);
      out.push(...w.packets);
    }
    return out;
  }

  /** The waits `done` says are over, removed, with their packets. */
  releaseWhere(done: (w: Want) => boolean): Array<{ want: Want; packets: PacketInView[] }> {
    const out: Array<{ want: Want; packets: PacketInView[] }> = [];
    for (const [key, w] of this.waiting)
      if (done(w.want)) {
        this.waiting.delete(key);
        out.push({ want: w.want, packets: w.packets });
      }
    return out;
  }

  /**
   * Due work at `now`: what should be asked for again, and the waits that gave up (removed; their
   * packets handed back to be simulated again).
   */
  due(now: number): { retry: Want[]; expired: Array<{ want: Want; packets: PacketInView[] }> } {
    const retry: Want[] = [];
    const expired: Array<{ want: Want; packets: PacketInView[] }> = [];
    for (const [key, w] of this.waiting) {
      if (now >= w.until) {
        this.waiting.delete(key);
        expired.push({ want: w.want, packets: w.packets });
      } else if (now >= w.retryAt) {
        w.retryAt = now + this.retryMs;
        retry.push(w.want);
      }
    }
    return { retry, expired };
  }

  has(key: string): boolean {
    return this.waiting.has(key);
  }

  /** How many packets are held under `key`. */
  count(key: string): number {
    return this.waiting.get(key)?.packets.length ?? 0;
  }

  clear(): void {
    this.waiting.clear();
  }

  get size(): number {
    let n = 0;
    for (const w of this.waiting.values()) n += w.packets.length;
    return n;
  }
}
