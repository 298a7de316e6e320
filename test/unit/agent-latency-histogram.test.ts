/**
 * The agent's latency histogram (latency-histogram.ts): where observations land, the quantiles read
 * from it at a few microseconds' resolution, the 1-2-5 series Prometheus gets, and the p50/p99 the
 * evaluation reads from two sets of sparse snapshots of several agents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COARSE_BOUNDS_US,
  LATENCY_BOUNDS_US,
  LatencyHistogram,
  snapshotDelta,
} from '../../src/agent/latency-histogram.js';

test('an observation lands in the first bucket whose bound is at or above it', () => {
  const h = new LatencyHistogram();
  for (const v of [0.2, 1.05, 1.1, 42.3, 100, 1e7]) h.observe(v);
  assert.deepEqual(h.snapshot().buckets, [
    { le: 1, count: 1 },
    { le: 1.1, count: 2 },
    { le: 43, count: 1 },
    { le: 100, count: 1 },
    { le: '+Inf', count: 1 },
  ]);
  assert.equal(h.count, 6);
});

test('p50 and p99 of a microsecond-scale path are read within a bucket of their value', () => {
  const h = new LatencyHistogram();
  // The in-process figures of the first-packet issue: most packet-ins near 10.7 us, a tail at 63 us.
  for (let i = 0; i < 98; i++) h.observe(10.7);
  for (let i = 0; i < 2; i++) h.observe(63.2);
  assert.equal(h.quantile(0.5), 11);
  assert.equal(h.quantile(0.99), 64);
  // A spread from 1 to 1,000 us: rank 500 is 500 us, rank 990 is 990 us, each a bucket bound.
  const spread = new LatencyHistogram();
  for (let us = 1; us <= 1000; us++) spread.observe(us);
  assert.equal(spread.quantile(0.5), 500);
  assert.equal(spread.quantile(0.99), 990);
  assert.equal(new LatencyHistogram().quantile(0.5), 0, 'empty');
});

test('every bucket is at most 10% wider than its lower bound, from 1 us to 1 s', () => {
  for (let i = 1; i < LATENCY_BOUNDS_US.length - 1; i++) {
    const lo = LATENCY_BOUNDS_US[i - 1]!;
    assert.ok(LATENCY_BOUNDS_US[i]! > lo);
    assert.ok(LATENCY_BOUNDS_US[i]! <= lo * 1.1 + 1e-9, `bucket ${lo}..${LATENCY_BOUNDS_US[i]}`);
  }
  assert.equal(LATENCY_BOUNDS_US.at(-2), 1e6);
  assert.equal(LATENCY_BOUNDS_US.at(-1), Infinity);
});

test('Prometheus gets the 1-2-5 series, each bound a fine bound, as cumulative counts', () => {
  assert.deepEqual(COARSE_BOUNDS_US, [
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1e3,
    2e3,
    5e3,
    1e4,
    2e4,
    5e4,
    1e5,
    2e5,
    5e5,
    1e6,
    Infinity,
  ]);
  const h = new LatencyHistogram();
  for (const v of [3, 12, 12, 700, 50000]) h.observe(v);
  assert.equal(h.cumulative(5), 1);
  assert.equal(h.cumulative(20), 3);
  assert.equal(h.cumulative(1000), 4);
  assert.equal(h.cumulative(5e4), 5);
  assert.equal(h.cumulative(Infinity), 5);
});

test('the evaluation reads p50 and p99 of what several agents observed between two snapshots', () => {
  const a = new LatencyHistogram();
  const b = new LatencyHistogram();
  a.observe(5000); // before the study: not counted
  const before = [a.snapshot(), b.snapshot()];
  for (let i = 0; i < 60; i++) a.observe(31.5);
  for (let i = 0; i < 39; i++) b.observe(45);
  b.observe(420);
  // Through JSON, as the control API carries them ('+Inf' a string).
  const after = JSON.parse(JSON.stringify([a.snapshot(), b.snapshot()])) as typeof before;
  assert.deepEqual(snapshotDelta(before, after), { p50: 32, p99: 45, count: 100 });
  assert.deepEqual(snapshotDelta(after, after), { p50: NaN, p99: NaN, count: 0 });
});
