/**
 * The distributed backend's figures for bench/store: single-object writes per second, the same from
 * 16 concurrent writers on one handle, reads per second (get by id), change propagation time from a
 * write to N watchers (N = 1, 10, 100, 1,000 lightweight watcher clients, each with its own ZooKeeper
 * session, spread over a few processes), median and p99, and an agent's cold start: opening the store
 * and loading a snapshot of a 100,000-object topology; and the commit relay with a midonet-api
 * process leading it (bench/store-distributed-relay.ts): 16 writers on their own handles, and
 * sequential writes from a handle that is not the leader against committing directly. Targets:
 * >= 300 writes/s sequential and >= 1,000/s from 16 writers, on one handle or on their own (issue 19;
 * half of each on 3-node services; bench/store-writes compares builds); propagation p99 < 1 s at
 * 1,000 watchers; cold start < 5 s.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CassandraStore } from '../src/state/cassandra-store.js';
import { parseCassandraUrl, storeUrlFor } from '../src/state/cassandra-url.js';
import type { Op } from '../src/state/store.js';
import { quantile, type Target } from './report.js';
import { benchRelay } from './store-distributed-relay.js';

export interface DistributedFigures {
  readonly figures: Record<string, number>;
  readonly rows: Array<[string, string]>;
  readonly targets: Target[];
}

async function propagation(
  url: string,
  store: CassandraStore,
  watchers: number,
  writes: number,
): Promise<number[]> {
  const cfg = parseCassandraUrl(url);
  const procs = Math.min(4, watchers);
  const per = Array.from(
    { length: procs },
    (_, i) => Math.floor(watchers / procs) + (i < watchers % procs ? 1 : 0),
  );
  const from = await store.position();
  const children = per.map((w) =>
    spawn(
      process.execPath,
      [
        fileURLToPath(new URL('./store-distributed-watcher.js', import.meta.url)),
        cfg.zk,
        cfg.root,
        String(from),
        String(w),
        String(writes),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  const lines = children.map((c) => createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  for (const l of lines)
    if ((await l.next()).value !== 'ready') throw new Error('a watcher process did not start');
  for (let i = 0; i < writes; i++) {
    await store.create('bridge', { name: `lat-${(performance.timeOrigin + performance.now()).toFixed(3)}` });
    await new Promise((r) => setTimeout(r, watchers >= 1000 ? 1000 : watchers >= 100 ? 200 : 50));
  }
  const all: number[] = [];
  for (const l of lines) all.push(...(JSON.parse(String((await l.next()).value)) as number[]));
  for (const c of children) c.kill();
  return all.sort((a, b) => a - b);
}

export async function benchDistributed(
  baseUrl: string,
  opts: { objects: number; writes: number; reads: number },
): Promise<DistributedFigures> {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const url = storeUrlFor(baseUrl, name, `/midonet-bench/${name}`);
  const store = await CassandraStore.open(url);
  const figures: Record<string, number> = {};
  const rows: Array<[string, string]> = [];
  const relayTargets: Target[] = [];
  try {
    let t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < opts.writes; i++) ids.push((await store.create('bridge', { name: `w${i}` })).id);
    figures.distributed_writes_per_s = opts.writes / ((performance.now() - t0) / 1000);
    // Sixteen writers through this handle (an API server's clients): commits go in groups.
    t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < opts.writes; i = next++) await store.create('bridge', { name: `c${i}` });
      }),
    );
    figures.distributed_concurrent_writes_per_s = opts.writes / ((performance.now() - t0) / 1000);
    const relay = await benchRelay(url, opts.writes);
    Object.assign(figures, relay.figures);
    relayTargets.push(...relay.targets);
    t0 = performance.now();
    for (let i = 0; i < opts.reads; i++) await store.get('bridge', ids[(i * 7919) % ids.length]!);
    figures.distributed_reads_per_s = opts.reads / ((performance.now() - t0) / 1000);
    rows.push([
      'distributed: single-object writes',
      `${Math.round(figures.distributed_writes_per_s)} /s (${opts.writes} creates)`,
    ]);
    rows.push([
      'distributed: 16 concurrent writers',
      `${Math.round(figures.distributed_concurrent_writes_per_s)} /s (${opts.writes} creates)`,
    ]);
    rows.push(...relay.rows);
    rows.push([
      'distributed: reads (get by id)',
      `${Math.round(figures.distributed_reads_per_s)} /s (${opts.reads} gets)`,
    ]);

    for (const n of [1, 10, 100, 1000]) {
      const lat = await propagation(url, store, n, n >= 1000 ? 20 : 40);
      figures[`distributed_propagation_${n}_median_ms`] = quantile(lat, 0.5);
      figures[`distributed_propagation_${n}_p99_ms`] = quantile(lat, 0.99);
      rows.push([
        `distributed: propagation to ${n} watchers`,
        `median ${quantile(lat, 0.5).toFixed(1)} ms, p99 ${quantile(lat, 0.99).toFixed(1)} ms (${lat.length} deliveries)`,
      ]);
    }

    // Cold start: fill the store to `objects` objects in large transactions, then time what an agent
    // does at start: open the store and load a snapshot.
    t0 = performance.now();
    let have = 2 * opts.writes + 4 * 40;
    const batch = 1000;
    while (have < opts.objects) {
      const k = Math.min(batch, opts.objects - have);
      const ops: Op[] = Array.from({ length: k }, (_, j) => ({
        op: 'create',
        kind: 'bridge',
        fields: { name: `cold-${have + j}` },
      }));
      await store.transact(ops);
      have += k;
    }
    const fillSecs = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const agent = await CassandraStore.open(url);
    const snap = await agent.snapshot();
    figures.distributed_cold_start_ms = performance.now() - t0;
    figures.distributed_cold_start_objects = snap.objects.length;
    await agent.close();
    rows.push([
      'distributed: agent cold start',
      `${figures.distributed_cold_start_ms.toFixed(0)} ms for ${snap.objects.length} objects (open + snapshot; fill took ${fillSecs.toFixed(0)} s)`,
    ]);
  } finally {
    await store.close();
  }
  // Issue 19: on 3-node services, half the write targets.
  const goal = (n: number) => (parseCassandraUrl(url).contactPoints.length >= 3 ? n / 2 : n);
  const target = (name: string, goal: number, unit: string, kind: Target['kind']): Target => ({
    name,
    value: figures[name] ?? NaN,
    target: goal,
    unit,
    kind,
  });
  return {
    figures,
    rows,
    targets: [
      target('distributed_writes_per_s', goal(300), '/s', 'min'),
      target('distributed_concurrent_writes_per_s', goal(1000), '/s', 'min'),
      ...relayTargets,
      target('distributed_propagation_1000_p99_ms', 1000, 'ms', 'max'),
      target('distributed_cold_start_ms', 5000, 'ms', 'max'),
    ],
  };
}
