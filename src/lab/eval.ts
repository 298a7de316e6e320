/**
 * The evaluation: first-packet latency against later packets on the lab, as the original test plan of
 * this kind of system asks, made reproducible.
 *
 *   1. base: no filter; same host and across hosts (tunnel); agent vs plain OVS NORMAL
 *   2. features enabled one by one (cumulative filter rules that never match the probes, so every
 *      packet is checked against them): dst IP, src IP, src port, dst port, IP address group, TCP
 *      flags, TCP window (not matchable by the datapath: every packet takes the slow path); first and
 *      later RTT of the same TCP flows, and iperf3 throughput, after each step
 *   3. rule-set growth: a chain of 1 .. 10,000 rules with the matching rule near the end
 *   4. the NORMAL baseline measured in the same run, so every figure has a ratio
 *
 * Method: each flow is a new 5-tuple (a new source port). Before each flow's first packet the
 * evaluation deletes the agent's reactive flows (cookies with the top bit clear; proactive flows stay)
 * and the datapath's cached flows on both hosts, so every first packet takes the slow path even when
 * the installed mask does not include the L4 ports; the baseline flushes the datapath the same way.
 *
 * Invariant: everything the evaluation adds to the topology (chains, rules) is removed at the end,
 * also on failure; every probe is bounded (flows x packets, each waited for at most a second).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpus, hostname, release, totalmem } from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { run } from '../exec.js';
import { controlRequest } from '../control/control-api.js';
import { openStore } from '../state/open.js';
import type { Op, TopologyStore } from '../state/store.js';
import { hostOvs, type LabHost, type LabState, type LabVm } from './lab.js';
import type { CaseResult, EvalReport, RttStats, TargetResult } from './eval-report.js';

const PROBE = fileURLToPath(new URL('./udp-probe.js', import.meta.url));
const REACTIVE = 'cookie=0x0/0x8000000000000000';

export interface EvalOptions {
  readonly quick: boolean;
  /** Flows per case (default 200, quick 20). */
  readonly flows?: number;
  /**
   * Packets per flow, the first included (default 10). Right after a flow is installed Open vSwitch
   * revalidates its datapath cache, and the 2nd to ~5th packets pay for it; ten packets per flow let
   * the later-packet median show the installed flow while p90/p99 still show that transient.
   */
  readonly packets?: number;
  readonly say: (line: string) => void;
  readonly progress: (done: number, total: number, label: string) => void;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function rttStats(values: ReadonlyArray<number | null>): RttStats {
  const ok = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  return {
    n: values.length,
    lost: values.length - ok.length,
    median: quantile(ok, 0.5),
    p90: quantile(ok, 0.9),
    p99: quantile(ok, 0.99),
  };
}

function caseOf(
  name: string,
  flows: ReadonlyArray<ReadonlyArray<number | null>>,
  extra: Partial<CaseResult> = {},
): CaseResult {
  const first = rttStats(flows.map((f) => f[0] ?? null));
  const later = rttStats(flows.flatMap((f) => f.slice(1)));
  return { name, first, later, firstMinusLaterMs: first.median - later.median, ...extra };
}

/** A probe process in a VM, driven one flow at a time. */
class Prober {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: Array<{ resolve: (l: string) => void; reject: (e: Error) => void }> = [];

