/**
 * PacketInAnswerer on a real OpenFlowConnection over a unix socket, read back by the switch's side
 * and decoded: the answers of many packet-ins gathered over one turn and written at once decode to
 * exactly the messages (xids aside) that one write per packet-in gives; and a write made on the
 * connection while answers are gathered goes out after them, so the switch sees messages in the
 * order the agent made them (a deletion never before the add it follows).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteByCookie } from '../../src/agent/flow-mods.js';
import { OpenFlowConnection } from '../../src/agent/of-connection.js';
import { PacketInAnswerer } from '../../src/agent/packet-in-answer.js';
import { createLogger } from '../../src/log.js';
import { OpenFlowFramer, type Message } from '../../src/openflow/index.js';
import { bridgeWorld } from '../support/bridge-world.js';
import { packetIn } from '../support/packet-in.js';
import { udpFrame } from '../support/udp-frame.js';

const log = createLogger({ name: 'test', level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'answer-wire-'));
/** Every connection made, closed after the tests (also when one fails). */
const opened: Array<() => void> = [];
after(() => {
  for (const close of opened) close();
  rmSync(dir, { recursive: true, force: true });
});
let sockets = 0;

function frameTo(i: number): Buffer {
  return udpFrame({
    src: '02:00:00:00:00:01',
    dst: `02:ee:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
    srcPort: 40000 + i,
    dstPort: 7,
    data: new Uint8Array(18 + (i % 7)),
  });
}

/**
 * A bridge world's controller answering through a connection as the daemon wires it (answers written
 * before any other write), whose switch side records every message it reads, decoded.
 */
async function wired(perTurn: boolean) {
  const path = join(dir, `of${sockets++}.sock`);
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const sw = connect(path);
  const conn = new OpenFlowConnection(await accepted, log);
  const read: Message[] = [];
  const framer = new OpenFlowFramer();
  sw.on('data', (chunk: Buffer) => {
    for (const ev of framer.push(chunk)) {
      assert.equal(ev.kind, 'message', 'the switch decodes every message the agent wrote');
      if (ev.kind === 'message') read.push(ev.msg);
    }
  });
  const { ctl } = bridgeWorld();
  const answers = new PacketInAnswerer(
    () => ctl,
    (m) => conn.sendAll(m),
    log,
    perTurn,
  );
  conn.beforeWrite = () => answers.flushPending();
  opened.push(() => {
    sw.destroy();
    conn.close();
    server.close();
  });
  return { ctl, answers, conn, read };
}

/** Waits until `read` holds `n` messages. */
async function readCount(read: readonly Message[], n: number): Promise<void> {
  while (read.length < n) await new Promise((r) => setImmediate(r));
}

const withoutXid = (m: Message) => ({ ...m, xid: 0 });

test('the answers of one turn written at once decode to the messages of one write per packet-in', async () => {
  const runs: Message[][] = [];
  for (const perTurn of [true, false]) {
    const { ctl, answers, ...w } = await wired(perTurn);
    const writes = ctl.stats.packetInWrites;
    // 300 packet-ins in one turn: their answers outgrow the connection's first encode buffer.
    for (let i = 1; i <= 300; i++) answers.answer(packetIn(frameTo(i), 1), performance.now());
    await new Promise((r) => setImmediate(r));
    assert.equal(ctl.stats.packetInWrites - writes, perTurn ? 1 : 300);
    await readCount(w.read, w.conn.sent);
    runs.push(w.read.map(withoutXid));
  }
  const [turn, each] = runs;
  assert.ok(turn!.length >= 600, 'a FLOW_MOD and a PACKET_OUT per packet-in at least');
  assert.deepEqual(turn, each);
});

test('a write on the connection while answers are gathered goes out after them', async () => {
  const { answers, ...w } = await wired(true);
  for (let i = 1; i <= 3; i++) answers.answer(packetIn(frameTo(i), 1), performance.now());
  const installed = [...w.read];
  assert.equal(installed.length, 0, 'nothing read yet');
  // Within the same turn: the deletion of the first flow (as an invalidation would send it).
  w.conn.sendAll([deleteByCookie(1)]);
  w.conn.send({ type: 'barrier_request' });
  await readCount(w.read, w.conn.sent);
  const kinds = w.read.map((m) =>
    m.type === 'flow_mod' ? `${m.command}:${m.cookie}` : m.type === 'packet_out' ? 'out' : m.type,
  );
  const adds = kinds.filter((k) => k.startsWith('add:'));
  assert.equal(adds.length, 3);
  assert.deepEqual(kinds.slice(-2), ['delete:1', 'barrier_request'], `order read: ${kinds.join(' ')}`);
  assert.ok(kinds.indexOf('add:1') < kinds.indexOf('delete:1'));
});
