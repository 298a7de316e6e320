/**
 * bench/store-writes: write throughput of the distributed backend (Cassandra + ZooKeeper), the
 * figures issue 19 sets targets for. Three ways of writing, each creating `--writes N` bridges (one
 * object per transaction, a CLI-sized transaction):
 *   sequential       one client, each transaction awaited before the next;
 *   concurrent       16 writers sharing one store handle (an API server serving 16 clients);
 *   clients          16 writers, each with its own store handle (own ZooKeeper session and Cassandra
 *                    connection, as separate processes would have).
 * Before the modes each build writes `--warm N` bridges (default 2000, untimed) from 16 writers on
 * their own handles, through the relay leader when there is one. Afterwards it checks what it wrote:
 * every acknowledged create is readable, and the change log holds each exactly once, in order. Targets: >= 300/s sequential, >= 1,000/s from 16 concurrent writers.
 * A build with the commit relay (src/state/commit-relay*.ts) also gets one more handle with
 * `relay=lead` (what an API server would be), so the others send their transactions to it: in a
 * process of its own (`--relay process`, the default, as an API server is), or in the bench's process
 * (`--relay on`); `--relay off` opens every handle with `relay=off` instead (each commits itself).
 * The leader's process starts with the node flags its build's daemons lead with
 * (src/state/relay-leader-shape.ts); how many transactions went through it, and its CPU time per
 * write of each mode, are printed. `--idle S` leaves every leader idle S seconds before each mode but
 * the first (what a leader meets between bursts of writers); `--leader-trace-gc` prints its GC lines.
 * When the project's own services run (pid files under run/services, or MIDONET_SERVICES_DIR), the
 * CPU time their Cassandra and ZooKeeper JVMs used per create in each mode (during the writes, not the
 * checks after them) is printed too.
 * With `--before DIR` (the dist/ of an earlier build) the same against that build's store, on its own
 * keyspace on the same services, the builds taking turns (each mode `--rounds` times, 2 by default,
 * a share of the writes each time, in alternating order) so the machine's load falls on both alike;
 * and the ratios after/before. `--modes sequential,concurrent,clients` runs only those.
 * Without `--url URL` it starts a 1-node ZooKeeper and Cassandra for the run and stops them after it
 * (run it under the machine lock).
 *
 *   npm run bench -- store-writes [--writes N] [--url URL] [--before DIR [--rounds R]] [--modes LIST]
 *     [--relay process|on|off] [--idle S] [--leader-trace-gc] [--warm N]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseCassandraUrl, storeUrlFor } from '../src/state/cassandra-url.js';
import type { TopologyStore } from '../src/state/store.js';
import { runDir } from '../src/services/main.js';
import { readPid } from '../src/services/process.js';
import { cpuMs } from './cpu-time.js';
import { intArg, printReport, printTable } from './report.js';
import { benchServices } from './services.js';

const WRITERS = 16;
const MODES = ['sequential', 'concurrent', 'clients'] as const;
type Mode = (typeof MODES)[number];
type Open = (url: string) => Promise<TopologyStore>;
type RelayStats = {
  leading: boolean;
  client?: { relayed: number; local: number };
};
const relayStats = (s: TopologyStore): RelayStats | undefined =>
  (s as unknown as { relayStats?: RelayStats }).relayStats;

/** Runs `writers` loops creating `total` bridges between them; returns the seconds taken and the ids. */
async function run(
  handles: readonly TopologyStore[],
  writers: number,
  total: number,
  tag: string,
): Promise<{ seconds: number; ids: string[]; ms: number[] }> {
  const ids: string[] = [];
  const ms: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const store = handles[w % handles.length]!;
      for (let i = next++; i < total; i = next++) {
        const t = performance.now();
        ids.push((await store.create('bridge', { name: `${tag}-${i}` })).id);
        ms.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, ids, ms };
}

/** "p50 / p90 / p99 / mean" of latencies in ms. */
function latencies(ms: readonly number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(2);
  const mean = (s.reduce((a, b) => a + b, 0) / s.length).toFixed(2);
  return `p50 ${at(0.5)} / p90 ${at(0.9)} / p99 ${at(0.99)} / mean ${mean} ms`;
}

