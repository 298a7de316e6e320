/**
 * Flow-state key text (flow-state.ts, nat.ts): the keys are the decimal numbers of the 5-tuple,
 * whatever the cache of number texts behind them holds, for values that share a cache slot, values
 * beyond 2^31 and odd numbers no caller should pass; the reverse key and the NAT reverse of a
 * forward key are computed from that text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { conntrackKey, reverseKey, tupleText } from '../../src/sim/flow-state.js';
import { natKey, reverseOfForward } from '../../src/sim/nat.js';

const plain = (p: number, s: number, sp: number, d: number, dp: number) => `${p}/${s}:${sp}>${d}:${dp}`;

test('tuple text is the decimal 5-tuple, for any numbers, in any order of calls', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffff }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 0xffff }),
        ),
        { minLength: 1, maxLength: 50 },
      ),
      (tuples) => {
        for (const t of tuples) assert.equal(tupleText(...t), plain(...t));
        // Again, once every number has been through the cache.
        for (const t of tuples) assert.equal(tupleText(...t), plain(...t));
      },
    ),
    { numRuns: 300 },
  );
});

test('numbers that share a cache slot keep their own text', () => {
  // Same slot: (n ^ (n >>> 12)) & 4095 is 5 for both (2^24 moves only bits the slot ignores).
  const a = 5;
  const b = 5 + 2 ** 24;
  assert.equal(tupleText(a, b, a, b, a), plain(a, b, a, b, a));
  assert.equal(tupleText(b, a, b, a, b), plain(b, a, b, a, b));
  for (const odd of [-1, -0, 0, 1.5, NaN, Infinity, 2 ** 53])
    assert.equal(tupleText(odd, odd, odd, odd, odd), plain(odd, odd, odd, odd, odd));
});

test('conntrack, reverse and NAT keys are built on the same text', () => {
  const k = conntrackKey('zone', 6, 3325256714, 40000, 3232235777, 80);
  assert.equal(k, 'zone|6/3325256714:40000>3232235777:80');
  assert.equal(reverseKey(k), 'zone|6/3232235777:80>3325256714:40000');
  const fwd = natKey('r1', 'd', 6, 3325256714, 40000, 3232235777, 80);
  assert.equal(fwd, 'r1/d/6/3325256714:40000>3232235777:80');
  assert.equal(
    reverseOfForward(fwd, { ip: 167772161, port: 8080 }),
    natKey('r1', 'rd', 6, 167772161, 8080, 3325256714, 40000),
  );
});
