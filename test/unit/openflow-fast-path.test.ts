/**
 * The codec's fast paths agree with its tables: `readPacketIn` reads what `decodeMessage` decodes from
 * every PACKET_IN (random pipeline matches, tunnel ids, payloads), and refuses broken frames with a
 * reason; `encodeMessages` writes exactly the concatenation of `encodeMessage`; SET_ASYNC is in the
 * message table with the layout OpenFlow 1.3 gives it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeMessage,
  encodeMessages,
  readPacketIn,
  OFP_NO_BUFFER,
  type Message,
  type OxmField,
} from '../../src/openflow/index.js';
import { holds } from './property.js';

const oxm: fc.Arbitrary<OxmField> = fc.oneof(
  fc.record({
    field: fc.constant('metadata' as const),
    value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  }),
  fc.record({ field: fc.constant('tun_ipv4_src' as const), value: fc.ipV4() }),
  fc.record({
    field: fc.constant('raw' as const),
    oxmClass: fc.constant(1),
    oxmField: fc.integer({ min: 0, max: 20 }),
    hasMask: fc.constant(false),
    payload: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Buffer.from(b)),
  }),
);

const packetIn: fc.Arbitrary<Extract<Message, { type: 'packet_in' }>> = fc.record({
  type: fc.constant('packet_in' as const),
  xid: fc.integer({ min: 0, max: 0xffffffff }),
  bufferId: fc.constantFrom(OFP_NO_BUFFER, 7),
  totalLen: fc.integer({ min: 0, max: 0xffff }),
  reason: fc.integer({ min: 0, max: 2 }),
  tableId: fc.integer({ min: 0, max: 254 }),
  cookie: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  match: fc
    .tuple(
      fc.option(fc.integer({ min: 1, max: 0xffff00 })),
      fc.option(fc.bigInt({ min: 0n, max: (1n << 53n) - 1n })),
      fc.array(oxm, { maxLength: 1 }),
    )
    .map(([inPort, tun, rest]) => {
      const m: OxmField[] = [];
      if (inPort !== null) m.push({ field: 'in_port', value: inPort });
      if (tun !== null) m.push({ field: 'tunnel_id', value: tun });
      // No duplicate fields (the decoder refuses them).
      const seen = new Set(m.map((f) => f.field));
      for (const f of rest) {
        if (f.field !== 'raw' && seen.has(f.field)) continue;
        m.push(f);
        seen.add(f.field);
      }
      return m;
    }),
  data: fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
});

test('readPacketIn reads what the table-driven decoder decodes', () => {
  holds(
    fc.property(packetIn, (msg) => {
      const bytes = encodeMessage(msg);
      const d = decodeMessage(bytes);
      assert.ok(d.ok && d.msg.type === 'packet_in');
      const v = readPacketIn(bytes);
      assert.ok(typeof v !== 'string', typeof v === 'string' ? v : '');
      const inPort = msg.match.find((f) => f.field === 'in_port');
      const tun = msg.match.find((f) => f.field === 'tunnel_id');
      assert.equal(v.xid, msg.xid);
      assert.equal(v.bufferId, msg.bufferId);
      assert.equal(v.totalLen, msg.totalLen);
      assert.equal(v.reason, msg.reason);
      assert.equal(v.tableId, msg.tableId);
      assert.equal(v.inPort, inPort ? inPort.value : 0);
      assert.equal(v.tunnelId, tun ? Number(tun.value) : 0);
      assert.deepEqual(Buffer.from(v.data), msg.data);
    }),
    { numRuns: 500, seed: 12 },
  );
});

test('readPacketIn refuses truncated and corrupted frames with a reason, never throws', () => {
  const good = encodeMessage({
    type: 'packet_in',
    xid: 1,
    bufferId: OFP_NO_BUFFER,
    totalLen: 4,
    reason: 0,
    tableId: 0,
    cookie: 0n,
    match: [{ field: 'in_port', value: 3 }],
    data: Buffer.from([1, 2, 3, 4]),
  });
  // Cut anywhere before the packet bytes (a shorter packet is still a well-formed PACKET_IN).
  for (let n = 0; n < good.length - 4; n++) {
    const cut = Buffer.from(good.subarray(0, n));
    if (n >= 4) cut.writeUInt16BE(n, 2);
    assert.equal(typeof readPacketIn(cut), 'string', `truncated to ${n}`);
  }
  holds(
    fc.property(
      fc.integer({ min: 0, max: good.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      (at, byte) => {
        const b = Buffer.from(good);
        b[at] = byte;
        const v = readPacketIn(b);
        const d = decodeMessage(b);
        if (typeof v !== 'string' && d.ok && d.msg.type === 'packet_in')
          assert.deepEqual(Buffer.from(v.data), d.msg.data);
      },
    ),
    { numRuns: 2000, seed: 3 },
  );
});

test('encodeMessages is the concatenation of encodeMessage, with the xids given', () => {
  const msgs: Message[] = [
    { type: 'barrier_request', xid: 5 },
    { type: 'echo_request', xid: 6, data: Buffer.from('hi') },
    { type: 'set_config', xid: 7, flags: 0, missSendLen: 0xffff },
  ];
  assert.deepEqual(
    encodeMessages(
      msgs.map(({ xid: _x, ...m }) => m as never),
      [5, 6, 7],
    ),
    Buffer.concat(msgs.map((m) => encodeMessage(m))),
  );
});

test('SET_ASYNC has its OpenFlow 1.3 layout: type 28, 32 bytes, six masks', () => {
  const msg: Message = {
    type: 'set_async',
    xid: 9,
    packetInMaster: 0b111,
    packetInSlave: 0,
    portStatusMaster: 0b111,
    portStatusSlave: 0b111,
    flowRemovedMaster: 0b1111,
    flowRemovedSlave: 0,
  };
  const b = encodeMessage(msg);
  assert.equal(
    b.toString('hex'),
    '041c002000000009' + '00000007' + '00000000' + '00000007' + '00000007' + '0000000f' + '00000000',
  );
  const d = decodeMessage(b);
  assert.ok(d.ok);
  assert.deepEqual(d.msg, msg);
});
