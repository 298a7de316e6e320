/**
 * Malformed input to the OpenFlow codec: truncated and over-long buffers, header lengths that
 * disagree with the buffer, wrong versions, bodies whose inner lengths run past their container,
 * non-zero padding, unknown codes where the code decides the layout. Each must come back as an
 * error value whose message says what is wrong; none may throw. A seeded mutation sweep checks the
 * "never throws" and "decoded bytes re-encode identically" invariants on many corrupted variants.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  decodeMessage,
  encodeMessage,
  type Message,
  OFP_NO_BUFFER,
  OFPG,
  OFPP,
  OFPVID_PRESENT,
} from '../../src/openflow/index.js';

/** A flow_mod whose match is exactly [in_port=3] (12 bytes + 4 padding) at offset 48. */
const SIMPLE_FLOW_MOD: Message = {
  type: 'flow_mod',
  xid: 1,
  cookie: 0n,
  cookieMask: 0n,
  tableId: 0,
  command: 'add',
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 1,
  bufferId: OFP_NO_BUFFER,
  outPort: OFPP.ANY,
  outGroup: OFPG.ANY,
  flags: 0,
  match: [{ field: 'in_port', value: 3 }],
  instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
};
const MATCH_AT = 48;
const INSTRUCTIONS_AT = MATCH_AT + 16;

function flowModBytes(): Buffer {
  return encodeMessage(SIMPLE_FLOW_MOD);
}

/** Asserts that decoding fails with a message matching `pattern`. */
function rejects(bytes: Buffer, pattern: RegExp): void {
  const r = decodeMessage(bytes);
  assert.equal(r.ok, false, 'expected a decode error');
  if (!r.ok) assert.match(r.error, pattern);
}

test('an empty or short buffer is a truncated header', () => {
  rejects(Buffer.alloc(0), /^truncated header: 0 bytes, an OpenFlow header is 8$/);
  rejects(Buffer.from('04140008000000', 'hex'), /^truncated header: 7 bytes/);
});

test('a header length larger than the buffer is a truncated message', () => {
  const b = flowModBytes();
  rejects(
    b.subarray(0, b.length - 1),
    new RegExp(`^truncated message: header length ${b.length}, only ${b.length - 1} bytes$`),
  );
});

test('a header length smaller than the buffer is reported as trailing bytes', () => {
  const b = Buffer.concat([flowModBytes(), Buffer.from([0])]);
  rejects(b, /header length \d+ is shorter than the \d+-byte buffer \(trailing bytes\)/);
});

test('a header length below 8 is rejected', () => {
  rejects(Buffer.from('0414000400000001', 'hex'), /^header length 4 is less than the 8-byte header$/);
});

test('a version other than 0x04 is rejected, except in HELLO', () => {
  rejects(
    Buffer.from('0114000800000001', 'hex'),
    /^unsupported OpenFlow version 0x01 \(only 0x04, OpenFlow 1\.3\)$/,
  );
  const hello = decodeMessage(Buffer.from('0600001000000005000100080000007e', 'hex'));
  assert.ok(hello.ok);
  assert.deepEqual(hello.msg, {
    type: 'hello',
    xid: 5,
    version: 6,
    elements: [{ type: 'versionbitmap', bitmaps: [0x7e] }],
  });
});

test('the error value carries the xid and type code of a readable header', () => {
  const r = decodeMessage(Buffer.from('0114000800000009', 'hex'));
  assert.deepEqual(r, {
    ok: false,
    error: 'unsupported OpenFlow version 0x01 (only 0x04, OpenFlow 1.3)',
    xid: 9,
    code: 20,
  });
});

test('a fixed-size message of the wrong size is rejected', () => {
  const barrier = Buffer.from('0414000c0000000100000000', 'hex');
  rejects(barrier, /^barrier_request: length 12, expected 8$/);
  const features = encodeMessage({
    type: 'features_reply',
    xid: 1,
    datapathId: 1n,
    nBuffers: 0,
    nTables: 1,
    auxiliaryId: 0,
    capabilities: 0,
    reserved: 0,
  });
  rejects(features.subarray(0, 24), /truncated message/);
  const short = Buffer.from(features.subarray(0, 24));
  short.writeUInt16BE(24, 2);
  rejects(short, /^features_reply: length 24, expected 32$/);
});

test('non-zero padding in a struct is rejected', () => {
  const b = encodeMessage({
    type: 'features_reply',
    xid: 1,
    datapathId: 1n,
    nBuffers: 0,
    nTables: 1,
    auxiliaryId: 0,
    capabilities: 0,
    reserved: 0,
  });
  b[22] = 1;
  rejects(b, /^features_reply: non-zero padding byte at offset 22$/);
});

