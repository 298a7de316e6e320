/**
 * bench/agent-path: the agent's own PACKET_IN path, in one process, without Open vSwitch. A fake
 * switch on a unix socket writes real PACKET_IN bytes; the agent's real code takes them
 * (OpenFlowConnection, PacketInQueue, PacketInAnswerer, FlowController over a bridge with two local
 * ports and one on another host) and writes its FLOW_MODs and PACKET_OUTs back, which the fake switch
 * counts. Each frame has a new destination MAC, so each is simulated and becomes its own flow (as in
 * bench/flow-setup).
 *
 * Phases: PACED packet-ins one at a time (the next is written when the previous one's PACKET_OUT is
 * read), for the agent's histogram of arrival to write (p50, p99) and the round trip the switch sees;
 * then FLOWS packet-ins with up to WINDOW in flight, for new flows per second (until the last
 * FLOW_MOD is read); then the table filled up to 100,000 flows, for heap bytes per flow (after a
 * full GC; the JS heap and ArrayBuffers, where the flow table keeps its typed arrays) and the
 * process's resident set (the agent's code and this bench's small switch), read 1 s after a full GC
 * (and, beside it, right after the GC, when pages being freed still count).
 * Targets: p50 < 100 us, p99 < 500 us, >= 40,000 new flows/s, RSS <= 150 MB at 100,000 flows (the
 * issue's agent target; here the heap per flow is held to the same budget, 1,500 B).
 * `--flows N` changes FLOWS; `--rounds N` repeats the throughput phase and reports its median; `--fill
 * N` fills to N flows instead of 100,000 (quick comparisons; the RSS target then does not apply);
 * `--gap-ms N` leaves the process idle N ms before each paced packet-in, as a real switch does between
 * first packets: back to back the agent's code and data stay in the CPU's caches, after a pause they
 * do not, and the same packet-in costs several times more (the figure the agent shows on OVS);
 * `--rehearse-ms N` rehearses the last packet-in every N ms while idle (agent config flows.rehearseMs,
 * rehearsal.ts; default: the agent's; `--no-rehearse`: off; only the paced phase with `--gap-ms` above N
 * is idle);
 * `--per-turn` answers the packet-ins of one turn with one write (agent config flows.answerPerTurn;
 * without it, one write per packet-in, the agent's default).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FlowController } from '../src/agent/controller.js';
import { OpenFlowConnection } from '../src/agent/of-connection.js';
import { PacketInAnswerer } from '../src/agent/packet-in-answer.js';
import { PacketInQueue } from '../src/agent/packet-in-queue.js';
import { REHEARSE_MS_DEFAULT, Rehearsal } from '../src/agent/rehearsal.js';
import { createLogger } from '../src/log.js';
import { OFP_NO_BUFFER, encodeMessage } from '../src/openflow/index.js';
import { bridgeWorld } from '../test/support/bridge-world.js';
import { udpFrame } from '../test/support/udp-frame.js';
import { intArg, printReport, printTable, quantile } from './report.js';

const FLOWS = intArg('agent-path', '--flows', 20000);
const ROUNDS = intArg('agent-path', '--rounds', 1);
const PACED = 2000;
/** Idle milliseconds before each paced packet-in (0: back to back). */
const GAP_MS = process.argv.includes('--gap-ms') ? intArg('agent-path', '--gap-ms', 1) : 0;
const WINDOW = 256;
const MEMORY_FLOWS = intArg('agent-path', '--fill', 100000);
/** One write per turn of packet-ins (flows.answerPerTurn) instead of the agent's default. */
const PER_TURN = process.argv.includes('--per-turn');
/** The agent's flows.rehearseMs (0: off): the last packet-in rehearsed this often while idle. */
const REHEARSE_MS = process.argv.includes('--no-rehearse')
  ? 0
  : intArg('agent-path', '--rehearse-ms', REHEARSE_MS_DEFAULT);
const SRC_MAC = '02:00:00:00:00:01';
/** OFPT_FLOW_MOD, OFPT_PACKET_OUT */
const FLOW_MOD = 14;
const PACKET_OUT = 13;

/** One PACKET_IN (in_port 1, a UDP frame from SRC_MAC); its destination MAC is patched per flow. */
function template(): { bytes: Buffer; dstAt: number } {
  const data = udpFrame({
    src: SRC_MAC,
    dst: '02:ee:00:00:00:00',
    srcPort: 40000,
    dstPort: 7,
    data: new Uint8Array(18),
  });
  const bytes = encodeMessage({
    type: 'packet_in',
    xid: 0,
    bufferId: OFP_NO_BUFFER,
    totalLen: data.length,
    reason: 0,
    tableId: 0,
    cookie: 0n,
    match: [{ field: 'in_port', value: 1 }],
    data,
  });
  return { bytes, dstAt: bytes.length - data.length };
}

