/**
 * The agent's flow table against a plain reference model: after any sequence of adds, removes and
 * reads, the cookies a tag names are exactly the live flows carrying it (lazy lists and compaction
 * never lose or resurrect one), a flow with the match hash of a live one replaces it, and removing an
 * invalidation's flows at once (removeTagged) leaves the table and a bounded flow history as removing them
 * one by one does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlowHistory } from '../../src/agent/flow-history.js';
import { FlowTable } from '../../src/agent/flow-table.js';
import { holds } from './property.js';

const TAGS = ['a', 'b', 'c', 'shared'];

test('cookiesFor names exactly the live flows carrying a tag', () => {
  holds(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            op: fc.constant('add' as const),
            tags: fc.subarray(TAGS, { minLength: 1 }),
            hash: fc.integer({ min: 0, max: 40 }),
          }),
          fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
          fc.record({ op: fc.constant('read' as const), tag: fc.constantFrom(...TAGS) }),
        ),
        { maxLength: 400, size: 'max' },
      ),
      (ops) => {
        const t = new FlowTable();
        const model = new Map<number, { tags: string[]; hash: number }>();
        for (const o of ops) {
          if (o.op === 'add') {
            const cookie = t.cookie();
            const replaced = t.add({ cookie, inPort: 'p', tags: o.tags, installedAt: 0, matchHash: o.hash });
            const same = [...model].find(([, f]) => f.hash === o.hash);
            assert.equal(replaced?.cookie, same?.[0]);
            if (same) model.delete(same[0]);
            model.set(cookie, { tags: o.tags, hash: o.hash });
          } else if (o.op === 'remove') {
            const live = [...model.keys()];
            if (live.length === 0) continue;
            const c = live[o.pick % live.length]!;
            assert.ok(t.remove(c));
            model.delete(c);
          } else {
            const want = [...model]
              .filter(([, f]) => f.tags.includes(o.tag))
              .map(([c]) => c)
              .sort((x, y) => x - y);
            assert.deepEqual(
              [...t.cookiesFor([o.tag])].sort((x, y) => x - y),
              want,
            );
          }
        }
        assert.equal(t.size, model.size);
        for (const tag of TAGS) {
          const want = [...model]
            .filter(([, f]) => f.tags.includes(tag))
            .map(([c]) => c)
            .sort((x, y) => x - y);
          assert.deepEqual(
            [...t.cookiesFor([tag])].sort((x, y) => x - y),
            want,
          );
        }
      },
    ),
    { numRuns: 300, seed: 21 },
  );
});

test("a flow added while its tag's list is compacted stays filed under the tag", () => {
  // Twelve flows share a tag, eleven go (their slots stay listed), and the next add compacts the list:
  // the new flow must survive that compaction, or an invalidation of the tag would miss it and, once
  // the last old flow went, the index would name a free slot.
  const t = new FlowTable();
  for (let c = 1; c <= 12; c++)
    t.add({ cookie: c, inPort: 'p', tags: ['x', `own:${c}`], installedAt: 0, matchHash: c });
  for (let c = 1; c <= 11; c++) t.remove(c);
  t.add({ cookie: 13, inPort: 'p', tags: ['x'], installedAt: 0, matchHash: 13 });
  assert.deepEqual(
    [...t.cookiesFor(['x'])].sort((a, b) => a - b),
    [12, 13],
  );
  t.remove(12);
  assert.deepEqual([...t.cookiesFor(['x'])], [13]);
  assert.deepEqual([...t.removeTagged(['x'])], [13]);
  assert.equal(t.size, 0);
  assert.equal(t.carries('x'), false);
});

test('with small initial sizes (growth, pool rebuilds, long lists), reads agree with a model', () => {
  const tagArb = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'shared');
  holds(
    fc.property(
      fc.array(
        fc.oneof(
          {
            weight: 3,
            arbitrary: fc.record({
              op: fc.constant('add' as const),
              tags: fc.array(tagArb, { minLength: 0, maxLength: 6 }),
              hash: fc.integer({ min: 0, max: 200 }),
              port: fc.constantFrom('p1', 'p2'),
            }),
          },
          { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
          // All but the newest carrier of a tag, one by one: its list's stale entries pile up unread, so
          // the tag's next add compacts the list.
          { weight: 1, arbitrary: fc.record({ op: fc.constant('thin' as const), tag: tagArb }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('invalidate' as const), tag: tagArb }) },
        ),
        { minLength: 100, maxLength: 600, size: 'max' },
      ),
      (ops) => {
        const t = new FlowTable({ slots: 2, pool: 4, smallList: 2 });
        const model = new Map<number, { tags: Set<string>; hash: number; port: string; at: number }>();
        let now = 0;
        for (const o of ops) {
          now++;
          if (o.op === 'add') {
            const cookie = t.cookie();
            t.add({ cookie, inPort: o.port, tags: o.tags, installedAt: now, matchHash: o.hash });
            for (const [c, f] of model) if (f.hash === o.hash) model.delete(c);
            model.set(cookie, { tags: new Set(o.tags), hash: o.hash, port: o.port, at: now });
          } else if (o.op === 'remove') {
            const live = [...model.keys()];
            if (live.length === 0) continue;
            const c = live[o.pick % live.length]!;
            assert.equal(t.remove(c)?.cookie, c);
            assert.equal(t.remove(c), undefined, 'removed once');
            model.delete(c);
          } else if (o.op === 'thin') {
            const carriers = [...model].filter(([, f]) => f.tags.has(o.tag)).map(([c]) => c);
            for (const c of carriers.slice(0, -1)) {
              assert.equal(t.remove(c)?.cookie, c);
              model.delete(c);
            }
          } else {
            const want = [...model].filter(([, f]) => f.tags.has(o.tag)).map(([c]) => c);
            const got = [...t.cookiesFor([o.tag])];
            assert.deepEqual(
              got.sort((x, y) => x - y),
              want.sort((x, y) => x - y),
            );
            for (const c of got) {
              assert.ok(t.remove(c));
              model.delete(c);
            }
          }
        }
        assert.equal(t.size, model.size);
        for (const tag of ['a', 'b', 'c', 'd', 'e', 'shared'])
          assert.equal(
            t.carries(tag),
            [...model.values()].some((f) => f.tags.has(tag)),
            `carries ${tag}`,
          );
        for (const [c, f] of model) {
          const r = t.get(c)!;
          assert.ok(t.has(c));
          assert.deepEqual([...r.tags].sort(), [...f.tags].sort(), 'each tag once, none lost');
          assert.equal(r.inPort, f.port);
          assert.equal(r.installedAt, f.at);
          assert.equal(r.matchHash, f.hash);
        }
        assert.deepEqual(
          [...t.all()].map((f) => f.cookie),
          [...model.keys()].sort((x, y) => x - y),
          'all() by cookie',
        );
      },
    ),
    { numRuns: 200, seed: 7 },
  );
});

test('removeTagged removes what cookiesFor names; a bounded history keeps what per-flow removal gives it', () => {
  // Two tables with the same flows: one invalidated per flow (cookiesFor, then remove), one at once.
  const fill = (t: FlowTable): void => {
    for (let c = 1; c <= 40; c++) {
      const tags = ['all', `own:${c}`, c % 3 === 0 ? 'three' : `odd:${c % 2}`];
      if (c % 5 === 0) tags.push('five', 'three');
      t.add({ cookie: c, inPort: `p${c % 4}`, tags, installedAt: 1000 + c, matchHash: c * 7 });
    }
  };
  for (const capacity of [3, 100]) {
    for (const query of [['five', 'three', 'nope'], ['all'], ['odd:1', 'five']]) {
      const perFlow = new FlowTable({ slots: 4, pool: 8, smallList: 4 });
      const atOnce = new FlowTable({ slots: 4, pool: 8, smallList: 4 });
      fill(perFlow);
      fill(atOnce);
      const h1 = new FlowHistory(capacity, () => 7);
      const h2 = new FlowHistory(capacity, () => 7);
      h1.attach(perFlow);
      h2.attach(atOnce);
      const want = perFlow.cookiesFor(query);
      const wantTags: string[] = [];
      for (const c of want) wantTags.push(...perFlow.remove(c)!.tags);
      const heard: string[] = [];
      const got = atOnce.removeTagged(query, (t) => heard.push(t));
      assert.deepEqual([...got], [...want]);
      assert.deepEqual(heard, wantTags);
      assert.equal(h2.size, h1.size);
      assert.deepEqual(h2.list(), h1.list());
      assert.deepEqual([...atOnce.all()], [...perFlow.all()]);
      for (const t of query) assert.equal(atOnce.carries(t), false);
    }
  }
});
