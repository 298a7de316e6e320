/**
 * The slot index (src/agent/slot-index.ts) against a Map: after any sequence of sets and deletes
 * (keys up to 2^53, many with the same low bits, so runs collide and wrap), every key finds its slot
 * or -1, the size agrees, and the index shrinks back when emptied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SlotIndex } from '../../src/agent/slot-index.js';
import { holds } from './property.js';

test('a slot index agrees with a Map under sets and deletes', () => {
  const keyArb = fc.oneof(
    fc.integer({ min: 0, max: 40 }),
    fc.integer({ min: 0, max: 40 }).map((k) => k * 2 ** 32),
    fc.constant(Number.MAX_SAFE_INTEGER),
  );
  holds(
    fc.property(
      fc.array(fc.record({ del: fc.boolean(), key: keyArb }), { maxLength: 500, size: 'max' }),
      (ops) => {
        const keys: number[] = [];
        const idx = new SlotIndex((s) => keys[s]!, 4);
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.del) {
            const s = model.get(o.key);
            assert.equal(idx.delete(o.key, s ?? 12345), s !== undefined);
            model.delete(o.key);
          } else if (!model.has(o.key)) {
            const s = keys.push(o.key) - 1;
            idx.set(s);
            model.set(o.key, s);
          }
          assert.equal(idx.size, model.size);
        }
        for (let k = 0; k <= 40; k++) {
          assert.equal(idx.get(k), model.get(k) ?? -1, `key ${k}`);
          assert.equal(idx.get(k * 2 ** 32), model.get(k * 2 ** 32) ?? -1, `key ${k} * 2^32`);
        }
        for (const [k, s] of model) assert.ok(idx.delete(k, s));
        assert.equal(idx.size, 0);
      },
    ),
    { numRuns: 300, seed: 5 },
  );
});

test('delete names the slot: another slot under the key stays', () => {
  const keys = [7, 7];
  const idx = new SlotIndex((s) => keys[s]!);
  idx.set(0);
  idx.set(1);
  assert.equal(idx.size, 1, 'the same key replaces');
  assert.equal(idx.delete(7, 0), false);
  assert.equal(idx.get(7), 1);
});
