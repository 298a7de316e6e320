// When a commit-relay writer handle commits itself (src/state/commit-relay-lone.ts), no services:
// only after LONE_AFTER relayed commits in a row, each sent alone and each next in the log; back to
// the relay at the first commit with another writer's between or not sent alone; and, while alone,
// one transaction through the relay every PROBE_MS, whose answer decides whether it stays alone.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LONE_AFTER, LoneWriter, PROBE_MS } from '../../src/state/commit-relay-lone.js';
import type { Obj } from '../../src/state/model.js';
import type { TxResult } from '../../src/state/store.js';

/** A committed create at `seq`. */
const at = (seq: number): TxResult => {
  const object = { id: `b${seq}`, name: `b${seq}` } as unknown as Obj;
  return {
    position: seq,
    results: [],
    changes: [{ seq, tx: seq, kind: 'bridge', id: object.id, op: 'create', version: 1, object }],
  };
};

/** A writer on a clock the test moves, and the next free log position. */
function setup() {
  const clock = { now: 1_000_000 };
  const lone = new LoneWriter(() => clock.now);
  let seq = 0;
  /** One transaction of this handle: through the relay unless alone; `gap` commits of others first. */
  const write = (gap = 0, solo = true) => {
    seq += gap;
    const relayed = !lone.alone;
    lone.answered(at(++seq), solo, relayed);
    clock.now += 1;
    return relayed;
  };
  return { clock, lone, write };
}

describe('commit relay: a handle that writes alone', () => {
  it('commits itself only after LONE_AFTER relayed commits in a row, each alone and next in the log', () => {
    const { lone, write } = setup();
    write();
    for (let i = 0; i < LONE_AFTER - 1; i++) assert.equal(write(), true, `relayed ${i}`);
    assert.equal(lone.alone, false, 'one short');
    write();
    assert.equal(lone.alone, true);
    assert.equal(write(), false, 'committed by the handle');
  });

  it('goes back to the relay at a commit with another writer commit between, or not sent alone', () => {
    const { lone, write } = setup();
    for (let i = 0; i <= LONE_AFTER; i++) write();
    assert.equal(lone.alone, true);
    assert.equal(write(1), false, 'this one was local: another writer committed before it');
    assert.equal(lone.alone, false);
    for (let i = 0; i < LONE_AFTER; i++) assert.equal(write(), true, `relayed again ${i}`);
    assert.equal(lone.alone, true);
    write(0, false);
    assert.equal(lone.alone, false, 'not sent alone');
  });

  it('while alone, sends one transaction through the relay every PROBE_MS, and stays alone only if it is next', () => {
    const { clock, lone, write } = setup();
    for (let i = 0; i <= LONE_AFTER; i++) write();
    assert.equal(write(), false);
    clock.now += PROBE_MS;
    assert.equal(lone.alone, false, 'a probe is due');
    assert.equal(write(), true, 'the probe is relayed');
    assert.equal(lone.alone, true, 'nothing else was committed: still alone');
    clock.now += PROBE_MS;
    assert.equal(write(3), true, 'the next probe, after others commits (a waiting leader group)');
    assert.equal(lone.alone, false, 'back with the relay');
    for (let i = 0; i < LONE_AFTER - 1; i++) assert.equal(write(), true, `relayed ${i}`);
  });

  it('never goes alone on commits it made itself (no leader, or the leader unreachable)', () => {
    const lone = new LoneWriter(() => 0);
    for (let s = 1; s <= 3 * LONE_AFTER; s++) lone.answered(at(s), true, false);
    assert.equal(lone.alone, false);
  });
});
