/**
 * IdleExpiry on a real OpenFlowConnection over a unix socket, the switch's side scripted: a read asks
 * for one slice of the reactive flows by cookie mask; a reply in several parts (OFPMPF_MORE) is read
 * from its bytes to the last part, the counts applied and the idle flows of that slice deleted, on
 * the same connection; a switch ERROR or a bad part fails the read and deletes nothing; a FLOW stats
 * request without a raw reader (flow adoption) still gets decoded entries.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdleExpiry } from '../../src/agent/idle-expiry.js';
import { OpenFlowConnection } from '../../src/agent/of-connection.js';
import { PROACTIVE_COOKIE_BIT } from '../../src/agent/flow-table.js';
import { createLogger } from '../../src/log.js';
import {
  OFPFF,
  OFPMPF_MORE,
  OpenFlowFramer,
  encodeMessage,
  type FlowStats,
  type Message,
  type Outgoing,
} from '../../src/openflow/index.js';
import { bridgeWorld } from '../support/bridge-world.js';
import { packetIn } from '../support/packet-in.js';
import { udpFrame } from '../support/udp-frame.js';

const log = createLogger({ name: 'test', level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'idle-wire-'));
const opened: Array<() => void> = [];
after(() => {
  for (const close of opened) close();
  rmSync(dir, { recursive: true, force: true });
});
let sockets = 0;

function stats(cookie: number, packets: number): FlowStats {
  return {
    tableId: 0,
    durationSec: 1,
    durationNsec: 0,
    priority: 10,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: OFPFF.SEND_FLOW_REM,
    cookie: BigInt(cookie),
    packetCount: BigInt(packets),
    byteCount: BigInt(packets * 60),
    match: [{ field: 'in_port', value: 1 }],
    instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
  };
}

/** The cookie each message deletes (-1: not a deletion). */
function deletedCookies(msgs: readonly Outgoing[]): number[] {
  return msgs.map((m) => (m.type === 'flow_mod' && m.command === 'delete' ? Number(m.cookie) : -1));
}

/** A controller with six flows (installed at t = 1 s) and its connection to a scripted switch. */
async function wired(answer: (req: Message, reply: (m: Message | Buffer) => void) => void) {
  const path = join(dir, `of${sockets++}.sock`);
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const sw = connect(path);
  const conn = new OpenFlowConnection(await accepted, log, 2000);
  const read: Message[] = [];
  const framer = new OpenFlowFramer();
  sw.on('data', (chunk: Buffer) => {
    for (const ev of framer.push(chunk)) {
      assert.equal(ev.kind, 'message');
      if (ev.kind !== 'message') continue;
      read.push(ev.msg);
      if (ev.msg.type === 'multipart_request')
        answer(ev.msg, (m) => sw.write(Buffer.isBuffer(m) ? m : encodeMessage(m)));
    }
  });
  opened.push(() => {
    sw.destroy();
    conn.close();
    server.close();
  });
  const { ctl } = bridgeWorld();
  const pin = (inPort: number, src: string, dst: string) =>
    packetIn(
      udpFrame({ src, dst, srcIp: '192.0.2.10', dstIp: '192.0.2.11', srcPort: 4000, ttl: 64 }),
      inPort,
    );
  ctl.packetIn(pin(2, '02:00:00:00:00:02', '02:00:00:00:00:01'), 1000);
  ctl.packetIn(pin(1, '02:00:00:00:00:01', '02:00:00:00:00:02'), 1000);
  for (let i = 3; i < 7; i++) ctl.packetIn(pin(1, '02:00:00:00:00:01', `02:00:00:00:00:0${i}`), 1000); // floods
  const sent: Outgoing[] = [];
  const expiry = new IdleExpiry({
    conn: () => conn,
    ctl: () => ctl,
    send: (msgs) => {
      sent.push(...msgs);
      conn.sendAll(msgs);
    },
    log,
  });
  return { ctl, conn, read, sent, expiry };
}

