/**
 * bench/api: what midonet-api costs over the store it fronts, and how long a pod ADD takes through
 * midonet-cni.
 *
 * Store against API, in rounds (API_BENCH_ROUNDS, default 5) within one run: each round runs every
 * phase on every side, one after the other, with a gc before each, the order of the sides rotating
 * from round to round so a drift of the machine (another job, a warmer JIT) falls on all sides alike.
 * The sides, each with its own embedded SQLite file:
 *   - store: the store opened in this process;
 *   - API: a midonet-api process, driven by a keep-alive node:http client;
 *   - before (only with API_BENCH_BEFORE=DIR, a built tree of another commit: DIR/bin, DIR/dist): that
 *     commit's midonet-api, for a before/after in one run;
 *   - floor (reads only): a bare node:http process answering every GET with the same JSON object, the
 *     least an HTTP read can cost here.
 * The phases: bridge creates one at a time and 16 in flight (one transaction each), get by id one at a
 * time and 16 in flight, and transactions of 10 creates 16 in flight. A figure is the median over the
 * rounds; a cost ("API costs 2.1x") is the median of the rounds' own ratios, with their spread. Beside
 * the rates, the CPU each side spent per operation: of the API process (from /proc/PID/stat), of this
 * process for the store, and of this process as the API's client.
 *
 * Pod ADD latency (p50, p99): cnitool add of a fresh pod namespace on a one-host lab (real Open
 * vSwitch and agent), then del; needs cnitool (scripts/lib/deps.sh builds it). `--no-cni` leaves it out.
 * Run under the machine lock so other work does not skew the figures:
 * `flock -o /tmp/midonet-heavy.lock npm run bench -- api [--no-cni]`.
 * Targets: the API's write cost (store writes/s over API writes/s, 16 in flight) <= 2; pod ADD
 * p99 < 500 ms.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { run, tryRun } from '../src/exec.js';
import { labDown, labUp } from '../src/lab/lab.js';
import { openStore } from '../src/state/open.js';
import type { Op } from '../src/state/store.js';
import { printReport, printTable, quantile, type Target } from './report.js';
import { uniqueLabName } from '../src/lab/layout.js';
import { INFLIGHT, apiSide, floorSide, ownCpu, storeSide, timed, type Side } from './api-sides.js';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.env.API_BENCH_ROUNDS ?? 5);
const WRITES = Number(process.env.API_BENCH_WRITES ?? 3000);
const READS = Number(process.env.API_BENCH_READS ?? 6000);
const PODS = Number(process.env.API_BENCH_PODS ?? 100);
/** A built tree (bin/, dist/) of another commit whose midonet-api runs beside this one's. */
const BEFORE = process.env.API_BENCH_BEFORE;
/** Node options for the API process of this tree, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const API_NODE_ARGS = (process.env.API_BENCH_API_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const withCni = !process.argv.includes('--no-cni');

type PhaseId = 'w1' | 'w16' | 'r1' | 'r16' | 'tx10';
interface Phase {
  readonly id: PhaseId;
  readonly label: string;
  /** Operations per run, and objects per operation. */
  readonly n: number;
  readonly objects: number;
  readonly width: number;
  readonly write: boolean;
}
const PHASES: readonly Phase[] = [
  { id: 'w1', label: 'writes/s, one at a time', n: WRITES, objects: 1, width: 1, write: true },
  {
    id: 'w16',
    label: `writes/s, ${INFLIGHT} in flight`,
    n: WRITES,
    objects: 1,
    width: INFLIGHT,
    write: true,
  },
  { id: 'r1', label: 'reads/s, one at a time', n: READS, objects: 1, width: 1, write: false },
  { id: 'r16', label: `reads/s, ${INFLIGHT} in flight`, n: READS, objects: 1, width: INFLIGHT, write: false },
  {
    id: 'tx10',
    label: `objects/s, 10 creates per transaction, ${INFLIGHT} in flight`,
    n: WRITES / 10,
    objects: 10,
    width: INFLIGHT,
    write: true,
  },
];

