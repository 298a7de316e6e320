/**
 * An OpenFlowConnection on an accepted socket read into one static buffer (static-reads.ts), over a
 * real unix socket: packet-ins split across reads and many in one read arrive whole and in order,
 * each packet-in's data keeps its bytes after later reads reuse the buffer, requests get their
 * replies, writes reach the switch, and the switch closing the socket closes the connection.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFlowConnection } from '../../src/agent/of-connection.js';
import { createLogger } from '../../src/log.js';
import {
  OFP_NO_BUFFER,
  OpenFlowFramer,
  encodeMessage,
  type Message,
  type PacketInView,
} from '../../src/openflow/index.js';

const log = createLogger({ name: 'test', level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'static-reads-'));
const opened: Array<() => void> = [];
after(() => {
  for (const close of opened) close();
  rmSync(dir, { recursive: true, force: true });
});
let sockets = 0;

/** A packet-in whose data is `size` bytes of `fill` (a different fill per packet-in). */
function packetInBytes(xid: number, fill: number, size: number): Buffer {
  return encodeMessage({
    type: 'packet_in',
    xid,
    bufferId: OFP_NO_BUFFER,
    totalLen: size,
    reason: 0,
    tableId: 0,
    cookie: 0n,
    match: [{ field: 'in_port', value: 3 }],
    data: Buffer.alloc(size, fill),
  });
}

/** The switch's end (a plain socket) and the agent's connection on the accepted, paused socket. */
async function pair() {
  const path = join(dir, `of${sockets++}.sock`);
  const server = createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const sw = connect(path);
  const conn = OpenFlowConnection.accepted(await accepted, log);
  const packetIns: PacketInView[] = [];
  conn.on('packetIn', (pi) => packetIns.push(pi));
  const read: Message[] = [];
  const framer = new OpenFlowFramer();
  sw.on('data', (chunk: Buffer) => {
    for (const ev of framer.push(chunk)) if (ev.kind === 'message') read.push(ev.msg);
  });
  opened.push(() => {
    sw.destroy();
    conn.close();
    server.close();
  });
  return { sw, conn, packetIns, read };
}

/** Writes `bytes` in pieces of `piece` bytes, each its own write, waiting for the agent in between. */
async function dribble(sw: Socket, bytes: Buffer, piece: number): Promise<void> {
  for (let i = 0; i < bytes.length; i += piece) {
    sw.write(bytes.subarray(i, i + piece));
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 2));
}

test('packet-ins split across reads and many in one read arrive whole, in order, and keep their bytes', async () => {
  const { sw, packetIns } = await pair();
  const frames = Array.from({ length: 40 }, (_, i) => packetInBytes(i + 1, i + 1, 60 + i * 37));
  // The first three dribbled in pieces that cut headers and bodies; the rest in one write.
  await dribble(sw, Buffer.concat(frames.slice(0, 3)), 7);
  sw.write(Buffer.concat(frames.slice(3)));
  await until(() => packetIns.length === frames.length);
  // Every packet-in still holds its own bytes now that later reads have reused the read buffer.
  packetIns.forEach((pi, i) => {
    assert.equal(pi.xid, i + 1);
    assert.equal(pi.inPort, 3);
    assert.deepEqual(pi.data, Buffer.alloc(60 + i * 37, i + 1));
  });
});

test('a request gets its reply through static reads, and writes reach the switch', async () => {
  const { sw, conn, read } = await pair();
  const replied = conn.barrier();
  await until(() => read.some((m) => m.type === 'barrier_request'));
  const req = read.find((m) => m.type === 'barrier_request')!;
  await dribble(sw, encodeMessage({ type: 'barrier_reply', xid: req.xid }), 3);
  await replied;
  sw.write(encodeMessage({ type: 'echo_request', xid: 77, data: Buffer.from('ping') }));
  await until(() => read.some((m) => m.type === 'echo_reply'));
  assert.deepEqual(
    read.find((m) => m.type === 'echo_reply'),
    { type: 'echo_reply', xid: 77, data: Buffer.from('ping') },
  );
});

test('the switch closing its end closes the connection', async () => {
  const { sw, conn } = await pair();
  const closed = new Promise<void>((r) => conn.once('close', r));
  sw.end();
  await closed;
  assert.equal(conn.closed, true);
});

test('a socket that was not accepted paused is refused', async () => {
  const path = join(dir, `of${sockets++}.sock`);
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const sw = connect(path);
  const s = await accepted;
  opened.push(() => {
    sw.destroy();
    s.destroy();
    server.close();
  });
  assert.throws(() => OpenFlowConnection.accepted(s, log), /pauseOnConnect/);
});