test('an OXM length running past the match is rejected', () => {
  const b = flowModBytes();
  b[MATCH_AT + 7] = 0x20; // in_port payload length 4 -> 32
  rejects(
    b,
    /^flow_mod: match: field\[0\]: OXM in_port payload length 32 runs past the end \(4 bytes left\)$/,
  );
});

test('an OXM payload of the wrong size for its field is rejected', () => {
  const b = flowModBytes();
  b[MATCH_AT + 7] = 2; // in_port payload length 4 -> 2: 2 bytes of the value become a second TLV
  rejects(b, /^flow_mod: match: field\[0\]: OXM in_port: payload length 2, expected 4$/);
});

test('a match length running past the message is rejected', () => {
  const b = flowModBytes();
  b.writeUInt16BE(0x400, MATCH_AT + 2);
  rejects(b, /flow_mod: match: match OXM fields length 1020 runs past the end/);
});

test('non-zero match padding is rejected', () => {
  const b = flowModBytes();
  b[MATCH_AT + 13] = 0xaa;
  rejects(b, /flow_mod: match: non-zero match padding byte at offset 61/);
});

test('a mask on a non-maskable field is rejected', () => {
  const b = flowModBytes();
  b[MATCH_AT + 6] = 1; // in_port with hasmask
  rejects(b, /OXM in_port has a mask but the field is not maskable/);
});

test('a duplicate match field is rejected, on decode and on encode', () => {
  const b = flowModBytes();
  // A match of two in_port TLVs, built by hand.
  const dup = Buffer.concat([
    b.subarray(0, MATCH_AT),
    Buffer.from('000100148000000400000003800000040000000300000000', 'hex'),
    b.subarray(INSTRUCTIONS_AT),
  ]);
  dup.writeUInt16BE(dup.length, 2);
  rejects(dup, /flow_mod: match: duplicate OXM field in_port/);
  assert.throws(
    () =>
      encodeMessage({
        ...SIMPLE_FLOW_MOD,
        match: [
          { field: 'in_port', value: 1 },
          { field: 'in_port', value: 2 },
        ],
      }),
    /duplicate OXM field in_port/,
  );
});

test('a standard (OpenFlow 1.1) match type is rejected', () => {
  const b = flowModBytes();
  b.writeUInt16BE(0, MATCH_AT);
  rejects(b, /match type 0 is not OFPMT_OXM/);
});

test('an unknown flow_mod command is rejected', () => {
  const b = flowModBytes();
  b[8 + 17] = 9;
  rejects(b, /^flow_mod: command: unknown flow_mod command 9$/);
});

test('an instruction whose length runs past the message is rejected', () => {
  const b = flowModBytes();
  b.writeUInt16BE(0x100, INSTRUCTIONS_AT + 2);
  rejects(b, /flow_mod: instructions: instruction\[0\]: instruction \(type 4\) length 256 runs past the end/);
});

test('an action length that is not a multiple of 8, or shorter than its header, is rejected', () => {
  const b = flowModBytes();
  const actionAt = INSTRUCTIONS_AT + 8;
  b.writeUInt16BE(12, actionAt + 2);
  rejects(b, /action length 12 is not a multiple of 8/);
  b.writeUInt16BE(0, actionAt + 2);
  rejects(b, /action length 0 is shorter than its 4-byte header/);
});

test('an output action of the wrong fixed length is rejected', () => {
  const b = flowModBytes();
  // output length 16 -> 8 leaves 8 bytes that parse as a second, zero-length action
  b.writeUInt16BE(8, INSTRUCTIONS_AT + 8 + 2);
  rejects(b, /action output: length 8, expected 16/);
});

test('a PACKET_OUT whose actions_len runs past the message is rejected', () => {
  const b = encodeMessage({
    type: 'packet_out',
    xid: 1,
    bufferId: OFP_NO_BUFFER,
    inPort: OFPP.CONTROLLER,
    actions: [],
    data: Buffer.alloc(0),
  });
  b.writeUInt16BE(16, 16);
  rejects(b, /packet_out: actions: actions_len length 16 runs past the end \(0 bytes left\)/);
});

