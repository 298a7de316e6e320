/**
 * bench/commit-feed: the store's share of change-to-traffic (bench/change-traffic.ts) without the
 * lab: a writer handle commits a rule into a chain (as the change-traffic bench does) and a watcher
 * on a handle of its own (an agent's) waits for it; the time until the writer has the
 * acknowledgement (commit) and from then until the watcher has the change (feed), p50/p99.
 * With `--before DIR` (the dist/ of an earlier build), the same against that build's store code,
 * try after try in turn in this one process on the same services, so the machine's load falls on both
 * alike, and the ratios after/before.
 *
 *   npm run bench -- commit-feed [--store-url URL] [--tries N] [--before DIR]
 *
 * URL: a cassandra:// or sqlite: store URL; without one, a 1-node ZooKeeper and Cassandra are started
 * for the run and stopped after it (hold the machine lock). Each variant gets a fresh keyspace and root.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { storeUrlFor } from '../src/state/cassandra-url.js';
import type { TopologyStore } from '../src/state/store.js';
import { intArg, printReport, printTable, quantile } from './report.js';
import { benchServices } from './services.js';

type Open = (url: string) => Promise<TopologyStore>;

const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const tries = intArg('commit-feed', '--tries', 200);
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** One build's writer and watcher on a store of their own. */
class Variant {
  readonly commit: number[] = [];
  readonly feed: number[] = [];
  /** When each rule change (`create ID`, `delete ID`) reached the watcher. */
  private readonly seen = new Map<string, number>();
  private readonly waiting = new Map<string, () => void>();
  private chainId = '';

  private constructor(
    readonly name: string,
    private readonly writer: TopologyStore,
    private readonly watcher: TopologyStore,
  ) {}

  static async open(name: string, open: Open, url: string): Promise<Variant> {
    const writer = await open(url);
    const v = new Variant(name, writer, await open(url));
    v.chainId = (await writer.create('chain', { name: 'commit-feed' })).id;
    v.watcher.watch(await v.watcher.position(), {
      onChanges: (cs) => {
        const at = now();
        for (const c of cs) {
          if (c.kind !== 'rule') continue;
          v.seen.set(`${c.op} ${c.id}`, at);
          v.waiting.get(`${c.op} ${c.id}`)?.();
        }
      },
    });
    return v;
  }

  /** When the change reached the watcher (it may have before the writer had its acknowledgement). */
  private async arrival(key: string): Promise<number> {
    if (!this.seen.has(key))
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`commit-feed: ${this.name}: ${key} never reached the watcher`)),
          10000,
        );
        this.waiting.set(key, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    this.waiting.delete(key);
    const at = this.seen.get(key)!;
    this.seen.delete(key);
    return at;
  }

  /** One try: commit a rule, time the commit and its arrival at the watcher; then delete it. */
  async once(record: boolean): Promise<void> {
    const t0 = now();
    const rule = await this.writer.create('rule', { chainId: this.chainId, action: 'drop' });
    const t1 = now();
    const arrived = await this.arrival(`create ${rule.id}`);
    if (record) {
      this.commit.push(t1 - t0);
      this.feed.push(Math.max(0, arrived - t1));
    }
    await this.writer.delete('rule', rule.id);
    await this.arrival(`delete ${rule.id}`);
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.watcher.close();
  }
}

const given = argOf('--store-url');
const before = argOf('--before');
const services = given?.startsWith('sqlite:') ? undefined : benchServices(given);
const dir = mkdtempSync(join(tmpdir(), 'midonet-bench-commit-feed-'));
const variants: Variant[] = [];
try {
  const urlFor = (label: string): string => {
    if (!services) return `sqlite:${join(dir, `${label}.db`)}`;
    const tag = `${label}_${randomBytes(4).toString('hex')}`;
    return storeUrlFor(services.url, `midonet_cf_${tag}`, `/midonet-bench/cf_${tag}`);
  };
  const builds: Array<[string, string]> = [['after', resolve(import.meta.dirname, '..')]];
  if (before) builds.unshift(['before', resolve(before)]);
  for (const [name, root] of builds) {
    const mod = (await import(pathToFileURL(join(root, 'src/state/open.js')).href)) as { openStore: Open };
    variants.push(await Variant.open(name, mod.openStore, urlFor(name)));
  }
  for (let i = 0; i < 10; i++) for (const v of variants) await v.once(false); // warm-up
  for (let i = 0; i < tries; i++) for (const v of variants) await v.once(true);
  const figures: Record<string, number> = { tries };
  const rows: Array<[string, string]> = [];
  for (const v of variants) {
    const c = [...v.commit].sort((a, b) => a - b);
    const f = [...v.feed].sort((a, b) => a - b);
    const t = v.commit.map((x, k) => x + v.feed[k]!).sort((a, b) => a - b);
    for (const [what, xs] of [
      ['commit', c],
      ['feed', f],
      ['total', t],
    ] as const) {
      figures[`${v.name}_${what}_p50_ms`] = quantile(xs, 0.5);
      figures[`${v.name}_${what}_p99_ms`] = quantile(xs, 0.99);
    }
    rows.push([
      `${v.name}: commit / feed / both`,
      `p50 ${quantile(c, 0.5).toFixed(1)} / ${quantile(f, 0.5).toFixed(1)} / ${quantile(t, 0.5).toFixed(1)} ms, p99 ${quantile(c, 0.99).toFixed(1)} / ${quantile(f, 0.99).toFixed(1)} / ${quantile(t, 0.99).toFixed(1)} ms`,
    ]);
  }
  if (before)
    for (const what of ['commit', 'feed', 'total'])
      for (const q of ['p50', 'p99']) {
        const r = figures[`after_${what}_${q}_ms`]! / figures[`before_${what}_${q}_ms`]!;
        figures[`ratio_${what}_${q}`] = r;
        if (what !== 'feed' || q === 'p50') rows.push([`after/before ${what} ${q}`, r.toFixed(2)]);
      }
  printTable(
    `bench/commit-feed: ${services ? 'Cassandra + ZooKeeper' : 'SQLite'}, a rule committed into a chain, ${tries} tries${before ? ', builds in turn' : ''}`,
    rows,
  );
  printReport('commit-feed', figures, [
    {
      name: 'after_total_p99_ms',
      value: figures.after_total_p99_ms!,
      target: services ? 50 : 20,
      unit: 'ms (the store share of the change-to-traffic target)',
      kind: 'max',
    },
  ]);
} finally {
  for (const v of variants) await v.close().catch(() => undefined);
  services?.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
