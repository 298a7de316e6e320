/**
 * Daemons the project starts for itself (ZooKeeper and Cassandra nodes), tracked by pid files.
 *
 * A daemon is started detached, from an argument array (never a shell string), with its output going
 * to a log file in its own directory, and its pid written to `<dir>/pid` together with a marker that
 * appears on its command line. Stopping reads the pid file, checks that the process with that pid
 * still carries the marker (so a reused pid of an unrelated process is never signalled), sends
 * SIGTERM, waits, then SIGKILL.
 *
 * Invariant: everything started has a pid file until it is stopped, so `stopAll` after a crash of the
 * starting process finds and stops every leftover.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DaemonSpec {
  /** Display name, e.g. 'zookeeper-1'. */
  readonly name: string;
  /** Directory holding the daemon's config, data, log and pid file. */
  readonly dir: string;
  readonly command: string;
  readonly args: readonly string[];
  /** A string on the daemon's command line that identifies it (checked before signalling a pid). */
  readonly marker: string;
}

export interface PidRecord {
  readonly pid: number;
  readonly marker: string;
  readonly name: string;
}

/**
 * The daemon run at scheduling priority `nice` (-20 highest to 19 lowest; 0 as it is) through
 * nice(1), which execs it: same pid, and every thread the daemon starts inherits the priority.
 */
export function niced(spec: DaemonSpec, nice: number): DaemonSpec {
  if (!Number.isInteger(nice) || nice < -20 || nice > 19)
    throw new Error(`${spec.name}: nice ${String(nice).slice(0, 20)}: expected an integer from -20 to 19`);
  if (nice === 0) return spec;
  return { ...spec, command: 'nice', args: ['-n', String(nice), spec.command, ...spec.args] };
}

export function startDaemon(spec: DaemonSpec): number {
  const out = openSync(join(spec.dir, 'stdout.log'), 'a');
  const child = spawn(spec.command, [...spec.args], {
    cwd: spec.dir,
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
  const rec: PidRecord = { pid: child.pid, marker: spec.marker, name: spec.name };
  writeFileSync(join(spec.dir, 'pid'), `${JSON.stringify(rec)}\n`);
  child.unref();
  return child.pid;
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return undefined;
  }
}

/** Whether the process of a pid record is still the one that was started. */
export function isRunning(rec: PidRecord): boolean {
  const c = cmdline(rec.pid);
  return c !== undefined && c.includes(rec.marker);
}

export function readPid(dir: string): PidRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'pid'), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops the daemon whose pid file is in `dir` (if any) and removes the pid file. */
export async function stopDaemon(dir: string, graceMs = 15000): Promise<string | undefined> {
  const rec = readPid(dir);
  if (!rec) return undefined;
  if (isRunning(rec)) {
    try {
      process.kill(rec.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + graceMs;
    while (isRunning(rec) && Date.now() < deadline) await sleep(100);
    if (isRunning(rec)) {
      try {
        process.kill(rec.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      while (isRunning(rec)) await sleep(50);
    }
  }
  rmSync(join(dir, 'pid'), { force: true });
  return rec.name;
}

/** Stops every daemon with a pid file in a direct subdirectory of `root`. */
export async function stopAll(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const dirs = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(root, d.name));
  const stopped = await Promise.all(dirs.map((d) => stopDaemon(d)));
  return stopped.filter((n): n is string => n !== undefined);
}
