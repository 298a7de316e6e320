/**
 * bench/api: what midonet-api costs over the store it fronts, and how long a pod ADD takes through
 * midonet-cni. Side by side in one run, on one embedded store each:
 *   - writes/s: bridge creates, one transaction each, directly on the store and through the API (a
 *     midonet-api process; a keep-alive node:http client), one at a time and 16 in flight;
 *   - reads/s: get by id, the same way;
 *   - pod ADD latency (p50, p99): cnitool add of a fresh pod namespace on a one-host lab (real Open
 *     vSwitch and agent), then del. Needs the machine lock and cnitool (scripts/lib/deps.sh builds it):
 *     `flock /tmp/midonet-heavy.lock npm run bench -- api`; `--no-cni` leaves this part out.
 * Targets: the API's write cost (direct writes/s over API writes/s, 16 in flight) <= 2; pod ADD
 * p99 < 500 ms.
 */
import { execFile, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createToken } from '../src/api/tokens.js';
import { run, tryRun } from '../src/exec.js';
import { labDown, labUp } from '../src/lab/lab.js';
import { openStore } from '../src/state/open.js';
import type { TopologyStore } from '../src/state/store.js';
import { printReport, printTable, quantile, type Target } from './report.js';
import { uniqueLabName } from '../src/lab/layout.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITES = Number(process.env.API_BENCH_WRITES ?? 4000);
const READS = Number(process.env.API_BENCH_READS ?? 20000);
const PODS = Number(process.env.API_BENCH_PODS ?? 100);
const INFLIGHT = 16;
const withCni = !process.argv.includes('--no-cni');

