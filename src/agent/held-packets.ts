/**
 * Packets a router could not forward yet because the next hop's MAC is unknown: held (a few per next
 * hop, for a short time) while the agent resolves it with ARP, and handed back to be simulated again
 * as soon as an ARP entry for that next hop is learned, here or by another agent.
 *
 * Invariant: memory is bounded (at most `perKey` packets per next hop, their bytes copied so no socket
 * buffer is retained); a packet is handed back at most once, and never after its deadline.
 */
import type { PacketInView } from '../openflow/index.js';
import type { Effect } from '../sim/result.js';

export class HeldPackets {
  private readonly waiting = new Map<string, { packets: PacketInView[]; until: number }>();

  constructor(
    private readonly holdMs = 2000,
    private readonly perKey = 8,
  ) {}

  /** Holds a packet until the MAC of `ip` behind router `routerId` is known. */
  hold(routerId: string, ip: number, pi: PacketInView, now: number): void {
    const key = `${routerId}/${ip}`;
    let w = this.waiting.get(key);
    if (w === undefined || w.until < now)
      this.waiting.set(key, (w = { packets: [], until: now + this.holdMs }));
    if (w.packets.length < this.perKey) w.packets.push({ ...pi, data: Buffer.from(pi.data) });
  }

  /** The packets waiting for next hops that `effects` just resolved. */
  release(effects: readonly Effect[], now: number): PacketInView[] {
    const out: PacketInView[] = [];
    for (const e of effects) {
      if (e.kind !== 'arpLearned') continue;
      const key = `${e.routerId}/${e.ip}`;
      const w = this.waiting.get(key);
      if (w === undefined) continue;
      this.waiting.delete(key);
      if (w.until >= now) out.push(...w.packets);
    }
    return out;
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
