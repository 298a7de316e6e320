/**
 * The receiving agent of bench/flow-state: a PeerChannel (ZeroMQ with CURVE) in its own process that
 * applies every flowState message into a NAT table and a conntrack table, as an agent does.
 *
 * Protocol with the bench on stdin/stdout, one JSON line each:
 *   out {"endpoint", "key"}                      once listening
 *   in  {"peer": {"hostId", "endpoint", "key"}}  the sender to allow
 *   in  {"expect": N}                            count N messages (connections: the channel may
 *                                                coalesce several into one frame), then
 *   out {"received": N, "firstAt", "lastAt", "delaysMs": [...]}  (times: epoch ms, sub-ms precision)
 * Latency: the bench puts its send time (epoch ms) in the first binding's expiry minus IDLE_MS.
 */
import { createInterface } from 'node:readline';
import { curveKeyPair } from 'zeromq';
import { PeerChannel } from '../src/agent/peers.js';
import { createLogger } from '../src/log.js';
import { MemoryConntrack, MemoryNatTable } from '../src/sim/flow-state.js';

/** Must equal bench/flow-state.ts's. */
const IDLE_MS = 60_000;
const nowMs = () => performance.timeOrigin + performance.now();

const nat = new MemoryNatTable();
const ct = new MemoryConntrack();
let expect = Infinity;
let received = 0;
let firstAt = 0;
let lastAt = 0;
const delays: number[] = [];
const log = createLogger({ name: 'bench-peer', level: 'warn', destination: 2 });
const channel = new PeerChannel(
  'receiver',
  curveKeyPair(),
  (m) => {
    if (m.kind !== 'flowState') return;
    const t = nowMs();
    if (received === 0) firstAt = t;
    lastAt = t;
    // Messages may arrive coalesced (peers.ts): one tracked connection per message sent.
    received += m.ct.length;
    const first = m.nat[0];
    if (first !== undefined) delays.push(t - (first.expiresAt - IDLE_MS));
    const now = Date.now();
    for (const e of m.nat) nat.bind(e.key, e, now);
    for (const e of m.ct) ct.track(e.key, now);
    if (received >= expect) report();
  },
  log,
);

function report(): void {
  process.stdout.write(`${JSON.stringify({ received, firstAt, lastAt, delaysMs: delays })}\n`);
  received = 0;
  delays.length = 0;
  expect = Infinity;
}

await channel.listen('tcp://127.0.0.1:0');
process.stdout.write(`${JSON.stringify({ endpoint: channel.endpoint, key: channel.publicKey })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as {
    peer?: { hostId: string; endpoint: string; key: string };
    expect?: number;
  };
  if (cmd.peer) channel.setPeers([cmd.peer]);
  if (cmd.expect !== undefined) {
    expect = cmd.expect;
    if (received >= expect) report();
  }
}
channel.close();
