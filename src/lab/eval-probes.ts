/**
 * The evaluation's helpers around its probes (eval.ts): iperf3 throughput between two VMs, the UDP/TCP
 * echo server a VM answers probes with, a ping that warms the neighbour caches, and the machine the
 * report was made on.
 *
 * Invariant: every child process is bounded: the iperf3 server serves one test and is killed after
 * it, the client has a timeout; an echo server is returned to the caller, who kills it at the end.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpus, hostname, release, totalmem } from 'node:os';
import { run } from '../exec.js';
import type { LabVm } from './lab.js';
import type { EvalReport } from './eval-report.js';
import { PROBE } from './prober.js';

/** iperf3 from `src` to `to` (an address of `dst`) for `secs` seconds, in Mbit/s; NaN when it failed. */
export async function iperf3(
  src: LabVm,
  dst: LabVm,
  to: string,
  secs: number,
  say: (line: string) => void,
): Promise<number> {
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
    say(`iperf3 ${src.name} -> ${to} failed: ${(e as Error).message.split('\n')[0]}`);
    return NaN;
  } finally {
    server.kill();
  }
}

/** Starts the probe's echo server (port 7) in `vm`; resolves once it listens. */
export async function startEcho(vm: LabVm): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn('ip', ['netns', 'exec', vm.netns, process.execPath, PROBE, 'echo', '--port', '7']);
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`echo server in ${vm.name} exited with ${c}`)));
  });
  return child;
}

/** Two pings from `vm` to `ip` (neighbour caches and learned tables warmed); never fails. */
export async function warmPing(vm: LabVm, ip: string): Promise<void> {
  await run('ping', ['-c', '2', '-i', '0.2', '-W', '1', ip], { netns: vm.netns }).catch(() => undefined);
}

/** The machine the report was made on. */
export async function machine(): Promise<EvalReport['machine']> {
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
