/**
 * Packets that cannot go on yet, held until what they wait for arrives: a router's next hop MAC
 * (ARP), or a block of SNAT ports (leased through the store). Each wait has a key
 * (`arp/ROUTER/IP`, `snat/IP/PROTO`); the agent retries what it asked for while packets wait (an ARP
 * request at most once a second, RFC 1122) and gives up after a deadline: held packets are then
 * simulated again and meet the failure (ICMP host unreachable for a next hop that never answered).
 *
 * Invariant: memory is bounded (at most `perKey` packets per wait, their bytes copied so no socket
 * buffer is retained); a packet is handed back at most once.
 */
import type { PacketInView } from '../openflow/index.js';

export const arpWaitKey = (routerId: string, ip: number): string => `arp/${routerId}/${ip}`;
export const snatWaitKey = (ip: number, proto: number): string => `snat/${ip}/${proto}`;

interface Wait {
  packets: PacketInView[];
  /** When the next retry of the request is due (ms). */
  retryAt: number;
  /** When to give up (ms). */
  until: number;
  /** Retries made. */
  tries: number;
}

export class HeldPackets {
  private readonly waiting = new Map<string, Wait>();

  constructor(
    /** How long a wait lasts before it gives up (ms): 3 ARP requests a second apart. */
    private readonly giveUpMs = 3000,
    private readonly retryMs = 1000,
    private readonly perKey = 8,
  ) {}

  /**
   * Holds a packet under `key` (at most `limit` per key; default perKey); returns true when the wait
   * is new (the caller asks for it now).
   */
  hold(key: string, pi: PacketInView, now: number, limit = this.perKey): boolean {
    let w = this.waiting.get(key);
    const fresh = w === undefined;
    if (w === undefined)
      this.waiting.set(
        key,
        (w = { packets: [], retryAt: now + this.retryMs, until: now + this.giveUpMs, tries: 0 }),
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

  /**
   * Due work at `now`: the waits whose request should be sent again, and the waits that gave up
   * (removed; their packets handed back to be simulated again).
   */
  due(now: number): { retry: string[]; expired: Array<{ key: string; packets: PacketInView[] }> } {
    const retry: string[] = [];
    const expired: Array<{ key: string; packets: PacketInView[] }> = [];
    for (const [key, w] of this.waiting) {
      if (now >= w.until) {
        this.waiting.delete(key);
        expired.push({ key, packets: w.packets });
      } else if (now >= w.retryAt) {
        w.tries++;
        w.retryAt = now + this.retryMs;
        retry.push(key);
      }
    }
    return { retry, expired };
  }

  has(key: string): boolean {
    return this.waiting.has(key);
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
