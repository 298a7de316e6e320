/**
 * Idle expiry of reactive flows, done by the agent rather than by Open vSwitch. The agent's flows
 * carry no timeout in the switch (flow-mods.ts); instead it reads the packet count of each of its
 * flows once per sweep period (FLOW stats requests by cookie mask, read from the replies' bytes:
 * openflow/flow-counts.ts), marks as used every flow whose count moved since it was last read, and
 * deletes, by cookie, every flow unused for the idle timeout (expireIdle).
 *
 * Why: Open vSwitch keeps every rule that has a timeout on one list and walks all of it after each
 * revalidation of its datapath cache, which runs after every batch of new flows: under a stream of
 * new flows its main thread spent a fifth of its time there (docs/first-packet-tail.md "Idle expiry in
 * the agent"). A period's reads cost the switch one dump of the agent's flows, in slices: the cookies
 * are split by their low bits into as many slices (a power of two, at most 256) as keep each under
 * SLICE_FLOWS flows (up to a million flows), and one slice is read per tick, so the switch's main
 * thread, which builds a reply whole, is never held for more than a slice (a dump of 100,000 flows at
 * once held it some 200 ms).
 *
 * Invariants: a flow is deleted only when its count, read in the same tick, has not moved for at least
 * the idle timeout. Its last use is seen at its next read and its idleness at a read after that, so it
 * goes up to two sweep periods (a quarter of the timeout each, within 250 ms to 15 s, plus the reads'
 * own time) after its last packet plus the timeout. Only flows of the slice just read are judged; one
 * read runs at a time, on the current connection, none while the switch is not connected, and a
 * failed read deletes nothing. A reactive flow in the switch that the agent does not record is deleted
 * at the second read that finds it (orphan-flows.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import type { Outgoing } from '../openflow/index.js';
import type { FlowController } from './controller.js';
import { deleteByCookie } from './flow-mods.js';
import { PROACTIVE_COOKIE_BIT } from './flow-table.js';
import type { OpenFlowConnection } from './of-connection.js';
import { OrphanFlows } from './orphan-flows.js';

/** Milliseconds in which every flow is read once, for an idle timeout of `idleS` seconds: a quarter of it, 250 ms to 15 s. */
export function sweepPeriodMs(idleS: number): number {
  return Math.min(15000, Math.max(250, Math.round((idleS * 1000) / 4)));
}

/** Flows one read should hold at most (about 10 ms of the switch's main thread here). */
export const SLICE_FLOWS = 4096;

/** Slices for `flows` flows: the least power of two that keeps each under SLICE_FLOWS, at most 256. */
export function sliceCount(flows: number): number {
  let n = 1;
  while (n < 256 && flows > n * SLICE_FLOWS) n *= 2;
  return n;
}

/**
 * After the switch's packet counts of the flows whose cookie is `slice` under `mask` were read into the
 * flow table: each of them unused for the idle timeout is forgotten, counted as removed, and deleted.
 */
export function expireIdle(ctl: FlowController, now: number, mask = 0, slice = 0): Outgoing[] {
  const idleMs = ctl.cfg.idleTimeout * 1000;
  const out: Outgoing[] = [];
  for (const c of ctl.flows.unusedSince(now - idleMs, mask, slice)) {
    const packets = ctl.flows.usage(c)?.packets ?? 0;
    if (!ctl.forgetFlow(c, now, { kind: 'idle', idleMs, packets })) continue;
    ctl.stats.flowsRemoved++;
    out.push(deleteByCookie(c));
  }
  return out;
}

export interface IdleExpiryDeps {
  conn: () => OpenFlowConnection | undefined;
  ctl: () => FlowController;
  send: (msgs: readonly Outgoing[]) => void;
  log: Logger;
}

export class IdleExpiry {
  private timer: NodeJS.Timeout | undefined;
  /** A tick is scheduled and has not begun (false while one runs: it schedules the next itself). */
  private pending = false;
  private running = false;
  private stopped = false;
  private slice = 0;
  private readonly orphans = new OrphanFlows();

  constructor(private readonly deps: IdleExpiryDeps) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = false;
  }

  /**
   * The idle timeout changed (a reload): the tick scheduled under the old one is replaced by one
   * under the new, so a shorter timeout applies within its own sweep period, not after the rest of
   * the old one's (up to 15 s).
   */
  retime(): void {
    if (this.stopped || !this.pending) return;
    clearTimeout(this.timer);
    this.schedule();
  }

  /** Milliseconds until the next tick, under the current idle timeout and number of flows. */
  private get waitMs(): number {
    const ctl = this.deps.ctl();
    return sweepPeriodMs(ctl.cfg.idleTimeout) / sliceCount(ctl.flows.size);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.pending = true;
    this.timer = setTimeout(() => {
      this.pending = false;
      void this.tick().finally(() => this.schedule());
    }, this.waitMs);
    this.timer.unref();
  }

  /** The next slice of the current slicing. */
  private tick(): Promise<number> {
    const slices = sliceCount(this.deps.ctl().flows.size);
    const i = this.slice % slices;
    this.slice = i + 1;
    return this.sweep(slices, i);
  }

  /**
   * Reads the counts of slice `i` of `slices` (the flows whose cookie is `i` modulo `slices`, a power
   * of two; 1, 0: every flow) into the flow table, then deletes that slice's idle flows; returns how
   * many it deleted.
   */
  async sweep(slices = 1, i = 0): Promise<number> {
    const conn = this.deps.conn();
    if (this.running || conn === undefined || conn.closed) return 0;
    this.running = true;
    try {
      const ctl = this.deps.ctl();
      const t0 = performance.now();
      let read = 0;
      const unknown: number[] = [];
      await conn.flowCounts(BigInt(i), PROACTIVE_COOKIE_BIT | BigInt(slices - 1), (cookie, packets) => {
        read++;
        if (!ctl.flows.counted(cookie, packets, Date.now())) unknown.push(cookie);
      });
      // The connection may have been replaced meanwhile: the new one's flows were judged afresh.
      if (conn !== this.deps.conn()) return 0;
      const out = expireIdle(ctl, Date.now(), slices - 1, i);
      const orphans = this.orphans.judge(conn, unknown, slices - 1, i, (c) => ctl.flows.has(c));
      if (orphans.length > 0) {
        ctl.stats.flowsOrphaned += orphans.length;
        for (const c of orphans) out.push(deleteByCookie(c));
        this.deps.log.warn(
          { count: orphans.length, first: `0x${orphans[0]!.toString(16)}` },
          'reactive flows in the switch the agent does not record: deleted',
        );
      }
      ctl.stats.idleSweeps++;
      ctl.stats.idleSweepSlices = slices;
      ctl.stats.idleSweepFlows = read;
      ctl.stats.idleSweepMs = Math.round((performance.now() - t0) * 10) / 10;
      this.deps.send(out);
      return out.length;
    } catch (e) {
      this.deps.log.warn({ err: (e as Error).message }, 'idle expiry sweep failed; nothing expired');
      return 0;
    } finally {
      this.running = false;
    }
  }
}
