/**
 * bench/fuzz: every fuzz target of test/support/fuzz-targets.ts (OpenFlow framing and messages,
 * Ethernet/IP/L4 parsing, DHCP, the agent's packet-in match path against the codec, the agents' peer
 * codec) on 1,000,000 inputs each, reporting crashes (an exception or a broken invariant), hangs (one
 * input taking more than 100 ms) and peak memory. An input that takes more than 100 ms is run again
 * alone, up to three times: it is a hang when every run is that slow, and a runtime pause (garbage
 * collection, compilation) when one is not; pauses are counted apart.
 *
 *   npm run bench -- fuzz [--count N] [--seed S] [--target NAME[,NAME...]]
 *
 * Each target runs in a child process of its own, so its peak resident memory (getrusage maxrss) is
 * its own; the child reports progress every 10,000 inputs, and a child silent for 30 s is killed and
 * counted as a hang (an input that never returns). The first failing inputs are printed as hex with
 * their index, so `fuzz(target, seeded(seed), index + 1)` or the bytes alone reproduce them.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FUZZ_TARGETS, fuzz, type FuzzFailure } from '../test/support/fuzz-targets.js';
import { seeded } from '../test/support/random-topology.js';
import { intArg, printReport, printTable, type Target } from './report.js';

const HANG_MS = 100;
const SILENCE_MS = 30_000;
const PEAK_RSS_TARGET_MB = 256;

interface ChildReport {
  readonly kind: 'done';
  readonly target: string;
  readonly inputs: number;
  readonly crashes: number;
  readonly hangs: number;
  /** Inputs slow once (a pause of the runtime) and fast when run again alone. */
  readonly pauses: number;
  readonly slowestMs: number;
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly peakHeapMb: number;
  readonly failures: FuzzFailure[];
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** In a child: runs one target and sends its report to the parent. */
function child(name: string, count: number, seed: number): void {
  const t = FUZZ_TARGETS.find((x) => x.name === name)!;
  let hangs = 0;
  let pauses = 0;
  let slowest = 0;
  let peakHeap = 0;
  const slow: FuzzFailure[] = [];
  const t0 = performance.now();
  const { failures, failed } = fuzz(t, seeded(seed), count, (ms, i, input) => {
    if (ms > HANG_MS) {
      // Slow once: a garbage collection or a compilation, or the input itself? Run it again alone.
      let best = ms;
      for (let k = 0; k < 3 && best > HANG_MS; k++) {
        const a = performance.now();
        try {
          t.run(input);
        } catch {
          // counted as a crash already
        }
        best = Math.min(best, performance.now() - a);
      }
      if (best > HANG_MS) {
        hangs++;
        if (slow.length < 5)
          slow.push({
            index: i,
            hex: Buffer.from(input).toString('hex'),
            error: `took ${best.toFixed(0)} ms`,
          });
      } else pauses++;
      ms = best;
    }
    if (ms > slowest) slowest = ms;
    if (i % 10_000 === 9_999) {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      process.send!({ kind: 'progress', done: i + 1 });
    }
  });
  const report: ChildReport = {
    kind: 'done',
    target: name,
    inputs: count,
    crashes: failed,
    hangs,
    pauses,
    slowestMs: slowest,
    seconds: (performance.now() - t0) / 1000,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    peakHeapMb: peakHeap / 1048576,
    failures: [...failures, ...slow],
  };
  process.send!(report, undefined, {}, () => process.exit(0));
}

