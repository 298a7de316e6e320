/**
 * Stream framing: messages split byte by byte, many messages in one chunk, a frame that does not
 * decode (the stream goes on), and headers that cannot start a frame (the framer stops and says
 * why). Nothing is thrown; every outcome is an event value.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { encodeMessage, type FramerEvent, type Message, OpenFlowFramer } from '../../src/openflow/index.js';

const HELLO: Message = {
  type: 'hello',
  xid: 1,
  version: 4,
  elements: [{ type: 'versionbitmap', bitmaps: [0x10] }],
};
const ECHO: Message = { type: 'echo_request', xid: 2, data: Buffer.from('ping') };
const BARRIER: Message = { type: 'barrier_reply', xid: 3 };
const BIG_ECHO: Message = { type: 'echo_reply', xid: 4, data: Buffer.alloc(65535 - 8, 7) };

function messages(events: FramerEvent[]): Message[] {
  return events.map((e) => {
    assert.equal(e.kind, 'message', JSON.stringify(e));
    return e.kind === 'message' ? e.msg : HELLO;
  });
}

test('one message split across many chunks, byte by byte', () => {
  const framer = new OpenFlowFramer();
  const bytes = encodeMessage(HELLO);
  const events: FramerEvent[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const out = framer.push(bytes.subarray(i, i + 1));
    if (i < bytes.length - 1) assert.deepEqual(out, []);
    events.push(...out);
  }
  assert.deepEqual(messages(events), [HELLO]);
  assert.equal(framer.bufferedBytes, 0);
});

test('a maximum-size message fed byte by byte is assembled, holding less than one frame', () => {
  const framer = new OpenFlowFramer();
  const bytes = encodeMessage(BIG_ECHO);
  assert.equal(bytes.length, 65535);
  const events: FramerEvent[] = [];
  for (let i = 0; i < bytes.length; i++) {
    events.push(...framer.push(bytes.subarray(i, i + 1)));
    assert.ok(framer.bufferedBytes < 65535);
  }
  assert.deepEqual(messages(events), [BIG_ECHO]);
});

test('several messages coalesced in one chunk, with a partial one carried over', () => {
  const framer = new OpenFlowFramer();
  const all = Buffer.concat([
    encodeMessage(HELLO),
    encodeMessage(ECHO),
    encodeMessage(BARRIER),
    encodeMessage(ECHO),
  ]);
  const cut = all.length - 3;
  assert.deepEqual(messages(framer.push(all.subarray(0, cut))), [HELLO, ECHO, BARRIER]);
  assert.equal(framer.bufferedBytes, encodeMessage(ECHO).length - 3);
  assert.deepEqual(messages(framer.push(all.subarray(cut))), [ECHO]);
  assert.equal(framer.bufferedBytes, 0);
});

test('chunks cutting through headers at every offset give the same messages', () => {
  const all = Buffer.concat([encodeMessage(HELLO), encodeMessage(ECHO), encodeMessage(BARRIER)]);
  for (let cut = 1; cut < all.length; cut++) {
    const framer = new OpenFlowFramer();
    const events = [...framer.push(all.subarray(0, cut)), ...framer.push(all.subarray(cut))];
    assert.deepEqual(messages(events), [HELLO, ECHO, BARRIER]);
  }
});

test('a frame that does not decode is a bad_message event and the stream goes on', () => {
  const framer = new OpenFlowFramer();
  const wrongVersion = Buffer.from('0114000800000063', 'hex');
  const events = framer.push(Buffer.concat([wrongVersion, encodeMessage(BARRIER)]));
  assert.equal(events.length, 2);
  assert.deepEqual(events[0], {
    kind: 'bad_message',
    error: 'unsupported OpenFlow version 0x01 (only 0x04, OpenFlow 1.3)',
    xid: 0x63,
    code: 20,
    bytes: wrongVersion,
  });
  assert.deepEqual(messages(events.slice(1)), [BARRIER]);
});

test('a header length below 8 is a framing error; the framer stops', () => {
  const framer = new OpenFlowFramer();
  const events = framer.push(Buffer.concat([encodeMessage(ECHO), Buffer.from('0402000400000001', 'hex')]));
  assert.equal(events.length, 2);
  assert.deepEqual(events[1], {
    kind: 'framing_error',
    error: 'header length 4 is less than the 8-byte header',
  });
  assert.equal(framer.failure, 'header length 4 is less than the 8-byte header');
  assert.equal(framer.bufferedBytes, 0);
  assert.deepEqual(framer.push(encodeMessage(ECHO)), []);
});

test('a garbage stream (not OpenFlow) is a framing error', () => {
  const framer = new OpenFlowFramer();
  assert.deepEqual(framer.push(Buffer.from('GET / HTTP/1.1\r\n')), [
    { kind: 'framing_error', error: 'not an OpenFlow stream: version byte 0x47' },
  ]);
});

test('a header length over the configured limit is a framing error before the body arrives', () => {
  const framer = new OpenFlowFramer({ maxMessageLength: 1024 });
  assert.deepEqual(framer.push(Buffer.from('0402ffff00000001', 'hex')), [
    { kind: 'framing_error', error: 'header length 65535 exceeds the limit of 1024 bytes' },
  ]);
  assert.equal(framer.bufferedBytes, 0);
});

test('an empty chunk is harmless', () => {
  const framer = new OpenFlowFramer();
  assert.deepEqual(framer.push(Buffer.alloc(0)), []);
  assert.deepEqual(messages(framer.push(new Uint8Array(encodeMessage(BARRIER)))), [BARRIER]);
});
