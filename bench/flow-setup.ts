/**
 * bench/flow-setup: end-to-end flow set-up on a real Open vSwitch (userspace datapath, one lab
 * hypervisor). A second OpenFlow connection (the bench, on OVS's br-int.mgmt socket, which gets no
 * packet-ins) injects frames with PACKET_OUT(in_port=a VM's port, output:TABLE); each frame has a new
 * destination MAC, so each misses the table, reaches the agent as a PACKET_IN, is simulated, and
 * becomes its own FLOW_MOD. A third connection holds an Open vSwitch flow monitor (flow-monitor.ts):
 * the switch reports each flow it adds, so the bench learns that a FLOW_MOD was applied from the
 * switch, without asking the agent (polling the agent's control socket every millisecond, as this
 * bench did before, cost the agent more CPU than its packet-ins: a ZeroMQ request and a JSON reply
 * each time, between every two packet-ins).
 * - New flows per second: the time from the first injection until the switch has reported a flow
 *   added for every frame (at most WINDOW frames beyond those), the switch's flow table then checked
 *   to hold them (cbench's throughput mode: many flows in flight). The CPU time the agent, OVS and
 *   the bench spent over it, per flow (read when the last flow is reported), says which of them bounds
 *   it; the cores the machine's other work kept busy meanwhile, what the machine left them. In the
 *   same run, after the memory figures, the same injection answered by the project's minimal
 *   controller (a flow per miss, as the agent gives here) on a table emptied before it connects: the floor of any controller on this switch. Side by side:
 *   the same number of flows added by spawning `ovs-ofctl add-flow` once per flow.
 * - The agent's own time per packet-in (arrival of its bytes to the write of its answer, the agent's
 *   histogram), one flow in flight (cbench's latency mode: a packet-in sent when the flow of the one
 *   before is in the switch), after a warm-up: in the throughput run packet-ins queue behind each
 *   other and the histogram would time the queue. Beside it, not held to the target: the same with
 *   the agent idle 1 ms before each packet-in, and the first 1,000 after the agent started (V8 has not
 *   yet optimized its code).
 * - The same while the fill below grows the table from 28,000 to 100,000 flows: how flow set-up holds
 *   up as the switch's table grows (with Open vSwitch's own idle timeouts it fell to a quarter here,
 *   docs/first-packet-tail.md "Idle expiry in the agent").
 * - The agent's resident memory with 100,000 installed flows, right after they are installed and
 *   again after 15 s idle (its garbage collected), and the last read of its idle expiry (a slice of
 *   the flows' packet counts) over that table.
 * Targets: >= 40,000 new flows/s; >= 100x the per-flow ovs-ofctl rate; agent RSS <= 150 MB at 100k
 * flows; packet-in to write p50 < 100 us and p99 < 500 us.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OpenFlowConnection } from '../src/agent/of-connection.js';
import { histogramDelta } from '../src/lab/eval-cases.js';
import { agentPid, stopAgent } from '../src/lab/hypervisor.js';
import { hostOvs, labDown, labUp, type LabHost } from '../src/lab/lab.js';
import { createLogger } from '../src/log.js';
import { OFPP, OFP_NO_BUFFER, encodeMessage } from '../src/openflow/index.js';
import { buildEthernet } from '../src/packet/index.js';
import { agentStats, memFigures, memLine } from './agent-stats.js';
import { cpuMs, machineBusyMs, rssOf } from './cpu-time.js';
import { floorController } from './flow-floor.js';
import { FlowMonitor } from './flow-monitor.js';
import { intArg, printReport, printTable } from './report.js';
import { labNames, uniqueLabName } from '../src/lab/layout.js';

const FLOWS = intArg('flow-setup', '--flows', Number(process.env.FLOW_SETUP_FLOWS ?? 20000));
const BASELINE = 200;
/** Flows injected one at a time for the agent's own latency histogram. */
const PACED = 1000;
/** Flows installed as fast as the agent takes them before the latency figure (its warm-up). */
const WARM = 5000;
/** Flows beyond the throughput and fill runs, and where their frames are numbered from. */
const EXTRA = WARM + 3 * PACED;
/** Frames in flight beyond the flows the switch has added (within OVS's packet-in queue). */
const WINDOW = intArg('flow-setup', '--window', 400);
/** Idle milliseconds before each packet-in of the gapped latency run. */
const GAP_MS = 1;
/** Flows for the memory figure (`--fill N` for a short run; the RSS target applies at 100,000). */
const MEMORY_FLOWS = intArg('flow-setup', '--fill', 100000);
/** Seconds the agent idles, its flows installed, before its resident set is read again. */
const SETTLE_S = 15;
const PACED_COLD_AT = MEMORY_FLOWS;
/** Frames of the floor's runs (after every other). */
const FLOOR_AT = MEMORY_FLOWS + EXTRA;
const PACED_AT = MEMORY_FLOWS + PACED;
const PACED_GAP_AT = MEMORY_FLOWS + 2 * PACED;
const WARM_AT = MEMORY_FLOWS + 3 * PACED;