test("a slice read in several parts: counts applied, that slice's idle flows deleted, the rest kept", async () => {
  const { ctl, read, sent, expiry } = await wired((req, reply) => {
    assert.ok(req.type === 'multipart_request' && req.body.type === 'flow');
    const { cookie, cookieMask } = req.body;
    // Every recorded flow whose cookie is in the asked slice, a part per flow, MORE on all but the last.
    const mine = [...ctl.flows.all()].map((f) => f.cookie).filter((c) => (BigInt(c) & cookieMask) === cookie);
    mine.forEach((c, i) =>
      reply({
        type: 'multipart_reply',
        xid: req.xid,
        flags: i < mine.length - 1 ? OFPMPF_MORE : 0,
        body: { type: 'flow', flows: [stats(c, c === mine[0] ? 4 : 0)] },
      }),
    );
  });
  const cookies = [...ctl.flows.all()].map((f) => f.cookie);
  const odd = cookies.filter((c) => c % 2 === 1);
  assert.ok(odd.length >= 3, `a reply of several parts: cookies ${cookies.join(' ')}`);
  // Slice 1 of 2, 60 s timeout, flows installed at 1 s: at wall-clock now all of them are long idle
  // but the one the switch counted 4 packets for.
  const gone = await expiry.sweep(2, 1);
  const req = read.find((m) => m.type === 'multipart_request');
  assert.ok(req?.type === 'multipart_request' && req.body.type === 'flow');
  assert.equal(req.body.cookie, 1n);
  assert.equal(req.body.cookieMask, PROACTIVE_COOKIE_BIT | 1n);
  assert.equal(gone, odd.length - 1);
  const deleted = deletedCookies(sent);
  assert.deepEqual(deleted, odd.slice(1));
  assert.deepEqual(
    [...ctl.flows.all()].map((f) => f.cookie).sort(),
    cookies.filter((c) => !deleted.includes(c)).sort(),
  );
  assert.equal(ctl.flows.usage(odd[0]!)?.packets, 4);
  assert.equal(ctl.stats.idleSweeps, 1);
  assert.equal(ctl.stats.idleSweepSlices, 2);
  assert.equal(ctl.stats.idleSweepFlows, odd.length);
  // The deletions reached the switch on the same connection.
  while (read.filter((m) => m.type === 'flow_mod').length < deleted.length)
    await new Promise((r) => setImmediate(r));
});

test('a switch ERROR or an undecodable part fails the read, and nothing is deleted', async () => {
  for (const bad of ['error', 'part'] as const) {
    const { ctl, sent, expiry } = await wired((req, reply) => {
      if (bad === 'error') {
        reply({ type: 'error', xid: req.xid, errType: 1, code: 2, data: Buffer.alloc(0) });
        return;
      }
      const bytes = Buffer.from(
        encodeMessage({
          type: 'multipart_reply',
          xid: req.xid,
          flags: 0,
          body: { type: 'flow', flows: [stats(2, 1)] },
        }),
      );
      bytes.writeUInt16BE(9999, 16); // the entry says it is longer than the frame
      reply(bytes);
    });
    const flows = ctl.flows.size;
    assert.equal(await expiry.sweep(), 0, bad);
    assert.deepEqual(sent, [], bad);
    assert.equal(ctl.flows.size, flows, bad);
    assert.equal(ctl.stats.idleSweeps, 0, bad);
  }
});

test('a FLOW stats request without a raw reader still gets its entries decoded', async () => {
  const { conn } = await wired((req, reply) =>
    reply({
      type: 'multipart_reply',
      xid: req.xid,
      flags: 0,
      body: { type: 'flow', flows: [stats(5, 3), stats(6, 0)] },
    }),
  );
  const found = await conn.flowStats(0n, PROACTIVE_COOKIE_BIT);
  assert.deepEqual(
    found.map((f) => [f.cookie, f.packetCount]),
    [
      [5n, 3n],
      [6n, 0n],
    ],
  );
});

test('a reactive flow the agent does not record is deleted at the second read that finds it', async () => {
  let reads = 0;
  const strays: number[][] = [[900, 901], [900], [901], [901]];
  const { ctl, sent, expiry } = await wired((req, reply) => {
    const mine = [...ctl.flows.all()].map((f) => stats(f.cookie, reads + 1)); // counts moving: in use
    reply({
      type: 'multipart_reply',
      xid: req.xid,
      flags: 0,
      body: { type: 'flow', flows: [...mine, ...strays[reads++]!.map((c) => stats(c, 0))] },
    });
  });
  const flows = ctl.flows.size;
  const deletedAt = async () => {
    sent.length = 0;
    await expiry.sweep();
    return deletedCookies(sent);
  };
  assert.deepEqual(await deletedAt(), [], 'one sighting: maybe a deletion in flight');
  assert.deepEqual(await deletedAt(), [900], 'two in a row: an orphan');
  assert.deepEqual(await deletedAt(), [], '901 was missing from the read between: watched afresh');
  assert.deepEqual(await deletedAt(), [901]);
  assert.equal(ctl.stats.flowsOrphaned, 2);
  assert.equal(ctl.flows.size, flows, 'the recorded flows, in use, all kept');
});
