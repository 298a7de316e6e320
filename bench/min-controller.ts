/**
 * bench/min-controller: the smallest reactive OpenFlow 1.3 controller this project can write, as a
 * floor for the evaluation (what a controller costs when it does nothing but answer): a MAC-learning
 * switch that answers each PACKET_IN with FLOW_MOD (in_port, eth_src, eth_dst -> the learned port) +
 * PACKET_OUT, or with PACKET_OUT to FLOOD when the destination is unknown. It uses the project's own
 * codec fast paths (PACKET_IN reader, one encoded write per answer), nothing of the agent.
 *
 *   node dist/bench/min-controller.js SOCKET [--flood-flows] [--reply-flow]   listens on a unix socket
 *
 * `--flood-flows`: a packet-in for an unknown destination gets a flow too (actions FLOOD), as a
 * bridge of the agent that has not learned the destination gives (bench/flow-setup's floor).
 * `--reply-flow`: a packet-in for a learned destination also gets the reverse direction's flow
 * (in_port = the destination's port, the MACs swapped, out to the packet's in_port) in the same write,
 * ahead of the PACKET_OUT, as the agent answers a first packet: one trip per ping instead of two.
 *
 * Invariant: bounded (one MAC table entry per source MAC seen per connection); it serves every switch
 * that connects until SIGTERM, then removes its socket.
 */
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import {
  OFPFF,
  OFPG,
  OFPP,
  OFP_NO_BUFFER,
  OpenFlowFramer,
  PACKET_IN_CODE,
  encodeMessages,
  readPacketIn,
  type Outgoing,
} from '../src/openflow/index.js';
import { tableMissToController } from '../src/agent/flow-mods.js';

const path = process.argv[2] ?? '';
if (path === '') {
  process.stderr.write('usage: min-controller SOCKET\n');
  process.exit(2);
}

const MIN_COOKIE = 0x100n;
const FLOOD_FLOWS = process.argv.includes('--flood-flows');
const REPLY_FLOW = process.argv.includes('--reply-flow');

/** FLOW_MOD add: in_port, eth_dst, eth_src -> output `out` (the learning switch's only kind of flow). */
function flowTo(inPort: number, dst: string, src: string, out: number): Outgoing {
  return {
    type: 'flow_mod',
    cookie: MIN_COOKIE,
    cookieMask: 0n,
    tableId: 0,
    command: 'add',
    idleTimeout: 60,
    hardTimeout: 0,
    priority: 10,
    bufferId: OFP_NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: OFPFF.SEND_FLOW_REM,
    match: [
      { field: 'in_port', value: inPort },
      { field: 'eth_dst', value: dst },
      { field: 'eth_src', value: src },
    ],
    instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: out, maxLen: 0 }] }],
  };
}

function macText(b: Buffer, at: number): string {
  return b.toString('hex', at, at + 6).replace(/(..)(?!$)/g, '$1:');
}

function serve(sock: Socket): void {
  const framer = new OpenFlowFramer({ raw: new Set([PACKET_IN_CODE]) });
  const macs = new Map<string, number>();
  let xid = 1;
  const send = (msgs: Outgoing[]) =>
    sock.write(
      encodeMessages(
        msgs,
        msgs.map(() => xid++),
      ),
    );
  send([
    { type: 'hello', version: 4, elements: [{ type: 'versionbitmap', bitmaps: [1 << 4] }] },
    tableMissToController(),
  ]);
  sock.on('data', (chunk: Buffer) => {
    for (const ev of framer.push(chunk)) {
      if (ev.kind === 'raw') {
        const pi = readPacketIn(ev.bytes);
        if (typeof pi === 'string' || pi.data.length < 14) continue;
        const dst = macText(pi.data, 0);
        const src = macText(pi.data, 6);
        macs.set(src, pi.inPort);
        const out = macs.get(dst) ?? (FLOOD_FLOWS ? OFPP.FLOOD : undefined);
        const data = pi.bufferId === OFP_NO_BUFFER ? pi.data : Buffer.alloc(0);
        if (out === undefined) {
          send([
            {
              type: 'packet_out',
              bufferId: pi.bufferId,
              inPort: pi.inPort,
              actions: [{ type: 'output', port: OFPP.FLOOD, maxLen: 0 }],
              data,
            },
          ]);
          continue;
        }
        const actions = [{ type: 'output' as const, port: out, maxLen: 0 }];
        send([
          flowTo(pi.inPort, dst, src, out),
          ...(REPLY_FLOW && out !== OFPP.FLOOD ? [flowTo(out, src, dst, pi.inPort)] : []),
          { type: 'packet_out', bufferId: pi.bufferId, inPort: pi.inPort, actions, data },
        ]);
      } else if (ev.kind === 'message' && ev.msg.type === 'echo_request') {
        send([{ type: 'echo_reply', data: ev.msg.data }]);
      } else if (ev.kind === 'message' && ev.msg.type === 'features_request') {
        // not sent by switches
      }
    }
  });
  sock.on('error', () => sock.destroy());
}

rmSync(path, { force: true });
const server = createServer((s) => serve(s));
function shutdown(code: number): void {
  server.close();
  rmSync(path, { force: true });
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
server.listen(path, () => process.stdout.write(`listening on ${path}\n`));
