/**
 * The agents' channel codec: every message round-trips; truncated, over-long, forged and unknown
 * messages are refused with a reason and never throw; Z85 keys round-trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePeerMessage, encodePeerMessage, type PeerMessage } from '../../src/agent/peer-codec.js';
import { isCurveKey, z85Decode, z85Encode } from '../../src/agent/peer-keys.js';
import { NUM_FIELDS } from '../../src/sim/flow-match.js';
import { holds } from './property.js';

const id = fc.uuid();
const learned: fc.Arbitrary<PeerMessage> = fc.record({
  kind: fc.constant('learned' as const),
  from: id,
  entries: fc.array(
    fc.record({
      table: fc.constantFrom('mac' as const, 'arp' as const),
      scope: id,
      key: fc.string({ maxLength: 40 }),
      value: fc.string({ maxLength: 40 }),
      origin: id,
      expiresAt: fc.integer({ min: 0, max: 2 ** 45 }),
    }),
    { maxLength: 20 },
  ),
});
const replyFlow: fc.Arbitrary<PeerMessage> = fc.record({
  kind: fc.constant('replyFlow' as const),
  from: id,
  portId: id,
  packet: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: NUM_FIELDS, maxLength: NUM_FIELDS }),
  id: fc.integer({ min: 0, max: 0xffffffff }),
});
const replyFlowDone: fc.Arbitrary<PeerMessage> = fc.record({
  kind: fc.constant('replyFlowDone' as const),
  from: id,
  id: fc.integer({ min: 0, max: 0xffffffff }),
});
const word = fc.integer({ min: 0, max: 0xffffffff });
const flowState: fc.Arbitrary<PeerMessage> = fc.record({
  kind: fc.constant('flowState' as const),
  from: id,
  nat: fc.array(
    fc.oneof(
      fc.record({
        key: fc.string({ maxLength: 80 }),
        ip: fc.integer({ min: 0, max: 0xffffffff }),
        port: fc.integer({ min: 0, max: 65535 }),
        expiresAt: fc.integer({ min: 0, max: 2 ** 45 }),
      }),
      // An IPv6 binding (a load balancer's): the address in ip6, ip 0.
      fc.record({
        key: fc.string({ maxLength: 80 }),
        ip: fc.constant(0),
        port: fc.integer({ min: 0, max: 65535 }),
        ip6: fc.tuple(word, word, word, word),
        expiresAt: fc.integer({ min: 0, max: 2 ** 45 }),
      }),
    ),
    { maxLength: 10 },
  ),
  ct: fc.array(
    fc.record({
      key: fc.string({ maxLength: 80 }),
      expiresAt: fc.integer({ min: 0, max: 2 ** 45 }),
      ended: fc.boolean(),
    }),
    { maxLength: 10 },
  ),
});
const message = fc.oneof(learned, replyFlow, replyFlowDone, flowState);

test('every message round-trips', () => {
  holds(
    fc.property(message, (m) => {
      const r = decodePeerMessage(encodePeerMessage(m));
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.deepEqual(r.msg, JSON.parse(JSON.stringify(m)));
    }),
    { numRuns: 300, seed: 5 },
  );
});

test('truncated, extended and corrupted messages are refused or decode to a valid message; nothing throws', () => {
  holds(
    fc.property(message, fc.nat(), fc.integer({ min: 0, max: 255 }), (m, at, byte) => {
      const b = encodePeerMessage(m);
      for (let n = 0; n < b.length; n++) assert.equal(decodePeerMessage(b.subarray(0, n)).ok, false);
      assert.equal(decodePeerMessage(Buffer.concat([b, Buffer.from([0])])).ok, false, 'trailing byte');
      const c = Buffer.from(b);
      c[at % c.length] = byte;
      const r = decodePeerMessage(c);
      if (r.ok) assert.deepEqual(decodePeerMessage(encodePeerMessage(r.msg)), r);
    }),
    { numRuns: 200, seed: 9 },
  );
});

test('forged headers are named: magic, version, kind, table, counts', () => {
  const b = encodePeerMessage({
    kind: 'learned',
    from: 'h',
    entries: [
      { table: 'arp', scope: 'r', key: '192.0.2.1', value: '020000000001', origin: 'h', expiresAt: 1 },
    ],
  });
  const with_ = (at: number, v: number) => {
    const c = Buffer.from(b);
    c[at] = v;
    return decodePeerMessage(c);
  };
  assert.deepEqual(with_(0, 0x58), { ok: false, error: 'bad magic' });
  assert.deepEqual(with_(2, 9), { ok: false, error: 'unknown version 9' });
  assert.deepEqual(with_(3, 77), { ok: false, error: 'unknown kind 77' });
  const tableAt = 4 + 2 + 1 + 2; // header, sender "h", entry count
  assert.deepEqual(with_(tableAt, 5), { ok: false, error: 'unknown table 5' });
  const many = Buffer.from(b);
  many.writeUInt16BE(5000, 7);
  assert.deepEqual(decodePeerMessage(many), { ok: false, error: '5000 entries exceed 1000' });
});

test('a string that is not UTF-8 is refused: decoding it would grow it past what the encoder allows', () => {
  // Found by npm run bench -- fuzz: 200 bytes of invalid UTF-8 decode to 200 U+FFFD characters, 600
  // bytes once encoded again, which encodePeerMessage refuses.
  const b = encodePeerMessage({ kind: 'learned', from: 'h'.repeat(200), entries: [] });
  const bad = Buffer.from(b);
  bad.fill(0xfe, 6, 206);
  assert.deepEqual(decodePeerMessage(bad), { ok: false, error: 'sender is not UTF-8' });
  const lone = Buffer.from(b);
  lone[6] = 0xc3; // a lead byte with no continuation
  const r = decodePeerMessage(lone);
  assert.equal(r.ok, false);
  // Valid multi-byte UTF-8 at the limit is accepted and round-trips.
  const ok = encodePeerMessage({ kind: 'learned', from: '\u00e9'.repeat(100), entries: [] });
  const back = decodePeerMessage(ok);
  assert.ok(back.ok);
  assert.deepEqual(encodePeerMessage(back.msg), ok);
});

test('Z85 keys round-trip, malformed ones are refused', () => {
  holds(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (k) => {
      const s = z85Encode(k);
      assert.ok(isCurveKey(s));
      assert.deepEqual(z85Decode(s), Buffer.from(k));
    }),
    { numRuns: 200, seed: 1 },
  );
  assert.equal(z85Decode('abc'), undefined);
  assert.equal(isCurveKey('"'.repeat(40)), false);
});

test('IPv6 bindings: version 2 with a family byte only when one is there; forged families refused', () => {
  const v4 = { key: 'z/d/6/1:2>3:4', ip: 1, port: 80, expiresAt: 5 };
  const v6 = {
    key: 'z/d/6/[::1]:2>[::3]:4',
    ip: 0,
    port: 80,
    ip6: [0x20010db8, 0, 0, 1] as const,
    expiresAt: 5,
  };
  const m4: PeerMessage = { kind: 'flowState', from: 'a', nat: [v4], ct: [] };
  const m6: PeerMessage = { kind: 'flowState', from: 'a', nat: [v4, v6], ct: [] };
  assert.equal(encodePeerMessage(m4)[2], 1, 'IPv4 only: version 1, as agents of before IPv6 read it');
  const b6 = encodePeerMessage(m6);
  assert.equal(b6[2], 2);
  const r = decodePeerMessage(b6);
  assert.ok(r.ok && r.msg.kind === 'flowState');
  assert.deepEqual(r.msg.nat[1], { ...v6, ip6: [...v6.ip6] });
  // The first binding's family byte: after magic, version, kind, the sender, the count and its key.
  const famAt = 4 + (2 + 1) + 2 + (2 + v4.key.length);
  assert.equal(b6[famAt], 4);
  const forged = Buffer.from(b6);
  forged[famAt] = 5;
  assert.match(String((decodePeerMessage(forged) as { error: string }).error), /address family 5/);
  const v2Only4 = Buffer.from(encodePeerMessage(m4));
  v2Only4[2] = 2;
  assert.equal(decodePeerMessage(v2Only4).ok, false, 'version 2 without an IPv6 binding');
  const learned2 = Buffer.from(encodePeerMessage({ kind: 'replyFlowDone', from: 'a', id: 1 }));
  learned2[2] = 2;
  assert.match(String((decodePeerMessage(learned2) as { error: string }).error), /only for flow state/);
});
