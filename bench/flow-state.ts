/**
 * bench/flow-state: flow state between two agents over their channel (ZeroMQ with CURVE, the agents'
 * own PeerChannel and codec), the receiver in another process applying each message into its tables.
 *
 *   throughput   flowState messages per second, one per new NAT connection (its forward and reverse
 *                bindings and its tracked connection), sent as fast as the channel takes them
 *   latency      from the sender creating the state to the receiver having applied it (p50, p99),
 *                one message every millisecond
 *   memory       heap per 100,000 NAT bindings in an agent's table (in this process)
 *
 * Targets: >= 50,000 messages/s; p99 < 5 ms; < 50 MB per 100,000 bindings.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { curveKeyPair } from 'zeromq';
import { PeerChannel } from '../src/agent/peers.js';
import type { PeerMessage } from '../src/agent/peer-codec.js';
import { createLogger } from '../src/log.js';
import { MemoryNatTable } from '../src/sim/flow-state.js';
import { natKey } from '../src/sim/nat.js';
import { printReport, printTable, quantile } from './report.js';

const N = Number(process.env.FLOW_STATE_MESSAGES ?? 200000);
/** Must equal flow-state-peer.ts's: the latency is read from the first binding's expiry. */
const IDLE_MS = 60_000;
const LATENCY_SAMPLES = 2000;
const ZONE = '00000000-0000-4000-8000-00000000000a';
const nowMs = () => performance.timeOrigin + performance.now();

function message(i: number, sentAt: number): PeerMessage {
  const src = 0xc0000200 + (i % 200);
  const sport = 10000 + (i % 50000);
  const dst = 0xcb007105;
  return {
    kind: 'flowState',
    from: 'sender',
    nat: [
      {
        key: natKey(ZONE, 's', 6, src, sport, dst, 80),
        ip: 0xcb007101,
        port: 1024 + (i % 60000),
        expiresAt: sentAt + IDLE_MS,
      },
      {
        key: natKey(ZONE, 'rs', 6, dst, 80, 0xcb007101, 1024 + (i % 60000)),
        ip: src,
        port: sport,
        expiresAt: sentAt + IDLE_MS,
      },
    ],
    ct: [{ key: `${ZONE}|6/${src}:${sport}>${dst}:80`, expiresAt: sentAt + IDLE_MS, ended: false }],
  };
}

const log = createLogger({ name: 'bench', level: 'warn', destination: 2 });
const child = spawn(process.execPath, [fileURLToPath(new URL('./flow-state-peer.js', import.meta.url))], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const lines = createInterface({ input: child.stdout });
const next = (): Promise<Record<string, unknown>> =>
  new Promise((resolve) => lines.once('line', (l) => resolve(JSON.parse(l) as Record<string, unknown>)));
try {
  const hello = (await next()) as { endpoint: string; key: string };
  const sender = new PeerChannel('sender', curveKeyPair(), () => undefined, log);
  await sender.listen('tcp://127.0.0.1:0');
  sender.setPeers([{ hostId: 'receiver', endpoint: hello.endpoint, key: hello.key }]);
  child.stdin.write(
    `${JSON.stringify({ peer: { hostId: 'sender', endpoint: sender.endpoint, key: sender.publicKey } })}\n`,
  );

  // Warm up (connect, handshake, JIT), then throughput.
  child.stdin.write(`${JSON.stringify({ expect: 1000 })}\n`);
  let got = next();
  for (let i = 0; i < 1000; i++) sender.send('receiver', message(i, nowMs()));
  await got;
  child.stdin.write(`${JSON.stringify({ expect: N })}\n`);
  got = next();
  const t0 = nowMs();
  for (let i = 0; i < N; i++) {
    sender.send('receiver', message(i, nowMs()));
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r)); // let the outbox drain
  }
  const done = (await got) as { received: number; lastAt: number };
  const rate = done.received / ((done.lastAt - t0) / 1000);

  // Latency: one message a millisecond.
  child.stdin.write(`${JSON.stringify({ expect: LATENCY_SAMPLES })}\n`);
  got = next();
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    sender.send('receiver', message(i, nowMs()));
    await new Promise((r) => setTimeout(r, 1));
  }
  const lat = (await got) as { delaysMs: number[] };
  const delays = lat.delaysMs.sort((a, b) => a - b);
  sender.close();

  // Memory: 100,000 bindings (forward and reverse keys of 50,000 connections) in an agent's table.
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const table = new MemoryNatTable();
  for (let i = 0; i < 50000; i++) {
    const m = message(i, Date.now());
    if (m.kind !== 'flowState') continue;
    for (const e of m.nat) table.bind(e.key, e, Date.now());
  }
  global.gc?.();
  const mb = (process.memoryUsage().heapUsed - before) / 1e6;
  const bindings = table.entries(Date.now()).length;

  const figures = {
    messages_per_s: rate,
    latency_p50_ms: quantile(delays, 0.5),
    latency_p99_ms: quantile(delays, 0.99),
    mb_per_100k_bindings: mb,
  };
  printTable('bench/flow-state: two agents over ZeroMQ with CURVE (receiver in its own process)', [
    ['flowState messages (one per new NAT connection)', `${Math.round(rate)} /s (${done.received} messages)`],
    [
      'created here -> applied there',
      `p50 ${figures.latency_p50_ms.toFixed(3)} ms, p99 ${figures.latency_p99_ms.toFixed(3)} ms`,
    ],
    [
      'heap per 100,000 NAT bindings',
      `${mb.toFixed(1)} MB (${bindings} bindings)${global.gc ? '' : ' (without --expose-gc: not settled)'}`,
    ],
  ]);
  printReport('flow-state', figures, [
    { name: 'messages_per_s', value: rate, target: 50000, unit: '/s', kind: 'min' },
    { name: 'latency_p99_ms', value: figures.latency_p99_ms, target: 5, unit: 'ms', kind: 'max' },
    { name: 'mb_per_100k_bindings', value: mb, target: 50, unit: 'MB', kind: 'max' },
  ]);
} finally {
  child.stdin.end();
  child.kill();
}
