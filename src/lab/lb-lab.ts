/**
 * midonet-lb-health in the one-machine lab: the arguments that make a lab hypervisor's process bind
 * its health ports on that hypervisor (`--host` its name, `--host-netns` its namespace, where br-int's
 * interfaces live) and name its health namespaces with the lab's prefix plus the hypervisor's number,
 * so the lab's clean-up (everything with its prefix) removes them, whoever made them.
 *
 * `midonet-lab up --lb-health` starts one on every hypervisor (`startLabLbHealth`: one leads each
 * balancer, the others stand by), each with its pid in the hypervisor's directory; `midonet-lab down`
 * stops them (`stopLabLbHealth`) before the hypervisors.
 *
 * Invariant: a process started here runs with an argument array and ends with the lab; its log goes
 * to the hypervisor's directory (lb-health-CANDIDATE.log) unless the caller takes its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../exec.js';
import { labNames } from './layout.js';
import type { LabHost, LabState } from './lab.js';

const LB_HEALTH_MAIN = fileURLToPath(new URL('../lb/main.js', import.meta.url));

/** The prefix of the health namespaces made by hypervisor `host`'s process. */
export function lbHealthNsPrefix(lab: LabState, host: LabHost): string {
  return `${lab.prefix ?? labNames(lab.name ?? null).prefix}h${host.number}`;
}

export function lbHealthArgs(lab: LabState, host: LabHost, candidate: string): string[] {
  return [
    '--store',
    lab.storeUrl,
    '--host',
    host.name,
    '--host-netns',
    host.netns,
    '--namespace-prefix',
    lbHealthNsPrefix(lab, host),
    '--candidate',
    candidate,
  ];
}

/**
 * Starts midonet-lb-health for hypervisor `host`; with `pipe`, its stdout is the caller's (a test
 * waiting for a log line), else it is appended to the hypervisor's directory.
 */
export function startLbHealth(
  lab: LabState,
  host: LabHost,
  candidate: string,
  pipe = false,
  detached = false,
): ChildProcess {
  const args = [LB_HEALTH_MAIN, ...lbHealthArgs(lab, host, candidate)];
  if (pipe) return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const log = openSync(join(host.dir, `lb-health-${candidate}.log`), 'a');
  return spawn(process.execPath, args, { stdio: ['ignore', log, log], detached });
}

const PID_FILE = 'lb-health.pid';

/** midonet-lab up --lb-health: one midonet-lb-health per hypervisor, outliving this process. */
export function startLabLbHealth(lab: LabState): void {
  for (const host of lab.hosts) {
    const child = startLbHealth(lab, host, host.name, false, true);
    child.unref();
    writeFileSync(join(host.dir, PID_FILE), `${child.pid}\n`);
  }
}

/** Stops the midonet-lb-health of a lab hypervisor directory, if one runs (SIGTERM, then SIGKILL). */
export async function stopLabLbHealth(hostDir: string): Promise<void> {
  const f = join(hostDir, PID_FILE);
  if (!existsSync(f)) return;
  const pid = Number(readFileSync(f, 'utf8').trim());
  if (pid > 0 && processAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(f, { force: true });
}
