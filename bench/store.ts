/**
 * bench/store: the embedded backend's speed. Single-object writes per second (one transaction each),
 * reads per second (get by id), change-feed latency from a write in this process to a watcher in
 * another process (median, p99), and the file size under 100,000 updates of one object, with the
 * default change-log retention and, side by side, without compaction. Targets: >= 5,000 writes/s;
 * watch latency p99 < 50 ms; the file at 100,000 updates at most 1.1x its size at 10,000.
 * With `--distributed [URL]`, also the Cassandra + ZooKeeper backend (bench/store-distributed.ts): the
 * services at URL, or, without one, a 1-node ZooKeeper and Cassandra started for the run and stopped
 * after it (`--objects N` sizes the cold-start topology, default 100,000).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { openStore } from '../src/state/open.js';
import { printReport, printTable, quantile, type Target } from './report.js';
import { benchDistributed } from './store-distributed.js';
import { benchServices } from './services.js';

const WRITES = 20000;
const READS = 200000;
const WATCHED = 400;
const HOT_UPDATES = 100000;

/** Bytes of a SQLite database file and its WAL. */
function dbBytes(path: string): number {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  return size(path) + size(`${path}-wal`);
}

/**
 * Updates one object `updates` times in a fresh file (URL parameters `query`); returns the file size
 * (database + WAL) after every tenth of the updates and the update rate.
 */
async function hotObject(query: string, updates: number): Promise<{ sizes: number[]; perSec: number }> {
  const path = join(dir, `hot${query.replace(/[^a-z0-9]/gi, '')}.db`);
  const store = await openStore(`sqlite:${path}${query}`);
  const br = await store.create('bridge', { name: 'hot' });
  const sizes: number[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= updates; i++) {
    await store.update('bridge', br.id, { adminStateUp: i % 2 === 0 });
    if (i % (updates / 10) === 0) sizes.push(dbBytes(path));
  }
  const perSec = updates / ((performance.now() - t0) / 1000);
  await store.close();
  return { sizes, perSec };
}

const dir = mkdtempSync(join(tmpdir(), 'midonet-bench-store-'));
const url = `sqlite:${join(dir, 'state.db')}`;
try {
  const store = await openStore(url);

  // Writes: one bridge per transaction, awaited one after another (what a CLI or an agent does).
  let t0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < WRITES; i++) ids.push((await store.create('bridge', { name: `b${i}` })).id);
  const writeSecs = (performance.now() - t0) / 1000;

  // Reads: random gets by id.
  t0 = performance.now();
  for (let i = 0; i < READS; i++) await store.get('bridge', ids[(i * 7919) % ids.length]!);
  const readSecs = (performance.now() - t0) / 1000;

  // Watch latency: a watcher in another process; writes spaced 2 ms apart so that each is measured
  // on its own, not behind a queue.
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./store-watcher.js', import.meta.url)), url, String(WATCHED)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  if ((await lines.next()).value !== 'ready') throw new Error('watcher did not start');
  for (let i = 0; i < WATCHED; i++) {
    await store.create('bridge', { name: `lat-${(performance.timeOrigin + performance.now()).toFixed(3)}` });
    await new Promise((r) => setTimeout(r, 2));
  }
  const result = await lines.next();
  const lat = (JSON.parse(String(result.value)) as number[]).sort((a, b) => a - b);
  child.kill();
  await store.close();

  // The file under many updates of one object: with the default log retention (10,000 changes) it
  // stops growing once the log is full; without compaction (a retention larger than the run) every
  // update adds its change-log row.
  const hot = await hotObject('', HOT_UPDATES);
  const unbounded = await hotObject('?retain=100000000', HOT_UPDATES);

  const figures = {
    hot_updates_per_s: hot.perSec,
    hot_file_bytes_at_10pct: hot.sizes[0]!,
    hot_file_bytes_at_100pct: hot.sizes.at(-1)!,
    hot_file_growth_ratio: hot.sizes.at(-1)! / hot.sizes[0]!,
    uncompacted_file_bytes_at_100pct: unbounded.sizes.at(-1)!,
    uncompacted_updates_per_s: unbounded.perSec,
    writes_per_s: WRITES / writeSecs,
    reads_per_s: READS / readSecs,
    watch_latency_median_ms: quantile(lat, 0.5),
    watch_latency_p99_ms: quantile(lat, 0.99),
    watch_latency_max_ms: lat.at(-1)!,
  };
  const args = process.argv.slice(2);
  let distributed: Awaited<ReturnType<typeof benchDistributed>> | undefined;
  if (args.includes('--distributed')) {
    const given = args[args.indexOf('--distributed') + 1];
    const objects = args.includes('--objects') ? Number(args[args.indexOf('--objects') + 1]) : 100000;
    const services = benchServices(given);
    try {
      distributed = await benchDistributed(services.url, { objects, writes: 500, reads: 2000 });
    } finally {
      services.stop();
    }
  }

  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  printTable('bench/store: embedded SQLite backend', [
    ['single-object writes', `${Math.round(figures.writes_per_s)} /s (${WRITES} creates)`],
    [
      `file under ${HOT_UPDATES} updates of one object`,
      `${hot.sizes.map(mb).join(' ')} (every ${HOT_UPDATES / 10}; ${Math.round(hot.perSec)} updates/s)`,
    ],
    [
      '  the same without log compaction',
      `${unbounded.sizes.map(mb).join(' ')} (${Math.round(unbounded.perSec)} updates/s)`,
    ],
    ['reads (get by id)', `${Math.round(figures.reads_per_s)} /s (${READS} gets)`],
    [
      'watch latency, other process',
      `median ${figures.watch_latency_median_ms.toFixed(2)} ms, p99 ${figures.watch_latency_p99_ms.toFixed(2)} ms, max ${figures.watch_latency_max_ms.toFixed(2)} ms (${WATCHED} changes)`,
    ],
  ]);
  if (distributed) printTable('bench/store: distributed backend (Cassandra + ZooKeeper)', distributed.rows);
  const distributedTargets: Target[] = distributed?.targets ?? [];
  printReport('store', { ...figures, ...distributed?.figures }, [
    ...distributedTargets,
    { name: 'writes_per_s', value: figures.writes_per_s, target: 5000, unit: '/s', kind: 'min' },
    {
      name: 'hot_file_growth_ratio',
      value: figures.hot_file_growth_ratio,
      target: 1.1,
      unit: 'x (file at 100% / at 10% of the updates)',
      kind: 'max',
    },
    {
      name: 'watch_latency_p99_ms',
      value: figures.watch_latency_p99_ms,
      target: 50,
      unit: 'ms',
      kind: 'max',
    },
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
