// Held statements (Deferred, the marks of committed rows) and their batching (byPartition): every
// statement held is run exactly once -- after the hold, at the size bound, or at once when the owner
// closes -- and every wait the owner tracks ends (a close never hangs on a hold that a flush ended);
// statements of one partition are put next to each other, the rest keep their order. No services.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Deferred } from '../../src/state/cassandra-coalesce.js';
import { byPartition, type Statement } from '../../src/state/cassandra-rows.js';

/** A Deferred over a recording runner, and the promises it asked its owner to track. */
function held(delayMs: number, maxItems: number) {
  const runs: Statement[][] = [];
  const tracked: Array<Promise<unknown>> = [];
  const d = new Deferred(
    (items) => (runs.push([...items]), Promise.resolve()),
    (p) => tracked.push(p),
    delayMs,
    maxItems,
  );
  return { d, runs, tracked, settled: () => Promise.all(tracked) };
}

const mark = (bucket: number, id: string): Statement => ['UPDATE objects', ['bridge', bucket, id]];

describe('Deferred (held marks)', () => {
  it('runs what was held once after the hold, together', async () => {
    const { d, runs, settled } = held(20, 100);
    d.add([mark(0, 'a')]);
    d.add([mark(1, 'b'), mark(0, 'c')]);
    assert.equal(runs.length, 0);
    await settled();
    assert.deepEqual(runs, [[mark(0, 'a'), mark(1, 'b'), mark(0, 'c')]]);
  });

  it('runs at the size bound, and the hold that bound ended neither runs again nor stays pending', async () => {
    const { d, runs, tracked, settled } = held(60_000, 3);
    d.add([mark(0, 'a'), mark(1, 'b')]);
    d.add([mark(2, 'c')]);
    assert.deepEqual(runs, [[mark(0, 'a'), mark(1, 'b'), mark(2, 'c')]]);
    d.add([mark(3, 'd')]); // a new hold starts
    d.close(); // ends it at once
    // Every tracked wait ends within a few turns of the event loop (a hold left running would keep
    // one pending for a minute).
    let done = false;
    void settled().then(() => (done = true));
    for (let i = 0; i < 5 && !done; i++) await new Promise((r) => setImmediate(r));
    assert.ok(done, 'a tracked hold is still pending after close');
    assert.deepEqual(runs, [[mark(0, 'a'), mark(1, 'b'), mark(2, 'c')], [mark(3, 'd')]]);
    assert.ok(tracked.length >= 3);
  });

  it('after close runs each statement as it comes', async () => {
    const { d, runs, settled } = held(60_000, 100);
    d.close();
    d.add([mark(0, 'a')]);
    d.add([mark(1, 'b')]);
    await settled();
    assert.deepEqual(runs, [[mark(0, 'a')], [mark(1, 'b')]]);
  });
});

describe('byPartition', () => {
  it('puts statements of one table and partition together, keeping their order within it', () => {
    const name = (n: string, id: string): Statement => ['INSERT names', ['bridge', n, id]];
    const items = [mark(1, 'a'), name('x', 'a'), mark(0, 'b'), mark(1, 'c'), name('x', 'd'), mark(0, 'e')];
    const out = byPartition(items);
    assert.equal(out.length, items.length);
    assert.deepEqual(new Set(out), new Set(items));
    const keys = out.map(([q, p]) => `${q}|${String(p[0])}|${String(p[1])}`);
    // Each partition's statements are contiguous.
    const seen = new Set<string>();
    keys.forEach((k, i) => {
      if (i > 0 && keys[i - 1] !== k) assert.ok(!seen.has(k), `partition ${k} split`);
      seen.add(k);
    });
    // Order within a partition as given.
    assert.deepEqual(
      out.filter(([q, p]) => q === 'UPDATE objects' && p[1] === 1),
      [mark(1, 'a'), mark(1, 'c')],
    );
    assert.deepEqual(
      out.filter(([q]) => q === 'INSERT names'),
      [name('x', 'a'), name('x', 'd')],
    );
  });
});