  constructor(vm: LabVm, to: string, proto: 'udp' | 'tcp', packets: number, basePort: number) {
    this.child = spawn('ip', [
      'netns',
      'exec',
      vm.netns,
      process.execPath,
      PROBE,
      'probe',
      '--to',
      to,
      '--port',
      '7',
      '--proto',
      proto,
      '--packets',
      String(packets),
      '--base-port',
      String(basePort),
      '--timeout-ms',
      '1000',
    ]);
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (l) => this.pending.shift()?.resolve(l));
    this.child.on('exit', (c) => {
      for (const p of this.pending.splice(0)) p.reject(new Error(`probe in ${vm.name} exited with ${c}`));
    });
  }

  async flow(f: number): Promise<Array<number | null>> {
    const line = new Promise<string>((resolve, reject) => this.pending.push({ resolve, reject }));
    this.child.stdin.write(`${f}\n`);
    return (JSON.parse(await line) as { rtts: Array<number | null> }).rtts;
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

interface Pair {
  readonly src: LabVm;
  readonly dst: LabVm;
}

export class Evaluation {
  private store!: TopologyStore;
  private done = 0;
  private total = 0;
  private readonly flows: number;
  private readonly packets: number;
  private readonly echoes: ChildProcessWithoutNullStreams[] = [];
  private readonly made: string[] = [];

  constructor(
    private readonly lab: LabState,
    private readonly opts: EvalOptions,
  ) {
    this.flows = opts.flows ?? (opts.quick ? 20 : 200);
    this.packets = opts.packets ?? 10;
  }

  /** The VMs the evaluation uses: a source, another VM on its bridge and host, one on its bridge elsewhere. */
  pairs(): { same: Pair; cross: Pair } {
    const [hv1, hv2] = this.lab.hosts;
    if (!hv1 || !hv2) throw new Error('eval: the lab needs at least 2 hosts (midonet-lab up --hosts 2)');
    const src = this.lab.vms.find((v) => v.host === hv1.name)!;
    const same = this.lab.vms.find((v) => v !== src && v.host === hv1.name && v.bridge === src.bridge);
    const cross = this.lab.vms.find((v) => v.host === hv2.name && v.bridge === src.bridge);
    if (!same || !cross)
      throw new Error(
        'eval: the lab needs 2 VMs of one bridge on hv1 and 1 on hv2 (midonet-lab up --vms-per-host 3)',
      );
    return { same: { src, dst: same }, cross: { src, dst: cross } };
  }

  private tick(label: string): void {
    this.done++;
    this.opts.progress(this.done, this.total, label);
  }

  /** Deletes reactive flows (agent case) and cached datapath flows on every host. */
  private async flush(agent: boolean): Promise<void> {
    await Promise.all(
      this.lab.hosts.map(async (h) => {
        if (agent) await hostOvs(h).delFlows('br-int', REACTIVE);
        await hostOvs(h).appctl('ovs-vswitchd.ctl', ['dpctl/del-flows']);
      }),
    );
  }

  private async packetIns(): Promise<number> {
    let n = 0;
    for (const h of this.lab.hosts)
      n += ((await controlRequest(h.controlSocket, { cmd: 'stats' })) as { packetIns: number }).packetIns;
    return n;
  }

  /** One case: `flows` flows from src to `to`, each preceded by a flush. */
  private async measure(
    name: string,
    src: LabVm,
    to: string,
    proto: 'udp' | 'tcp',
    agent: boolean,
    basePort: number,
  ): Promise<CaseResult> {
    const prober = new Prober(src, to, proto, this.packets, basePort);
    const before = await this.packetIns();
    const results: Array<Array<number | null>> = [];
    try {
      for (let f = 0; f < this.flows; f++) {
        await this.flush(agent);
        results.push(await prober.flow(f));
        this.tick(name);
      }
    } finally {
      prober.close();
    }
    return caseOf(name, results, { packetIns: (await this.packetIns()) - before });
  }

  private async iperf(src: LabVm, dst: LabVm, to: string): Promise<number> {
    const secs = this.opts.quick ? 1 : 2;
    const server = spawn('ip', ['netns', 'exec', dst.netns, 'iperf3', '-s', '-1', '-p', '5201']);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const out = await run('iperf3', ['-c', to, '-p', '5201', '-t', String(secs), '-J'], {
        netns: src.netns,
        timeoutMs: (secs + 20) * 1000,
      });
      const j = JSON.parse(out) as { end?: { sum_received?: { bits_per_second?: number } } };
      return (j.end?.sum_received?.bits_per_second ?? NaN) / 1e6;
    } catch (e) {
      this.opts.say(`iperf3 ${src.name} -> ${to} failed: ${(e as Error).message.split('\n')[0]}`);
      return NaN;
    } finally {
      server.kill();
    }
  }

  private async startEcho(vm: LabVm): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', vm.netns, process.execPath, PROBE, 'echo', '--port', '7']);
    this.echoes.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (c) => reject(new Error(`echo server in ${vm.name} exited with ${c}`)));
    });
  }

  private async ping(vm: LabVm, ip: string): Promise<void> {
    await run('ping', ['-c', '2', '-i', '0.2', '-W', '1', ip], { netns: vm.netns }).catch(() => undefined);
  }

  /** Replaces the bridge's inbound chain with a new one made of `rules` (one transaction). */
  private async installChain(
    bridgeName: string,
    name: string,
    rules: Array<Record<string, unknown>>,
  ): Promise<void> {
    const bridge = await this.store.resolve('bridge', bridgeName);
    const old = bridge.inboundChainId;
    const chainId = crypto.randomUUID();
    const ops: Op[] = [{ op: 'create', kind: 'chain', id: chainId, fields: { name } }];
    for (const r of rules) ops.push({ op: 'create', kind: 'rule', fields: { chainId, ...r } });
    ops.push({ op: 'update', kind: 'bridge', id: bridge.id, set: { inboundChainId: chainId } });
    if (old) ops.push({ op: 'delete', kind: 'chain', id: old, cascade: true });
    await this.store.transact(ops);
    this.made.push(name);
    await new Promise((r) => setTimeout(r, rules.length > 1000 ? 1500 : 300)); // let agents apply it
  }

  private async removeChain(bridgeName: string): Promise<void> {
    const bridge = await this.store.resolve('bridge', bridgeName);
    if (bridge.inboundChainId) await this.store.delete('chain', bridge.inboundChainId, { cascade: true });
  }

  async run(): Promise<EvalReport> {
    const started = Date.now();
    const { same, cross } = this.pairs();
    const say = this.opts.say;
    const features = FEATURE_STEPS;
    const sizes = this.opts.quick ? [1, 10, 100, 1000] : [1, 10, 100, 1000, 10000];
    this.total = this.flows * (4 + features.length + sizes.length) + features.length + 1;
    this.store = await openStore(this.lab.storeUrl);
    try {
      for (const vm of [same.dst, cross.dst]) await this.startEcho(vm);
      for (const p of [same, cross]) {
        await this.ping(p.src, p.dst.ip);
        await this.ping(p.dst, p.src.ip);
        await this.ping(p.src, p.dst.baselineIp);
        await this.ping(p.dst, p.src.baselineIp);
      }

      say('part 1: base case, no filter (UDP flows)');
      const base = [
        await this.measure('agent, same host', same.src, same.dst.ip, 'udp', true, 20000),
        await this.measure('agent, across hosts', cross.src, cross.dst.ip, 'udp', true, 21000),
      ];
      const normalSame = await this.measure(
        'OVS NORMAL, same host',
        same.src,
        same.dst.baselineIp,
        'udp',
        false,
        22000,
      );
      const normalCross = await this.measure(
        'OVS NORMAL, across hosts',
        cross.src,
        cross.dst.baselineIp,
        'udp',
        false,
        23000,
      );
      const normalThroughput = await this.iperf(same.src, same.dst, same.dst.baselineIp);
      this.tick('iperf3 baseline');

      say('part 2: features enabled one by one (TCP flows, the same source ports each step)');
      const steps: CaseResult[] = [];
      const rules: Array<Record<string, unknown>> = [];
      const ipg = await this.store.create('ip-address-group', {
        name: `eval-group-${Date.now()}`,
        addresses: ['203.0.113.249'],
      });
      this.made.push(ipg.name);
      try {
        for (const step of features) {
          if (step.rule) rules.push(step.rule(ipg.id));
          if (rules.length > 0)
            await this.installChain(same.src.bridge, `eval-features-${steps.length}`, rules);
          const c = await this.measure(step.name, same.src, same.dst.ip, 'tcp', true, 24000);
          c.throughputMbps = await this.iperf(same.src, same.dst, same.dst.ip);
          this.tick(`${step.name} iperf3`);
          steps.push(c);
        }
      } finally {
        await this.removeChain(same.src.bridge);
        await this.store.delete('ip-address-group', ipg.id).catch(() => undefined);
      }

      say('part 3: rule-set growth (UDP flows, the matching rule near the end)');
      const growth: CaseResult[] = [];
      try {
        for (const n of sizes) {
          await this.installChain(same.src.bridge, `eval-rules-${n}`, growthRules(n, same.src));
          const c = await this.measure(`${n} rules`, same.src, same.dst.ip, 'udp', true, 26000);
          c.rules = n;
          growth.push(c);
        }
      } finally {
        await this.removeChain(same.src.bridge);
      }

      const baseline = { sameHost: normalSame, crossHost: normalCross, throughputMbps: normalThroughput };
      return {
        machine: await machine(),
        startedAt: new Date(started).toISOString(),
        durationS: (Date.now() - started) / 1000,
        settings: {
          flows: this.flows,
          packetsPerFlow: this.packets,
          quick: this.opts.quick,
          method: `each flow is a new source port; before its first packet the agent's reactive flows (cookie top bit clear) and the datapath flow cache are deleted on both hosts (the baseline: the datapath cache), so every first packet takes the slow path; later = packets 2 to ${this.packets} of each flow`,
        },
        baseline,
        base,
        features: steps,
        ruleGrowth: growth,
        targets: targets(base, baseline, steps, growth),
      };
    } finally {
      for (const e of this.echoes) e.kill();
      await this.store.close();
    }
  }
}

