/**
 * Rehearsal: keeps the agent's first-packet path warm while no packet-in comes (agent config
 * flows.rehearseMs, 0: off).
 *
 * Why: new flows are sparse, so a first packet usually comes after the agent sat idle; by then the
 * agent's code and data have left the CPU's caches and the same packet-in costs about twice what it
 * costs right after another one (bench/agent-path `--gap-ms`, docs/first-packet-tail.md). A path run
 * once per sparse first packet never stays warm on its own.
 *
 * How: the agent notes the last table-miss packet-in (its bytes and fields copied into fields of
 * this module, nothing allocated); every `periodMs` in which no packet-in arrived, up to WARM_FOR_MS
 * after the last one, that packet-in is rehearsed (`rehearsePacketIn`: frame parsed, recent-flows
 * lookup, simulation, flow plan, FLOW_MOD and PACKET_OUT built, the predicted reply simulated) and
 * the messages encoded as the connection encodes them, into this module's own buffer. The socket read
 * and write are not rehearsed.
 *
 * Invariants: a rehearsal commits nothing (no effect, flow record, request or stat but `rehearsals`)
 * and writes nothing (its bytes go to a buffer no socket sees); it runs only
 * when no packet-in arrived within the period, so a packet-in waits behind at most one rehearsal; a
 * rehearsal that throws is logged and rehearsals stop (the real path is not touched by it).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { EncodedBatches, OFPR, type Outgoing, type PacketInView } from '../openflow/index.js';
import { FlowMatch } from '../sim/flow-match.js';
import { simulate } from '../sim/simulate.js';
import type { FlowController } from './controller.js';
import { packetOut } from './flow-mods.js';
import { fillFromFrame } from './frame-match.js';

/**
 * flows.rehearseMs's default (ms). In the lab, 2 and 5 ms did alike against ovs-testcontroller; 2 ms
 * gave the lower packet-in-to-write p50 (docs/first-packet-tail.md "Rehearsal").
 */
export const REHEARSE_MS_DEFAULT = 2;

/** Rehearsals stop this long after the last packet-in (an idle host spends no CPU on them). */
export const WARM_FOR_MS = 600_000;

export class Rehearsal {
  /** The last table miss noted: its frame's bytes (`data`, `length` of them) and fields. */
  private data = Buffer.alloc(2048);
  private length = -1;
  private inPort = 0;
  private tunnelId = 0;
  private bufferId = 0;
  /** The view of it rehearsed, built when a rehearsal first needs it after a packet-in was noted. */
  private last: PacketInView | undefined;
  /** performance.now() ms of the last packet-in noted or arrived. */
  private lastArrival = -Infinity;
  private readonly match = new FlowMatch();
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
    this.length = n;
    this.inPort = pi.inPort;
    this.tunnelId = pi.tunnelId;
    this.bufferId = pi.bufferId;
    this.last = undefined;
  }

  /** The view of the last table miss noted (built once per packet-in noted); undefined: none yet. */
  private view(): PacketInView | undefined {
    if (this.last === undefined && this.length >= 0) {
      const n = this.length;
      this.last = {
        xid: 0,
        bufferId: this.bufferId,
        totalLen: n,
        reason: OFPR.NO_MATCH,
        tableId: 0,
        inPort: this.inPort,
        tunnelId: this.tunnelId,
        data: this.data.subarray(0, n),
      };
    }
    return this.last;
  }

  /** Rehearses the last packet-in noted, unless one arrived within the period. */
  tick(now = performance.now()): void {
    const idle = now - this.lastArrival;
    if (this.failed || idle < this.periodMs || idle > WARM_FOR_MS) return;
    const pi = this.view();
    if (pi === undefined) return;
    const out = this.out;
    try {
      rehearsePacketIn(this.ctl(), this.match, pi, Date.now(), out);
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

/**
 * Rehearses packet-in `pi` on controller `ctl`, parsing it into `match`: the steps a first packet
 * takes (FlowController.handle), the frame parsed, the recent-flows lookup, the simulation, the flow
 * planned and its FLOW_MOD and PACKET_OUT built, the predicted reply simulated and planned, with
 * nothing committed: no effect, no flow recorded, no request to another host, no stat but
 * `rehearsals`. Appends the messages a real packet-in would have sent to `out` (to be encoded, never
 * written); nothing when the packet would not be simulated now (unknown port, a frame the agent does
 * not simulate, a topology object not held: no load is asked for).
 */
export function rehearsePacketIn(
  ctl: FlowController,
  match: FlowMatch,
  pi: PacketInView,
  now: number,
  out: Outgoing[],
): void {
  const portId = ctl.ports.portAt(pi.inPort);
  if (portId === undefined || fillFromFrame(match, pi.data, pi.tunnelId) !== null) return;
  ctl.stats.rehearsals++;
  ctl.recent.find(pi.inPort, match.orig, now);
  const res = simulate(ctl.topology, match, portId, now, { state: ctl.state });
  if (res.kind !== 'done') return;
  const p = ctl.planOnly(res, portId, pi.inPort);
  if (p.msg !== null) {
    out.push(p.msg);
    ctl.replies.rehearse(res, now, out);
  }
  if (p.actions.length > 0) out.push(packetOut(p.actions, pi.inPort, pi.bufferId, pi.data));
}