function runChild(name: string, count: number, seed: number): Promise<ChildReport> {
  return new Promise((resolve) => {
    const c = fork(
      fileURLToPath(import.meta.url),
      ['--child', name, '--count', String(count), '--seed', String(seed)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    let last = 0;
    let report: ChildReport | undefined;
    const silent = (): ChildReport => ({
      kind: 'done',
      target: name,
      inputs: last,
      crashes: 0,
      hangs: 1,
      pauses: 0,
      slowestMs: SILENCE_MS,
      seconds: NaN,
      peakRssMb: NaN,
      peakHeapMb: NaN,
      failures: [
        { index: last, hex: '', error: `no progress for ${SILENCE_MS / 1000} s after input ${last}` },
      ],
    });
    let timer = setTimeout(() => c.kill('SIGKILL'), SILENCE_MS);
    c.on('message', (m: { kind: string; done?: number } | ChildReport) => {
      clearTimeout(timer);
      timer = setTimeout(() => c.kill('SIGKILL'), SILENCE_MS);
      if (m.kind === 'progress') {
        last = (m as { done: number }).done;
        if (last % 100_000 === 0) process.stderr.write(`  ${name}: ${last} inputs\n`);
      } else report = m as ChildReport;
    });
    c.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (report !== undefined) resolve(report);
      else if (signal === 'SIGKILL') resolve(silent());
      else
        resolve({
          ...silent(),
          hangs: 0,
          crashes: 1,
          failures: [
            { index: last, hex: '', error: `the child exited with ${signal ?? code} after ${last} inputs` },
          ],
        });
    });
  });
}

async function main(): Promise<void> {
  const childName = arg('--child');
  const count = intArg('fuzz', '--count', 1_000_000);
  const seed = intArg('fuzz', '--seed', 1);
  if (childName !== undefined) return child(childName, count, seed);
  const wanted = arg('--target')?.split(',') ?? FUZZ_TARGETS.map((t) => t.name);
  for (const w of wanted)
    if (!FUZZ_TARGETS.some((t) => t.name === w)) {
      console.error(
        `bench fuzz: no target '${w.slice(0, 40)}'; targets: ${FUZZ_TARGETS.map((t) => t.name).join(', ')}`,
      );
      process.exit(2);
    }
  const reports: ChildReport[] = [];
  for (const name of wanted) {
    process.stderr.write(`fuzzing ${name} (${count} inputs, seed ${seed})\n`);
    reports.push(await runChild(name, count, seed));
  }
  for (const rep of reports) {
    const t = FUZZ_TARGETS.find((x) => x.name === rep.target)!;
    printTable(`${rep.target}: ${t.what}`, [
      ['inputs', String(rep.inputs)],
      ['crashes (exceptions, broken invariants)', String(rep.crashes)],
      [`hangs (one input > ${HANG_MS} ms, also when run again)`, String(rep.hangs)],
      ['runtime pauses (slow once, fast when run again)', String(rep.pauses)],
      ['slowest input (best of its runs)', `${rep.slowestMs.toFixed(2)} ms`],
      ['inputs per second', `${Math.round(rep.inputs / rep.seconds)}`],
      ['peak memory (RSS / JS heap)', `${rep.peakRssMb.toFixed(0)} MB / ${rep.peakHeapMb.toFixed(0)} MB`],
    ]);
    for (const f of rep.failures) console.log(`    input #${f.index}: ${f.error}\n      ${f.hex}`);
  }
  const figures: Record<string, number> = { seed };
  const targets: Target[] = [];
  for (const rep of reports) {
    const k = rep.target.replace(/-/g, '_');
    Object.assign(figures, {
      [`${k}_inputs`]: rep.inputs,
      [`${k}_crashes`]: rep.crashes,
      [`${k}_hangs`]: rep.hangs,
      [`${k}_slowest_ms`]: rep.slowestMs,
      [`${k}_inputs_per_s`]: rep.inputs / rep.seconds,
      [`${k}_peak_rss_mb`]: rep.peakRssMb,
    });
    targets.push(
      { name: `${rep.target} crashes`, value: rep.crashes, target: 0, unit: 'inputs', kind: 'max' },
      {
        name: `${rep.target} hangs (> ${HANG_MS} ms)`,
        value: rep.hangs,
        target: 0,
        unit: 'inputs',
        kind: 'max',
      },
      {
        name: `${rep.target} peak RSS`,
        value: rep.peakRssMb,
        target: PEAK_RSS_TARGET_MB,
        unit: 'MB',
        kind: 'max',
      },
    );
  }
  printReport('fuzz', figures, targets);
}

await main();
