/**
 * A packet-in answered: the controller's messages for it (controller.ts) handed to the switch
 * connection in one write, and the time from its bytes' arrival to that write observed in the
 * agent's packet-in histogram. The daemon and bench/agent-path both answer through here, so the
 * bench times the agent's own path.
 *
 * Invariant: nothing a packet-in does throws out of here (a failure is counted as ignored and logged
 * by its message); the latency is observed for every packet-in, answered or not, and observing
 * formats and allocates nothing.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import type { Outgoing, PacketInView } from '../openflow/index.js';
import type { FlowController } from './controller.js';

/** `arrived`: performance.now() ms when the packet-in's bytes came off the socket. */
export function answerPacketIn(
  ctl: FlowController,
  send: (msgs: readonly Outgoing[]) => void,
  log: Logger,
  pi: PacketInView,
  arrived: number,
): void {
  try {
    send(ctl.packetIn(pi, Date.now()));
  } catch (e) {
    ctl.stats.ignored++;
    log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'packet-in handling failed');
  }
  ctl.stats.packetInLatency.observe((performance.now() - arrived) * 1000);
}
