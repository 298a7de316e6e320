/**
 * A packet-in answered: the controller's messages for it (controller.ts) handed to the switch
 * connection in one write, and the time from its bytes' arrival to that write observed in the
 * agent's packet-in histogram; then, in a second write, the flow of its predicted reply when that
 * enters on this host (simulated only once the forward packet is on its way). The daemon and bench/agent-path both answer through here, so the
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
  const now = Date.now();
  try {
    send(ctl.packetIn(pi, now, true));
  } catch (e) {
    failed(ctl, log, e);
  }
  ctl.stats.packetInLatency.observe((performance.now() - arrived) * 1000);
  // The predicted local reply's flow, after the forward packet is on its way (reply-install.ts).
  try {
    const replies = ctl.replies.deferred(now);
    if (replies.length > 0) send(replies);
  } catch (e) {
    failed(ctl, log, e);
  }
}

function failed(ctl: FlowController, log: Logger, e: unknown): void {
  ctl.stats.ignored++;
  log.error({ err: (e as Error).message, stack: (e as Error).stack }, 'packet-in handling failed');
}
