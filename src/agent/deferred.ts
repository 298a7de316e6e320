/**
 * Work a packet-in's answer does not depend on, done after the answer is written, in the same turn
 * of the event loop: recording the flow (flow table, tag index, flow-state pins), remembering it as
 * recent, telling other agents what was learned. On a cold first packet every structure touched
 * before the socket write costs cache misses, so touching fewer of them lowers the time to the write.
 *
 * Invariants: deferred work runs in the order it was deferred, before anything that reads what it
 * writes: the controller settles it at the start of every packet-in it handles and before every
 * invalidation (so an invalidation always finds every flow decided before it), and the answerer
 * settles it right after its write, in the same synchronous call, so no other callback (a store
 * change, a flow removal, the next packet-in) ever sees a decided flow unrecorded. Outside a
 * deferring packet-in, work runs at once.
 */
import type { Outgoing } from '../openflow/index.js';

/** Deferred work; `late` takes deletions it finds due (written after the answer). */
export type DeferredWork = (late: Outgoing[]) => void;

export class Deferred {
  /** Set while a packet-in whose answer is written later is handled. */
  deferring = false;
  private readonly work: DeferredWork[] = [];
  private late: Outgoing[] = [];

  /** Runs `w` now, or, while deferring, once the answer is written. */
  run(w: DeferredWork): void {
    if (this.deferring) this.work.push(w);
    else w(this.late);
  }

  /** Runs the work deferred so far; returns the deletions it found due (a fresh array). */
  settle(): Outgoing[] {
    const work = this.work;
    // Work may defer more only while deferring, which settle is never called under from outside.
    for (let i = 0; i < work.length; i++) work[i]!(this.late);
    work.length = 0;
    if (this.late.length === 0) return NONE;
    const late = this.late;
    this.late = [];
    return late;
  }

  /** Runs the work deferred so far, its deletions appended to `out`. */
  settleInto(out: Outgoing[]): void {
    if (this.work.length === 0 && this.late.length === 0) return;
    for (const m of this.settle()) out.push(m);
  }

  /** Forgets the work deferred (its packet-in's messages were dropped). */
  drop(): void {
    this.work.length = 0;
  }
}

const NONE: Outgoing[] = [];
