/**
 * The codec's fast paths agree with its tables: `readPacketIn` reads what `decodeMessage` decodes from
 * every PACKET_IN (random pipeline matches, tunnel ids, payloads), and refuses broken frames with a
 * reason; `encodeMessages` writes exactly the concatenation of `encodeMessage`; SET_ASYNC is in the
 * message table with the layout OpenFlow 1.3 gives it; the FLOW_MOD/PACKET_OUT encoding fast path
 * (answer-encode.ts) writes the table's bytes, or leaves the message to the table, errors included;
 * `EncodedBatches` hands out views that later batches never overwrite while a socket may hold them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeMessage,
  encodeMessages,
  encodeMessageByTable,
  EncodedBatches,
  readPacketIn,
  OFP_NO_BUFFER,
  type Action,
  type Instruction,
  type Message,
  type OxmField,
} from '../../src/openflow/index.js';
import { encodeAnswer } from '../../src/openflow/answer-encode.js';
import { Writer } from '../../src/openflow/wire.js';
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

const mac = fc
  .tuple(fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffffff }))
  .map(([hi, lo]) =>
    [hi >>> 16, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 16, (lo >>> 8) & 0xff, lo & 0xff]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join(':'),
  );
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Match fields the agent's flows use, masked and not (at most one of each: duplicates are refused). */
const matchField: fc.Arbitrary<OxmField> = fc.oneof(
  fc.record({ field: fc.constant('in_port' as const), value: u32 }),
  fc.record({ field: fc.constant('eth_dst' as const), value: mac }),
  fc.record({ field: fc.constant('eth_src' as const), value: mac, mask: mac }),
  fc.record({ field: fc.constant('eth_type' as const), value: u16 }),
  fc.record({ field: fc.constant('ipv4_src' as const), value: fc.ipV4(), mask: fc.ipV4() }),
  fc.record({ field: fc.constant('ipv6_dst' as const), value: fc.ipV6() }),
  fc.record({ field: fc.constant('udp_dst' as const), value: u16 }),
  fc.record({
    field: fc.constant('tunnel_id' as const),
    value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  }),
  oxm,
);

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant('output' as const), port: u32, maxLen: u16 }),
  fc.record({
    type: fc.constant('set_field' as const),
    field: fc.oneof(
      fc.record({ field: fc.constant('eth_src' as const), value: mac }),
      fc.record({ field: fc.constant('tun_ipv4_dst' as const), value: fc.ipV4() }),
      fc.record({ field: fc.constant('vlan_vid' as const), value: fc.integer({ min: 0, max: 0x1fff }) }),
    ),
  }),
  fc.record({ type: fc.constant('push_vlan' as const), ethertype: fc.constantFrom(0x8100, 0x88a8) }),
  fc.constantFrom<Action>({ type: 'pop_vlan' }, { type: 'dec_nw_ttl' }, { type: 'copy_ttl_in' }),
  fc.record({ type: fc.constant('group' as const), groupId: u32 }),
  fc.record({
    type: fc.constant('raw' as const),
    code: fc.constant(0xffff),
    body: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => Buffer.from(b)),
  }),
);

const instruction: fc.Arbitrary<Instruction> = fc.oneof(
  fc.record({ type: fc.constant('apply_actions' as const), actions: fc.array(action, { maxLength: 5 }) }),
  fc.record({ type: fc.constant('write_actions' as const), actions: fc.array(action, { maxLength: 2 }) }),
  fc.record({ type: fc.constant('meter' as const), meterId: u32 }),
  fc.record({ type: fc.constant('goto_table' as const), tableId: fc.integer({ min: 0, max: 254 }) }),
  fc.record({
    type: fc.constant('write_metadata' as const),
    metadata: fc.bigInt({ min: 0n, max: 5n }),
    mask: fc.constant(0xffn),
  }),
);