test('a truncated multipart body is rejected', () => {
  const b = encodeMessage({
    type: 'multipart_reply',
    xid: 1,
    flags: 0,
    body: { type: 'desc', mfrDesc: 'a', hwDesc: 'b', swDesc: 'c', serialNum: 'd', dpDesc: 'e' },
  });
  const cut = Buffer.from(b.subarray(0, b.length - 10));
  cut.writeUInt16BE(cut.length, 2);
  rejects(cut, /multipart_reply: desc: dpDesc: truncated string: need 256 bytes, 246 left/);
});

test('a set_field with a mask is rejected (OpenFlow 1.3 has none)', () => {
  assert.throws(
    () =>
      encodeMessage({
        ...SIMPLE_FLOW_MOD,
        instructions: [
          {
            type: 'apply_actions',
            actions: [
              { type: 'set_field', field: { field: 'vlan_vid', value: OFPVID_PRESENT | 1, mask: 0x1fff } },
            ],
          },
        ],
      }),
    /set_field vlan_vid: OpenFlow 1.3 set_field takes no mask/,
  );
});

test('an unknown message type decodes to a raw message that re-encodes identically', () => {
  const groupMod = Buffer.from('040f001000000042000000000000000a', 'hex');
  const r = decodeMessage(groupMod);
  assert.ok(r.ok);
  assert.deepEqual(r.msg, {
    type: 'unknown',
    xid: 0x42,
    code: 15,
    body: Buffer.from('000000000000000a', 'hex'),
  });
  assert.deepEqual(encodeMessage(r.msg), groupMod);
});

test('encode rejects values the wire cannot carry', () => {
  assert.throws(
    () => encodeMessage({ type: 'set_config', xid: 1, flags: 0, missSendLen: 70000 }),
    /missSendLen: 70000 is not an integer in 0\.\.65535/,
  );
  assert.throws(
    () => encodeMessage({ ...SIMPLE_FLOW_MOD, match: [{ field: 'eth_dst', value: '02:00:00:00:00' }] }),
    /"02:00:00:00:00" is not a MAC address/,
  );
  assert.throws(
    () => encodeMessage({ ...SIMPLE_FLOW_MOD, match: [{ field: 'ipv4_dst', value: '192.0.2.256' }] }),
    /"192\.0\.2\.256" is not a dotted-quad IPv4 address/,
  );
  assert.throws(
    () => encodeMessage({ type: 'echo_request', xid: 1, data: Buffer.alloc(70000) }),
    /exceed the OpenFlow maximum of 65535/,
  );
});

/** Deterministic PRNG (mulberry32) so the sweep is reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('corrupted variants never throw, and whatever decodes re-encodes to the same bytes', () => {
  const rand = seeded(20240601);
  const samples: Message[] = [
    SIMPLE_FLOW_MOD,
    {
      ...SIMPLE_FLOW_MOD,
      match: [
        { field: 'tunnel_id', value: 5n, mask: 0xffn },
        { field: 'tun_ipv4_dst', value: '198.51.100.9' },
        { field: 'eth_type', value: 0x86dd },
        { field: 'ipv6_src', value: '2001:db8::7' },
      ],
    },
    {
      type: 'packet_in',
      xid: 0,
      bufferId: OFP_NO_BUFFER,
      totalLen: 4,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'in_port', value: 1 }],
      data: Buffer.from('deadbeef', 'hex'),
    },
    { type: 'hello', xid: 1, version: 4, elements: [{ type: 'versionbitmap', bitmaps: [0x10] }] },
    {
      type: 'multipart_reply',
      xid: 1,
      flags: 0,
      body: {
        type: 'port_desc',
        ports: [
          {
            portNo: 1,
            hwAddr: '02:00:00:00:00:01',
            name: 'p1',
            config: 0,
            state: 0,
            curr: 0,
            advertised: 0,
            supported: 0,
            peer: 0,
            currSpeed: 0,
            maxSpeed: 0,
          },
        ],
      },
    },
  ];
  let decoded = 0;
  let rejected = 0;
  for (const msg of samples) {
    const good = encodeMessage(msg);
    for (let i = 0; i < 400; i++) {
      const bad = Buffer.from(good);
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips; f++) bad[Math.floor(rand() * bad.length)] = Math.floor(rand() * 256);
      const cut = rand() < 0.2 ? bad.subarray(0, Math.floor(rand() * bad.length)) : bad;
      const r = decodeMessage(cut);
      if (r.ok) {
        decoded++;
        assert.deepEqual(encodeMessage(r.msg), Buffer.from(cut));
      } else {
        rejected++;
        assert.ok(r.error.length > 0);
      }
    }
  }
  assert.ok(decoded > 0 && rejected > 0, `decoded ${decoded}, rejected ${rejected}`);
});
