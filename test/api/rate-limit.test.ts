/**
 * The request bound of midonet-api (src/api/rate-limit.ts): a fixed window per key on a clock the test
 * holds; a key over its bound is told how long to wait, other keys are not affected, and windows that
 * have ended are dropped once the table is full.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimit } from '../../src/api/rate-limit.js';

describe('RateLimit', () => {
  it('lets max requests of a key through per window, then says when to retry', () => {
    let now = 1_000_000;
    const limit = new RateLimit(3, 10_000, () => now);
    assert.deepEqual(
      [1, 2, 3].map(() => limit.take('a')),
      [undefined, undefined, undefined],
    );
    assert.equal(limit.take('a'), 10, 'the 4th waits the whole window');
    assert.equal(limit.take('b'), undefined, 'per key');
    now += 7_500;
    assert.equal(limit.take('a'), 3, 'seconds left, rounded up');
    now += 2_500;
    assert.equal(limit.take('a'), undefined, 'a new window');
  });

  it('drops ended windows when the table is full', () => {
    let now = 0;
    const limit = new RateLimit(1, 1000, () => now, 2);
    limit.take('a');
    limit.take('b');
    assert.equal(limit.take('a'), 1);
    now = 1000;
    limit.take('c');
    const windows = (limit as unknown as { windows: Map<string, unknown> }).windows;
    assert.deepEqual([...windows.keys()], ['c']);
  });
});
