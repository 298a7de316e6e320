/**
 * Packet-ins answered: the controller's messages for each packet-in handed to the switch connection
 * in one write, or (`perTurn`) those of every packet-in handled in one turn of the event loop (one
 * socket read: many packet-ins under load) gathered into one write at the end of that turn; and the time
 * from each packet-in's arrival to that write observed in the agent's packet-in histogram. One write
 * per turn instead of one per packet-in: a socket write is a system call and Node's stream
 * machinery, a third of the agent's time per packet-in under load when each had its own. The daemon
 * and bench/agent-path both answer through here, so the bench times the agent's own path.
 *
 * Invariants: nothing a packet-in does throws out of here (a failure is counted as ignored and
 * logged by its message, and its messages are dropped, not half sent); answers go out in arrival
 * order, before anything else the agent sends after this turn; the latency is observed for every
 * packet-in, answered or not, when its answer has been written (queued to the socket); observing
 * formats and allocates nothing.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import type { Outgoing, PacketInView } from '../openflow/index.js';
import type { FlowController } from './controller.js';

export class PacketInAnswerer {
  /** The answers of this turn's packet-ins, back to back. */
  private readonly out: Outgoing[] = [];
  /** Where each packet-in's answer ends in `out`. */
  private readonly ends: number[] = [];
  /** When each packet-in's bytes arrived (performance.now() ms). */
  private readonly arrivals: number[] = [];
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  constructor(
    private readonly ctl: () => FlowController,
    private readonly send: (msgs: readonly Outgoing[]) => void,
    private readonly log: Logger,
    /**
     * One write per turn (true) or per packet-in (false, the daemon's default). Per turn is faster
     * under load but broke the ECMP lab test (flows answered by the ISP yet not seen on either uplink,
     * reproduced 3 times in 3 runs, not understood yet), so the daemon answers each packet-in at once.
     */
    private readonly perTurn = false,
  ) {}

  /** `arrived`: performance.now() ms when the packet-in's bytes came off the socket. */
  answer(pi: PacketInView, arrived: number): void {
    const ctl = this.ctl();
    const start = this.out.length;
    try {
      ctl.packetIn(pi, Date.now(), this.out);
    } catch (e) {
      this.out.length = start;
      this.failed(e);
    }
    this.ends.push(this.out.length);
    this.arrivals.push(arrived);
    if (!this.perTurn) {
      this.flush();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      // Runs once the current callback (the socket read, or a drain of the queue) has returned.
      queueMicrotask(this.flushNow);
    }
  }

  /** Writes the answers gathered (one write) and observes each packet-in's latency. */
  flush(): void {
    this.scheduled = false;
    const out = this.out;
    try {
      this.send(out);
    } catch (e) {
      // One answer the codec refused: each packet-in's answer alone, the failing ones dropped (with
      // one packet-in, the one that failed).
      if (this.ends.length === 1) this.failed(e);
      else this.sendEach(out);
    }
    const stats = this.ctl().stats;
    stats.packetInWrites++;
    const hist = stats.packetInLatency;
    const now = performance.now();
    for (const a of this.arrivals) hist.observe((now - a) * 1000);
    out.length = 0;
    this.ends.length = 0;
    this.arrivals.length = 0;
  }

  private sendEach(out: readonly Outgoing[]): void {
    let from = 0;
    for (const end of this.ends) {
      try {
        this.send(out.slice(from, end));
      } catch (e) {
        this.failed(e);
      }
      from = end;
    }
  }

  private failed(e: unknown): void {
    this.ctl().stats.ignored++;
    this.log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'packet-in handling failed');
  }
}
