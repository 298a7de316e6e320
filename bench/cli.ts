/**
 * bench/cli: start-up cost of midonet-cli, measured side by side in one run with hyperfine (Debian's
 * package; scripts/lib/deps.sh installs it): a bare `node -e 0`, `midonet-cli bridge list` and a write
 * (`bridge update` that changes a field; hyperfine's --prepare sets it back, untimed), on an embedded
 * store of 50 bridges in a temporary directory; and the same write with the start-up snapshot turned
 * off (MIDONET_CLI_SNAPSHOT=0: the compiled modules loaded one by one), to show what the snapshot saves.
 *
 * Targets (issue 20): a write under 80 ms, and as a ratio to bare Node on the same machine in the same
 * run, under 80/45 = 1.78x (the figures: node 45 ms, write 160 ms before lazy imports).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/state/open.js';
import { printReport, printTable } from './report.js';

const CLI = fileURLToPath(new URL('../../bin/midonet-cli', import.meta.url));
const RUNS = Number(process.env.CLI_BENCH_RUNS ?? 30);

const dir = mkdtempSync(join(tmpdir(), 'midonet-bench-cli-'));
try {
  const url = `sqlite:${join(dir, 'state.db')}`;
  const store = await openStore(url);
  for (let i = 0; i < 50; i++) await store.create('bridge', { name: `b${i}` });
  await store.close();
  const cli = (...args: string[]) => [CLI, '--store', url, ...args].join(' ');
  const out = join(dir, 'hyperfine.json');
  execFileSync(
    'hyperfine',
    [
      '-N',
      '--style',
      'none',
      '--warmup',
      '3',
      '--runs',
      String(RUNS),
      '--export-json',
      out,
      '-n',
      'node -e 0',
      `${process.execPath} -e 0`,
      '-n',
      'midonet-cli bridge list',
      cli('bridge', 'list'),
      '--prepare',
      cli('bridge', 'update', 'b0', '--vlan-aware', 'false'),
      '-n',
      'midonet-cli bridge update (write)',
      cli('bridge', 'update', 'b0', '--vlan-aware', 'true'),
      '-n',
      'the same write without the start-up snapshot',
      `env MIDONET_CLI_SNAPSHOT=0 ${cli('bridge', 'update', 'b0', '--vlan-aware', 'true')}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const results = (
    JSON.parse(readFileSync(out, 'utf8')) as {
      results: Array<{
        command: string;
        median: number;
        mean: number;
        stddev: number;
        user: number;
        system: number;
      }>;
    }
  ).results;
  // --prepare applies to every command after it; only the write's time matters for it.
  const [node, list, write, plain] = results.map((r) => r.median * 1000) as [number, number, number, number];
  // CPU time (user + system, mean) holds up better than wall time on a loaded machine.
  const [nodeCpu, listCpu, writeCpu, plainCpu] = results.map((r) => (r.user + r.system) * 1000) as [
    number,
    number,
    number,
    number,
  ];
  printTable(`bench/cli: medians of ${RUNS} runs each (hyperfine, no shell)`, [
    ['node -e 0', `${node.toFixed(1)} ms`],
    ['midonet-cli bridge list (50 bridges)', `${list.toFixed(1)} ms (${(list / node).toFixed(2)}x node)`],
    ['midonet-cli bridge update (a write)', `${write.toFixed(1)} ms (${(write / node).toFixed(2)}x node)`],
    ['the same write without the snapshot', `${plain.toFixed(1)} ms (${(plain / node).toFixed(2)}x node)`],
    [
      'CPU time (user + system): node, list, write, write without the snapshot',
      [nodeCpu, listCpu, writeCpu, plainCpu].map((v) => `${v.toFixed(1)} ms`).join(', ') +
        ` (write ${(writeCpu / nodeCpu).toFixed(2)}x node, without the snapshot ${(plainCpu / nodeCpu).toFixed(2)}x)`,
    ],
  ]);
  printReport(
    'cli',
    {
      node_ms: node,
      list_ms: list,
      write_ms: write,
      list_vs_node: list / node,
      write_vs_node: write / node,
      write_without_snapshot_ms: plain,
      write_without_snapshot_vs_node: plain / node,
      node_cpu_ms: nodeCpu,
      list_cpu_ms: listCpu,
      write_cpu_ms: writeCpu,
      write_without_snapshot_cpu_ms: plainCpu,
      write_cpu_vs_node: writeCpu / nodeCpu,
      write_without_snapshot_cpu_vs_node: plainCpu / nodeCpu,
    },
    [
      { name: 'write_ms', value: write, target: 80, unit: 'ms', kind: 'max' },
      { name: 'write_vs_node', value: write / node, target: 1.78, unit: 'x', kind: 'max' },
      { name: 'list_vs_node', value: list / node, target: 1.78, unit: 'x', kind: 'max' },
    ],
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
