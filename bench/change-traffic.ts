/**
 * bench/change-traffic: how soon a change committed to the store reaches the traffic (issue 19).
 * A two-host lab; vm1 (hv1, tenant-a) sends a UDP stream of one datagram per millisecond to vm2
 * (hv2, tenant-b, across the router; src/lab/udp-stream.ts). Each try commits, through a store
 * handle of its own, one transaction that adds a rule dropping the stream to an (otherwise empty)
 * inbound chain of tenant-a, and measures from the start of that commit to the arrival of the last
 * datagram that still got through (both on the machine's monotonic clock); then deletes the rule and
 * waits for the stream to flow again. Also the commit's own time (until the store acknowledged it),
 * the feed's (from the acknowledgement to a watcher on another handle in this process, as an agent
 * watches) and the rest (the agent's invalidation, the switch).
 * Targets (issue 19): p99 under 20 ms on SQLite, under 50 ms on Cassandra + ZooKeeper.
 *
 *   npm run bench -- change-traffic [--store sqlite|cassandra] [--store-url URL] [--tries N]
 *
 * With --store cassandra and no --store-url, a 1-node ZooKeeper and Cassandra are started for the
 * run and stopped after it. Hold the machine lock. The lab comes down even when a try fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { labDown, labUp, type LabVm } from '../src/lab/lab.js';
import { uniqueLabName } from '../src/lab/layout.js';
import { storeUrlFor } from '../src/state/cassandra-url.js';
import { openStore } from '../src/state/open.js';
import type { TopologyStore } from '../src/state/store.js';
import { runDir as servicesRoot } from '../src/services/main.js';
import { serviceStalls, stallsIn, timeSteps, within, type StepSpans } from './change-traffic-split.js';
import { intArg, printReport, printTable, quantile } from './report.js';
import { benchServices, type BenchServices } from './services.js';

const STREAM = fileURLToPath(new URL('../src/lab/udp-stream.js', import.meta.url));
const PORT = 9000;
/** No datagram for this long: the stream has stopped. */
const QUIET_MS = 300;
const STOP_LIMIT_MS = 5000;
const RESUME_LIMIT_MS = 15000;

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const tries = intArg('change-traffic', '--tries', 20);
const storeKind = argOf('--store') ?? 'sqlite';
if (storeKind !== 'sqlite' && storeKind !== 'cassandra') {
  console.error(
    `bench change-traffic: --store must be sqlite or cassandra (got '${storeKind.slice(0, 40)}')`,
  );
  process.exit(2);
}
const TARGET_MS = storeKind === 'sqlite' ? 20 : 50;

/** The machine's monotonic clock in ms, the one udp-stream's sink stamps arrivals with. */
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the sink in the receiving VM has reported. */
class Arrivals {
  /** Arrival (sink's clock) of the newest datagram, and when this process read its line. */
  last = 0;
  readAt = 0;
  count = 0;

  constructor(child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const at = Number(l.split(' ')[1]);
      if (!Number.isFinite(at)) return;
      this.last = Math.max(this.last, at);
      this.readAt = now();
      this.count++;
    });
  }

  /** Waits until no datagram came for QUIET_MS; fails after `limitMs`. */
  async quiet(limitMs: number, what: string): Promise<void> {
    const t0 = now();
    while (now() - this.readAt < QUIET_MS) {
      if (now() - t0 > limitMs)
        throw new Error(`change-traffic: ${what}: the stream still flows after ${limitMs} ms`);
      await sleep(10);
    }
  }

  /** Waits until datagrams arrive again, steadily, for `steadyMs`; fails after `limitMs`. */
  async flowing(steadyMs: number, limitMs: number, what: string): Promise<void> {
    const t0 = now();
    let since = 0;
    for (;;) {
      const ok = now() - this.readAt < 20;
      if (!ok) since = 0;
      else if (since === 0) since = now();
      if (since !== 0 && now() - since >= steadyMs) return;
      if (now() - t0 > limitMs)
        throw new Error(`change-traffic: ${what}: the stream does not flow after ${limitMs} ms`);
      await sleep(5);
    }
  }
}

function inVm(vm: LabVm, args: readonly string[]): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', vm.netns, process.execPath, STREAM, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.on('error', () => undefined);
  return child;
}