/** Runs `n` jobs with at most `width` in flight; returns the seconds it took. */
async function timed(n: number, width: number, job: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await job(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}

/**
 * A keep-alive HTTP client on node:http: Node's fetch costs the client several times the server's
 * CPU per request, and client and server share this machine's two cores, so fetch would measure
 * itself. (The API tests use fetch.)
 */
function httpClient(base: string, headers: Record<string, string>) {
  const agent = new Agent({ keepAlive: true, maxSockets: INFLIGHT });
  const { hostname, port } = new URL(base);
  return (method: string, path: string, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: hostname, port, path, method, headers, agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
}

async function startApi(storeUrl: string, dir: string): Promise<{ base: string; stop: () => Promise<void> }> {
  const port = 18000 + Math.floor(Math.random() * 2000);
  const cfg = join(dir, 'api.json');
  writeFileSync(
    cfg,
    JSON.stringify({
      store: storeUrl,
      listen: `127.0.0.1:${port}`,
      logLevel: 'warn',
      rateLimit: { max: 1_000_000 },
    }),
  );
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'midonet-api'), '--config', cfg], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      /* not yet listening */
    }
    if (i > 100) throw new Error('midonet-api did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function storeVsApi(): Promise<{ figures: Record<string, number>; targets: Target[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-bench-api-'));
  try {
    const direct: TopologyStore = await openStore(`sqlite:${join(dir, 'direct.db')}`);
    const apiUrl = `sqlite:${join(dir, 'api.db')}`;
    const seed = await openStore(apiUrl);
    const token = (await createToken(seed, 'bench', 'admin', Date.now())).token;
    await seed.close();
    const api = await startApi(apiUrl, dir);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const call = httpClient(api.base, headers);
    const post = async (name: string) => {
      const r = await call('POST', '/v1/bridges', JSON.stringify({ name }));
      if (r.status !== 201) throw new Error(`POST: ${r.status} ${r.body}`);
      return (JSON.parse(r.body) as { id: string }).id;
    };
    try {
      const ids: string[] = [];
      const apiIds: string[] = [];
      const f: Record<string, number> = {};
      f.direct_writes_per_s_1 =
        WRITES /
        (await timed(WRITES, 1, async (i) =>
          ids.push((await direct.create('bridge', { name: `a${i}` })).id),
        ));
      f.api_writes_per_s_1 = WRITES / (await timed(WRITES, 1, async (i) => apiIds.push(await post(`a${i}`))));
      f.direct_writes_per_s_16 =
        WRITES / (await timed(WRITES, INFLIGHT, (i) => direct.create('bridge', { name: `b${i}` })));
      f.api_writes_per_s_16 = WRITES / (await timed(WRITES, INFLIGHT, (i) => post(`b${i}`)));
      f.direct_reads_per_s_1 =
        READS / (await timed(READS, 1, (i) => direct.get('bridge', ids[(i * 7919) % ids.length]!)));
      const get = async (i: number) => {
        const r = await call('GET', `/v1/bridges/${apiIds[(i * 7919) % apiIds.length]!}`);
        if (r.status !== 200) throw new Error(`GET: ${r.status}`);
      };
      f.api_reads_per_s_1 = READS / (await timed(READS, 1, get));
      f.api_reads_per_s_16 = READS / (await timed(READS, INFLIGHT, get));
      f.api_write_cost_1 = f.direct_writes_per_s_1 / f.api_writes_per_s_1;
      f.api_write_cost_16 = f.direct_writes_per_s_16 / f.api_writes_per_s_16;
      // Ten creates per transaction, both ways: the request's cost spread over ten objects.
      const batch = (p: string, i: number) =>
        Array.from({ length: 10 }, (_, k) => ({
          op: 'create' as const,
          kind: 'bridge' as const,
          fields: { name: `${p}${i}-${k}` },
        }));
      const calls = WRITES / 10;
      f.direct_tx10_objects_per_s =
        (10 * calls) / (await timed(calls, INFLIGHT, (i) => direct.transact(batch('c', i))));
      f.api_tx10_objects_per_s =
        (10 * calls) /
        (await timed(calls, INFLIGHT, async (i) => {
          const r = await call('POST', '/v1/transactions', JSON.stringify({ ops: batch('c', i) }));
          if (r.status !== 200) throw new Error(`POST /v1/transactions: ${r.status} ${r.body}`);
        }));
      f.api_tx10_cost = f.direct_tx10_objects_per_s / f.api_tx10_objects_per_s;
      f.api_read_cost_1 = f.direct_reads_per_s_1 / f.api_reads_per_s_1;
      printTable('midonet-api against the store it fronts (embedded SQLite, one process each)', [
        [
          'writes/s, one at a time',
          `store ${Math.round(f.direct_writes_per_s_1)}   API ${Math.round(f.api_writes_per_s_1)}   (API costs ${f.api_write_cost_1.toFixed(2)}x)`,
        ],
        [
          `writes/s, ${INFLIGHT} in flight`,
          `store ${Math.round(f.direct_writes_per_s_16)}   API ${Math.round(f.api_writes_per_s_16)}   (API costs ${f.api_write_cost_16.toFixed(2)}x)`,
        ],
        [
          'reads/s, one at a time',
          `store ${Math.round(f.direct_reads_per_s_1)}   API ${Math.round(f.api_reads_per_s_1)}   (API costs ${f.api_read_cost_1.toFixed(2)}x)`,
        ],
        [`reads/s, ${INFLIGHT} in flight`, `API ${Math.round(f.api_reads_per_s_16)}`],
        [
          `objects/s, 10 creates per transaction, ${INFLIGHT} in flight`,
          `store ${Math.round(f.direct_tx10_objects_per_s)}   API ${Math.round(f.api_tx10_objects_per_s)}   (API costs ${f.api_tx10_cost.toFixed(2)}x)`,
        ],
      ]);
      return {
        figures: f,
        targets: [
          {
            name: `API write cost over the store (${INFLIGHT} in flight)`,
            value: f.api_write_cost_16,
            target: 2,
            unit: 'x',
            kind: 'max',
          },
        ],
      };
    } finally {
      await api.stop();
      await direct.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function podAdds(): Promise<{ figures: Record<string, number>; targets: Target[] }> {
  const cnitool = process.env.MIDONET_CNITOOL ?? '/var/cache/midonet/go/bin/cnitool';
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-bench-cni-lab-'));
  const cniDir = mkdtempSync(join(tmpdir(), 'midonet-bench-cni-'));
  try {
    const lab = await labUp({ runDir, name: uniqueLabName('ba'), hosts: 1, vmsPerHost: 1, tunnel: 'gre' });
    const hv = lab.hosts[0]!;
    const store = await openStore(lab.storeUrl);
    const br = await store.resolve('bridge', 'tenant-a');
    await store.create('dhcp', {
      name: 'bench-pods',
      bridgeId: br.id,
      subnet: '192.0.2.0/25',
      gateway: '192.0.2.1',
      rangeStart: '192.0.2.20',
      rangeEnd: '192.0.2.126',
    });
    await store.close();
    mkdirSync(join(cniDir, 'bin'));
    mkdirSync(join(cniDir, 'net'));
    symlinkSync(join(ROOT, 'bin', 'midonet-cni'), join(cniDir, 'bin', 'midonet-cni'));
    const plugin = {
      type: 'midonet-cni',
      bridge: 'tenant-a',
      store: lab.storeUrl,
      hostName: hv.name,
      hostNetns: hv.netns,
      ovs: { dbSock: hv.ovsDbSock, runDir: hv.ovsRunDir },
      userspaceDatapath: true,
    };
    writeFileSync(
      join(cniDir, 'net', 'pods.conflist'),
      JSON.stringify({ cniVersion: '1.1.0', name: 'pods', plugins: [plugin] }),
    );
    const env = { ...process.env, CNI_PATH: join(cniDir, 'bin'), NETCONFPATH: join(cniDir, 'net') };
    const adds: number[] = [];
    const dels: number[] = [];
    for (let i = 0; i < PODS; i++) {
      const ns = `${lab.prefix}bpod${i}`;
      await run('ip', ['netns', 'add', ns]);
      let t0 = performance.now();
      await execFileP(cnitool, ['add', 'pods', `/var/run/netns/${ns}`], { env, timeout: 60000 });
      adds.push(performance.now() - t0);
      t0 = performance.now();
      await execFileP(cnitool, ['del', 'pods', `/var/run/netns/${ns}`], { env, timeout: 60000 });
      dels.push(performance.now() - t0);
      await tryRun('ip', ['netns', 'del', ns]);
    }
    adds.sort((a, b) => a - b);
    dels.sort((a, b) => a - b);
    const f = {
      pod_add_ms_p50: quantile(adds, 0.5),
      pod_add_ms_p99: quantile(adds, 0.99),
      pod_del_ms_p50: quantile(dels, 0.5),
      pods: PODS,
    };
    printTable(`pod ADD through midonet-cni (cnitool, ${PODS} pods, one-host lab, store directly)`, [
      ['ADD p50 / p99', `${f.pod_add_ms_p50.toFixed(1)} ms / ${f.pod_add_ms_p99.toFixed(1)} ms`],
      ['DEL p50', `${f.pod_del_ms_p50.toFixed(1)} ms`],
    ]);
    return {
      figures: f,
      targets: [{ name: 'pod ADD p99', value: f.pod_add_ms_p99, target: 500, unit: 'ms', kind: 'max' }],
    };
  } finally {
    await labDown(runDir);
    rmSync(cniDir, { recursive: true, force: true });
  }
}

const a = await storeVsApi();
const c = withCni ? await podAdds() : { figures: {}, targets: [] };
printReport('api', { ...a.figures, ...c.figures }, [...a.targets, ...c.targets]);
process.exit(0);
