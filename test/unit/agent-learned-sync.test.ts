/**
 * Publication of learned state through a store outage (learned-sync.ts): an entry the store did not
 * take stays pending and is taken again after a back-off (100 ms doubling to 1 s); the newest value of
 * a key wins, also over a publication in flight; the pending table is bounded (oldest dropped,
 * counted); expired entries are not published; an ARP entry goes to the other agents every time it is
 * learned, while the store gets it only when it changed or aged; another host's newer entry replaces
 * one of this host's that still waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LearnedSync, type LearnedCounters } from '../../src/agent/learned-sync.js';
import type { Effect } from '../../src/sim/result.js';

const HOST = 'hv1';
const mac = (n: number, port = 'p1'): Effect => ({
  kind: 'macLearned',
  bridgeId: 'br',
  vlan: 0,
  mac: n,
  portId: port,
});
const arp = (ip: number, m = 0xaa): Effect => ({ kind: 'arpLearned', routerId: 'r', ip, mac: m });

function sync(maxPending = 100): { s: LearnedSync; c: LearnedCounters } {
  const c: LearnedCounters = { learnedUnpublished: 0, learnedPublishFailures: 0, learnedDropped: 0 };
  return { s: new LearnedSync(HOST, 300_000, 600_000, c, maxPending), c };
}

test('a publication the store did not take is kept and taken again after a back-off, until it succeeds', () => {
  const { s, c } = sync();
  s.offer([mac(1), arp(0xc0000201)], 0);
  const first = s.take(0)!;
  assert.equal(first.length, 2);
  assert.equal(s.take(1), undefined, 'one publication in flight at a time');
  s.settle(first, false, 10);
  assert.equal(c.learnedPublishFailures, 1);
  assert.equal(s.take(50), undefined, 'not before the back-off');
  const again = s.take(110)!;
  assert.deepEqual(again, first, 'the same entries, nothing lost');
  s.settle(again, false, 110);
  assert.equal(s.take(250), undefined, 'the back-off doubled (200 ms)');
  // 400, 800, then 1000 ms: the back-off stops growing at 1 s.
  let t = 310;
  for (const wait of [400, 800, 1000, 1000]) {
    s.settle(s.take(t)!, false, t);
    assert.equal(s.take(t + wait - 1), undefined, `no retry within ${wait} ms`);
    t += wait;
  }
  const last = s.take(t)!;
  assert.equal(last.length, 2);
  assert.equal(s.settle(last, true, t), true, 'a success after failures says the store is back');
  assert.equal(s.take(t), undefined, 'nothing left');
  assert.equal(c.learnedUnpublished, 0);
});

test('the newest value of a key wins, also over the publication in flight', () => {
  const { s } = sync();
  s.offer([mac(1, 'p1')], 0);
  const inFlight = s.take(0)!;
  s.offer([mac(1, 'p2')], 5); // the MAC moved while the first value was being published
  s.settle(inFlight, true, 6);
  const next = s.take(6)!;
  assert.deepEqual(
    next.map((e) => e.value),
    ['p2'],
    'the newer value is still to publish',
  );
  s.settle(next, true, 7);
  s.offer([mac(2, 'p1')], 8);
  const failed = s.take(8)!;
  s.offer([mac(2, 'p3')], 9);
  s.settle(failed, false, 9);
  assert.deepEqual(
    s.take(200)!.map((e) => e.value),
    ['p3'],
    'after a failure only the newest value waits',
  );
});

test('the pending table is bounded: the oldest entry goes first, counted', () => {
  const { s, c } = sync(3);
  s.offer([mac(1), mac(2), mac(3), mac(4)], 0);
  assert.equal(c.learnedDropped, 1);
  assert.equal(c.learnedUnpublished, 3);
  assert.deepEqual(
    s.take(0)!.map((e) => e.key),
    ['2', '3', '4'],
  );
});

test('an entry that expired while it waited is not published', () => {
  const { s, c } = sync();
  s.queue([{ table: 'nat', scope: 'r', key: 'k', value: 'v', origin: HOST, expiresAt: 1000 }]);
  s.offer([mac(1)], 0);
  const b = s.take(0)!;
  s.settle(b, false, 0);
  assert.deepEqual(
    s.take(2000)!.map((e) => e.table),
    ['mac'],
  );
  assert.equal(c.learnedUnpublished, 1);
});

test('an ARP entry goes to the other agents every time it is learned; the store gets it once', () => {
  const { s } = sync();
  assert.equal(s.offer([arp(7), mac(1)], 0).length, 2);
  s.settle(s.take(0)!, true, 0);
  const again = s.offer([arp(7), mac(1)], 1000);
  assert.deepEqual(
    again.map((e) => e.table),
    ['arp'],
    'the ARP entry again, the MAC entry not',
  );
  assert.equal(s.take(1000), undefined, 'nothing new for the store');
});

test("another host's newer entry replaces one of this host's still waiting; an older one does not", () => {
  const { s } = sync();
  s.offer([mac(1, 'p1'), mac(2, 'p1')], 0);
  s.settle(s.take(0)!, false, 0);
  const effects = s.effectsOf(
    [
      { table: 'mac', scope: 'br', key: '1', value: 'p9', origin: 'hv2', expiresAt: 300_000 + 50 },
      { table: 'mac', scope: 'br', key: '2', value: 'p9', origin: 'hv2', expiresAt: 100 },
    ],
    10,
  );
  assert.equal(effects.length, 2, 'both are used here');
  assert.deepEqual(
    s.take(1000)!.map((e) => e.key),
    ['2'],
    "only this host's entry newer than the other's still waits",
  );
});
