/**
 * Rehearsal (src/agent/rehearsal.ts, rehearsePacketIn): a rehearsed packet-in builds the
 * messages the real one would send and commits nothing (no MAC learned, no flow recorded, no recent
 * flow, no stat but `rehearsals`); the timer's rehearsal skips while packet-ins come and long after
 * the last one, keeps only table misses, and stops after a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log.js';
import { OFPR, type Outgoing, type PacketInView } from '../../src/openflow/index.js';
import { Rehearsal, WARM_FOR_MS, rehearsePacketIn } from '../../src/agent/rehearsal.js';
import { FlowMatch } from '../../src/sim/flow-match.js';
import type { FlowController } from '../../src/agent/controller.js';
import { packetIn as pin } from '../support/packet-in.js';
import { bridgeWorld } from '../support/bridge-world.js';
import { udpFrame } from '../support/udp-frame.js';
import { macToNumber } from '../../src/addr.js';

const log = createLogger({ name: 'test', level: 'silent' });
const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const C = '02:00:00:00:00:03';

function udp(src: string, dst: string): Buffer {
  return udpFrame({ src, dst });
}

function packetIn(inPort: number, data: Buffer, reason: number = OFPR.NO_MATCH): PacketInView {
  return pin(data, inPort, reason);
}

/** The messages without what only a committed flow has (its cookie). */
function shape(out: readonly Outgoing[]): unknown[] {
  return out.map((m) => (m.type === 'flow_mod' ? { ...m, cookie: 0n } : m));
}

test('a rehearsal builds the real answer and commits nothing', () => {
  const { ctl, br } = bridgeWorld(log);
  ctl.packetIn(packetIn(2, udp(B, A)), 1000); // B learned on p2
  const before = { ...ctl.stats.snapshot(ctl.flows.size), rehearsals: 0 };
  const flows = ctl.flows.size;
  const recent = ctl.recent.size;
  const rehearsed: Outgoing[] = [];
  rehearsePacketIn(ctl, new FlowMatch(), packetIn(1, udp(A, B)), 1001, rehearsed);
  assert.equal(ctl.stats.rehearsals, 1);
  assert.deepEqual(
    { ...ctl.stats.snapshot(ctl.flows.size), rehearsals: 0 },
    before,
    'no stat but rehearsals moved',
  );
  assert.equal(ctl.flows.size, flows, 'no flow recorded');
  assert.equal(ctl.recent.size, recent, 'no recent flow');
  assert.equal(ctl.state.macs.lookup(br, 0, macToNumber(A), 1001), undefined, 'A not learned');
  assert.ok(ctl.state.macs.lookup(br, 0, macToNumber(B), 1001), 'B learned (the test sees the table)');
  // The forward flow, the predicted reply's flow, the PACKET_OUT: what the real packet-in sends.
  assert.deepEqual(
    rehearsed.map((m) => m.type),
    ['flow_mod', 'flow_mod', 'packet_out'],
  );
  const real = ctl.packetIn(packetIn(1, udp(A, B)), 1001);
  const adds = real.filter((m) => m.type !== 'flow_mod' || m.command === 'add');
  assert.deepEqual(shape([rehearsed[0]!]), shape([adds[0]!]), 'the forward FLOW_MOD');
  assert.deepEqual(rehearsed[2], adds[2], 'the PACKET_OUT');
  // The reply's differs in one way: the rehearsal did not learn A, so the predicted reply floods.
});

test('a rehearsal of a port the host does not have, or a bad frame, does nothing', () => {
  const { ctl } = bridgeWorld(log);
  const out: Outgoing[] = [];
  rehearsePacketIn(ctl, new FlowMatch(), packetIn(99, udp(A, B)), 1000, out);
  rehearsePacketIn(ctl, new FlowMatch(), packetIn(1, Buffer.from([1, 2, 3])), 1000, out);
  assert.deepEqual(out, []);
  assert.equal(ctl.stats.rehearsals, 0);
});

test('the timer rehearses the last table miss only when no packet-in came within the period', () => {
  const { ctl } = bridgeWorld(log);
  const r = new Rehearsal(() => ctl, 5, log);
  r.tick(100);
  assert.equal(ctl.stats.rehearsals, 0, 'nothing noted yet');
  r.noted(packetIn(1, udp(A, C)), 100);
  r.tick(103);
  assert.equal(ctl.stats.rehearsals, 0, 'a packet-in 3 ms ago');
  r.tick(105);
  assert.equal(ctl.stats.rehearsals, 1);
  // An action packet-in (not a table miss) resets the idle clock but is not the one rehearsed.
  r.noted(packetIn(2, Buffer.from([1, 2, 3]), OFPR.ACTION), 110);
  r.tick(120);
  assert.equal(ctl.stats.rehearsals, 2, 'the table miss noted before is rehearsed');
  r.tick(110 + WARM_FOR_MS + 1);
  assert.equal(ctl.stats.rehearsals, 2, 'none long after the last packet-in');
  assert.equal(ctl.flows.size, 0);
});

test('the bytes rehearsed are a copy: the switch read buffer may be reused', () => {
  const { ctl } = bridgeWorld(log);
  const r = new Rehearsal(() => ctl, 1, log);
  const data = udp(A, B);
  r.noted(packetIn(1, data), 0);
  data.writeUInt16BE(0x88a8, 12); // the read buffer reused: a frame the agent does not simulate
  r.tick(10);
  assert.equal(ctl.stats.rehearsals, 1, 'the bytes noted were rehearsed');
});

test('a rehearsal that throws stops the rehearsals', () => {
  let calls = 0;
  const failing = {
    ports: {
      portAt: () => {
        calls++;
        throw new Error('boom');
      },
    },
  } as unknown as FlowController;
  const r = new Rehearsal(() => failing, 1, log);
  r.start();
  r.noted(packetIn(1, udp(A, B)), 0);
  r.tick(10);
  r.tick(20);
  assert.equal(calls, 1);
  r.stop();
});
