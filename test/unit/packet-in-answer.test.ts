/**
 * PacketInAnswerer: one write per packet-in (perTurn false, the agent's default) writes each answer at once; per turn, the answers of
 * every packet-in of one turn go out in one write, in arrival order, after the turn; each packet-in's
 * latency is observed once its answer is written; a packet-in whose answer cannot be sent is dropped
 * alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketInAnswerer } from '../../src/agent/packet-in-answer.js';
import { createLogger } from '../../src/log.js';
import type { Outgoing } from '../../src/openflow/index.js';
import { bridgeWorld } from '../support/bridge-world.js';
import { packetIn } from '../support/packet-in.js';
import { udpFrame } from '../support/udp-frame.js';

const log = createLogger({ name: 'test', level: 'silent' });

function frameTo(i: number): Buffer {
  return udpFrame({
    src: '02:00:00:00:00:01',
    dst: `02:ee:00:00:00:${i.toString(16).padStart(2, '0')}`,
    srcPort: 40000,
    dstPort: 7,
    data: new Uint8Array(18),
  });
}

const turn = () => new Promise((r) => setImmediate(r));

/** An answerer on a fresh bridge world whose writes are recorded; `refuse` makes a write throw. */
function recorded(perTurn: boolean, refuse: (m: readonly Outgoing[]) => boolean = () => false) {
  const { ctl } = bridgeWorld();
  const writes: Outgoing[][] = [];
  const answers = new PacketInAnswerer(
    () => ctl,
    (m) => {
      if (refuse(m)) throw new Error('refused');
      writes.push([...m]);
    },
    log,
    perTurn,
  );
  return { ctl, writes, answers };
}

/** The first frame byte of each PACKET_OUT in `msgs` (frameTo's index). */
const outIndexes = (msgs: readonly Outgoing[]) =>
  msgs.filter((m) => m.type === 'packet_out').map((m) => (m.type === 'packet_out' ? m.data[5] : -1));

test('the packet-ins of one turn are answered in one write, after the turn, in arrival order', async () => {
  const { ctl, writes, answers } = recorded(true);
  const seen = ctl.stats.packetInLatency.count;
  for (let i = 1; i <= 3; i++) answers.answer(packetIn(frameTo(i), 1), performance.now());
  assert.equal(writes.length, 0, 'nothing written inside the turn');
  assert.equal(ctl.stats.packetInLatency.count, seen, 'latency observed only once written');
  await turn();
  assert.equal(writes.length, 1);
  assert.deepEqual(outIndexes(writes[0]!), [1, 2, 3], 'one PACKET_OUT per packet-in, in arrival order');
  assert.equal(ctl.stats.packetInLatency.count, seen + 3);
  answers.answer(packetIn(frameTo(4), 1), performance.now());
  await turn();
  assert.equal(writes.length, 2, 'the next turn is its own write');
});

test('an answer the connection refuses drops only its own packet-in', async () => {
  const bad = frameTo(2)[5];
  const { ctl, writes, answers } = recorded(true, (m) =>
    m.some((x) => x.type === 'packet_out' && x.data[5] === bad),
  );
  const ignored = ctl.stats.ignored;
  for (let i = 1; i <= 3; i++) answers.answer(packetIn(frameTo(i), 1), performance.now());
  await turn();
  assert.deepEqual(outIndexes(writes.flat()), [1, 3]);
  assert.equal(ctl.stats.ignored, ignored + 1);
});

test('one write per packet-in (perTurn false): each is answered in its own write, at once', () => {
  const { ctl, writes, answers } = recorded(false);
  const seen = ctl.stats.packetInLatency.count;
  for (let i = 1; i <= 3; i++) {
    answers.answer(packetIn(frameTo(i), 1), performance.now());
    assert.equal(writes.length, i, 'written before the next packet-in');
  }
  assert.deepEqual(writes.map(outIndexes), [[1], [2], [3]]);
  assert.equal(ctl.stats.packetInLatency.count, seen + 3);
});

test('one write per packet-in: a refused answer drops its packet-in, counted once, and the next goes on', () => {
  const bad = frameTo(2)[5];
  const { ctl, writes, answers } = recorded(false, (m) =>
    m.some((x) => x.type === 'packet_out' && x.data[5] === bad),
  );
  const ignored = ctl.stats.ignored;
  for (let i = 1; i <= 3; i++) answers.answer(packetIn(frameTo(i), 1), performance.now());
  assert.deepEqual(writes.map(outIndexes), [[1], [3]]);
  assert.equal(ctl.stats.ignored, ignored + 1);
});