/** One run of a phase on a side: objects/s, and CPU microseconds per object of the side and of this process. */
interface Sample {
  readonly rate: number;
  readonly cpuUs: number;
  readonly clientUs: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

async function runPhase(side: Side, p: Phase, tag: string, ids: string[]): Promise<Sample> {
  const job =
    p.id === 'w1' || p.id === 'w16'
      ? async (i: number) => void ids.push(await side.create(`${tag}-${i}`))
      : p.id === 'tx10'
        ? (i: number) =>
            side.transact(
              Array.from({ length: 10 }, (_, k): Op => ({
                op: 'create',
                kind: 'bridge',
                fields: { name: `${tag}-${i}-${k}` },
              })),
            )
        : (i: number) => side.get(ids[(i * 7919) % ids.length]!);
  gc();
  const cpu0 = side.cpu();
  const own0 = ownCpu();
  const secs = await timed(p.n, p.width, job);
  const objects = p.n * p.objects;
  return {
    rate: objects / secs,
    cpuUs: ((side.cpu() - cpu0) / objects) * 1e6,
    clientUs: ((ownCpu() - own0) / objects) * 1e6,
  };
}

async function storeVsApi(): Promise<{ figures: Record<string, number>; targets: Target[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-bench-api-'));
  const sides: Side[] = [];
  try {
    const store = await storeSide(`sqlite:${join(dir, 'direct.db')}`);
    sides.push(store);
    const api = await apiSide({
      name: 'API',
      root: ROOT,
      storeUrl: `sqlite:${join(dir, 'api.db')}`,
      dir,
      nodeArgs: API_NODE_ARGS,
    });
    sides.push(api);
    const apis = [api];
    if (BEFORE !== undefined) {
      const before = await apiSide({
        name: 'before',
        root: BEFORE,
        storeUrl: `sqlite:${join(dir, 'before.db')}`,
        dir,
      });
      sides.push(before);
      apis.push(before);
    }
    const probe = await openStore(`sqlite:${join(dir, 'probe.db')}`);
    const sample = JSON.stringify(await probe.create('bridge', { name: 'floor' }));
    await probe.close();
    const floor = await floorSide(sample);
    sides.push(floor);

    const samples = new Map<string, Sample[]>();
    const ids = new Map<Side, string[]>(sides.map((s) => [s, []]));
    ids.set(floor, ['00000000-0000-0000-0000-000000000000']);
    for (let round = 0; round < ROUNDS; round++) {
      const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
      for (const p of PHASES) {
        for (const side of order) {
          if (side === floor && p.write) continue;
          const s = await runPhase(side, p, `r${round}${p.id}`, ids.get(side)!);
          const key = `${side.name}:${p.id}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
        }
      }
    }

    const of = (side: Side, p: PhaseId) => samples.get(`${side.name}:${p}`) ?? [];
    const med = (side: Side, p: PhaseId, f: keyof Sample) => median(of(side, p).map((s) => s[f]));
    /** Per round: the store's rate over the side's; median, lowest, highest. */
    const cost = (side: Side, p: PhaseId, over: Side = store) => {
      const r = of(over, p).map((s, i) => s.rate / of(side, p)[i]!.rate);
      return { med: median(r), lo: Math.min(...r), hi: Math.max(...r) };
    };
    const f: Record<string, number> = { rounds: ROUNDS };
    f.direct_writes_per_s_1 = med(store, 'w1', 'rate');
    f.direct_writes_per_s_16 = med(store, 'w16', 'rate');
    f.direct_reads_per_s_1 = med(store, 'r1', 'rate');
    f.direct_reads_per_s_16 = med(store, 'r16', 'rate');
    f.direct_tx10_objects_per_s = med(store, 'tx10', 'rate');
    f.store_cpu_us_per_write_1 = med(store, 'w1', 'cpuUs');
    f.store_cpu_us_per_write_16 = med(store, 'w16', 'cpuUs');
    f.store_cpu_us_per_object_tx10 = med(store, 'tx10', 'cpuUs');
    for (const a of apis) {
      const k = a === api ? '' : 'before_';
      f[`${k}api_writes_per_s_1`] = med(a, 'w1', 'rate');
      f[`${k}api_writes_per_s_16`] = med(a, 'w16', 'rate');
      f[`${k}api_reads_per_s_1`] = med(a, 'r1', 'rate');
      f[`${k}api_reads_per_s_16`] = med(a, 'r16', 'rate');
      f[`${k}api_tx10_objects_per_s`] = med(a, 'tx10', 'rate');
      f[`${k}api_write_cost_1`] = cost(a, 'w1').med;
      f[`${k}api_write_cost_16`] = cost(a, 'w16').med;
      f[`${k}api_write_cost_16_lowest`] = cost(a, 'w16').lo;
      f[`${k}api_write_cost_16_highest`] = cost(a, 'w16').hi;
      f[`${k}api_read_cost_1`] = cost(a, 'r1').med;
      f[`${k}api_tx10_cost`] = cost(a, 'tx10').med;
      f[`${k}api_cpu_us_per_write_1`] = med(a, 'w1', 'cpuUs');
      f[`${k}api_cpu_us_per_write_16`] = med(a, 'w16', 'cpuUs');
      f[`${k}api_client_cpu_us_per_write_16`] = med(a, 'w16', 'clientUs');
      f[`${k}api_cpu_us_per_read_1`] = med(a, 'r1', 'cpuUs');
      f[`${k}api_cpu_us_per_object_tx10`] = med(a, 'tx10', 'cpuUs');
    }
    f.floor_reads_per_s_1 = med(floor, 'r1', 'rate');
    f.floor_reads_per_s_16 = med(floor, 'r16', 'rate');
    f.floor_cpu_us_per_read_1 = med(floor, 'r1', 'cpuUs');
    if (apis.length > 1) {
      // This tree's API rate over the before side's, per round: above 1 means this tree is faster.
      f.api_over_before_writes_16 = cost(apis[1]!, 'w16', api).med;
      f.api_over_before_writes_1 = cost(apis[1]!, 'w1', api).med;
      f.api_over_before_reads_1 = cost(apis[1]!, 'r1', api).med;
    }

    const rows: [string, string][] = [];
    const x = (c: { med: number; lo: number; hi: number }) =>
      `${c.med.toFixed(2)}x, rounds ${c.lo.toFixed(2)}-${c.hi.toFixed(2)}`;
    for (const p of PHASES) {
      const parts = [`store ${Math.round(med(store, p.id, 'rate'))}`];
      const cpu = [`store ${Math.round(med(store, p.id, 'cpuUs'))}`];
      for (const a of apis) {
        parts.push(`${a.name} ${Math.round(med(a, p.id, 'rate'))} (costs ${x(cost(a, p.id))})`);
        cpu.push(
          `${a.name} ${Math.round(med(a, p.id, 'cpuUs'))} + client ${Math.round(med(a, p.id, 'clientUs'))}`,
        );
      }
      if (!p.write) {
        parts.push(`bare node:http ${Math.round(med(floor, p.id, 'rate'))}`);
        cpu.push(`bare node:http ${Math.round(med(floor, p.id, 'cpuUs'))}`);
      }
      rows.push([p.label, parts.join('   ')], ['  CPU us per object', cpu.join('   ')]);
    }
    if (apis.length > 1)
      rows.push([
        'API over before (median of rounds)',
        `writes 1: ${f.api_over_before_writes_1!.toFixed(2)}x   writes ${INFLIGHT}: ${f.api_over_before_writes_16!.toFixed(2)}x   reads 1: ${f.api_over_before_reads_1!.toFixed(2)}x`,
      ]);
    printTable(
      `midonet-api against the store it fronts (embedded SQLite, one file each; ${ROUNDS} rounds of ${WRITES} writes and ${READS} reads per phase, medians)`,
      rows,
    );
    return {
      figures: f,
      targets: [
        {
          name: `API write cost over the store (${INFLIGHT} in flight)`,
          value: f.api_write_cost_16!,
          target: 2,
          unit: 'x',
          kind: 'max',
        },
      ],
    };
  } finally {
    for (const s of sides) await s.stop().catch(() => undefined);
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
