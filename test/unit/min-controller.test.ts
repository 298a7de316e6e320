/**
 * bench/min-controller (the evaluation's minimal controller): a learned destination gets one flow and
 * a PACKET_OUT in one write, and with `--reply-flow` also the reverse direction's flow (MACs swapped,
 * from the destination's port back to the packet's in_port) ahead of the PACKET_OUT. The controller
 * runs as its own process on a unix socket; the test plays the switch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { encodeMessage, OFP_NO_BUFFER, OpenFlowFramer, type Message } from '../../src/openflow/index.js';

const CONTROLLER = fileURLToPath(new URL('../../bench/min-controller.js', import.meta.url));

function frame(dst: string, src: string): Buffer {
  const mac = (m: string) => Buffer.from(m.replace(/:/g, ''), 'hex');
  return Buffer.concat([mac(dst), mac(src), Buffer.from([0x08, 0x00]), Buffer.alloc(46)]);
}

function packetIn(xid: number, inPort: number, data: Buffer): Message {
  return {
    type: 'packet_in',
    xid,
    bufferId: OFP_NO_BUFFER,
    totalLen: data.length,
    reason: 0,
    tableId: 0,
    cookie: 0n,
    match: [{ field: 'in_port', value: inPort }],
    data,
  };
}

/** The messages the controller writes after the switch's HELLO and two packet-ins (A->B, B->A). */
async function answers(flags: string[]): Promise<Message[]> {
  const dir = mkdtempSync(join(tmpdir(), 'minctl-'));
  const sock = join(dir, 'c.sock');
  const child = spawn(process.execPath, [CONTROLLER, sock, ...flags], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
    const s = connect(sock);
    const framer = new OpenFlowFramer();
    const got: Message[] = [];
    const done = new Promise<void>((resolve) =>
      s.on('data', (chunk: Buffer) => {
        for (const ev of framer.push(chunk)) if (ev.kind === 'message') got.push(ev.msg);
        // hello + table-miss flow, flood PACKET_OUT, then the learned answer ending in a PACKET_OUT
        if (got.filter((m) => m.type === 'packet_out').length === 2) resolve();
      }),
    );
    s.write(encodeMessage({ type: 'hello', xid: 1, version: 4, elements: [] }));
    s.write(encodeMessage(packetIn(2, 1, frame('02:00:00:00:00:0b', '02:00:00:00:00:0a'))));
    s.write(encodeMessage(packetIn(3, 2, frame('02:00:00:00:00:0a', '02:00:00:00:00:0b'))));
    await done;
    s.destroy();
    return got.slice(got.findIndex((m) => m.type === 'packet_out') + 1);
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

const fields = (m: Message) =>
  m.type === 'flow_mod'
    ? Object.fromEntries(m.match.map((f) => [f.field, 'value' in f ? f.value : undefined]))
    : undefined;

test('a learned destination: one FLOW_MOD and the PACKET_OUT', async () => {
  const got = await answers([]);
  assert.deepEqual(
    got.map((m) => m.type),
    ['flow_mod', 'packet_out'],
  );
  assert.deepEqual(fields(got[0]!), {
    in_port: 2,
    eth_dst: '02:00:00:00:00:0a',
    eth_src: '02:00:00:00:00:0b',
  });
});

test('--reply-flow: the reverse flow too, in the same answer, before the PACKET_OUT', async () => {
  const got = await answers(['--reply-flow']);
  assert.deepEqual(
    got.map((m) => m.type),
    ['flow_mod', 'flow_mod', 'packet_out'],
  );
  assert.deepEqual(fields(got[1]!), {
    in_port: 1,
    eth_dst: '02:00:00:00:00:0b',
    eth_src: '02:00:00:00:00:0a',
  });
  const out = got[1]!.type === 'flow_mod' ? got[1].instructions : [];
  assert.deepEqual(out, [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }]);
});
