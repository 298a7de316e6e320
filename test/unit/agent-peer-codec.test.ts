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
const flowState: fc.Arbitrary<PeerMessage> = fc.record({
  kind: fc.constant('flowState' as const),
  from: id,
  nat: fc.array(
    fc.record({
      key: fc.string({ maxLength: 80 }),
      ip: fc.integer({ min: 0, max: 0xffffffff }),
      port: fc.integer({ min: 0, max: 65535 }),
      expiresAt: fc.integer({ min: 0, max: 2 ** 45 }),
    }),
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