/** The cumulative filter steps of part 2: rules that never match the probe flows, so all are read. */
export const FEATURE_STEPS: ReadonlyArray<{
  name: string;
  rule?: (ipAddrGroup: string) => Record<string, unknown>;
}> = [
  { name: 'no filter' },
  {
    name: 'dst-ip',
    rule: () => ({ action: 'drop', conditions: { dstPrefix: { value: '203.0.113.250/32' } } }),
  },
  {
    name: 'src-ip',
    rule: () => ({ action: 'drop', conditions: { srcPrefix: { value: '203.0.113.251/32' } } }),
  },
  {
    name: 'src-port',
    rule: () => ({
      action: 'drop',
      conditions: { ipProto: { value: 6 }, srcPort: { value: { start: 1, end: 1 } } },
    }),
  },
  {
    name: 'dst-port',
    rule: () => ({
      action: 'drop',
      conditions: { ipProto: { value: 6 }, dstPort: { value: { start: 1, end: 1 } } },
    }),
  },
  {
    name: 'ip-address-group',
    rule: (g) => ({ action: 'drop', conditions: { ipAddrGroupDst: { value: g } } }),
  },
  {
    name: 'tcp-flags',
    rule: () => ({
      action: 'drop',
      conditions: { ipProto: { value: 6 }, tcpFlags: { value: { set: 0x29, mask: 0x29 } } },
    }),
  },
  {
    name: 'tcp-window',
    rule: () => ({
      action: 'drop',
      conditions: { ipProto: { value: 6 }, tcpWindow: { value: { start: 1, end: 1 } } },
    }),
  },
];

