/**
 * The evaluation's ECMP case (a lab brought up with --bgp --ecmp): first and later RTT of UDP flows
 * from a VM across the virtual router to the address behind the ISP, with the ISP's default route
 * learned over two uplinks on two hosts, and how the flows spread over the uplinks; then the same with
 * the second uplink's session shut at the ISP (one path), as the reference. The ISP runs a UDP
 * echo; a tcpdump on each of its two interfaces counts the distinct flows (source ports) that arrived
 * there, so the split is what the wire carried, not what the agents meant to do (tcpdump in immediate
 * mode: a packet is printed when it arrives, not when a buffer fills).
 *
 * Invariant: the echo server and the captures are stopped, and the second session opened again,
 * before returning, also on failure; the
 * split is reported as counted (a flow seen on both interfaces counts on both, and `flows` says how
 * many were probed), never adjusted.
 */
import { spawn } from 'node:child_process';
import { capture, type Capture } from './capture.js';
import { run } from '../exec.js';
import type { CaseResult, TargetResult } from './eval-report.js';
import type { LabState, LabVm } from './lab.js';
import type { TopologyStore } from '../state/store.js';
import { ISP_AS, ispFrr } from './bgp-lab.js';
import { DEFAULT_ROUTE, ISP1_IFACE, ISP2_IFACE, UPLINK2_ADDRESS } from './ecmp-lab.js';
import { PROBE } from './prober.js';

/** Each uplink's share of the flows must be at least this (the 30% for two uplinks). */
export const ECMP_MIN_SHARE = 0.3;
const PORT = 7;

export interface EcmpCase {
  readonly twoUplinks: CaseResult;
  /** The same flows with the second uplink's session shut at the ISP: one path (the reference). */
  readonly oneUplink?: CaseResult;
  /** Flows (distinct source ports) seen on the ISP's interface of each uplink. */
  readonly flowsPerUplink: Array<{ uplink: string; flows: number }>;
}

/** One tcpdump on `iface` in the ISP's namespace, of the UDP toward `to`:PORT. */
function watch(netns: string, iface: string, to: string): Promise<Capture> {
  return capture(netns, `udp and dst port ${PORT} and dst host ${to}`, { iface, ethernet: false });
}

/** The distinct UDP source ports (flows) in a capture's lines. */
export function sourcePorts(lines: readonly string[]): Set<number> {
  const ports = new Set<number>();
  for (const l of lines) {
    const m = /\.(\d+) > [\d.]+\.7: UDP/.exec(l);
    if (m) ports.add(Number(m[1]));
  }
  return ports;
}

/** Waits (at most 60 s) until `src` gets an echo from behind the ISP: both sessions had time to come up. */
async function reachable(src: LabVm, to: string): Promise<boolean> {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const ok = await run('ping', ['-c', '1', '-W', '1', to], { netns: src.netns }).then(
      () => true,
      () => false,
    );
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/** Waits (at most 60 s) until the router has `n` BGP routes to the default route; false if not. */
async function defaultPaths(store: TopologyStore, n: number): Promise<boolean> {
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    const routes = (await store.list('route')).filter(
      (r) => r.source === 'bgp' && r.dstPrefix === DEFAULT_ROUTE,
    );
    if (routes.length === n) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** Shuts (or opens again) the ISP's session with the second uplink, administratively. */
async function isp2Session(ispNs: string, up: boolean): Promise<void> {
  const neighbor = UPLINK2_ADDRESS.split('/')[0]!;
  await ispFrr(ispNs).vtysh([
    'configure terminal',
    `router bgp ${ISP_AS}`,
    `${up ? 'no ' : ''}neighbor ${neighbor} shutdown`,
    'end',
  ]);
}

/**
 * Runs the case with `measure` (the evaluation's own: `flows` flows, flushed before each first
 * packet, source ports basePort + i): over two uplinks, then with the second uplink's session shut
 * at the ISP (one path) as the reference; the session is opened again, also on failure.
 */
export async function ecmpCase(
  lab: LabState,
  store: TopologyStore,
  src: LabVm,
  measure: (name: string, src: LabVm, to: string, basePort: number) => Promise<CaseResult>,
  say: (l: string) => void,
): Promise<EcmpCase> {
  const bgp = lab.bgp!;
  const e = bgp.ecmp!;
  const to = bgp.isp.pingable;
  if (!(await defaultPaths(store, 2)))
    say(`ecmp: the router has not learned ${DEFAULT_ROUTE} twice yet; measuring anyway`);
  if (!(await reachable(src, to))) say(`ecmp: ${src.name} gets no echo from ${to} yet; measuring anyway`);
  const echo = spawn('ip', [
    'netns',
    'exec',
    bgp.isp.netns,
    process.execPath,
    PROBE,
    'echo',
    '--port',
    String(PORT),
  ]);
  const captures: Capture[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      echo.stdout.once('data', () => resolve());
      echo.once('exit', (c) => reject(new Error(`echo server in ${bgp.isp.netns} exited with ${c}`)));
    });
    for (const iface of [ISP1_IFACE, ISP2_IFACE]) captures.push(await watch(bgp.isp.netns, iface, to));
    const c = await measure(`agent, across the router to the ISP, two uplinks (ECMP)`, src, to, 32000);
    // Every flow that was answered passed the ISP: give tcpdump up to 2 s to print the last of them.
    const answered = (c.flows ?? 0) - c.first.lost;
    const seen = () => sourcePorts(captures.flatMap((x) => x.lines)).size;
    for (let i = 0; i < 40 && seen() < answered; i++) await new Promise((r) => setTimeout(r, 50));
    for (const cap of captures) await cap.stop();
    let one: CaseResult | undefined;
    try {
      await isp2Session(bgp.isp.netns, false);
      if (await defaultPaths(store, 1))
        one = await measure(`agent, across the router to the ISP, one uplink`, src, to, 33000);
      else
        say(
          `ecmp: ${DEFAULT_ROUTE} still learned twice after the second session was shut; no one-uplink case`,
        );
    } finally {
      await isp2Session(bgp.isp.netns, true);
      if (!(await defaultPaths(store, 2))) say(`ecmp: the second session did not come back within 60 s`);
    }
    return {
      twoUplinks: c,
      ...(one ? { oneUplink: one } : {}),
      flowsPerUplink: [
        { uplink: bgp.uplinkPort, flows: sourcePorts(captures[0]!.lines).size },
        { uplink: e.uplinkPort, flows: sourcePorts(captures[1]!.lines).size },
      ],
    };
  } finally {
    for (const cap of captures) await cap.stop();
    echo.kill();
  }
}

/** The ECMP target: the smaller uplink's share of the flows, at least ECMP_MIN_SHARE. */
export function ecmpTargets(e: EcmpCase | undefined): TargetResult[] {
  if (e === undefined) return [];
  const flows = e.twoUplinks.flows ?? NaN;
  const least = Math.min(...e.flowsPerUplink.map((u) => u.flows)) / flows;
  return [
    {
      name: 'ECMP: the smaller uplink share of the flows',
      value: least,
      target: ECMP_MIN_SHARE,
      unit: '',
      met: least >= ECMP_MIN_SHARE,
    },
  ];
}
