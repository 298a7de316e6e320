/**
 * OrphanFlows (src/agent/orphan-flows.ts): a cookie reported unrecorded by two reads of its slice in a
 * row, on one connection, is an orphan; one sighting, a cookie recorded by the time of judging, a read
 * of its slice that does not report it, or a new connection, is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrphanFlows } from '../../src/agent/orphan-flows.js';

const none = () => false;

test('two reads in a row that report an unrecorded cookie make it an orphan, once', () => {
  const o = new OrphanFlows();
  const conn = {};
  assert.deepEqual(o.judge(conn, [5, 7], 0, 0, none), []);
  assert.deepEqual(o.judge(conn, [5, 7], 0, 0, none), [5, 7]);
  assert.equal(o.watched, 0);
  assert.deepEqual(o.judge(conn, [5], 0, 0, none), [], 'deleted already: watched afresh');
});

test('a cookie recorded by the time of judging is no orphan, and is no longer watched', () => {
  const o = new OrphanFlows();
  const conn = {};
  o.judge(conn, [5, 6], 0, 0, none);
  assert.deepEqual(
    o.judge(conn, [5, 6], 0, 0, (c) => c === 6),
    [5],
  );
  assert.deepEqual(o.judge(conn, [6], 0, 0, none), [], '6 seen unrecorded once since');
});

test("a read of a cookie's slice that does not report it clears it; reads of other slices do not", () => {
  const o = new OrphanFlows();
  const conn = {};
  // Four slices (mask 3): 9 is in slice 1, 10 in slice 2.
  o.judge(conn, [9], 3, 1, none);
  o.judge(conn, [10], 3, 2, none);
  assert.deepEqual(o.judge(conn, [], 3, 0, none), [], 'slice 0: neither cleared');
  assert.deepEqual(o.judge(conn, [9], 3, 1, none), [9]);
  assert.deepEqual(o.judge(conn, [], 3, 2, none), [], 'slice 2 read without 10: a deletion in flight');
  assert.deepEqual(o.judge(conn, [10], 3, 2, none), []);
  assert.equal(o.watched, 1);
});

test('sightings on an earlier connection do not count', () => {
  const o = new OrphanFlows();
  o.judge({}, [5], 0, 0, none);
  assert.deepEqual(o.judge({}, [5], 0, 0, none), []);
});
