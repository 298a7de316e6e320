/**
 * The agent's recent flows (src/agent/recent-flows.ts), keyed by mask and masked match, against the
 * plain definition: find gives the newest entry of the port, installed within the window and among
 * the last `perPort` added there, whose mask covers the packet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecentFlows, type RecentFlow } from '../../src/agent/recent-flows.js';
import { agreesOnMask } from '../../src/sim/mask.js';
import { NUM_FIELDS } from '../../src/sim/flow-match.js';
import { holds } from './property.js';

/** Masks over fields 1..3: exact on one, two or all three, and one with a partial word. */
const MASKS: number[][] = [
  [0, 0xffff, 0, 0],
  [0, 0xffff, 0xff, 0],
  [0, 0xffff, 0xff, 0xffffffff],
  [0, 0xf0f0, 0, 0xff00],
].map((m) => Array.from({ length: NUM_FIELDS }, (_, i) => m[i] ?? 0));

const packetArb = fc
  .tuple(
    fc.integer({ min: 0, max: 3 }),
    fc.integer({ min: 0, max: 3 }),
    fc.constantFrom(0, 0xff00, 0x1234ff00),
  )
  .map(([a, b, c]) => Array.from({ length: NUM_FIELDS }, (_, i) => [0, 0x10 + a, b, c][i] ?? 0));

const portArb = fc.integer({ min: 1, max: 2 });
const stepArb = fc.integer({ min: 0, max: 20 });
const addArb = fc.record({
  op: fc.constant('add' as const),
  port: portArb,
  mask: fc.integer({ min: 0, max: MASKS.length - 1 }),
  packet: packetArb,
  dt: stepArb,
});
const findArb = fc.record({
  op: fc.constant('find' as const),
  port: portArb,
  packet: packetArb,
  dt: stepArb,
});

test('find is the newest live entry of the port whose mask covers the packet', () => {
  const WINDOW = 50;
  const PER_PORT = 6;
  holds(
    fc.property(fc.array(fc.oneof(addArb, findArb), { maxLength: 200, size: 'max' }), (ops) => {
      const r = new RecentFlows(WINDOW, PER_PORT);
      const model = new Map<number, RecentFlow[]>();
      let now = 0;
      let cookie = 0;
      for (const o of ops) {
        now += o.dt;
        const list = model.get(o.port) ?? [];
        model.set(o.port, list);
        if (o.op === 'add') {
          const f: RecentFlow = {
            cookie: ++cookie,
            mask: MASKS[o.mask]!,
            packet: o.packet,
            actions: [],
            at: now,
          };
          r.add(o.port, f);
          list.push(f);
          if (list.length > PER_PORT) list.shift();
          continue;
        }
        while (list.length > 0 && now - list[0]!.at > WINDOW) list.shift();
        const want = [...list].reverse().find((f) => agreesOnMask(f.mask, f.packet, o.packet));
        assert.equal(r.find(o.port, o.packet, now)?.cookie, want?.cookie);
      }
      assert.ok(r.size <= 2 * PER_PORT);
    }),
    { numRuns: 300, seed: 12 },
  );
});

test('entries of one mask share a group; the window and the per-port bound hold', () => {
  const r = new RecentFlows(1000, 3);
  const mask = MASKS[0]!;
  const pkt = (a: number) => Array.from({ length: NUM_FIELDS }, (_, i) => (i === 1 ? a : 0));
  for (let a = 1; a <= 5; a++)
    r.add(7, { cookie: a, mask: mask.slice(), packet: pkt(a), actions: [], at: 100 });
  assert.equal(r.size, 3, 'at most perPort entries per port');
  assert.equal(r.find(7, pkt(1), 100), undefined, 'the oldest entries were dropped');
  assert.equal(r.find(7, pkt(5), 100)?.cookie, 5);
  assert.equal(r.find(7, pkt(5), 1101), undefined, 'past the window');
  assert.equal(r.size, 0, 'expired entries are dropped when found stale');
});
