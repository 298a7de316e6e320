/**
 * Idle expiry done by the agent (src/agent/idle-expiry.ts): the FLOW stats reply read from its bytes
 * agrees with the full decoder; a flow whose packet count moved is used, one unused for the idle
 * timeout is forgotten and deleted by cookie (and the history says so); flows carry no timeout in
 * the switch; the sweep period follows the timeout.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowHistory } from '../../src/agent/flow-history.js';
import {
  IdleExpiry,
  SLICE_FLOWS,
  expireIdle,
  sliceCount,
  sweepPeriodMs,
} from '../../src/agent/idle-expiry.js';
import { createLogger } from '../../src/log.js';
import {
  OFPFF,
  OFPMPF_MORE,
  decodeMessage,
  encodeMessage,
  scanFlowCounts,
  type FlowStats,
} from '../../src/openflow/index.js';
import { FakeOfTable } from '../support/fake-of-table.js';
import { bridgeWorld } from '../support/bridge-world.js';
import { packetIn } from '../support/packet-in.js';
import { udpFrame } from '../support/udp-frame.js';

function entry(cookie: bigint, packetCount: bigint, match: FlowStats['match'] = []): FlowStats {
  return {
    tableId: 0,
    durationSec: 7,
    durationNsec: 5,
    priority: 10,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: OFPFF.SEND_FLOW_REM,
    cookie,
    packetCount,
    byteCount: packetCount,
    match,
    instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
  };
}

function reply(flows: FlowStats[], flags = 0): Buffer {
  return Buffer.from(
    encodeMessage({ type: 'multipart_reply', xid: 9, flags, body: { type: 'flow', flows } }),
  );
}

test('the FLOW reply read from its bytes gives the decoder entries, cookies and counts', () => {
  const flows = [
    entry(1n, 0n),
    entry(0x1234_5678_9an, 12_345_678_901n, [
      { field: 'in_port', value: 3 },
      { field: 'eth_dst', value: '02:00:00:00:00:02' },
      { field: 'eth_type', value: 0x0800 },
      { field: 'ipv4_dst', value: '192.0.2.7' },
    ]),
    entry(2n ** 53n + 1n, 3n), // not a reactive cookie: skipped
    entry(77n, 2n ** 60n), // a count past 2^53: skipped
    entry(42n, 1n, [{ field: 'tunnel_id', value: 5n }]),
  ];
  const bytes = reply(flows, OFPMPF_MORE);
  const decoded = decodeMessage(bytes);
  assert.ok(decoded.ok && decoded.msg.type === 'multipart_reply' && decoded.msg.body.type === 'flow');
  const seen: Array<[number, number]> = [];
  assert.equal(
    scanFlowCounts(bytes, (c, p) => seen.push([c, p])),
    undefined,
  );
  assert.deepEqual(
    seen,
    decoded.msg.body.flows
      .filter((f) => f.cookie < 2n ** 53n && f.packetCount < 2n ** 53n)
      .map((f) => [Number(f.cookie), Number(f.packetCount)]),
  );
  assert.deepEqual(seen, [
    [1, 0],
    [0x1234_5678_9a, 12_345_678_901],
    [42, 1],
  ]);
});

test('a frame that is not a whole FLOW reply is named, never thrown, and its earlier entries are seen', () => {
  const bytes = reply([entry(1n, 1n), entry(2n, 2n)]);
  const seen: number[] = [];
  // The second entry's length says more than the frame holds.
  const cut = Buffer.from(bytes);
  cut.writeUInt16BE(cut.readUInt16BE(16 + 0) + 16 + 8, 16 + cut.readUInt16BE(16));
  assert.match(scanFlowCounts(cut, (c) => seen.push(c)) ?? '', /flow entry at byte \d+ has length/);
  assert.deepEqual(seen, [1]);
  assert.match(scanFlowCounts(bytes.subarray(0, 12), () => {}) ?? '', /truncated/);
  const short = Buffer.from(bytes.subarray(0, bytes.length - 8));
  assert.match(scanFlowCounts(short, () => {}) ?? '', /length disagrees/);
  short.writeUInt16BE(short.length, 2);
  assert.match(scanFlowCounts(short, () => {}) ?? '', /flow entry at byte \d+ (has length|is truncated)/);
  const desc = Buffer.from(bytes);
  desc.writeUInt16BE(0, 8); // OFPMP_DESC
  assert.match(scanFlowCounts(desc, () => {}) ?? '', /type 0, not FLOW/);
  const notMp = Buffer.from(bytes);
  notMp[1] = 10;
  assert.match(scanFlowCounts(notMp, () => {}) ?? '', /not a multipart reply/);
});

test('sweeps run every quarter of the idle timeout, within 250 ms and 15 s', () => {
  assert.equal(sweepPeriodMs(60), 15000);
  assert.equal(sweepPeriodMs(65535), 15000);
  assert.equal(sweepPeriodMs(20), 5000);
  assert.equal(sweepPeriodMs(2), 500);
  assert.equal(sweepPeriodMs(1), 250);
});

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';
const pin = (inPort: number, src: string, dst: string) =>
  packetIn(udpFrame({ src, dst, srcIp: '192.0.2.10', dstIp: '192.0.2.11', srcPort: 4000, ttl: 64 }), inPort);

test('a reload to a shorter idle timeout brings the next sweep within its period, not the old one', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { ctl } = bridgeWorld();
    const cfg = ctl.cfg as { idleTimeout: number };
    cfg.idleTimeout = 300; // a sweep every 15 s
    let ticks = 0;
    const expiry = new IdleExpiry({
      conn: () => void ticks++, // no switch connected: each tick only asks for the connection
      ctl: () => ctl,
      send: () => undefined,
      log: createLogger({ name: 'test', level: 'silent' }),
    });
    expiry.start();
    mock.timers.tick(14000);
    assert.equal(ticks, 0, 'the first sweep is 15 s away');
    cfg.idleTimeout = 2; // a sweep every 500 ms
    expiry.retime();
    mock.timers.tick(500);
    assert.equal(ticks, 1, 'the next sweep within the new period');
    await new Promise(setImmediate); // the tick's end schedules the next
    mock.timers.tick(500);
    assert.equal(ticks, 2, 'and every period after');
    expiry.stop();
    expiry.retime(); // stopped: stays stopped
    mock.timers.tick(60000);
    assert.equal(ticks, 2);
  } finally {
    mock.timers.reset();
  }
});

test('a flow is deleted once unused for the idle timeout; a count that moves keeps it', () => {
  const { ctl } = bridgeWorld();
  const history = new FlowHistory(16, () => 200_000);
  history.attach(ctl.flows);
  const sw = new FakeOfTable();
  sw.apply(ctl.packetIn(pin(2, B, A), 1000)); // floods; learns B
  const out = ctl.packetIn(pin(1, A, B), 1000); // A -> B installed at t = 1 s
  sw.apply(out);
  const add = out.find((m) => m.type === 'flow_mod' && m.command === 'add');
  assert.ok(add?.type === 'flow_mod');
  assert.equal(add.idleTimeout, 0, 'no timeout in the switch: the agent expires its flows');
  assert.equal(add.hardTimeout, 0);
  assert.equal(add.flags & OFPFF.SEND_FLOW_REM, OFPFF.SEND_FLOW_REM, 'the switch still reports deletions');
  const cookie = Number(add.cookie);
  const flows = ctl.flows.size;

  const deletes = (msgs: ReturnType<typeof expireIdle>) =>
    msgs.flatMap((m) => (m.type === 'flow_mod' && m.command === 'delete' ? [Number(m.cookie)] : []));
  // A count that stays at zero is no use: 60 s after the install the flows are still within the timeout.
  ctl.flows.counted(cookie, 0, 30_000);
  assert.deepEqual(expireIdle(ctl, 61_000), []);
  // Packets counted at 50 s: used then, so not idle at 100 s, idle at 110 s; the flows never counted
  // (the predicted reply's) are idle at 100 s.
  ctl.flows.counted(cookie, 5, 50_000);
  ctl.flows.counted(cookie, 5, 90_000); // the same count: not used again
  const removed = ctl.stats.flowsRemoved;
  const first = deletes(expireIdle(ctl, 100_000));
  assert.equal(first.length, flows - 1);
  assert.ok(!first.includes(cookie));
  assert.deepEqual(ctl.flows.usage(cookie), { usedAt: 50_000, packets: 5 });
  const gone = expireIdle(ctl, 110_001);
  assert.deepEqual(deletes(gone), [cookie], 'deleted by its cookie');
  assert.equal(ctl.flows.has(cookie), false);
  assert.equal(ctl.stats.flowsRemoved, removed + flows);
  assert.equal(ctl.flows.size, 0);
  sw.apply(gone);
  assert.equal(sw.outPorts(1, pin(1, A, B).data), 'miss', 'the switch no longer holds it: a miss');
  const h = history.list({ cookie })[0];
  assert.equal(h?.reason, 'idle');
  assert.equal(h?.packets, 5);
  assert.match(h?.detail ?? '', /idle timeout \(unused 60 s\) after 199 s, 5 packets/);
  // The FLOW_REMOVED the delete brings back finds nothing left to forget.
  ctl.flowRemoved(cookie, 110_002);
  assert.equal(ctl.stats.flowsRemoved, removed + flows);
  // Counts for a cookie no longer recorded are ignored.
  ctl.flows.counted(cookie, 9, 120_000);
  assert.equal(ctl.flows.usage(cookie), undefined);
});

test('only flows unused for the timeout go; a reload to a shorter timeout applies to installed flows', () => {
  const { ctl } = bridgeWorld();
  ctl.packetIn(pin(2, B, A), 1000);
  ctl.packetIn(pin(1, A, B), 1000);
  const cookies = [...ctl.flows.all()].map((f) => f.cookie);
  assert.ok(cookies.length >= 2);
  const [busy, ...rest] = cookies;
  ctl.flows.counted(busy!, 3, 20_000);
  (ctl.cfg as { idleTimeout: number }).idleTimeout = 10; // as the daemon's reload sets it
  const gone = expireIdle(ctl, 25_000).map((m) => (m.type === 'flow_mod' ? Number(m.cookie) : -1));
  assert.deepEqual(gone.sort(), [...rest].sort());
  assert.deepEqual(
    [...ctl.flows.all()].map((f) => f.cookie),
    [busy],
  );
  assert.deepEqual(expireIdle(ctl, 29_999), []);
  assert.equal(expireIdle(ctl, 30_001).length, 1);
  assert.equal(ctl.flows.size, 0);
});

test("reads are split by the cookies' low bits into slices of at most 4,096 flows; a read judges its slice only", () => {
  assert.equal(SLICE_FLOWS, 4096);
  assert.deepEqual(
    [0, 4096, 4097, 8192, 8193, 100_000, 1_048_576, 10_000_000].map(sliceCount),
    [1, 1, 2, 2, 4, 32, 256, 256],
  );
  const { ctl } = bridgeWorld();
  ctl.packetIn(pin(2, B, A), 1000);
  ctl.packetIn(pin(1, A, B), 1000);
  const cookies = [...ctl.flows.all()].map((f) => f.cookie);
  const even = cookies.filter((c) => c % 2 === 0);
  const odd = cookies.filter((c) => c % 2 === 1);
  assert.ok(even.length > 0 && odd.length > 0, `cookies ${cookies.join(' ')}`);
  const deleted = (out: ReturnType<typeof expireIdle>) =>
    out.map((m) => (m.type === 'flow_mod' && m.command === 'delete' ? Number(m.cookie) : -1)).sort();
  assert.deepEqual(deleted(expireIdle(ctl, 500_000, 1, 1)), odd.sort());
  assert.deepEqual(
    [...ctl.flows.all()].map((f) => f.cookie).sort(),
    even.sort(),
    'the other slice waits for its own read',
  );
  assert.deepEqual(deleted(expireIdle(ctl, 500_000, 1, 0)), even.sort());
});