/** `n` rules: random 5-tuple drops that never match, and the probes' accept near the end. */
export function growthRules(n: number, src: LabVm): Array<Record<string, unknown>> {
  const rules: Array<Record<string, unknown>> = [];
  let seed = 12345;
  const rnd = (m: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % m;
  };
  const noise = () => ({
    action: 'drop',
    conditions: {
      ipProto: { value: 17 },
      srcPrefix: { value: `203.0.113.${rnd(256)}/32` },
      dstPrefix: { value: `203.0.113.${rnd(256)}/32` },
      srcPort: { value: { start: 1 + rnd(60000), end: 1 + rnd(60000) + 0 } },
      dstPort: { value: { start: 1000 + rnd(1000), end: 1000 + rnd(1000) + 500 } },
    },
  });
  const accept = {
    action: 'accept',
    conditions: {
      ipProto: { value: 17 },
      srcPrefix: { value: `${src.ip}/32` },
      dstPort: { value: { start: 7, end: 7 } },
    },
  };
  for (let i = 0; i < n - 2; i++) rules.push(fixRange(noise()));
  rules.push(accept);
  if (n >= 2) rules.push(fixRange(noise()));
  return rules.slice(0, n);
}

function fixRange(r: {
  action: string;
  conditions: Record<string, { value: unknown }>;
}): Record<string, unknown> {
  for (const k of ['srcPort', 'dstPort']) {
    const v = r.conditions[k]!.value as { start: number; end: number };
    if (v.start > v.end) r.conditions[k] = { value: { start: v.end, end: v.start } };
  }
  return r;
}

function ratio(a: number, b: number): number {
  return a / b;
}

function targets(
  base: CaseResult[],
  baseline: EvalReport['baseline'],
  steps: CaseResult[],
  growth: CaseResult[],
): TargetResult[] {
  const agentSame = base[0]!;
  const noFilter = steps[0];
  const r1 = growth.find((g) => g.rules === 1);
  const rMax = growth.at(-1);
  const t = (name: string, value: number, target: number, unit: string): TargetResult => ({
    name,
    value,
    target,
    unit,
    met: value <= target,
  });
  const out = [
    t(
      'first-packet RTT / OVS NORMAL first-packet RTT (same host)',
      ratio(agentSame.first.median, baseline.sameHost.first.median),
      1.5,
      'x',
    ),
    t(
      'later-packet RTT / OVS NORMAL later-packet RTT (same host)',
      ratio(agentSame.later.median, baseline.sameHost.later.median),
      1.05,
      'x',
    ),
  ];
  if (r1 && rMax)
    out.push(
      t(
        `first-packet RTT at ${rMax.rules} rules / at 1 rule`,
        ratio(rMax.first.median, r1.first.median),
        1.2,
        'x',
      ),
    );
  if (noFilter?.throughputMbps !== undefined) {
    const v = ratio(noFilter.throughputMbps, baseline.throughputMbps);
    out.push({
      name: 'iperf3 throughput through agent flows / OVS NORMAL',
      value: v,
      target: 0.95,
      unit: 'x',
      met: v >= 0.95,
    });
  }
  return out;
}

async function machine(): Promise<EvalReport['machine']> {
  const ovs = (await run('ovs-vswitchd', ['--version']).catch(() => 'unknown')).split('\n')[0]!;
  return {
    hostname: hostname(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    ovs,
  };
}

export type { LabHost };
