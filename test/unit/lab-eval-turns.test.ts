// The evaluation measures an agent case and its NORMAL baseline flow by flow in turn (eval.ts
// measureTogether): every flow number runs each case exactly once, and the order flips every flow, so
// over an even number of flows each case runs first as often as the other and neither always follows
// the same one.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { flowTurn } from '../../src/lab/eval-cases.js';

describe('eval: cases measured together take turns (ABBA)', () => {
  it('runs each case once per flow, in order, then reversed', () => {
    assert.deepEqual(flowTurn(0, 2), [0, 1]);
    assert.deepEqual(flowTurn(1, 2), [1, 0]);
    assert.deepEqual(flowTurn(2, 3), [0, 1, 2]);
    assert.deepEqual(flowTurn(3, 3), [2, 1, 0]);
    assert.deepEqual(flowTurn(7, 1), [0]);
  });

  it('over an even number of flows, each case is first as often, and the sequence alternates ABBA', () => {
    const seq = Array.from({ length: 20 }, (_, f) => flowTurn(f, 2)).flat();
    const firsts = [0, 0];
    for (let f = 0; f < 20; f++) firsts[flowTurn(f, 2)[0]!]!++;
    assert.deepEqual(firsts, [10, 10]);
    assert.deepEqual(seq.slice(0, 8), [0, 1, 1, 0, 0, 1, 1, 0]);
    // Between two flows of one case there is never more than two of the other.
    const gaps = seq.map((c, i) => (c === 0 ? i : -1)).filter((i) => i >= 0);
    for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! - gaps[i - 1]! <= 3);
  });
});
