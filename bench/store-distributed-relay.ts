/**
 * The commit relay's figures for bench/store-distributed, with the leader where an operator has it: a
 * midonet-api process on the store (it volunteers to lead by default). Measured: 16 writers, each on
 * its own store handle (16 CLI or CNI processes, or agents), sending through that leader; and one
 * writer issuing sequential transactions from a handle that is not the leader (a CLI next to a
 * running API server) against the same writer committing directly (`relay=off`), in alternating
 * rounds, so their ratio is the hop's cost. Targets (issue 19): >= 1,000/s from 16 writers and
 * >= 300/s sequential on 1-node services, half of that on 3-node ones.
 *
 * Invariant: the API process is stopped (SIGTERM, then SIGKILL) however the measurement ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CassandraStore } from '../src/state/cassandra-store.js';
import { parseCassandraUrl } from '../src/state/cassandra-url.js';
import { readLeader } from '../src/state/commit-relay-wire.js';
import { ZkSession } from '../src/state/zk.js';
import type { Target } from './report.js';

const WRITERS = 16;
const ROUNDS = 4;

/** `total` creates by `writers` loops over `handles`; writes per second. */
async function rate(handles: readonly CassandraStore[], writers: number, total: number, tag: string) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const h = handles[w % handles.length]!;
      for (let i = next++; i < total; i = next++) await h.create('bridge', { name: `${tag}-${i}` });
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** Starts midonet-api on `url` and resolves once it leads the relay. */
async function leadingApi(url: string, dir: string): Promise<ChildProcess> {
  const config = join(dir, 'midonet-api.json');
  writeFileSync(config, JSON.stringify({ store: url, listen: '127.0.0.1:0', logLevel: 'warn' }));
  const api = spawn(
    process.execPath,
    [fileURLToPath(new URL('../src/api/main.js', import.meta.url)), '--config', config],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const cfg = parseCassandraUrl(url);
  const zk = await ZkSession.open(cfg.zk);
  try {
    for (let i = 0; i < 600; i++) {
      const node = await readLeader(zk, cfg.root, { armed: true }, () => undefined);
      if (node?.info.pid === api.pid) return api;
      if (api.exitCode !== null) break;
      await sleep(50);
    }
  } finally {
    zk.close();
  }
  api.kill('SIGKILL');
  throw new Error('midonet-api did not take the relay lead within 30 s');
}

export async function benchRelay(
  url: string,
  writes: number,
): Promise<{ figures: Record<string, number>; rows: Array<[string, string]>; targets: Target[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-relay-'));
  const handles: CassandraStore[] = [];
  let api: ChildProcess | undefined;
  try {
    api = await leadingApi(url, dir);
    for (let i = 0; i < WRITERS; i++) handles.push(await CassandraStore.open(url));
    const direct = await CassandraStore.open(url, { relay: 'off' });
    handles.push(direct);
    await rate([handles[0]!, direct], 2, 100, 'relay-warm');
    let [relayedS, directS] = [0, 0];
    const per = Math.ceil(writes / ROUNDS);
    for (let r = 0; r < ROUNDS; r++) {
      // Alternating order, so the machine's load falls on both alike.
      if (r % 2 === 0) relayedS += per / (await rate([handles[0]!], 1, per, `rs${r}`));
      directS += per / (await rate([direct], 1, per, `ds${r}`));
      if (r % 2 === 1) relayedS += per / (await rate([handles[0]!], 1, per, `rs${r}`));
    }
    const own = await rate(handles.slice(0, WRITERS), WRITERS, 4 * writes, 'own');
    const relayed = handles.slice(0, WRITERS).reduce((n, h) => n + (h.relayStats.client?.relayed ?? 0), 0);
    const figures = {
      distributed_own_handles_writes_per_s: own,
      distributed_relayed_sequential_writes_per_s: (per * ROUNDS) / relayedS,
      distributed_direct_sequential_writes_per_s: (per * ROUNDS) / directS,
      distributed_relay_hop_ratio: directS / relayedS,
    };
    const big = parseCassandraUrl(url).contactPoints.length >= 3;
    const goal = (n: number) => (big ? n / 2 : n);
    return {
      figures,
      rows: [
        [
          `distributed: ${WRITERS} writers, own handles, relay leader midonet-api`,
          `${Math.round(own)} /s (${4 * writes} creates; ${relayed} of the handles' transactions relayed)`,
        ],
        [
          'distributed: sequential, a handle that is not the leader',
          `${Math.round(figures.distributed_relayed_sequential_writes_per_s)} /s against ${Math.round(figures.distributed_direct_sequential_writes_per_s)} /s committing itself (${figures.distributed_relay_hop_ratio.toFixed(2)}x; ${ROUNDS} alternating rounds of ${per})`,
        ],
      ],
      targets: [
        {
          name: 'distributed_own_handles_writes_per_s',
          value: own,
          target: goal(1000),
          unit: '/s',
          kind: 'min',
        },
        {
          name: 'distributed_relayed_sequential_writes_per_s',
          value: figures.distributed_relayed_sequential_writes_per_s,
          target: goal(300),
          unit: '/s',
          kind: 'min',
        },
      ],
    };
  } finally {
    for (const h of handles) await h.close().catch(() => undefined);
    if (api && api.exitCode === null) {
      const exited = new Promise((r) => api!.once('exit', r));
      api.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (api.exitCode === null) api.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
