/**
 * bench/flow-monitor: counts the flows Open vSwitch adds to a bridge, as the switch reports them, so a
 * bench knows when a FLOW_MOD has been applied without asking the controller that sent it. One
 * OpenFlow 1.3 connection (the bridge's `.mgmt` socket) with an Open vSwitch flow monitor (in
 * OpenFlow 1.3 the ONF extension 187, multipart experimenter type 1870, whose request and updates
 * Open vSwitch lays out as its Nicira NXST_FLOW_MONITOR, the one `ovs-ofctl monitor BRIDGE watch:`
 * uses): after each FLOW_MOD that adds a flow, the switch sends an update with event ADDED. Echo
 * requests are answered.
 *
 * Invariant: `added` counts every ADDED update received; if the switch pauses the monitor (its queue
 * to this connection full: updates would be lost), `paused` is set and stays set, and the count is no
 * longer complete (the bench fails rather than report a wrong figure).
 */
import { connect, type Socket } from 'node:net';
import { OpenFlowFramer } from '../src/openflow/index.js';

const OFPT_HELLO = 0;
const OFPT_ECHO_REQUEST = 2;
const OFPT_ECHO_REPLY = 3;
const OFPT_EXPERIMENTER = 4;
const OFPT_MULTIPART_REQUEST = 18;
const OFPT_MULTIPART_REPLY = 19;
const OFPMP_EXPERIMENTER = 0xffff;
const ONF_EXPERIMENTER_ID = 0x4f4e4600;
const ONFST_FLOW_MONITOR = 1870;
const ONFT_FLOW_MONITOR_PAUSED = 1871;
/** nx_flow_monitor_request flags: report flows added. */
const NXFMF_ADD = 1 << 1;
const NXFME_ADDED = 0;

function header(type: number, length: number, xid: number): Buffer {
  const b = Buffer.alloc(length);
  b.writeUInt8(4, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid, 4);
  return b;
}

export class FlowMonitor {
  /** ADDED updates received since connect. */
  added = 0;
  paused = false;
  private readonly framer = new OpenFlowFramer({
    raw: new Set([OFPT_HELLO, OFPT_ECHO_REQUEST, OFPT_EXPERIMENTER, OFPT_MULTIPART_REPLY]),
  });
  /** Callers of `until`: each returns true once it is done. */
  private waiters: Array<() => boolean> = [];

  private constructor(private readonly sock: Socket) {
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** Connects to `path` and starts monitoring every table for added flows. */
  static async open(path: string): Promise<FlowMonitor> {
    const sock = connect(path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const m = new FlowMonitor(sock);
    const hello = header(OFPT_HELLO, 8, 1);
    // Multipart request header (16) + experimenter/type (8) + the monitor request (16: id, flags,
    // match_len, out_port, table_id, 3 zeros) + an empty OXM match (type 1, length 4, 4 pad bytes).
    const req = header(OFPT_MULTIPART_REQUEST, 48, 2);
    req.writeUInt16BE(OFPMP_EXPERIMENTER, 8);
    req.writeUInt32BE(ONF_EXPERIMENTER_ID, 16);
    req.writeUInt32BE(ONFST_FLOW_MONITOR, 20);
    req.writeUInt32BE(1, 24); // monitor id
    req.writeUInt16BE(NXFMF_ADD, 28);
    req.writeUInt16BE(4, 30); // match_len: the empty match
    req.writeUInt32BE(0xffffffff, 32); // out_port: any
    req.writeUInt8(0xff, 36); // every table
    req.writeUInt16BE(1, 40); // OFPMT_OXM
    req.writeUInt16BE(4, 42);
    sock.write(Buffer.concat([hello, req]));
    return m;
  }

  /** Resolves once `added` reaches `n`, or after `timeoutMs` (whichever comes first). */
  until(n: number, timeoutMs: number): Promise<void> {
    if (this.added >= n || this.paused) return Promise.resolve();
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        resolve();
      }, timeoutMs);
      this.waiters.push(() => {
        if (settled) return true;
        if (this.added < n && !this.paused) return false;
        clearTimeout(timer);
        resolve();
        return true;
      });
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const ev of this.framer.push(chunk)) {
      if (ev.kind !== 'raw') continue;
      const b = ev.bytes;
      if (ev.code === OFPT_ECHO_REQUEST) {
        const reply = Buffer.from(b);
        reply.writeUInt8(OFPT_ECHO_REPLY, 1);
        this.sock.write(reply);
      } else if (ev.code === OFPT_EXPERIMENTER && b.length >= 16) {
        if (b.readUInt32BE(8) === ONF_EXPERIMENTER_ID && b.readUInt32BE(12) === ONFT_FLOW_MONITOR_PAUSED)
          this.paused = true;
      } else if (
        ev.code === OFPT_MULTIPART_REPLY &&
        b.length >= 24 &&
        b.readUInt16BE(8) === OFPMP_EXPERIMENTER &&
        b.readUInt32BE(16) === ONF_EXPERIMENTER_ID &&
        b.readUInt32BE(20) === ONFST_FLOW_MONITOR
      ) {
        // nx_flow_update records: u16 length, u16 event, ...
        for (let at = 24; at + 4 <= b.length;) {
          const len = b.readUInt16BE(at);
          if (len < 4) break;
          if (b.readUInt16BE(at + 2) === NXFME_ADDED) this.added++;
          at += len;
        }
      }
    }
    this.waiters = this.waiters.filter((w) => !w());
  }
}