interface Try {
  /** From the commit's start to the last datagram through. */
  readonly stopMs: number;
  /** The commit's own time, until the store acknowledged it. */
  readonly commitMs: number;
  /** From the acknowledgement to the change's arrival at a watcher on another handle. */
  readonly feedMs: number;
  /** Distributed store: the commit's Cassandra write and its ZooKeeper multi-op (0 on SQLite). */
  readonly rowsMs: number;
  readonly multiMs: number;
  /** Wall clock (ms) at the commit's start, to match the services' logs. */
  readonly wallAt: number;
}

/** When each created rule reached a watch on a store handle of its own. */
function watchRules(store: TopologyStore, from: number): Map<string, number> {
  const seen = new Map<string, number>();
  store.watch(from, {
    onChanges: (cs) => {
      for (const c of cs) if (c.kind === 'rule' && c.op === 'create') seen.set(c.id, now());
    },
  });
  return seen;
}

async function measure(
  store: TopologyStore,
  chainId: string,
  arrivals: Arrivals,
  seen: ReadonlyMap<string, number>,
  n: number,
  steps: StepSpans | undefined,
): Promise<Try[]> {
  const out: Try[] = [];
  for (let i = 0; i < n; i++) {
    await arrivals.flowing(300 + Math.random() * 100, RESUME_LIMIT_MS, `before try ${i + 1}`);
    const wallAt = Date.now();
    const t0 = now();
    const rule = await store.create('rule', {
      chainId,
      action: 'drop',
      conditions: { ipProto: { value: 17 }, dstPort: { value: { start: PORT, end: PORT } } },
    });
    const t1 = now();
    await arrivals.quiet(STOP_LIMIT_MS, `try ${i + 1}`);
    const fed = seen.get(rule.id);
    if (fed === undefined)
      throw new Error(`change-traffic: try ${i + 1}: the rule never reached the watcher`);
    out.push({
      stopMs: Math.max(0, arrivals.last - t0),
      commitMs: t1 - t0,
      feedMs: fed - t1,
      rowsMs: steps ? within(steps.rows, t0, t1) : 0,
      multiMs: steps ? within(steps.multi, t0, t1) : 0,
      wallAt,
    });
    await store.delete('rule', rule.id);
  }
  return out;
}

/**
 * The tries over half the target, split: the commit's steps, the rest, and the services' logged
 * stalls (GC pauses, slow ZooKeeper fsyncs) in the try's window, when the services run from this tree.
 */
function slowTries(got: readonly Try[]): [string, string][] {
  const stalls = serviceStalls(servicesRoot());
  return got.flatMap((t, i): [string, string][] => {
    if (t.stopMs <= TARGET_MS / 2) return [];
    const seen = stallsIn(stalls, t.wallAt, t.wallAt + t.stopMs);
    const split =
      `commit ${t.commitMs.toFixed(1)} (Cassandra ${t.rowsMs.toFixed(1)}, ZooKeeper ${t.multiMs.toFixed(1)}), ` +
      `feed ${t.feedMs.toFixed(1)}, after commit ${(t.stopMs - t.commitMs).toFixed(1)}`;
    return [
      [
        `  try ${i + 1}: ${t.stopMs.toFixed(1)} ms`,
        `${split}${seen.length > 0 ? `; ${seen.join(', ')}` : ''}`,
      ],
    ];
  });
}

