/**
 * How packet-ins meet the controller: each is handled at once, in the socket callback that delivered
 * it (simulated, decided, answered with one write). Only beyond BATCH packet-ins in one callback do
 * the rest wait in a bounded queue, drained in batches of BATCH with the event loop (store changes)
 * served between batches.
 *
 * Invariant: packet-ins are handled in arrival order (once one waits, every later one waits behind it);
 * the queue never holds more than `limit` (beyond: dropped and counted by `onDrop`).
 */
import type { PacketInView } from '../openflow/index.js';

export const BATCH = 256;

export class PacketInQueue {
  private readonly queue: Array<{ pi: PacketInView; arrived: number }> = [];
  private draining = false;
  /** Packet-ins handled in the current socket callback (reset after it). */
  private inCallback = 0;

  constructor(
    private readonly handle: (pi: PacketInView, arrived: number) => void,
    private readonly limit: number,
    private readonly onDrop: () => void,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  /** A packet-in arrived (at `arrived`, performance.now() ms). */
  offer(pi: PacketInView, arrived: number): void {
    if (this.draining || this.inCallback >= BATCH) {
      this.enqueue(pi, arrived);
      return;
    }
    this.inCallback++;
    if (this.inCallback === 1) queueMicrotask(() => (this.inCallback = 0));
    this.handle(pi, arrived);
  }

  private enqueue(pi: PacketInView, arrived: number): void {
    if (this.queue.length >= this.limit) {
      this.onDrop();
      return;
    }
    this.queue.push({ pi, arrived });
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    for (let i = 0; i < BATCH && this.queue.length > 0; i++) {
      const q = this.queue.shift()!;
      this.handle(q.pi, q.arrived);
    }
    if (this.queue.length > 0) setImmediate(() => this.drain());
    else this.draining = false;
  }
}
