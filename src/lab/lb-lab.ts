/**
 * midonet-lb-health in the one-machine lab: the arguments that make a lab hypervisor's process bind
 * its health ports on that hypervisor (`--host` its name, `--host-netns` its namespace, where br-int's
 * interfaces live) and name its health namespaces with the lab's prefix plus the hypervisor's number,
 * so the lab's clean-up (everything with its prefix) removes them, whoever made them.
 *
 * Invariant: a process started here runs with an argument array and ends with the lab; its log goes
 * to the hypervisor's directory (lb-health-CANDIDATE.log) unless the caller takes its output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
export function startLbHealth(lab: LabState, host: LabHost, candidate: string, pipe = false): ChildProcess {
  const args = [LB_HEALTH_MAIN, ...lbHealthArgs(lab, host, candidate)];
  if (pipe) return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const log = openSync(join(host.dir, `lb-health-${candidate}.log`), 'a');
  return spawn(process.execPath, args, { stdio: ['ignore', log, log] });
}
