/**
 * Packet-ins answered: the controller's messages for every packet-in handled in one turn of the event
 * loop (one socket read: many packet-ins under load) gathered and handed to the switch connection in
 * one write at the end of that turn (`perTurn`: agent config flows.answerPerTurn, off by default), or
 * each packet-in's in a write of its own; and the time from each packet-in's arrival to that write observed in the agent's packet-in
 * histogram. One write per turn instead of one per packet-in: a socket write is a system call and
 * Node's stream machinery, a third of the agent's time per packet-in under load when each had its own.
 * The daemon and bench/agent-path both answer through here, so the bench times the agent's own path.
 *
 * Order on the OpenFlow channel (the invariant the switch relies on: a FLOW_MOD before the PACKET_OUT
 * that goes through it, a deletion after the add it undoes): messages reach the socket in the order
 * the agent produced them. Within a turn, each packet-in's answer follows the previous one's in the one
 * buffer; anything else written on the connection while answers are gathered (a deletion computed from
 * a store change, a released held packet, a barrier) first writes the answers gathered so far
 * (`flushPending`, which the connection calls before each of its writes: SwitchLink wires it), so a
 * direct write never overtakes an earlier answer.
 *
 * Other invariants: nothing a packet-in does throws out of here (a failure is counted as ignored and
 * logged by its message, and its messages are dropped, not half sent); the latency is observed for
 * every packet-in, answered or not, when its answer has been written (queued to the socket); observing
 * formats and allocates nothing; the gathered messages are objects the controller built for this
 * packet-in alone (fresh match, actions and a view of the packet-in's own bytes), so encoding them at
 * the end of the turn writes what encoding them at once would.
 *
 * (The ECMP lab test once failed with one write per turn, 24-103 of 200 flows answered by the ISP but
 * not seen on either uplink: tcpdump's 2 MiB capture buffer overflowing under the denser burst of
 * packets the switch sends out after one write, "N packets dropped by kernel"; the captures now have
 * 32 MiB and the test counts tcpdump's drops. docs/perturn-ecmp.md has the evidence.)
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
  /** A write of gathered answers is under way (a connection's flushPending call must not recurse). */
  private writing = false;
  private readonly flushNow = () => this.flushPending();

  constructor(
    private readonly ctl: () => FlowController,
    private readonly send: (msgs: readonly Outgoing[]) => void,
    private readonly log: Logger,
    /** One write per turn (true) or per packet-in (false): agent config flows.answerPerTurn. */
    private readonly perTurn: boolean,
  ) {}

  /** `arrived`: performance.now() ms when the packet-in's bytes came off the socket. */
  answer(pi: PacketInView, arrived: number): void {
    const ctl = this.ctl();
    try {
      ctl.packetIn(pi, Date.now(), this.out);
    } catch (e) {
      // Its messages are the ones after the answers gathered (a flush meanwhile took only those).
      this.out.length = this.gathered();
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

  /**
   * Writes the answers gathered so far, if any (the connection calls this before each write of its
   * own, so nothing overtakes them). Idempotent, and a no-op while they are being written.
   */
  flushPending(): void {
    if (this.ends.length > 0 && !this.writing) this.flush();
  }

  /**
   * Writes the answers gathered (one write) and observes each packet-in's latency. Only whole answers:
   * messages of a packet-in still being handled (a write its handling caused) stay for its own write.
   */
  private flush(): void {
    this.scheduled = false;
    const end = this.gathered();
    const out = end === this.out.length ? this.out : this.out.slice(0, end);
    this.writing = true;
    try {
      this.send(out);
    } catch (e) {
      // One answer the codec refused: each packet-in's answer alone, the failing ones dropped (with
      // one packet-in, the one that failed).
      if (this.ends.length === 1) this.failed(e);
      else this.sendEach(out);
    } finally {
      this.writing = false;
    }
    const stats = this.ctl().stats;
    stats.packetInWrites++;
    const hist = stats.packetInLatency;
    const now = performance.now();
    for (const a of this.arrivals) hist.observe((now - a) * 1000);
    if (out === this.out) this.out.length = 0;
    else this.out.splice(0, end);
    this.ends.length = 0;
    this.arrivals.length = 0;
  }

  /** Where the last whole answer gathered ends in `out`. */
  private gathered(): number {
    const n = this.ends.length;
    return n === 0 ? 0 : this.ends[n - 1]!;
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
