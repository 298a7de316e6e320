/**
 * The reference-counted interner (src/agent/interner.ts) against a Map of counts: an id names its
 * string while held, equal strings get one id and read back one instance, a string is forgotten at
 * its last release (and leaves the Map when a new string needs an id), and releasing more often than
 * holding is an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Interner } from '../../src/agent/interner.js';
import { holds } from './property.js';

test('an interner agrees with a map of counts', () => {
  const strArb = fc.integer({ min: 0, max: 60 }).map((i) => `tag:${'x'.repeat(i % 7)}${i}`);
  holds(
    fc.property(
      fc.array(fc.record({ release: fc.boolean(), s: strArb }), { maxLength: 500, size: 'max' }),
      (ops) => {
        const t = new Interner();
        const model = new Map<string, { id: number; n: number }>();
        for (const o of ops) {
          const m = model.get(o.s);
          if (o.release) {
            if (m === undefined) continue;
            t.release(m.id);
            if (--m.n === 0) model.delete(o.s);
          } else {
            const id = t.ref(o.s.slice()); // a different instance of an equal string
            if (m !== undefined) assert.equal(id, m.id, 'one id while held');
            else model.set(o.s, { id, n: 1 });
            if (m !== undefined) m.n++;
          }
        }
        assert.equal(t.size, model.size);
        for (const [s, m] of model) {
          assert.equal(t.peek(s), m.id);
          assert.equal(t.name(m.id), s);
          assert.equal(t.count(m.id), m.n);
        }
        for (let i = 0; i <= 60; i++) {
          const s = `tag:${'x'.repeat(i % 7)}${i}`;
          if (!model.has(s)) assert.equal(t.peek(s), undefined, `${s} forgotten`);
        }
      },
    ),
    { numRuns: 200, seed: 3 },
  );
});

test('releasing an id more often than it was held throws', () => {
  const t = new Interner();
  const id = t.ref('a');
  t.release(id);
  assert.throws(() => t.release(id), /released more often than held/);
  assert.throws(() => t.name(id), /not in use/);
});

test('strings released to zero are dropped at once when a new string needs an id', () => {
  const t = new Interner();
  const ids = Array.from({ length: 1000 }, (_, i) => t.ref(`mac:${i}`));
  const kept = t.ref('bridge:br');
  for (const id of ids) t.release(id);
  assert.equal(t.size, 1);
  assert.equal(t.peek('mac:7'), undefined);
  assert.throws(() => t.name(ids[7]!), /not in use/);
  assert.equal(t.ref('mac:7'), ids[7], 'a dead string taken again keeps its id');
  t.release(ids[7]!);
  const fresh = t.ref('new');
  assert.ok(ids.includes(fresh), `the dead ids are free again (got ${fresh})`);
  assert.equal(t.peek('bridge:br'), kept);
  assert.equal(t.name(kept), 'bridge:br');
  assert.equal(t.size, 2);
});
