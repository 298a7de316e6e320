/**
 * bench/flow-setup: end-to-end flow set-up on a real Open vSwitch (userspace datapath, one lab
 * hypervisor). A second OpenFlow connection (the bench, on OVS's br-int.mgmt socket, which gets no
 * packet-ins) injects frames with PACKET_OUT(in_port=a VM's port, output:TABLE); each frame has a new
 * destination MAC, so each misses the table, reaches the agent as a PACKET_IN, is simulated, and
 * becomes its own FLOW_MOD. The time runs from the first injection until the agent has installed a
 * flow for every frame and a barrier on its OpenFlow connection came back (the switch applied them
 * all); the switch's flow table is then checked to hold them. Side by side: the same number of flows
 * added by spawning `ovs-ofctl add-flow` once per flow. Then the agent's resident memory with 100,000
 * installed flows, right after they are installed and again after 15 s idle (its garbage collected).
 * The agent's own time per packet-in (arrival to the write of its answer, its histogram) is taken
 * first over 1,000 flows injected one at a time (in the throughput run packet-ins queue behind each
 * other and the histogram would time the queue).
 * Targets: >= 40,000 new flows/s; >= 100x the per-flow ovs-ofctl rate; agent RSS <= 150 MB at 100k
 * flows; packet-in to write p50 < 100 us and p99 < 500 us.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { controlRequest } from '../src/control/control-api.js';
import { OpenFlowConnection } from '../src/agent/of-connection.js';
import { histogramDelta, type Histogram } from '../src/lab/eval-cases.js';
import { agentPid } from '../src/lab/hypervisor.js';
import { hostOvs, labDown, labUp, type LabHost } from '../src/lab/lab.js';
import { createLogger } from '../src/log.js';
import { OFPP, OFP_NO_BUFFER } from '../src/openflow/index.js';
import { buildEthernet } from '../src/packet/index.js';
import { intArg, printReport, printTable } from './report.js';
import { labNames, uniqueLabName } from '../src/lab/layout.js';

const FLOWS = intArg('flow-setup', '--flows', Number(process.env.FLOW_SETUP_FLOWS ?? 20000));
const BASELINE = 200;
/** Flows injected one at a time for the agent's own latency histogram. */
const PACED = 1000;
/** Flows for the memory figure (`--fill N` for a short run; the RSS target applies at 100,000). */
const MEMORY_FLOWS = intArg('flow-setup', '--fill', 100000);
/** Seconds the agent idles, its flows installed, before its resident set is read again. */
const SETTLE_S = 15;

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

interface AgentStatsReply {
  flowsInstalled: number;
  flowsLive: number;
  packetInLatencyUs: Histogram;
}

async function agentStats(host: LabHost): Promise<AgentStatsReply> {
  return (await controlRequest(host.controlSocket, { cmd: 'stats' })) as AgentStatsReply;
}

async function installed(host: LabHost): Promise<number> {
  return (await agentStats(host)).flowsInstalled;
}

/**
 * Injects frames first..first+count-1 and returns the seconds until the agent has installed a flow
 * for each and a barrier on the agent's own OpenFlow connection came back (the switch applied them
 * all); then checks, outside the timing, that the switch lists `target` reactive flows.
 */
async function inject(
  conn: OpenFlowConnection,
  host: LabHost,
  inPort: number,
  src: string,
  first: number,
  count: number,
  target: number,
): Promise<number> {
  const t0 = performance.now();
  // Frames in flight beyond what the agent has installed: within OVS's packet-in queue (512).
  const window = 400;
  const send = (i: number) =>
    conn.send({
      type: 'packet_out',
      xid: conn.xid(),
      bufferId: OFP_NO_BUFFER,
      inPort,
      actions: [{ type: 'output', port: OFPP.TABLE, maxLen: 0 }],
      data: frame(first + i, src),
    });
  let sent = 0;
  const base = await installed(host);
  let done = 0;
  while (sent < count) {
    done = (await installed(host)) - base;
    const upto = Math.min(count, done + window);
    for (; sent < upto; sent++) send(sent);
    await new Promise((r) => setTimeout(r, 1));
  }
  const deadline = Date.now() + 120000;
  let last = -1;
  while (done < count && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    done = (await installed(host)) - base;
    // Packet-ins OVS dropped under load: send every frame again; those with a flow just follow it,
    // the others reach the agent this time.
    if (done === last) for (let i = 0; i < count; i++) send(i);
    last = done;
  }
  await controlRequest(host.controlSocket, { cmd: 'barrier' }, 60000);
  const secs = (performance.now() - t0) / 1000;
  const have = await reactiveFlowCount(conn);
  if (have < target) throw new Error(`flow-setup: only ${have} of ${target} flows installed`);
  return secs;
}

