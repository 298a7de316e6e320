/**
 * Helpers for the integration tests that run on a real lab (namespaces, Open vSwitch, agents): ping,
 * agent statistics and barriers through the control API, waiting for an agent to apply the store's
 * changes or to come up, the reactive flows in a switch, UDP probes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/exec.js';
import { controlRequest } from '../../src/control/control-api.js';
import { PROACTIVE_COOKIE_BIT } from '../../src/agent/flow-table.js';
import { ISP_PINGABLE } from '../../src/lab/bgp-lab.js';
import { hostOvs, type LabHost, type LabState, type LabVm } from '../../src/lab/lab.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';

export const PROBE = fileURLToPath(new URL('../../src/lab/udp-probe.js', import.meta.url));
export const NAT_PROBE = fileURLToPath(new URL('../../src/lab/nat-probe.js', import.meta.url));

/** Starts a nat-probe server (`serve`, `tcp-sink`) in `netns`; resolves once it listens. */
export async function startNatProbe(netns: string, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, NAT_PROBE, ...args]);
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`nat-probe ${args[0]} in ${netns} exited with ${c}`)));
  });
  return child;
}

/** Waits until vm1 reaches the ISP: the route to it learned over BGP (a lab with bgp: true). */
export async function ispReachable(lab: LabState): Promise<void> {
  await until(async () => (await ping(vm(lab, 'vm1'), ISP_PINGABLE, ['-c', '1', '-W', '1'])).received === 1, {
    what: 'the route to the ISP learned over BGP',
    timeoutMs: 60000,
  });
}

export interface PingResult {
  readonly sent: number;
  readonly received: number;
  readonly output: string;
}

/** Pings from a VM; never throws (a failed ping is a result). */
export async function ping(
  vm: LabVm,
  ip: string,
  args: string[] = ['-c', '3', '-i', '0.2', '-W', '1'],
  timeoutMs = 30000,
): Promise<PingResult> {
  let output: string;
  try {
    output = await run('ping', [...args, ip], { netns: vm.netns, timeoutMs });
  } catch (e) {
    const err = e as { stdout?: string; message: string };
    output = `${err.stdout ?? ''}\n${err.message}`;
  }
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), output };
}

export async function stats(host: LabHost): Promise<Record<string, number>> {
  return (await controlRequest(host.controlSocket, { cmd: 'stats' })) as Record<string, number>;
}

/** Asks the agent to send an OpenFlow barrier: every flow change it sent so far is then applied. */
export async function barrier(host: LabHost): Promise<void> {
  await controlRequest(host.controlSocket, { cmd: 'barrier' });
}

/**
 * Waits until the agent of `h` has applied every change committed to the store so far (its
 * `lastChangeSeq` reached the store's position) and the switch has applied every flow change the
 * agent sent for them (a barrier): the state a test may check flows or send traffic in.
 */
export async function agentSettled(store: TopologyStore, h: LabHost, timeoutMs = 10000): Promise<void> {
  const position = await store.position();
  try {
    await until(async () => ((await stats(h)).lastChangeSeq ?? 0) >= position, {
      what: `the agent of ${h.name} applying the store's change ${position}`,
      timeoutMs,
    });
  } catch (e) {
    throw new Error(`${(e as Error).message}; its last warnings and errors:\n${agentComplaints(h)}`);
  }
  await barrier(h);
}

/** The last warnings and errors in the agent's log of `h` (for a test's failure message). */
export function agentComplaints(h: LabHost, most = 8): string {
  let text: string;
  try {
    text = readFileSync(join(h.dir, 'agent.log'), 'utf8');
  } catch (e) {
    return `(no agent log: ${(e as Error).message})`;
  }
  const lines = text.split('\n').filter((l) => /"level":(4|5|6)\d/.test(l));
  return lines.length === 0 ? '(none)' : lines.slice(-most).join('\n');
}

/** Waits until the agent process `pid` of `h` is alive in the store and connected to its switch. */
export async function agentRunning(
  store: TopologyStore,
  h: LabHost,
  pid: number,
  timeoutMs = 30000,
): Promise<void> {
  const hostId = (await store.resolve('host', h.name)).id;
  await until(
    async () => {
      const l = (await store.liveness()).find((x) => x.hostId === hostId);
      return l?.alive === true && l.info.pid === pid && l.info.openflowConnected === true;
    },
    { what: `agent ${pid} of ${h.name} alive and connected to its switch`, timeoutMs },
  );
}

export async function agentFlows(
  host: LabHost,
): Promise<Array<{ cookie: string; match: string; tags: string[] }>> {
  return (await controlRequest(host.controlSocket, { cmd: 'flows' })) as Array<{
    cookie: string;
    match: string;
    tags: string[];
  }>;
}

/** Reactive flows in the switch (cookies without the proactive bit), as ovs-ofctl prints them. */
export async function reactiveFlows(host: LabHost): Promise<string[]> {
  const lines = await hostOvs(host).dumpFlows('br-int');
  return lines.filter((l) => {
    const m = /cookie=(0x[0-9a-f]+)/.exec(l);
    return m !== null && (BigInt(m[1]!) & PROACTIVE_COOKIE_BIT) === 0n;
  });
}

export function cookieOf(line: string): string {
  return /cookie=(0x[0-9a-f]+)/.exec(line)![1]!;
}

export function vm(lab: LabState, name: string): LabVm {
  const v = lab.vms.find((x) => x.name === name);
  if (!v) throw new Error(`no VM ${name} in the lab`);
  return v;
}

export function host(lab: LabState, name: string): LabHost {
  const h = lab.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no host ${name} in the lab`);
  return h;
}

/** Starts a UDP echo server in a VM; returns a function that stops it. */
export async function startEcho(v: LabVm, port = 7): Promise<() => Promise<void>> {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    'ip',
    ['netns', 'exec', v.netns, process.execPath, PROBE, 'echo', '--port', String(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`udp echo in ${v.name} exited with ${c}`)));
  });
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
}

/** Runs udp-probe in a VM over `flows` flows (source ports basePort + i); returns RTT lists (ms, null = lost). */
export async function probe(
  v: LabVm,
  to: string,
  flows: number,
  packets: number,
  basePort: number,
  timeoutMs = 1000,
): Promise<Array<Array<number | null>>> {
  const input = Array.from({ length: flows }, (_, i) => `${i}\n`).join('');
  const out = await run(
    process.execPath,
    [
      PROBE,
      'probe',
      '--to',
      to,
      '--port',
      '7',
      '--packets',
      String(packets),
      '--base-port',
      String(basePort),
      '--timeout-ms',
      String(timeoutMs),
    ],
    { netns: v.netns, timeoutMs: 10000 + flows * packets * (timeoutMs + 50), input },
  );
  return out
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { rtts: Array<number | null> }).rtts);
}

export { capture, type Capture } from '../../src/lab/capture.js';
