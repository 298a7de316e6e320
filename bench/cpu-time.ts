/**
 * bench/cpu-time: CPU time from /proc, for benches that say which process bounds a figure: a process's
 * (or one thread's) user + system time, the time the whole machine's cores have been busy, and a
 * process's resident set.
 */
import { readFileSync } from 'node:fs';

/** CPU time (user + system, ms) process `pid` (or its thread `tid`) has used so far. */
export function cpuMs(pid: number, tid?: number): number {
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = readFileSync(
    tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`,
    'utf8',
  );
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
}
/** CPU time (ms) all the machine's cores have been busy so far (/proc/stat: all but idle and iowait). */
export function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return ((f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) * 1000) / CLOCK_TICKS;
}
/** Linux's USER_HZ, what /proc/PID/stat counts CPU time in. */
const CLOCK_TICKS = 100;

/** Resident set (kB) of process `pid`. */
export function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}
