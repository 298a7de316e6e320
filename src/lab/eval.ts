/**
 * The evaluation: first-packet latency against later packets on the lab, as the original test plan of
 * this kind of system asks, made reproducible.
 *
 *   0. the floor, same pair of VMs, same host: plain OVS NORMAL, Debian's ovs-testcontroller (C) and
 *      the project's minimal controller (eval-floor.ts), each measured flow by flow in turn with the
 *      agent's same-host flows, so the agent's first packet is read as a ratio to what any reactive
 *      controller costs on this machine at the same moments
 *   1. base: no filter; same host and across hosts (tunnel), across hosts over IPv6 too; agent vs
 *      plain OVS NORMAL (IPv4); then iperf3 through the agent's flows and through NORMAL, run after
 *      run in turn (the throughput target)
 *   2. features enabled one by one (cumulative filter rules, every one read for every packet: drops
 *      that never match the probes, and group rules that match them with continue): dst IP, src IP,
 *      src port, dst port, IP address group, port group, TCP flags, TCP window (not matchable by the
 *      datapath: every packet takes the slow path); first and
 *      later RTT of the same TCP flows, and iperf3 throughput, after each step; then the filters
 *      removed and the source port rate-limited by a meter (eval-qos.ts: iperf3 against the limit);
 *      then layer 4 through the router, same host: routed, a stateful firewall (conntrack), source
 *      NAT, a floating IP (LAYER4_STEPS), and a load balancer's VIP (eval-lb.ts), each with
 *      first/later RTT and iperf3 throughput
 *   3. rule-set growth: a chain of 1 .. 10,000 rules with the matching rule near the end
 *   4. first contact: a VM never contacted before, across the router and hosts, with every MAC, ARP
 *      and flow table emptied first (agents and VMs), against the same flows with warm tables
 *   5. with a lab brought up with --bgp --ecmp: across the router to the ISP over two uplinks on two
 *      hosts (eval-ecmp.ts), and how the flows spread over the uplinks
 *
 * Method: each flow is a new 5-tuple (a new source port). Before each flow's first packet the
 * evaluation deletes the agent's reactive flows (cookies with the top bit clear; proactive flows stay)
 * and the datapath's cached flows on both hosts, so every first packet takes the slow path even when
 * the installed mask does not include the L4 ports; the baselines flush the same way (a controller's
 * flows, the datapath cache). The datapath cache is emptied with `revalidator/purge`, never
 * `dpctl/del-flows`: the latter leaves Open vSwitch's revalidator entries behind (they never expire),
 * and every later FLOW_MOD re-translated all of them, a cost that grew through the evaluation and that
 * only the reactive cases paid (docs/first-packet-tail.md). Both go without a process per flow: the
 * flows through a management connection to each bridge (mgmt-channel.ts: a barrier after each
 * deletion, then 20 ms), the cache through ovs-vswitchd's control socket (ovs/unixctl.ts); an
 * `ovs-ofctl` and an `ovs-appctl` per flow and host had cost about a third of a quick evaluation's
 * time. The agent's base cases and their NORMAL baselines are measured flow by flow in turn, so their
 * ratio compares the same moments of a shared machine. Later packets are reported whole, as packets 2-5 (the transient while Open vSwitch
 * revalidates its cache) and as packets 6-N (steady state).
 *
 * Invariant: everything the evaluation adds to the topology (chains, rules) is removed at the end,
 * and the baseline bridge is given back to NORMAL, also on failure; every probe is bounded (flows x
 * packets, each waited for at most a second).
 *
 * The pure parts live in eval-cases.ts, the floor in eval-floor.ts, the chains of parts 2 and 3 and
 * the layer 4 steps in eval-chains.ts.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { run } from '../exec.js';
import { controlRequest } from '../control/control-api.js';
import { openStore } from '../state/open.js';
import type { TopologyStore } from '../state/store.js';
import { hostOvs, vmIpv6, type LabHost, type LabState, type LabVm } from './lab.js';
import type { CaseResult, EvalReport } from './eval-report.js';
import { Prober } from './prober.js';
import { MgmtChannel } from './mgmt-channel.js';
import { deleteByCookie } from '../agent/flow-mods.js';
import { iperf3, machine, startEcho, warmPing } from './eval-probes.js';
import {
  FEATURE_STEPS,
  LAYER4_STEPS,
  caseOf,
  flowTurn,
  evalPairs,
  medianOf,
  targets,
  type Pair,
} from './eval-cases.js';
export { FEATURE_STEPS, growthRules, rttStats } from './eval-cases.js';
import { measureFloor } from './eval-floor.js';
import { AgentPhases } from './eval-agents.js';
import { loadBalancerStep } from './eval-lb.js';
import { ecmpCase, ecmpTargets, type EcmpCase } from './eval-ecmp.js';
import { qosStep, qosTargets } from './eval-qos.js';
import { featureSteps, layer4Steps, ruleGrowthSteps } from './eval-chains.js';

/** The agent's reactive flows: cookies with the top bit clear (flow-table.ts). */
const REACTIVE_TOP_BIT = 1n << 63n;
/** iperf3 runs of 1 s through the agent's flows and through NORMAL, in turn, for the throughput target. */
const THROUGHPUT_ROUNDS = 3;

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

