/**
 * bench/store-writes: write throughput of the distributed backend (Cassandra + ZooKeeper), the
 * figures issue 19 sets targets for. Three ways of writing, each creating `--writes N` bridges (one
 * object per transaction, a CLI-sized transaction):
 *   sequential       one client, each transaction awaited before the next;
 *   concurrent       16 writers sharing one store handle (an API server serving 16 clients);
 *   clients          16 writers, each with its own store handle (own ZooKeeper session and Cassandra
 *                    connection, as separate processes would have).
 * Afterwards it checks what it wrote: every acknowledged create is readable, and the change log holds
 * each exactly once, in order. Targets: >= 300/s sequential, >= 1,000/s from 16 concurrent writers.
 * Without `--url URL` it starts a 1-node ZooKeeper and Cassandra for the run and stops them after it
 * (run it under the machine lock).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CassandraStore } from '../src/state/cassandra-store.js';
import { storeUrlFor } from '../src/state/cassandra-url.js';
import { intArg, printReport, printTable } from './report.js';

const WRITERS = 16;

/** Runs `writers` loops creating `total` bridges between them; returns writes per second and the ids. */
async function run(
  handles: readonly CassandraStore[],
  writers: number,
  total: number,
  tag: string,
): Promise<{ perSec: number; ids: string[] }> {
  const ids: string[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const store = handles[w % handles.length]!;
      for (let i = next++; i < total; i = next++)
        ids.push((await store.create('bridge', { name: `${tag}-${i}` })).id);
    }),
  );
  return { perSec: total / ((performance.now() - t0) / 1000), ids };
}

/** Every id readable; the log since `from` names each created id once, positions increasing. */
async function check(store: CassandraStore, from: number, ids: readonly string[]): Promise<void> {
  const seen = new Set<string>();
  let last = from;
  for (let at = from; ;) {
    const changes = await store.changesSince(at, 5000);
    if (changes.length === 0) break;
    for (const c of changes) {
      if (c.seq !== last + 1) throw new Error(`change log: position ${c.seq} after ${last}`);
      last = c.seq;
      if (seen.has(c.id)) throw new Error(`change log: ${c.id} created twice`);
      seen.add(c.id);
    }
    at = last;
  }
  for (const id of ids) {
    if (!seen.has(id)) throw new Error(`acknowledged create ${id} is not in the change log`);
    if (!(await store.get('bridge', id))) throw new Error(`acknowledged create ${id} is not readable`);
  }
}

const writes = intArg('store-writes', '--writes', 2000);
const given = process.argv.includes('--url') ? process.argv[process.argv.indexOf('--url') + 1] : undefined;
const services = fileURLToPath(new URL('../src/services/main.js', import.meta.url));
const baseUrl =
  given ??
  execFileSync(process.execPath, [services, 'up', '--zookeeper', '1', '--cassandra', '1'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
try {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const url = storeUrlFor(baseUrl, name, `/midonet-bench/${name}`);
  const store = await CassandraStore.open(url);
  const clients = [store];
  try {
    for (let i = 1; i < WRITERS; i++) clients.push(await CassandraStore.open(url));
    await run([store], 1, 50, 'warm');
    const figures: Record<string, number> = {};
    let from = await store.position();
    const seq = await run([store], 1, writes, 'seq');
    await check(store, from, seq.ids);
    figures.sequential_writes_per_s = seq.perSec;
    console.error(`sequential: ${Math.round(seq.perSec)} /s`);
    from = await store.position();
    const shared = await run([store], WRITERS, writes, 'shared');
    await check(store, from, shared.ids);
    figures.concurrent_writes_per_s = shared.perSec;
    console.error(`${WRITERS} writers, one handle: ${Math.round(shared.perSec)} /s`);
    from = await store.position();
    const separate = await run(clients, WRITERS, writes, 'client');
    await check(store, from, separate.ids);
    figures.clients_writes_per_s = separate.perSec;
    printTable('bench/store-writes: distributed backend, 1-node services', [
      ['sequential, one client', `${Math.round(seq.perSec)} /s (${writes} creates)`],
      [`${WRITERS} writers, one handle`, `${Math.round(shared.perSec)} /s (${writes} creates)`],
      [`${WRITERS} writers, own handles`, `${Math.round(separate.perSec)} /s (${writes} creates)`],
    ]);
    printReport('store-writes', figures, [
      {
        name: 'sequential_writes_per_s',
        value: seq.perSec,
        target: 300,
        unit: '/s',
        kind: 'min',
      },
      {
        name: 'concurrent_writes_per_s',
        value: shared.perSec,
        target: 1000,
        unit: '/s',
        kind: 'min',
      },
      {
        name: 'clients_writes_per_s',
        value: separate.perSec,
        target: 1000,
        unit: '/s',
        kind: 'min',
      },
    ]);
  } finally {
    for (const c of clients) await c.close();
  }
} finally {
  if (!given) execFileSync(process.execPath, [services, 'down'], { stdio: 'inherit' });
}