/** The fake switch: writes packet-ins, counts the agent's FLOW_MODs and PACKET_OUTs as they come. */
class FakeSwitch {
  flowMods = 0;
  packetOuts = 0;
  private pending = Buffer.alloc(0);
  private readonly t = template();
  private next = 0;
  /** Called after each chunk of the agent's answers is counted. */
  onAnswer: () => void = () => undefined;

  constructor(private readonly sock: Socket) {
    sock.on('data', (chunk: Buffer) => this.read(chunk));
  }

  /** Writes `n` packet-ins for new flows, in one write. */
  send(n: number): void {
    const size = this.t.bytes.length;
    const out = Buffer.allocUnsafe(size * n);
    for (let k = 0; k < n; k++) {
      const i = this.next++;
      const at = k * size;
      this.t.bytes.copy(out, at);
      out.writeUInt32BE(i, 4); // xid
      out.writeUInt32BE(0x02ee0000 | (i >>> 16), at + this.t.dstAt);
      out.writeUInt16BE(i & 0xffff, at + this.t.dstAt + 4);
    }
    this.sock.write(out);
  }

  private read(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const len = buf.readUInt16BE(2);
      if (buf.length < len) break;
      if (buf[1] === FLOW_MOD) this.flowMods++;
      else if (buf[1] === PACKET_OUT) this.packetOuts++;
      buf = buf.subarray(len);
    }
    this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
    this.onAnswer();
  }

  /** Resolves once `until()` holds after an answer. */
  wait(until: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      if (until()) return resolve();
      this.onAnswer = () => {
        if (!until()) return;
        this.onAnswer = () => undefined;
        resolve();
      };
    });
  }
}