/** What happens before each flow's first packet of a case. */
type Flush = () => Promise<void>;

/**
 * A case of `measureTogether`: its name, where its probes go, what precedes each of its flows (true:
 * the agents' reactive flows and the datapath caches; false: the datapath caches only) and the source
 * port of its first flow.
 */
interface CaseSpec {
  readonly name: string;
  readonly to: string;
  readonly flush: Flush | boolean;
  readonly basePort: number;
}

export class Evaluation {
  private store!: TopologyStore;
  private done = 0;
  private total = 0;
  private readonly flows: number;
  private readonly packets: number;
  private readonly echoes: ChildProcessWithoutNullStreams[] = [];
  /** The agents' stats around each phase (eval-agents.ts). */
  private readonly agents: AgentPhases;
  /** br-int's management connection on each host, in the order of `lab.hosts` (open during `run`). */
  private integration: MgmtChannel[] = [];

  constructor(
    private readonly lab: LabState,
    private readonly opts: EvalOptions,
  ) {
    this.flows = opts.flows ?? (opts.quick ? 20 : 200);
    this.packets = opts.packets ?? 10;
    this.agents = new AgentPhases(lab.hosts);
  }

  private tick(label: string): void {
    this.done++;
    this.opts.progress(this.done, this.total, label);
  }

  /** Deletes reactive flows (agent case) and cached datapath flows on every host. */
  private async flush(agent: boolean): Promise<void> {
    await Promise.all(
      this.lab.hosts.map(async (h, i) => {
        if (agent) await this.integration[i]!.apply([deleteByCookie(0n, REACTIVE_TOP_BIT)]);
        await hostOvs(h).purgeDatapath();
      }),
    );
  }

  /**
   * A first contact: every agent forgets what it learned (MAC, ARP, flows), the datapath caches go,
   * and the two VMs forget their neighbours.
   */
  private async forgetEverything(vms: readonly LabVm[]): Promise<void> {
    await Promise.all(this.lab.hosts.map((h) => controlRequest(h.controlSocket, { cmd: 'forget' })));
    await this.flush(false);
    for (const vm of vms) await run('ip', ['neigh', 'flush', 'all'], { netns: vm.netns });
  }

  /** One case: `flows` flows from src to `to`, each preceded by `flush`. */
  private async measure(
    name: string,
    src: LabVm,
    to: string,
    proto: 'udp' | 'tcp',
    flush: Flush | boolean,
    basePort: number,
  ): Promise<CaseResult> {
    return (await this.measureTogether(src, proto, [{ name, to, flush, basePort }]))[0]!;
  }