/** Every id readable; the log since `from` names each created id once, positions increasing. */
async function check(store: TopologyStore, from: number, ids: readonly string[]): Promise<void> {
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

/** The project's service JVMs running (pid files under run/services), by kind: none with other services. */
function serviceJvms(): { cassandra: number[]; zookeeper: number[] } {
  const out = { cassandra: [] as number[], zookeeper: [] as number[] };
  let dirs: string[] = [];
  try {
    dirs = readdirSync(runDir());
  } catch {
    return out;
  }
  for (const d of dirs) {
    const pid = readPid(join(runDir(), d))?.pid;
    if (pid === undefined) continue;
    try {
      cpuMs(pid);
    } catch {
      continue; // not running
    }
    if (d.startsWith('cassandra')) out.cassandra.push(pid);
    else if (d.startsWith('zookeeper')) out.zookeeper.push(pid);
  }
  return out;
}

let jvms: ReturnType<typeof serviceJvms> | undefined;
/** CPU (ms) the Cassandra and ZooKeeper JVMs used so far, summed per kind (found at the first call,
 * once the services are up). */
const servicesCpu = (): [number, number] => {
  jvms ??= serviceJvms();
  return [jvms.cassandra.reduce((n, p) => n + cpuMs(p), 0), jvms.zookeeper.reduce((n, p) => n + cpuMs(p), 0)];
};

/** One build's handles on a store of its own, and what each mode has written and taken. */
class Variant {
  readonly writes: Record<Mode, number> = { sequential: 0, concurrent: 0, clients: 0 };
  readonly seconds: Record<Mode, number> = { sequential: 0, concurrent: 0, clients: 0 };
  private readonly leaderMs: Record<Mode, number> = { sequential: 0, concurrent: 0, clients: 0 };
  private readonly ms: Record<Mode, number[]> = { sequential: [], concurrent: [], clients: [] };
  /** CPU (ms) of the Cassandra and of the ZooKeeper JVMs during each mode's writes (not its check). */
  readonly cassandraMs: Record<Mode, number> = { sequential: 0, concurrent: 0, clients: 0 };
  readonly zookeeperMs: Record<Mode, number> = { sequential: 0, concurrent: 0, clients: 0 };
  private constructor(
    readonly name: string,
    private readonly handles: readonly TopologyStore[],
    /** The relay leader (undefined: none). */
    private readonly leader: Leader | undefined,
  ) {}

  /** With `relay` (not 'off'), a handle leading the commit relay first, when the build has it. */
  static async open(
    name: string,
    root: string,
    open: Open,
    url: string,
    relay: string,
    warm: number,
  ): Promise<Variant> {
    let leader: Leader | undefined;
    let own = url;
    if (relay === 'process') leader = await leaderProcess(name, root, url);
    else if (relay === 'on') {
      const h = await open(`${url}&relay=lead`).catch(() => undefined); // a build without the relay refuses it
      while (h && !relayStats(h)?.leading) await new Promise((r) => setTimeout(r, 20));
      leader = h && { stop: () => h.close() };
    } else {
      own = `${url}&relay=off`;
      await (await open(own).catch(() => ((own = url), open(url)))).close();
    }
    const handles: TopologyStore[] = [];
    for (let i = 0; i < WRITERS; i++) handles.push(await open(own));
    const v = new Variant(name, handles, leader);
    await run([handles[0]!], 1, 50, `${name}-warm`);
    // Through the leader from sixteen handles (none writes alone): its process has compiled what the
    // modes run, as a leader that has served writers for a while has.
    if (warm > 0) await run(handles, WRITERS, warm, `${name}-warm16`);
    return v;
  }

  /** Runs one mode for `n` writes and checks them. */
  async mode(mode: Mode, n: number, round: number): Promise<void> {
    const store = this.handles[0]!;
    const from = await store.position();
    const [handles, writers] =
      mode === 'sequential'
        ? [[store], 1]
        : mode === 'concurrent'
          ? [[store], WRITERS]
          : [this.handles, WRITERS];
    const pid = this.leader?.pid;
    const cpu0 = pid === undefined ? 0 : cpuMs(pid);
    const [c0, z0] = servicesCpu();
    const r = await run(handles, writers, n, `${mode}-${round}`);
    const [c1, z1] = servicesCpu();
    if (pid !== undefined) this.leaderMs[mode] += cpuMs(pid) - cpu0;
    this.cassandraMs[mode] += c1 - c0;
    this.zookeeperMs[mode] += z1 - z0;
    await check(store, from, r.ids);
    this.writes[mode] += n;
    this.seconds[mode] += r.seconds;
    this.ms[mode].push(...r.ms);
  }

  /** Each transaction's time of `mode` (ms): p50 / p90 / p99 / mean. */
  latencies(mode: Mode): string {
    return latencies(this.ms[mode]);
  }

  /** CPU time (ms) the leader's own process used per write of `mode` (undefined: no such process). */
  leaderMsPerWrite(mode: Mode): number | undefined {
    return this.leader?.pid === undefined ? undefined : this.leaderMs[mode] / this.writes[mode];
  }

  perSec(mode: Mode): number {
    return this.writes[mode] / this.seconds[mode];
  }

  /** Transactions the handles sent through the relay leader, and committed themselves. */
  relayed(): string {
    if (!this.leader) return 'no relay';
    let relayed = 0;
    let local = 0;
    for (const h of this.handles) {
      relayed += relayStats(h)?.client?.relayed ?? 0;
      local += relayStats(h)?.client?.local ?? 0;
    }
    return `${relayed} relayed, ${local} committed by their own handle`;
  }

  async close(): Promise<void> {
    for (const h of this.handles) await h.close().catch(() => undefined);
    await this.leader?.stop().catch(() => undefined);
  }
}

/** A relay leader the bench started: its stop, and its process id when it has one of its own. */
type Leader = { stop: () => Promise<void>; pid?: number };

/**
 * Starts this file as the relay leader's own process (`--lead ROOT URL`) for the build at `root`, with
 * the node flags that build's daemons lead with (its relay-leader-shape.js; none in builds before
 * it); resolves with it, or undefined when the build has no relay. With `--leader-trace-gc` the
 * leader runs with `--trace-gc` and its lines go to stderr, prefixed with `name`.
 */
async function leaderProcess(name: string, root: string, url: string): Promise<Leader | undefined> {
  const shape = join(root, 'src/state/relay-leader-shape.js');
  const flags = existsSync(shape)
    ? [
        ...((await import(pathToFileURL(shape).href)) as { RELAY_LEADER_NODE_FLAGS: string[] })
          .RELAY_LEADER_NODE_FLAGS,
      ]
    : [];
  if (process.argv.includes('--leader-trace-gc')) flags.push('--trace-gc');
  const child = spawn(process.execPath, [...flags, import.meta.filename, '--lead', root, url], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const lines = createInterface({ input: child.stdout });
  // Its first line of its own is the answer; GC lines may come before it. Its stdout is drained to
  // the end (a full pipe would stop it).
  const answer = await new Promise<string>((r) => {
    lines.on('line', (l) => {
      if (l === 'leading' || l === 'no relay') r(l);
      else console.error(`${name} leader: ${l}`);
    });
    lines.once('close', () => r('exited'));
  });
  const stop = async () => {
    child.stdin.end();
    await exited;
  };
  if (answer === 'leading') return { stop, pid: child.pid };
  await stop();
  return undefined;
}

if (process.argv[2] === '--lead') {
  // The leader's process: leads until its stdin closes.
  const [root, url] = process.argv.slice(3) as [string, string];
  const mod = (await import(pathToFileURL(join(root, 'src/state/open.js')).href)) as { openStore: Open };
  const h = await mod.openStore(`${url}&relay=lead`).catch(() => undefined);
  while (h && !relayStats(h)?.leading) await new Promise((r) => setTimeout(r, 20));
  process.stdout.write(h ? 'leading\n' : 'no relay\n');
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  await h?.close();
  process.exit(0);
}

/** "Cassandra xN, ZooKeeper xM" from a store URL. */
function nodes(url: string): string {
  const cfg = parseCassandraUrl(url);
  return `Cassandra x${cfg.contactPoints.length}, ZooKeeper x${cfg.zk.split(',').length}`;
}

const writes = intArg('store-writes', '--writes', 2000);
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const before = argOf('--before');
const services = benchServices(argOf('--url'));
const variants: Variant[] = [];
try {
  const builds: Array<[string, string]> = [['after', resolve(import.meta.dirname, '..')]];
  if (before) builds.unshift(['before', resolve(before)]);
  for (const [name, root] of builds) {
    const mod = (await import(pathToFileURL(join(root, 'src/state/open.js')).href)) as { openStore: Open };
    const tag = `${name}_${randomBytes(4).toString('hex')}`;
    variants.push(
      await Variant.open(
        name,
        root,
        mod.openStore,
        storeUrlFor(services.url, `bench_${tag}`, `/midonet-bench/${tag}`),
        argOf('--relay') ?? 'process',
        intArg('store-writes', '--warm', 2000),
      ),
    );
  }
  const rounds = before ? intArg('store-writes', '--rounds', 2) : 1;
  const only = argOf('--modes')?.split(',');
  const modes = MODES.filter((m) => !only || only.includes(m));
  const idle = intArg('store-writes', '--idle', 0);
  for (const [i, mode] of modes.entries()) {
    if (i > 0 && idle > 0) await new Promise((r) => setTimeout(r, idle * 1000));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        await v.mode(mode, Math.ceil(writes / rounds), round);
        const cpu = v.leaderMsPerWrite(mode);
        console.error(
          `${v.name} ${mode} round ${round + 1}: ${Math.round(v.perSec(mode))} /s so far` +
            (cpu === undefined ? '' : `, leader ${cpu.toFixed(2)} ms CPU per write`),
        );
      }
    }
  }
  const figures: Record<string, number> = {};
  const rows: Array<[string, string]> = [];
  const label: Record<Mode, string> = {
    sequential: 'sequential, one client',
    concurrent: `${WRITERS} writers, one handle`,
    clients: `${WRITERS} writers, own handles`,
  };
  for (const mode of modes) {
    for (const v of variants) {
      const key = before ? `${v.name}_${mode}_writes_per_s` : `${mode}_writes_per_s`;
      figures[key] = v.perSec(mode);
      rows.push([
        `${before ? `${v.name}: ` : ''}${label[mode]}`,
        `${Math.round(v.perSec(mode))} /s (${v.writes[mode]} creates)`,
      ]);
      if (mode === 'sequential')
        rows.push([`${before ? `${v.name}: ` : ''}  each transaction`, v.latencies(mode)]);
      if (jvms && jvms.cassandra.length > 0) {
        const [c, z] = [v.cassandraMs[mode] / v.writes[mode], v.zookeeperMs[mode] / v.writes[mode]];
        figures[`${before ? `${v.name}_` : ''}${mode}_cassandra_cpu_ms_per_write`] = c;
        rows.push([
          `${before ? `${v.name}: ` : ''}  CPU per create`,
          `Cassandra ${c.toFixed(2)} ms, ZooKeeper ${z.toFixed(2)} ms`,
        ]);
      }
    }
    if (before) {
      const r = variants[1]!.perSec(mode) / variants[0]!.perSec(mode);
      figures[`ratio_${mode}`] = r;
      rows.push([`after/before ${mode}`, r.toFixed(2)]);
    }
  }
  for (const v of variants) rows.push([`${v.name}: commit relay`, v.relayed()]);
  printTable(
    `bench/store-writes: distributed backend, ${nodes(services.url)}${before ? ', builds in turn' : ''}`,
    rows,
  );
  const after = variants.at(-1)!;
  const goal: Record<Mode, number> = { sequential: 300, concurrent: 1000, clients: 1000 };
  printReport(
    'store-writes',
    figures,
    modes.map((mode) => ({
      name: `${mode}_writes_per_s`,
      value: after.perSec(mode),
      target: goal[mode],
      unit: '/s',
      kind: 'min' as const,
    })),
  );
} finally {
  for (const v of variants) await v.close();
  services.stop();
}
process.exit(0);