const runDir = mkdtempSync(join(tmpdir(), 'midonet-bench-flows-'));
const log = createLogger({ name: 'bench', level: 'warn', destination: 2 });
try {
  const lab = await labUp({ runDir, name: uniqueLabName('bf'), hosts: 1, vmsPerHost: 2, tunnel: 'gre' });
  const host = lab.hosts[0]!;
  const vm = lab.vms[0]!;
  const ovs = hostOvs(host);
  const inPort = (await ovs.portNumbers('br-int')).get(labNames(lab.name ?? null).vmTap(vm.name))!;
  const sock = connect(join(host.ovsRunDir, 'br-int.mgmt'));
  await new Promise((r) => sock.once('connect', r));
  const conn = new OpenFlowConnection(sock, log, 60000);
  await conn.handshake();

  // The agent's own cost per packet-in, one at a time (under the throughput run below packet-ins
  // queue behind each other, and the histogram would time the queue).
  const before = await agentStats(host);
  for (let i = 0; i < PACED; i++) {
    const base = before.flowsInstalled + i;
    conn.send({
      type: 'packet_out',
      bufferId: OFP_NO_BUFFER,
      inPort,
      actions: [{ type: 'output', port: OFPP.TABLE, maxLen: 0 }],
      data: frame(MEMORY_FLOWS + i, vm.mac),
    });
    // Polled every millisecond, not back to back: each poll is a stats request the agent serves,
    // and a poll loop with no pause competes with the agent and OVS for the machine's two cores.
    const deadline = Date.now() + 5000;
    do await new Promise((r) => setTimeout(r, 1));
    while ((await installed(host)) <= base && Date.now() < deadline);
  }
  const latency = histogramDelta([before.packetInLatencyUs], [(await agentStats(host)).packetInLatencyUs]);

  // Agent path: FLOWS new flows, as fast as the agent takes them.
  const agentSecs = await inject(conn, host, inPort, vm.mac, 0, FLOWS, FLOWS + PACED);
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
  if (MEMORY_FLOWS > FLOWS + PACED)
    await inject(conn, host, inPort, vm.mac, FLOWS, MEMORY_FLOWS - FLOWS - PACED, MEMORY_FLOWS);
  const pid = agentPid(host)!;
  const rssOf = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  const rssKb = rssOf();
  // Right after the burst the agent still holds its garbage; idle, V8 collects it (and returns
  // pages): its resident set SETTLE_S seconds later, the flows still installed, beside the first.
  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  const settledKb = rssOf();
  const settledFlows = (await agentStats(host)).flowsLive;
  conn.close();

  const figures = {
    agent_flows_per_s: agentRate,
    agent_flows: FLOWS,
    ofctl_per_flow_flows_per_s: ofctlRate,
    speedup_vs_ofctl: agentRate / ofctlRate,
    agent_rss_mb_at_100k_flows: rssKb / 1024,
    agent_rss_mb_settled: settledKb / 1024,
    agent_flows_live_settled: settledFlows,
    packet_in_to_write_p50_us: latency.p50,
    packet_in_to_write_p99_us: latency.p99,
  };
  printTable('bench/flow-setup: real OVS (userspace datapath), one agent', [
    [
      'agent: PACKET_IN -> simulate -> FLOW_MOD',
      `${Math.round(agentRate)} flows/s (${FLOWS} flows, until a barrier on the agent's connection confirms them)`,
    ],
    ['ovs-ofctl add-flow, one process per flow', `${ofctlRate.toFixed(1)} flows/s (${BASELINE} flows)`],
    ['speed-up', `${figures.speedup_vs_ofctl.toFixed(0)}x`],
    [`agent RSS with ${MEMORY_FLOWS} flows`, `${figures.agent_rss_mb_at_100k_flows.toFixed(0)} MB`],
    [
      `agent RSS ${SETTLE_S} s later, idle`,
      `${figures.agent_rss_mb_settled.toFixed(0)} MB (${settledFlows} flows live)`,
    ],
    [
      `agent packet-in to write, ${PACED} flows one at a time (its histogram)`,
      `p50 <= ${latency.p50} us, p99 <= ${latency.p99} us (${latency.count} packet-ins)`,
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
