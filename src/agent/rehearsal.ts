/**
 * Rehearsal: keeps the agent's first-packet path warm while no packet-in comes (agent config
 * flows.rehearseMs, 0: off).
 *
 * Why: new flows are sparse, so a first packet usually comes after the agent sat idle; by then the
 * agent's code and data have left the CPU's caches and the same packet-in costs about twice what it
 * costs right after another one (bench/agent-path `--gap-ms`, docs/first-packet-tail.md). A path run
 * once per sparse first packet never stays warm on its own.
 *
 * How: the agent notes the last table-miss packet-in (its bytes copied into one reused buffer);
 * every `periodMs` in which no packet-in arrived, up to WARM_FOR_MS after the last one, that
 * packet-in is rehearsed: the controller's `rehearse` (frame parsed, recent-flows lookup, simulation,
 * flow plan, FLOW_MOD and PACKET_OUT built, the predicted reply simulated) and the messages encoded
 * as the connection encodes them, into this module's own buffer. The socket read and write are not
 * rehearsed.
 *
 * Invariants: a rehearsal commits nothing (no effect, flow record, request or stat but `rehearsals`:
 * FlowController.rehearse) and writes nothing (its bytes go to a buffer no socket sees); it runs only
 * when no packet-in arrived within the period, so a packet-in waits behind at most one rehearsal; a
 * rehearsal that throws is logged and rehearsals stop (the real path is not touched by it).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { EncodedBatches, OFPR, type Outgoing, type PacketInView } from '../openflow/index.js';
import type { FlowController } from './controller.js';

/**
 * flows.rehearseMs's default (ms). In the lab, 2 and 5 ms did alike against ovs-testcontroller; 2 ms
 * gave the lower packet-in-to-write p50 (docs/first-packet-tail.md "Rehearsal").
 */
export const REHEARSE_MS_DEFAULT = 2;

/** Rehearsals stop this long after the last packet-in (an idle host spends no CPU on them). */
export const WARM_FOR_MS = 600_000;

export class Rehearsal {
  /** The bytes of the last packet-in noted (its frame), and its fields. */
  private data = Buffer.alloc(2048);
  private last: PacketInView | undefined;
  /** performance.now() ms of the last packet-in noted or arrived. */
  private lastArrival = -Infinity;
  private readonly out: Outgoing[] = [];
  private readonly xids: number[] = [];
  private readonly batches = new EncodedBatches();
  private timer: NodeJS.Timeout | undefined;
  /** A rehearsal threw: no more. */
  private failed = false;

  constructor(
    private readonly ctl: () => FlowController,
    private readonly periodMs: number,
    private readonly log: Logger,
  ) {}

  /** Starts rehearsing (no-op when the period is 0). */
  start(): void {
    if (this.periodMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A packet-in arrived (`arrived`: performance.now() ms): no rehearsal within the period; a table
   * miss is kept as the one to rehearse.
   */
  noted(pi: PacketInView, arrived: number): void {
    this.lastArrival = arrived;
    if (this.periodMs <= 0 || pi.reason !== OFPR.NO_MATCH) return;
    const n = pi.data.length;
    if (n > this.data.length) this.data = Buffer.alloc(n);
    pi.data.copy(this.data);
    this.last = {
      xid: 0,
      bufferId: pi.bufferId,
      totalLen: pi.totalLen,
      reason: pi.reason,
      tableId: pi.tableId,
      inPort: pi.inPort,
      tunnelId: pi.tunnelId,
      data: this.data.subarray(0, n),
    };
  }

  /** Rehearses the last packet-in noted, unless one arrived within the period. */
  tick(now = performance.now()): void {
    const pi = this.last;
    const idle = now - this.lastArrival;
    if (pi === undefined || this.failed || idle < this.periodMs || idle > WARM_FOR_MS) return;
    const out = this.out;
    try {
      this.ctl().rehearse(pi, Date.now(), out);
      if (out.length > 0) {
        this.xids.length = out.length;
        this.xids.fill(0);
        this.batches.encode(out, this.xids);
        this.batches.released();
      }
    } catch (e) {
      this.failed = true;
      this.stop();
      this.log.error({ err: (e as Error).message }, 'rehearsal failed; rehearsals stopped');
    } finally {
      out.length = 0;
    }
  }
}