const runDir = mkdtempSync(join(tmpdir(), 'midonet-bench-change-'));
let services: BenchServices | undefined;
const children: ChildProcess[] = [];
try {
  let storeUrl: string | undefined;
  if (storeKind === 'cassandra') {
    services = benchServices(argOf('--store-url'));
    const tag = randomBytes(4).toString('hex');
    storeUrl = storeUrlFor(services.url, `midonet_ct_${tag}`, `/midonet-bench/ct_${tag}`);
  }
  const lab = await labUp({
    runDir,
    name: uniqueLabName('ct'),
    hosts: 2,
    vmsPerHost: 1,
    tunnel: 'gre',
    ...(storeUrl ? { storeUrl } : {}),
  });
  const [from, to] = [lab.vms.find((v) => v.name === 'vm1')!, lab.vms.find((v) => v.name === 'vm2')!];
  const store = await openStore(lab.storeUrl);
  const watcher = await openStore(lab.storeUrl);
  try {
    const seen = watchRules(watcher, await watcher.position());
    const chain = await store.create('chain', { name: 'change-traffic' });
    const bridge = await store.resolve('bridge', from.bridge);
    await store.update('bridge', bridge.id, { inboundChainId: chain.id });
    const sink = inVm(to, ['sink', '--port', String(PORT)]);
    children.push(sink);
    const arrivals = new Arrivals(sink);
    await sleep(300);
    children.push(
      inVm(from, ['send', '--to', to.ip, '--port', String(PORT), '--seconds', String(60 + tries * 20)]),
    );
    const steps = timeSteps(store, now);
    await measure(store, chain.id, arrivals, seen, 2, steps); // warm-up: the first commits open statements and caches
    const got = await measure(store, chain.id, arrivals, seen, tries, steps);
    const stop = got.map((t) => t.stopMs).sort((a, b) => a - b);
    const commit = got.map((t) => t.commitMs).sort((a, b) => a - b);
    const feed = got.map((t) => t.feedMs).sort((a, b) => a - b);
    const after = got.map((t) => t.stopMs - t.commitMs).sort((a, b) => a - b);
    const rows = got.map((t) => t.rowsMs).sort((a, b) => a - b);
    const multi = got.map((t) => t.multiMs).sort((a, b) => a - b);
    const figures = {
      tries,
      stop_p50_ms: quantile(stop, 0.5),
      stop_p99_ms: quantile(stop, 0.99),
      commit_p50_ms: quantile(commit, 0.5),
      commit_p99_ms: quantile(commit, 0.99),
      feed_p50_ms: quantile(feed, 0.5),
      feed_p99_ms: quantile(feed, 0.99),
      after_commit_p50_ms: quantile(after, 0.5),
      after_commit_p99_ms: quantile(after, 0.99),
      ...(steps
        ? {
            cassandra_write_p50_ms: quantile(rows, 0.5),
            cassandra_write_p99_ms: quantile(rows, 0.99),
            zk_multi_p50_ms: quantile(multi, 0.5),
            zk_multi_p99_ms: quantile(multi, 0.99),
          }
        : {}),
      datagrams_received: arrivals.count,
    };
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    printTable(
      `bench/change-traffic: ${storeKind} store, two-host lab, UDP 1 datagram/ms vm1 -> vm2, drop rule committed (${tries} tries)`,
      [
        [
          'commit start -> last datagram through',
          `p50 ${ms(figures.stop_p50_ms)}, p99 ${ms(figures.stop_p99_ms)}`,
        ],
        [
          '  the commit (until acknowledged)',
          `p50 ${ms(figures.commit_p50_ms)}, p99 ${ms(figures.commit_p99_ms)}`,
        ],
        [
          '  acknowledgement -> a watcher on another handle',
          `p50 ${ms(figures.feed_p50_ms)}, p99 ${ms(figures.feed_p99_ms)}`,
        ],
        [
          '  acknowledgement -> last datagram (feed, agent, switch)',
          `p50 ${ms(figures.after_commit_p50_ms)}, p99 ${ms(figures.after_commit_p99_ms)}`,
        ],
        ...(steps
          ? ([
              [
                '    of it the Cassandra write of the rows',
                `p50 ${ms(figures.cassandra_write_p50_ms!)}, p99 ${ms(figures.cassandra_write_p99_ms!)}`,
              ],
              [
                '    of it the ZooKeeper multi-op (commit point)',
                `p50 ${ms(figures.zk_multi_p50_ms!)}, p99 ${ms(figures.zk_multi_p99_ms!)}`,
              ],
            ] as const)
          : []),
        ['each try (ms)', got.map((t) => t.stopMs.toFixed(1)).join(' ')],
        ...slowTries(got),
      ],
    );
    printReport(`change-traffic`, figures, [
      {
        name: `change_to_traffic_p99_ms (${storeKind})`,
        value: figures.stop_p99_ms,
        target: TARGET_MS,
        unit: 'ms',
        kind: 'max',
      },
    ]);
  } finally {
    await store.close();
    await watcher.close();
  }
} finally {
  for (const c of children) c.kill();
  await labDown(runDir);
  services?.stop();
}
process.exit(0);