  /**
   * Cases measured together, flow by flow in turn (the order flips every flow: ABBA), so that a ratio
   * between them compares the same moments of a shared, noisy machine. The agents' phase is named
   * after the first case and its packet-ins are the first case's: the others must not reach an agent
   * (a NORMAL case, flush false).
   */
  private async measureTogether(
    src: LabVm,
    proto: 'udp' | 'tcp',
    cases: readonly CaseSpec[],
  ): Promise<CaseResult[]> {
    const probers = cases.map((c) => new Prober(src, c.to, proto, this.packets, c.basePort));
    const flushes = cases.map(({ flush }) => (typeof flush === 'boolean' ? () => this.flush(flush) : flush));
    const {
      value: results,
      packetIns,
      duplicates,
    } = await this.agents.phase(
      cases[0]!.name,
      async () => {
        const results = cases.map(() => [] as Array<Array<number | null>>);
        try {
          for (let f = 0; f < this.flows; f++) {
            for (const i of flowTurn(f, cases.length)) {
              await flushes[i]!();
              results[i]!.push(await probers[i]!.flow(f));
              this.tick(cases[i]!.name);
            }
          }
        } finally {
          for (const p of probers) p.close();
        }
        return results;
      },
      true,
    );
    return cases.map((c, i) =>
      i > 0 || c.flush === false
        ? caseOf(c.name, results[i]!)
        : caseOf(c.name, results[i]!, { packetIns, ...(duplicates === undefined ? {} : { duplicates }) }),
    );
  }

  /**
   * iperf3 from `src` to `dst` at `to`, a phase named after `label` (the step it measures); counts as
   * one unit of the study's progress.
   */
  private async iperf(label: string, src: LabVm, dst: LabVm, to: string): Promise<number> {
    const secs = this.opts.quick ? 1 : 2;
    const mbps = (
      await this.agents.phase(`${label}, iperf3`, () => iperf3(src, dst, to, secs, this.opts.say))
    ).value;
    this.tick(`${label} iperf3`);
    return mbps;
  }

  /** iperf3 to `pair.dst` through the agent's flows, then through NORMAL, THROUGHPUT_ROUNDS times. */
  private async iperfInTurn(pair: Pair): Promise<{ agentMbps: number[]; normalMbps: number[] }> {
    const t = { agentMbps: [] as number[], normalMbps: [] as number[] };
    await this.agents.phase('iperf3 in turn with NORMAL', async () => {
      for (let i = 0; i < THROUGHPUT_ROUNDS; i++) {
        t.agentMbps.push(await iperf3(pair.src, pair.dst, pair.dst.ip, 1, this.opts.say));
        t.normalMbps.push(await iperf3(pair.src, pair.dst, pair.dst.baselineIp, 1, this.opts.say));
      }
    });
    return t;
  }

  private async startEcho(vm: LabVm): Promise<void> {
    this.echoes.push(await startEcho(vm));
  }

  private ping(vm: LabVm, ip: string): Promise<void> {
    return warmPing(vm, ip);
  }