/** The agent's side wired as the daemon wires it: connection -> queue -> PacketInAnswerer -> write. */
async function connectAgent(
  dir: string,
  ctl: FlowController,
): Promise<{ sw: FakeSwitch; close: () => void }> {
  const path = join(dir, 'of.sock');
  const log = createLogger({ name: 'bench', level: 'warn', destination: 2 });
  const server = createServer();
  await new Promise<void>((r) => server.listen(path, r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect(path);
  const agentSock = await accepted;
  const conn = new OpenFlowConnection(agentSock, log);
  const answers = new PacketInAnswerer(
    () => ctl,
    (m) => conn.sendAll(m),
    log,
    PER_TURN,
  );
  const queue = new PacketInQueue(
    (pi, arrived) => answers.answer(pi, arrived),
    10000,
    () => ctl.stats.queueDrops++,
  );
  const rehearsal = new Rehearsal(() => ctl, REHEARSE_MS, log);
  rehearsal.start();
  conn.on('packetIn', (pi, arrived) => {
    rehearsal.noted(pi, arrived);
    queue.offer(pi, arrived);
  });
  return {
    sw: new FakeSwitch(client),
    close: () => {
      rehearsal.stop();
      client.destroy();
      conn.close();
      server.close();
    },
  };
}

/** Writes `count` packet-ins, at most WINDOW beyond the PACKET_OUTs read; returns the seconds. */
async function throughput(sw: FakeSwitch, count: number): Promise<number> {
  const fm0 = sw.flowMods;
  const po0 = sw.packetOuts;
  let sent = 0;
  const t0 = performance.now();
  const refill = () => {
    const room = Math.min(count - sent, WINDOW - (sent - (sw.packetOuts - po0)));
    if (room >= WINDOW / 4 || (room > 0 && sent + room === count)) {
      sw.send(room);
      sent += room;
    }
  };
  refill();
  await new Promise<void>((resolve) => {
    sw.onAnswer = () => {
      refill();
      if (sw.flowMods - fm0 >= count) resolve();
    };
  });
  return (performance.now() - t0) / 1000;
}

/** The JS heap in use plus ArrayBuffer memory (off the heap: the flow table's typed arrays). */
function heapUsed(): number {
  global.gc?.();
  global.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const dir = mkdtempSync(join(tmpdir(), 'midonet-bench-agent-path-'));
const ctl = bridgeWorld(createLogger({ name: 'bench', level: 'warn', destination: 2 })).ctl;
const { sw, close } = await connectAgent(dir, ctl);
try {
  const heap0 = heapUsed();
  // Paced: one packet-in in flight, so the histogram times the agent and not a queue.
  const rtts: number[] = [];
  for (let i = 0; i < PACED; i++) {
    if (GAP_MS > 0) await new Promise((r) => setTimeout(r, GAP_MS));
    const po = sw.packetOuts;
    const t = performance.now();
    sw.send(1);
    await sw.wait(() => sw.packetOuts > po);
    rtts.push((performance.now() - t) * 1000);
  }
  const h = ctl.stats.packetInLatency;
  const p50 = h.quantile(0.5);
  const p99 = h.quantile(0.99);
  rtts.sort((a, b) => a - b);

  const rates: number[] = [];
  // CPU time of the process per new flow (agent and fake switch): less at the mercy of a loaded
  // machine's scheduler than the wall-clock rate, so the figure to compare builds by.
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) rates.push(FLOWS / (await throughput(sw, FLOWS)));
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerFlow = (cpu.user + cpu.system) / (FLOWS * ROUNDS);
  rates.sort((a, b) => a - b);
  const rate = quantile(rates, 0.5);

  const filled = MEMORY_FLOWS - ctl.flows.size;
  if (filled > 0) await throughput(sw, filled);
  const flows = ctl.flows.size;
  if (flows < MEMORY_FLOWS) throw new Error(`only ${flows} of ${MEMORY_FLOWS} flows recorded`);
  const bytesPerFlow = (heapUsed() - heap0) / flows;
  // Right after a full GC the resident set still holds pages V8 frees on a background thread: read
  // it once they are gone (an idle agent's figure), and the moment-after-GC figure beside it.
  const rssAfterGcMb = process.memoryUsage().rss / 2 ** 20;
  await new Promise((r) => setTimeout(r, 1000));
  heapUsed();
  const rssMb = process.memoryUsage().rss / 2 ** 20;

  const figures = {
    packet_in_to_write_p50_us: p50,
    packet_in_to_write_p99_us: p99,
    switch_round_trip_p50_us: quantile(rtts, 0.5),
    switch_round_trip_p99_us: quantile(rtts, 0.99),
    new_flows_per_s: rate,
    cpu_us_per_flow: cpuUsPerFlow,
    heap_bytes_per_flow: bytesPerFlow,
    rss_mb_at_fill: rssMb,
    rss_mb_right_after_gc: rssAfterGcMb,
    fill_flows: flows,
    paced_gap_ms: GAP_MS,
    rehearse_ms: REHEARSE_MS,
    rehearsals: ctl.stats.rehearsals,
    flow_mods: sw.flowMods,
    packet_outs: sw.packetOuts,
  };
  printTable(
    'bench/agent-path: the agent\u2019s PACKET_IN path in one process (fake switch on a unix socket)',
    [
      [
        `packet-in to write, ${PACED} one at a time${GAP_MS > 0 ? `, ${GAP_MS} ms apart` : ''} (agent histogram)`,
        `p50 <= ${p50} us, p99 <= ${p99} us`,
      ],
      [
        'switch round trip (write PACKET_IN .. read PACKET_OUT)',
        `p50 ${figures.switch_round_trip_p50_us.toFixed(1)} us, p99 ${figures.switch_round_trip_p99_us.toFixed(1)} us`,
      ],
      [
        `new flows, ${WINDOW} in flight`,
        `${Math.round(rate)} flows/s (${FLOWS} flows${ROUNDS > 1 ? `, median of ${ROUNDS} rounds: ${rates.map((x) => Math.round(x)).join(' ')}` : ''})`,
      ],
      ['CPU per new flow (process: agent and fake switch)', `${cpuUsPerFlow.toFixed(1)} us`],
      ['heap per flow (after GC, JS heap + ArrayBuffers)', `${Math.round(bytesPerFlow)} B (${flows} flows)`],
      [
        `process RSS with ${flows} flows (1 s after GC; right after it)`,
        `${rssMb.toFixed(0)} MB (${rssAfterGcMb.toFixed(0)} MB)`,
      ],
    ],
  );
  printReport('agent-path', figures, [
    { name: 'packet_in_to_write_p50_us', value: p50, target: 100, unit: 'us', kind: 'max' },
    { name: 'packet_in_to_write_p99_us', value: p99, target: 500, unit: 'us', kind: 'max' },
    { name: 'new_flows_per_s', value: rate, target: 40000, unit: 'flows/s', kind: 'min' },
    { name: 'heap_bytes_per_flow', value: bytesPerFlow, target: 1500, unit: 'B', kind: 'max' },
    ...(flows >= 100000
      ? [{ name: 'rss_mb_at_100k_flows', value: rssMb, target: 150, unit: 'MB', kind: 'max' as const }]
      : []),
  ]);
} finally {
  close();
  rmSync(dir, { recursive: true, force: true });
}