function frame(i: number, src: string): Buffer {
  const dst = `02:ee:${((i >>> 24) & 255).toString(16).padStart(2, '0')}:${((i >>> 16) & 255).toString(16).padStart(2, '0')}:${((i >>> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  return Buffer.from(
    buildEthernet({
      kind: 'ethernet',
      dst,
      src,
      payload: {
        kind: 'ipv4',
        tos: 0,
        id: 0,
        dontFragment: true,
        moreFragments: false,
        fragmentOffset: 0,
        ttl: 64,
        src: '192.0.2.10',
        dst: '192.0.2.11',
        options: new Uint8Array(0),
        payload: {
          kind: 'udp',
          srcPort: 40000,
          dstPort: 7,
          payload: { kind: 'raw', bytes: new Uint8Array(18) },
        },
      },
    }),
  );
}

async function reactiveFlowCount(conn: OpenFlowConnection): Promise<number> {
  const parts = await conn.request({
    type: 'multipart_request',
    xid: conn.xid(),
    flags: 0,
    body: {
      type: 'flow',
      tableId: 0xff,
      outPort: OFPP.ANY,
      outGroup: 0xffffffff,
      cookie: 0n,
      cookieMask: 1n << 63n,
      match: [],
    },
  });
  let n = 0;
  for (const p of parts) if (p.type === 'multipart_reply' && p.body.type === 'flow') n += p.body.flows.length;
  return n;
}

/**
 * Where the bench injects frames: its OpenFlow connection (and socket), the switch's flow monitor,
 * and one PACKET_OUT encoded once (frame 0 from a VM's port), copied per frame with the frame's
 * number patched into the destination MAC, many to a write: the injector costs the machine (two
 * cores shared with OVS and the agent) little, as cbench's emulated switches do.
 */
class Injector {
  private readonly template: Buffer;
  /** Offset of the destination MAC's last four bytes in the template. */
  private readonly dstAt: number;

  constructor(
    readonly conn: OpenFlowConnection,
    private readonly sock: Socket,
    readonly monitor: FlowMonitor,
    inPort: number,
    src: string,
  ) {
    const data = frame(0, src);
    this.template = encodeMessage({
      type: 'packet_out',
      xid: 0,
      bufferId: OFP_NO_BUFFER,
      inPort,
      actions: [{ type: 'output', port: OFPP.TABLE, maxLen: 0 }],
      data,
    });
    this.dstAt = this.template.length - data.length + 2;
  }

  /** Injects frames first..first+n-1 in one write. */
  send(first: number, n: number): void {
    const size = this.template.length;
    const out = Buffer.allocUnsafe(size * n);
    for (let k = 0; k < n; k++) {
      this.template.copy(out, k * size);
      out.writeUInt32BE(this.conn.xid(), k * size + 4);
      out.writeUInt32BE((first + k) >>> 0, k * size + this.dstAt);
    }
    this.sock.write(out);
  }
}

/** Frames re-sent because the switch dropped packet-ins under load (over the whole run). */
let resends = 0;

/**
 * Injects frames first..first+count-1, at most WINDOW beyond the flows the switch has added, and
 * returns the seconds until the switch has reported a flow added for each (its flow monitor: the
 * FLOW_MOD applied); then checks, outside the timing, that the switch lists `target` reactive flows.
 */
async function inject(
  j: Injector,
  first: number,
  count: number,
  target: number,
  atEnd?: () => void,
): Promise<number> {
  const t0 = performance.now();
  const base = j.monitor.added;
  let sent = 0;
  let progress = Date.now();
  while (sent < count) {
    const upto = Math.min(count, j.monitor.added - base + WINDOW);
    if (sent < upto) progress = Date.now();
    else if (Date.now() - progress > 30000)
      throw new Error(`flow-setup: no flow added in 30 s (${j.monitor.added - base} of ${sent} sent)`);
    if (upto > sent) j.send(first + sent, upto - sent);
    sent = Math.max(sent, upto);
    await j.monitor.until(base + sent - WINDOW / 2, 5);
  }
  const deadline = Date.now() + 120000;
  while (j.monitor.added - base < count && !j.monitor.paused && Date.now() < deadline) {
    const before = j.monitor.added;
    await j.monitor.until(base + count, 100);
    // Packet-ins the switch dropped under load: every frame again; those with a flow just follow it,
    // the others reach the agent this time.
    if (j.monitor.added === before && before - base < count) {
      resends++;
      for (let i = 0; i < count; i += WINDOW) j.send(first + i, Math.min(WINDOW, count - i));
    }
  }
  const secs = (performance.now() - t0) / 1000;
  atEnd?.();
  if (j.monitor.added - base < count)
    throw new Error(`flow-setup: only ${j.monitor.added - base} of ${count} flows added in 120 s`);
  if (j.monitor.paused) throw new Error('flow-setup: the switch paused its flow monitor (updates lost)');
  const have = await reactiveFlowCount(j.conn);
  if (target > 0 && have < target) throw new Error(`flow-setup: only ${have} of ${target} flows installed`);
  return secs;
}

/**
 * The agent's histogram of packet-in to write over PACED frames (numbered from `first`) injected one at
 * a time, each once the switch reports the flow of the one before added (one flow in flight, as in
 * cbench's latency mode), after `gapMs` idle (0: at once).
 */
async function paced(
  j: Injector,
  host: LabHost,
  first: number,
  gapMs: number,
): Promise<ReturnType<typeof histogramDelta>> {
  const before = await agentStats(host);
  for (let i = 0; i < PACED; i++) {
    const n = j.monitor.added;
    j.send(first + i, 1);
    await j.monitor.until(n + 1, 5000);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  return histogramDelta([before.packetInLatencyUs], [(await agentStats(host)).packetInLatencyUs]);
}

const runDir = mkdtempSync(join(tmpdir(), 'midonet-bench-flows-'));
const log = createLogger({ name: 'bench', level: 'warn', destination: 2 });
try {
  const lab = await labUp({ runDir, name: uniqueLabName('bf'), hosts: 1, vmsPerHost: 2, tunnel: 'gre' });
  const host = lab.hosts[0]!;
  const vm = lab.vms[0]!;
  const ovs = hostOvs(host);
  const inPort = (await ovs.portNumbers('br-int')).get(labNames(lab.name ?? null).vmTap(vm.name))!;
  const startRssKb = rssOf(agentPid(host)!);
  const mgmt = join(host.ovsRunDir, 'br-int.mgmt');
  const sock = connect(mgmt);
  await new Promise((r) => sock.once('connect', r));
  const conn = new OpenFlowConnection(sock, log, 60000);
  await conn.handshake();
  const monitor = await FlowMonitor.open(mgmt);
  const j = new Injector(conn, sock, monitor, inPort, vm.mac);

  // The agent's own cost per packet-in, one flow in flight (under the throughput run below
  // packet-ins queue behind each other, and the histogram would time the queue). First right after
  // the agent started (its code not yet compiled by V8's optimizing tiers: reported, no target);
  // then, the figure with the target, after WARM flows as fast as it takes them (an agent in service
  // has run this code many times; cbench's latency mode likewise discards its warm-up loops), each
  // packet-in as soon as the switch has added the flow of the one before; then the same with the
  // agent idle GAP_MS before each (as between first packets of a quiet network: reported).
  const cold = await paced(j, host, PACED_COLD_AT, 0);
  await inject(j, WARM_AT, WARM, WARM + PACED);
  const latency = await paced(j, host, PACED_AT, 0);
  const gapped = await paced(j, host, PACED_GAP_AT, GAP_MS);

  // Agent path: FLOWS new flows, as fast as the agent takes them; the CPU each process spent.
  const ovsPid = Number(readFileSync(join(host.ovsRunDir, 'ovs-vswitchd.pid'), 'utf8').trim());
  const stats0 = await agentStats(host);
  const cpuNow = () => ({
    agent: cpuMs(agentPid(host)!),
    ovs: cpuMs(ovsPid),
    ovsMain: cpuMs(ovsPid, ovsPid),
    bench: process.cpuUsage(),
    machine: machineBusyMs(),
  });
  const cpu0 = cpuNow();
  // CPU read the moment the last flow is reported (not after the check's flow dump).
  let cpu1 = cpu0;
  const agentSecs = await inject(j, 0, FLOWS, FLOWS + EXTRA, () => (cpu1 = cpuNow()));
  const stats1 = await agentStats(host);
  const packetIns = stats1.packetIns - stats0.packetIns;
  const perWrite =
    packetIns / ((stats1.packetInWrites ?? stats1.packetIns) - (stats0.packetInWrites ?? stats0.packetIns));
  const cpuUsPerFlow = {
    agent: ((cpu1.agent - cpu0.agent) * 1000) / FLOWS,
    ovs: ((cpu1.ovs - cpu0.ovs) * 1000) / FLOWS,
    // Its main thread alone: it handles every OpenFlow message (one thread, one core at most).
    ovsMain: ((cpu1.ovsMain - cpu0.ovsMain) * 1000) / FLOWS,
    bench: (cpu1.bench.user - cpu0.bench.user + cpu1.bench.system - cpu0.bench.system) / FLOWS,
  };
  // Cores the machine's other work (other processes than the agent, OVS and this bench) kept busy
  // over the run: the machine is shared, and what it takes is not there for the three of them.
  const otherCores =
    (cpu1.machine - cpu0.machine - (cpu1.agent - cpu0.agent) - (cpu1.ovs - cpu0.ovs)) / (agentSecs * 1000) -
    (cpuUsPerFlow.bench * FLOWS) / (agentSecs * 1e6);
  const agentRate = FLOWS / agentSecs;

  // Baseline: one ovs-ofctl process per flow.
  const t0 = performance.now();
  for (let i = 0; i < BASELINE; i++) {
    await ovs.ofctl([
      'add-flow',
      'br-int',
      `cookie=0x4000000000000000,priority=5,in_port=${inPort},dl_dst=02:dd:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')},actions=drop`,
    ]);
  }
  const ofctlRate = BASELINE / ((performance.now() - t0) / 1000);
  await ovs.delFlows('br-int', 'cookie=0x4000000000000000/0xffffffffffffffff');

  // Memory: fill up to MEMORY_FLOWS flows, then read the agent's resident set.
  // The fill's own rate: new flows with the table growing from FLOWS + EXTRA to MEMORY_FLOWS (how
  // flow set-up holds up as the switch's table grows).
  const fillFlows = MEMORY_FLOWS - FLOWS - EXTRA;
  let fill = { rate: 0, ovsMain: 0 };
  if (fillFlows > 0) {
    const m0 = cpuMs(ovsPid, ovsPid);
    const secs = await inject(j, FLOWS, fillFlows, MEMORY_FLOWS);
    fill = { rate: fillFlows / secs, ovsMain: ((cpuMs(ovsPid, ovsPid) - m0) * 1000) / fillFlows };
  }
  const pid = agentPid(host)!;
  const rssKb = rssOf(pid);
  const memFilled = (await agentStats(host)).memory;
  // Right after the burst the agent still holds its garbage; idle, V8 collects it (and returns
  // pages): its resident set SETTLE_S seconds later, the flows still installed, beside the first.
  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  const settledKb = rssOf(pid);
  const settledStats = await agentStats(host);
  const settledFlows = settledStats.flowsLive;
  const memSettled = settledStats.memory;
  // The agent's idle expiry reads every flow's packet count once a period, a slice of the flows per
  // read (idle-expiry.ts): the last read before the settled figures, over the filled table.
  const swept = settledStats;

  // The floor: the same injection with the bridge handed to a controller that does nothing but
  // answer (the project's minimal controller, a flow per miss with actions FLOOD, as the agent gives
  // here), on an emptied table. Same OVS, same run: when it is no faster than the agent, Open vSwitch
  // bounds the figure, not the agent. The agent stops first (nothing of it runs beside the floor).
  await stopAgent(host);
  // The agent's flows go before the floor's controller connects: each has SEND_FLOW_REM, and a
  // controller connected meanwhile was sent a FLOW_REMOVED for every one of them (100,000) just as its
  // run began (until 2026-12-05: its CPU per flow 77 us, against 14 us on an emptied table).
  await ovs.ofctl(['del-flows', 'br-int']);
  const floor: Record<string, { rate: number; ctlCpu: number; ovsMain: number }> = {};
  let floorAt = FLOOR_AT;
  let floorError: string | undefined;
  try {
    for (const mode of ['minimal'] as const) {
      const f = await floorController(mode, host.ovsRunDir, ovs);
      try {
        await new Promise((r) => setTimeout(r, 200));
        await ovs.addFlows('br-int', ['priority=0,actions=CONTROLLER:65535']);
        const c0 = { ctl: cpuMs(f.pid), ovsMain: cpuMs(ovsPid, ovsPid) };
        const secs = await inject(j, floorAt, FLOWS, 0);
        floor[mode] = {
          rate: FLOWS / secs,
          ctlCpu: ((cpuMs(f.pid) - c0.ctl) * 1000) / FLOWS,
          ovsMain: ((cpuMs(ovsPid, ovsPid) - c0.ovsMain) * 1000) / FLOWS,
        };
        floorAt += FLOWS;
      } finally {
        f.proc.kill('SIGTERM');
      }
    }
  } catch (e) {
    // Reported beside the agent's figures, which stand without it.
    floorError = (e as Error).message;
  }
  conn.close();
  monitor.close();

  const figures = {
    agent_flows_per_s: agentRate,
    agent_flows: FLOWS,
    ofctl_per_flow_flows_per_s: ofctlRate,
    speedup_vs_ofctl: agentRate / ofctlRate,
    agent_rss_mb_at_100k_flows: rssKb / 1024,
    agent_rss_mb_settled: settledKb / 1024,
    fill_flows_per_s: fill.rate,
    fill_ovs_main_us_per_flow: fill.ovsMain,
    idle_sweep_slices: swept.idleSweepSlices ?? 0,
    idle_sweep_flows: swept.idleSweepFlows ?? 0,
    idle_sweep_ms: swept.idleSweepMs ?? 0,
    agent_flows_live_settled: settledFlows,
    ...memFigures('filled', memFilled),
    ...memFigures('settled', memSettled),
    packet_in_to_write_p50_us: latency.p50,
    packet_in_to_write_p99_us: latency.p99,
    gap_packet_in_to_write_p50_us: gapped.p50,
    gap_packet_in_to_write_p99_us: gapped.p99,
    resends,
    cold_packet_in_to_write_p50_us: cold.p50,
    cold_packet_in_to_write_p99_us: cold.p99,
    agent_cpu_us_per_flow: cpuUsPerFlow.agent,
    ovs_cpu_us_per_flow: cpuUsPerFlow.ovs,
    ovs_main_thread_busy: (agentRate * cpuUsPerFlow.ovsMain) / 1e6,
    agent_busy: (agentRate * cpuUsPerFlow.agent) / 1e6,
    other_work_busy: otherCores,
    // What one core of the agent takes at this CPU per flow (the agent's side of the rate).
    agent_cpu_flows_per_s: 1e6 / cpuUsPerFlow.agent,
    agent_rss_mb_at_start: startRssKb / 1024,
    packet_ins_per_flow: packetIns / FLOWS,
    packet_ins_per_write: perWrite,
    minimal_controller_flows_per_s: floor.minimal?.rate ?? NaN,
    agent_over_minimal_controller: agentRate / (floor.minimal?.rate ?? NaN),
    bench_cpu_us_per_flow: cpuUsPerFlow.bench,
  };
  printTable('bench/flow-setup: real OVS (userspace datapath), one agent', [
    [
      'agent: PACKET_IN -> simulate -> FLOW_MOD',
      `${Math.round(agentRate)} flows/s (${FLOWS} flows, until the switch reports each added; ${resends} re-sends)`,
    ],
    [
      '  the agent alone, at its CPU per flow on one core',
      `${Math.round(figures.agent_cpu_flows_per_s)} flows/s (OVS main thread at its CPU per flow: ${Math.round(1e6 / cpuUsPerFlow.ovsMain)})`,
    ],
    [
      '  packet-ins per flow, per write of the agent',
      `${figures.packet_ins_per_flow.toFixed(2)}, ${perWrite.toFixed(1)}`,
    ],
    [
      `  the same, filling the table from ${FLOWS + EXTRA} to ${MEMORY_FLOWS} flows`,
      fillFlows > 0
        ? `${Math.round(fill.rate)} flows/s (OVS main thread ${fill.ovsMain.toFixed(1)} us per flow)`
        : 'not run',
    ],
    ...Object.entries(floor).map(([mode, f]): [string, string] => [
      `the same, the ${mode} controller`,
      `${Math.round(f.rate)} flows/s (CPU per flow: it ${f.ctlCpu.toFixed(1)} us, OVS main thread ${f.ovsMain.toFixed(1)} us)`,
    ]),
    ...(floorError !== undefined ? [['the floor', `not measured: ${floorError}`] as [string, string]] : []),
    ['ovs-ofctl add-flow, one process per flow', `${ofctlRate.toFixed(1)} flows/s (${BASELINE} flows)`],
    ['speed-up', `${figures.speedup_vs_ofctl.toFixed(0)}x`],
    [`agent RSS at start`, `${figures.agent_rss_mb_at_start.toFixed(0)} MB`],
    [`agent RSS with ${MEMORY_FLOWS} flows`, `${figures.agent_rss_mb_at_100k_flows.toFixed(0)} MB`],
    [
      `agent RSS ${SETTLE_S} s later, idle`,
      `${figures.agent_rss_mb_settled.toFixed(0)} MB (${settledFlows} flows live)`,
    ],
    [
      "  the agent's idle expiry, one read (a FLOW stats request)",
      `1/${figures.idle_sweep_slices} of the flows: ${figures.idle_sweep_flows} read in ${figures.idle_sweep_ms} ms`,
    ],
    ["  the agent's breakdown, filled", memLine(memFilled)],
    ["  the agent's breakdown, settled", memLine(memSettled)],
    [
      `  CPU per flow: agent, ovs-vswitchd, this bench`,
      `${cpuUsPerFlow.agent.toFixed(1)}, ${cpuUsPerFlow.ovs.toFixed(1)} (main thread ${cpuUsPerFlow.ovsMain.toFixed(1)}), ${cpuUsPerFlow.bench.toFixed(1)} us; busy: agent ${figures.agent_busy.toFixed(2)}, OVS main thread ${figures.ovs_main_thread_busy.toFixed(2)}, all ${((agentRate * (cpuUsPerFlow.agent + cpuUsPerFlow.ovs + cpuUsPerFlow.bench)) / 1e6).toFixed(2)} of 2 cores; the machine's other work ${otherCores.toFixed(2)}`,
    ],
    [
      `agent packet-in to write, ${PACED} flows one at a time after ${WARM} (its histogram)`,
      `p50 <= ${latency.p50} us, p99 <= ${latency.p99} us (${latency.count} packet-ins)`,
    ],
    [
      `  the same, the agent idle ${GAP_MS} ms before each`,
      `p50 <= ${gapped.p50} us, p99 <= ${gapped.p99} us (${gapped.count} packet-ins)`,
    ],
    [
      `  the same, the first ${PACED} after the agent started`,
      `p50 <= ${cold.p50} us, p99 <= ${cold.p99} us (${cold.count} packet-ins)`,
    ],
  ]);
  printReport('flow-setup', figures, [
    { name: 'agent_flows_per_s', value: agentRate, target: 40000, unit: 'flows/s', kind: 'min' },
    { name: 'speedup_vs_ofctl', value: figures.speedup_vs_ofctl, target: 100, unit: 'x', kind: 'min' },
    ...(MEMORY_FLOWS >= 100000
      ? [
          {
            name: 'agent_rss_mb_at_100k_flows',
            value: figures.agent_rss_mb_at_100k_flows,
            target: 150,
            unit: 'MB',
            kind: 'max' as const,
          },
        ]
      : []),
    { name: 'packet_in_to_write_p50_us', value: latency.p50, target: 100, unit: 'us', kind: 'max' },
    { name: 'packet_in_to_write_p99_us', value: latency.p99, target: 500, unit: 'us', kind: 'max' },
  ]);
} finally {
  await labDown(runDir);
}
