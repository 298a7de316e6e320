/**
 * bench/cli: start-up cost of midonet-cli against a bare `node -e 0`, side by side in one run: a list
 * (`bridge list`, 50 bridges on an embedded store in a temporary directory), a write (`bridge update`
 * that flips a field, so every run commits), and the same write with the start-up snapshot turned off
 * (MIDONET_CLI_SNAPSHOT=0: the compiled modules loaded one by one), to show what the snapshot saves.
 *
 * Method: the four commands run in turn, round after round (after warm-up rounds), so a change in the
 * machine's load during the run falls on all of them alike; each is timed from spawn to exit (wall
 * clock, median) and by the CPU time its process used (user + system, from this process's children
 * totals in /proc/self/stat; mean). On a shared machine the CPU figures are the steadier ones.
 *
 * Targets (issue 20): a write under 80 ms, and as a ratio to bare Node in the same run under
 * 80/45 = 1.78x (the figures: node 45 ms, write 160 ms before lazy imports).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/state/open.js';
import { printReport, printTable, quantile } from './report.js';

const CLI = fileURLToPath(new URL('../../bin/midonet-cli', import.meta.url));
const RUNS = Number(process.env.CLI_BENCH_RUNS ?? 30);
const WARMUP = 3;
/** Clock ticks per second of /proc's times (USER_HZ, 100 on Linux). */
const TICKS = 100;

interface Command {
  readonly name: string;
  readonly argv: () => string[];
  readonly env?: NodeJS.ProcessEnv;
}

/** CPU seconds used by waited-for children so far (cutime + cstime). */
function childrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / TICKS;
}

function runOnce(c: Command): { wallMs: number; cpuMs: number } {
  const [cmd, ...args] = c.argv();
  const cpu0 = childrenCpu();
  const t0 = performance.now();
  const r = spawnSync(cmd!, args, { stdio: 'ignore', env: c.env ?? process.env });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${c.name}: exit status ${r.status ?? r.signal}`);
  return { wallMs, cpuMs: (childrenCpu() - cpu0) * 1000 };
}

const dir = mkdtempSync(join(tmpdir(), 'midonet-bench-cli-'));
try {
  const url = `sqlite:${join(dir, 'state.db')}`;
  const store = await openStore(url);
  for (let i = 0; i < 50; i++) await store.create('bridge', { name: `b${i}` });
  await store.close();
  let flip = false;
  const write = () => [CLI, '--store', url, 'bridge', 'update', 'b0', '--vlan-aware', String((flip = !flip))];
  const commands: Command[] = [
    { name: 'node -e 0', argv: () => [process.execPath, '-e', '0'] },
    { name: 'midonet-cli bridge list (50 bridges)', argv: () => [CLI, '--store', url, 'bridge', 'list'] },
    { name: 'midonet-cli bridge update (a write)', argv: write },
    {
      name: 'the same write without the snapshot',
      argv: write,
      env: { ...process.env, MIDONET_CLI_SNAPSHOT: '0' },
    },
  ];
  const wall = commands.map(() => [] as number[]);
  const cpu = commands.map(() => 0);
  for (let round = 0; round < WARMUP + RUNS; round++) {
    commands.forEach((c, i) => {
      const r = runOnce(c);
      if (round < WARMUP) return;
      wall[i]!.push(r.wallMs);
      cpu[i]! += r.cpuMs / RUNS;
    });
  }
  const [node, list, upd, plain] = wall.map((w) =>
    quantile(
      w.sort((a, b) => a - b),
      0.5,
    ),
  ) as [number, number, number, number];
  const [nodeCpu, listCpu, updCpu, plainCpu] = cpu as [number, number, number, number];
  const row = (name: string, ms: number, cpuMs: number, base: number, baseCpu: number): [string, string] => [
    name,
    `${ms.toFixed(1)} ms (${(ms / base).toFixed(2)}x node)   CPU ${cpuMs.toFixed(1)} ms (${(cpuMs / baseCpu).toFixed(2)}x)`,
  ];
  printTable(`bench/cli: ${RUNS} interleaved rounds; wall medians, CPU means`, [
    ['node -e 0', `${node.toFixed(1)} ms   CPU ${nodeCpu.toFixed(1)} ms`],
    row(commands[1]!.name, list, listCpu, node, nodeCpu),
    row(commands[2]!.name, upd, updCpu, node, nodeCpu),
    row(commands[3]!.name, plain, plainCpu, node, nodeCpu),
  ]);
  printReport(
    'cli',
    {
      node_ms: node,
      list_ms: list,
      write_ms: upd,
      list_vs_node: list / node,
      write_vs_node: upd / node,
      write_without_snapshot_ms: plain,
      write_without_snapshot_vs_node: plain / node,
      node_cpu_ms: nodeCpu,
      list_cpu_ms: listCpu,
      write_cpu_ms: updCpu,
      write_without_snapshot_cpu_ms: plainCpu,
      write_cpu_vs_node: updCpu / nodeCpu,
      write_without_snapshot_cpu_vs_node: plainCpu / nodeCpu,
    },
    [
      { name: 'write_ms', value: upd, target: 80, unit: 'ms', kind: 'max' },
      { name: 'write_vs_node', value: upd / node, target: 1.78, unit: 'x', kind: 'max' },
      { name: 'list_vs_node', value: list / node, target: 1.78, unit: 'x', kind: 'max' },
    ],
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