const answer: fc.Arbitrary<Message> = fc.oneof(
  fc.record({
    type: fc.constant('flow_mod' as const),
    xid: u32,
    cookie: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    cookieMask: fc.constantFrom(0n, (1n << 64n) - 1n),
    tableId: fc.integer({ min: 0, max: 255 }),
    command: fc.constantFrom('add' as const, 'delete' as const, 'modify_strict' as const),
    idleTimeout: u16,
    hardTimeout: u16,
    priority: u16,
    bufferId: u32,
    outPort: u32,
    outGroup: u32,
    flags: u16,
    match: fc.uniqueArray(matchField, {
      maxLength: 6,
      selector: (f) => (f.field === 'raw' ? `raw${f.oxmClass}:${f.oxmField}` : f.field),
    }),
    instructions: fc.array(instruction, { maxLength: 3 }),
  }),
  fc.record({
    type: fc.constant('packet_out' as const),
    xid: u32,
    bufferId: fc.constantFrom(OFP_NO_BUFFER, 7),
    inPort: u32,
    actions: fc.array(action, { maxLength: 5 }),
    data: fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
  }),
);

test('the FLOW_MOD/PACKET_OUT fast path writes the bytes the message table writes', () => {
  let fast = 0;
  let runs = 0;
  holds(
    fc.property(answer, (msg) => {
      runs++;
      const w = new Writer();
      if (encodeAnswer(w, msg, msg.xid, 4)) {
        fast++;
        const b = w.finish();
        b.writeUInt16BE(b.length, 2); // the header's length (encodeMessage patches it)
        assert.deepEqual(b, encodeMessageByTable(msg));
      } else assert.equal(w.length, 0);
      const bytes = encodeMessage(msg);
      assert.deepEqual(bytes, encodeMessageByTable(msg));
      const d = decodeMessage(bytes);
      assert.ok(d.ok, d.ok ? '' : d.error);
      assert.deepEqual(encodeMessage(d.msg), bytes);
    }),
    { numRuns: 1000, seed: 21 },
  );
  // Most generated messages are ones the fast path takes (the others carry raw or rarer TLVs).
  assert.ok(fast > runs / 3, `fast path took ${fast} of ${runs}`);
});

test('values the wire cannot carry fail as the message table fails them, with its context', () => {
  const base = {
    type: 'flow_mod' as const,
    xid: 1,
    cookie: 1n,
    cookieMask: 0n,
    tableId: 0,
    command: 'add' as const,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 1,
    bufferId: OFP_NO_BUFFER,
    outPort: 0,
    outGroup: 0,
    flags: 0,
    match: [] as OxmField[],
    instructions: [] as Instruction[],
  };
  const bad: Message[] = [
    { ...base, priority: 70000 },
    { ...base, match: [{ field: 'eth_dst', value: 'not a mac' }] },
    {
      ...base,
      match: [
        { field: 'in_port', value: 1 },
        { field: 'in_port', value: 2 },
      ],
    },
    {
      ...base,
      instructions: [
        { type: 'apply_actions', actions: [{ type: 'set_field', field: { field: 'eth_src', value: 'x' } }] },
      ],
    },
    { type: 'packet_out', xid: 2, bufferId: 0, inPort: 1, actions: [], data: Buffer.alloc(70000) },
  ];
  for (const m of bad) {
    const table = (() => {
      try {
        encodeMessageByTable(m);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    })();
    assert.notEqual(table, 'no error');
    assert.throws(() => encodeMessage(m), { message: table });
  }
});

test('EncodedBatches: a batch is its messages back to back; released space is reused, held space never', () => {
  const batches = new EncodedBatches();
  const msg = (n: number): Message => ({ type: 'echo_request', xid: n, data: Buffer.alloc(n % 50, n) });
  const held: Array<{ view: Buffer; copy: Buffer }> = [];
  for (let n = 1; n <= 3000; n++) {
    const m = msg(n);
    const view = batches.encode([m, m], [n, n + 1]);
    const want = Buffer.concat([encodeMessage(m), encodeMessage({ ...m, xid: n + 1 })]);
    assert.deepEqual(view, want);
    if (n % 7 === 0) {
      // A socket that wrote everything: nothing held any more.
      held.length = 0;
      batches.released();
    } else held.push({ view, copy: Buffer.from(view) });
    for (const h of held) assert.deepEqual(h.view, h.copy);
  }
  // A batch that fails leaves nothing behind it.
  assert.throws(() => batches.encode([msg(1), { type: 'barrier_request', xid: 0 } as never], [1, -1]));
  assert.deepEqual(batches.encode([msg(4)], [4]), encodeMessage(msg(4)));
});