  async run(): Promise<EvalReport> {
    const started = Date.now();
    const { same, cross, routed, sameRouted } = evalPairs(this.lab);
    const say = this.opts.say;
    const features = FEATURE_STEPS;
    const sizes = this.opts.quick ? [1, 10, 100, 1000] : [1, 10, 100, 1000, 10000];
    const l4 = sameRouted ? LAYER4_STEPS.length + 1 : 0; // + the load balancer step
    const qos = 1; // the QoS step (eval-qos.ts)
    this.total =
      this.flows * (9 + (routed ? 2 : 0) + features.length + qos + l4 + sizes.length) +
      features.length +
      qos +
      l4 +
      1;
    if (this.lab.bgp?.ecmp) this.total += 2 * this.flows;
    this.store = await openStore(this.lab.storeUrl);
    try {
      for (const h of this.lab.hosts) this.integration.push(await MgmtChannel.open(h.ovsRunDir, 'br-int'));
      for (const vm of [
        same.dst,
        cross.dst,
        ...(routed ? [routed.dst] : []),
        ...(sameRouted ? [sameRouted.dst] : []),
      ])
        await this.startEcho(vm);
      for (const p of [same, cross]) {
        await this.ping(p.src, p.dst.ip);
        await this.ping(p.dst, p.src.ip);
        await this.ping(p.src, p.dst.baselineIp);
        await this.ping(p.dst, p.src.baselineIp);
      }
      await this.ping(cross.src, vmIpv6(cross.dst));
      await this.ping(cross.dst, vmIpv6(cross.src));
      await this.agents.begin();

      say('part 0: the floor of a reactive controller (UDP flows, same host, baseline bridge)');
      const hv1 = this.lab.hosts[0]!;
      const floor = await measureFloor(
        hostOvs(hv1),
        hv1.ovsRunDir,
        async (name, flush, port, agentPort) => {
          // The agent first: the phase's packet-ins are its own (the controller's flows never reach it).
          const [agent, controller] = await this.measureTogether(same.src, 'udp', [
            { name: `agent, same host (with ${name})`, to: same.dst.ip, flush: true, basePort: agentPort },
            { name, to: same.dst.baselineIp, flush, basePort: port },
          ]);
          return { agent: agent!, controller: controller! };
        },
        () => this.ping(same.src, same.dst.baselineIp),
      );

      say('part 1: base case, no filter (UDP flows)');
      // Each agent case with its NORMAL baseline, flow by flow in turn (the steady-state target is a
      // ratio between them).
      const [agentSame, normalSame] = await this.measureTogether(same.src, 'udp', [
        { name: 'agent, same host', to: same.dst.ip, flush: true, basePort: 20000 },
        { name: 'OVS NORMAL, same host', to: same.dst.baselineIp, flush: false, basePort: 22000 },
      ]);
      const [agentCross, normalCross] = await this.measureTogether(cross.src, 'udp', [
        { name: 'agent, across hosts', to: cross.dst.ip, flush: true, basePort: 21000 },
        { name: 'OVS NORMAL, across hosts', to: cross.dst.baselineIp, flush: false, basePort: 23000 },
      ]);
      const base = [
        agentSame!,
        agentCross!,
        // The same across hosts over IPv6 (SLAAC addresses): neighbour discovery instead of ARP.
        await this.measure('agent, across hosts, IPv6', cross.src, vmIpv6(cross.dst), 'udp', true, 34000),
      ];
      // iperf3 through the agent's flows and through NORMAL, run after run in turn: the throughput
      // target is the ratio of their medians (one run of each at different moments of this shared
      // machine measured the machine as much as the path).
      const throughputInTurn = await this.iperfInTurn(same);
      const normalThroughput = medianOf(throughputInTurn.normalMbps);
      this.tick('iperf3 in turn');

      say('part 2: features enabled one by one (TCP flows, the same source ports each step)');
      const steps = await featureSteps(this.store, same, {
        measure: (name) => this.measure(name, same.src, same.dst.ip, 'tcp', true, 24000),
        iperf: (name) => this.iperf(name, same.src, same.dst, same.dst.ip),
      });
      steps.push(
        await qosStep(this.store, same.src, {
          measure: (name) => this.measure(name, same.src, same.dst.ip, 'tcp', true, 24500),
          iperf: () => this.iperf('QoS', same.src, same.dst, same.dst.ip),
        }),
      );

      if (sameRouted) {
        say('part 2, layer 4: through the router, same host (conntrack, source NAT, floating IP, VIP)');
        await this.ping(sameRouted.src, sameRouted.dst.ip);
        steps.push(
          ...(await layer4Steps(this.store, sameRouted, {
            measure: (name, to, basePort) => this.measure(name, sameRouted.src, to, 'tcp', true, basePort),
            iperf: (name, to) => this.iperf(name, sameRouted.src, sameRouted.dst, to),
          })),
        );
        const lbPort = 25000 + LAYER4_STEPS.length * 300;
        steps.push(
          await loadBalancerStep(this.store, sameRouted.dst, {
            measure: (name, to) => this.measure(name, sameRouted.src, to, 'tcp', true, lbPort),
            iperf: (to) => this.iperf('load balancer', sameRouted.src, sameRouted.dst, to),
          }),
        );
      }

      say('part 3: rule-set growth (UDP flows, the matching rule near the end)');
      const growth = await ruleGrowthSteps(this.store, same.src, sizes, (name) =>
        this.measure(name, same.src, same.dst.ip, 'udp', true, 26000),
      );

      let firstContact: EvalReport['firstContact'];
      if (routed) {
        say('part 4: first contact across the router and hosts (every MAC, ARP and flow table empty)');
        await this.ping(routed.src, routed.dst.ip);
        const warm = await this.measure(
          'agent, across router and hosts, warm',
          routed.src,
          routed.dst.ip,
          'udp',
          true,
          29000,
        );
        const cold = await this.measure(
          'agent, across router and hosts, first contact',
          routed.src,
          routed.dst.ip,
          'udp',
          () => this.forgetEverything([routed.src, routed.dst]),
          30000,
        );
        firstContact = { cold, warm };
      }
      let ecmp: EcmpCase | undefined;
      if (this.lab.bgp?.ecmp) {
        say('part 5: across the router to the ISP over two uplinks on two hosts (ECMP, UDP flows)');
        ecmp = await ecmpCase(
          this.lab,
          this.store,
          same.src,
          (name, src, to, basePort) => this.measure(name, src, to, 'udp', true, basePort),
          say,
        );
      }
      const agents = await this.agents.report();

      const baseline = {
        sameHost: normalSame!,
        crossHost: normalCross!,
        throughputMbps: normalThroughput,
        throughputInTurn,
      };
      return {
        machine: await machine(),
        startedAt: new Date(started).toISOString(),
        durationS: (Date.now() - started) / 1000,
        settings: {
          flows: this.flows,
          packetsPerFlow: this.packets,
          quick: this.opts.quick,
          method: `each flow is a new source port; before its first packet the agent's reactive flows (cookie top bit clear) and the datapath flow cache (revalidator/purge) are deleted on both hosts (NORMAL: the datapath cache; the controllers of the floor: their flows and the datapath cache), so every first packet takes the slow path; the agent's same-host and across-hosts cases alternate flow by flow with their NORMAL baselines, and in part 0 the agent's same-host flows with each controller's; later = packets 2 to ${this.packets} of each flow, transient = packets 2-5, steady = packets 6-${this.packets}; first contact also empties every agent's MAC and ARP tables and the two VMs' neighbour caches; the throughput target compares ${THROUGHPUT_ROUNDS} iperf3 runs of 1 s through the agent's flows with as many through NORMAL, run in turn (ratio of medians)`,
        },
        baseline,
        floor,
        base,
        features: steps,
        ruleGrowth: growth,
        ...(firstContact ? { firstContact } : {}),
        ...(ecmp ? { ecmp } : {}),
        ...agents,
        targets: [
          ...targets(
            base,
            baseline,
            floor,
            steps,
            growth,
            firstContact,
            agents.agentPacketInUs,
            agents.agentNewFlowPacketInUs,
          ),
          ...qosTargets(steps),
          ...ecmpTargets(ecmp),
        ],
      };
    } finally {
      for (const c of this.integration) c.close();
      this.integration = [];
      for (const e of this.echoes) e.kill();
      await this.store.close();
    }
  }
}

export type { LabHost };
