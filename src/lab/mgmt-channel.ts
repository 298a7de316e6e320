/**
 * An OpenFlow 1.3 connection to one bridge's management socket (RUNDIR/BRIDGE.mgmt, the socket
 * `ovs-ofctl` uses), which the evaluation keeps open to change flows between its probe flows: deleting
 * the agent's reactive flows, or a floor controller's, before every flow of a case. One `ovs-ofctl`
 * process per change cost 8 to 10 ms of the machine's two cores per call, on every host.
 *
 * Invariants: `apply` resolves only after the switch's barrier reply, so the changes are in its
 * tables before the next probe packet, and SETTLE_MS after it: a change to any flow table makes Open
 * vSwitch revalidate its datapath cache, and it starts a revalidation no sooner than 5 ms after the
 * previous one began, so a probe's first packet right behind the change would have the FLOW_MOD it
 * causes revalidated late, and its packet 2 sent up again (measured: the agent's duplicate packet-ins
 * per flow went from 0.05-0.25 to 0.3-0.5 where a floor controller's flush came right before; the
 * processes this replaced had left 10 to 30 ms). The switch sends a management connection no
 * packet-ins, and flows deleted through it are reported to their controller (FLOW_REMOVED) as with
 * `ovs-ofctl`.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { OpenFlowConnection } from '../agent/of-connection.js';
import { createLogger, type Logger } from '../log.js';
import type { Outgoing } from '../openflow/index.js';

/** How long `apply` waits after the barrier reply (see the header). */
export const SETTLE_MS = 20;

export class MgmtChannel {
  private constructor(private readonly conn: OpenFlowConnection) {}

  /**
   * Connects to `bridge`'s management socket in `runDir` (HELLO and FEATURES exchanged); `log` gets
   * the connection's warnings (default: standard error).
   */
  static async open(
    runDir: string,
    bridge: string,
    log: Logger = createLogger({ name: 'lab', level: 'warn', destination: 2 }),
  ): Promise<MgmtChannel> {
    const path = join(runDir, `${bridge}.mgmt`);
    const sock = connect(path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', (e) => reject(new Error(`openflow ${path}: ${e.message}`)));
    });
    const conn = new OpenFlowConnection(sock, log.child({ bridge }));
    try {
      await conn.handshake();
    } catch (e) {
      conn.close();
      throw e;
    }
    return new MgmtChannel(conn);
  }

  /** Sends `msgs` in one write, then waits for the barrier reply and SETTLE_MS more. */
  async apply(msgs: readonly Outgoing[]): Promise<void> {
    this.conn.sendAll(msgs);
    await this.conn.barrier();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }

  close(): void {
    this.conn.close();
  }
}
