/**
 * bench/scale: agents that hold only what they need, on a generated cloud (bench/scale-topology.ts:
 * `--tenants N`, default 1,000 tenants = 10,000 tenant ports, 2,000 routers, 5,000 chains with
 * 50,000 rules) in the embedded store. For N in-process agents (100, 300, 1,000, 3,000; `--agents`
 * caps it), each on one host with its local ports, each holding a replica (its own copies) of only
 * its interest set (src/agent/interest.ts), fed from the store's change feed through a subscription
 * index (object id -> the agents holding it or something it names): the share each holds (median,
 * max, as a fraction of the topology), memory per agent, and the propagation of one change (a rule
 * of a tenant's chain, or a route added to the provider router, which every agent holds) from just
 * before the commit to the moment the last agent that needs it has applied it (p50, p99 of 20). And
 * one agent's cold start: opening the store and loading its share object by object, beside loading
 * the whole topology (a snapshot). Targets (issue 19): p99 < 1 s at 1,000 agents and < 2 s at 3,000;
 * each agent holds < 5% of the topology; cold start of a share < 1 s.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { interestSet, storeReader, TopologyIndex, type Held } from '../src/agent/interest.js';
import type { Obj } from '../src/state/model.js';
import { referencedIds } from '../src/state/references.js';
import { openStore } from '../src/state/open.js';
import type { Change, TopologyStore } from '../src/state/store.js';
import { intArg, printReport, printTable, quantile, type Target } from './report.js';
import { baseOps, hostId, PROVIDER, ruleId, tenantOps } from './scale-topology.js';

const tenants = intArg('scale', '--tenants', 1000);
const maxAgents = intArg('scale', '--agents', 3000);
const HOSTS = 3000;
const TRIES = 20;

interface Agent {
  readonly host: string;
  readonly local: string[];
  replica: Map<string, Held>;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const copy = (h: Held): Held => ({ kind: h.kind, obj: JSON.parse(JSON.stringify(h.obj)) as Obj });

/** Agents per object id: those holding it. Rebuilt for an agent when its set changes. */
class Subscriptions {
  private readonly of = new Map<string, Set<Agent>>();
  add(a: Agent): void {
    for (const id of a.replica.keys()) this.addId(id, a);
  }
  addId(id: string, a: Agent): void {
    let s = this.of.get(id);
    if (!s) this.of.set(id, (s = new Set()));
    s.add(a);
  }
  /** The agents a change concerns: holders of the object, or of anything it names. */
  concerned(c: Change): Set<Agent> {
    const out = new Set(this.of.get(c.id) ?? []);
    for (const t of referencedIds(c.kind, c.object)) for (const a of this.of.get(t) ?? []) out.add(a);
    return out;
  }
}

// 3,000 replicas of a share each need more than Node's default heap: run again with a larger one.
if (!process.execArgv.some((a) => a.startsWith('--max-old-space-size'))) {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=10240', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(r.status ?? 1);
}

const dir = mkdtempSync(join(tmpdir(), 'midonet-bench-scale-'));
const url = `sqlite:${join(dir, 'state.db')}`;
let store: TopologyStore | undefined;
try {
  store = await openStore(url);
  let t0 = performance.now();
  await store.transact(baseOps(HOSTS));
  for (let t = 0; t < tenants; t++) await store.transact(tenantOps(t, HOSTS));
  const fillSecs = (performance.now() - t0) / 1000;
  const snap = await store.snapshot();
  const index = new TopologyIndex();
  for (const o of snap.objects) index.put(o.kind, o.object.id, o.object);
  const total = index.size;
  const portsOf = new Map<string, string[]>();
  for (const o of snap.objects)
    if (o.kind === 'port') {
      const h = (o.object as Obj<'port'>).hostId;
      if (h) portsOf.set(h, [...(portsOf.get(h) ?? []), o.object.id]);
    }
  console.error(`scale: ${total} objects (${tenants} tenants) written in ${fillSecs.toFixed(1)} s`);

  // Cold start of one agent's share, beside loading everything.
  t0 = performance.now();
  const cold = await openStore(url);
  const share = await interestSet(storeReader(cold), portsOf.get(hostId(0)) ?? [], { hostId: hostId(0) });
  const coldMs = performance.now() - t0;
  await cold.close();
  t0 = performance.now();
  const whole = await openStore(url);
  await whole.snapshot();
  const wholeMs = performance.now() - t0;
  await whole.close();

  const figures: Record<string, number> = {
    objects: total,
    fill_s: fillSecs,
    cold_start_share_ms: coldMs,
    cold_start_share_objects: share.size,
    cold_start_whole_ms: wholeMs,
  };
  const rows: Array<[string, string]> = [
    ['topology', `${total} objects, ${tenants} tenants (written in ${fillSecs.toFixed(1)} s)`],
    [
      'cold start, one share',
      `${coldMs.toFixed(0)} ms for ${share.size} objects (whole topology: ${wholeMs.toFixed(0)} ms)`,
    ],
  ];
  const targets: Target[] = [
    { name: 'cold_start_share_ms', value: coldMs, target: 1000, unit: 'ms', kind: 'max' },
  ];

  let position = await store.position();
  let tries = 0;
  for (const n of [100, 300, 1000, 3000].filter((x) => x <= maxAgents)) {
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    t0 = performance.now();
    const agents: Agent[] = [];
    const subs = new Subscriptions();
    for (let h = 0; h < n; h++) {
      const local = portsOf.get(hostId(h)) ?? [];
      const set = await interestSet(index, local, { hostId: hostId(h) });
      const a: Agent = { host: hostId(h), local, replica: new Map([...set].map(([id, x]) => [id, copy(x)])) };
      agents.push(a);
      subs.add(a);
    }
    const loadMs = performance.now() - t0;
    gc();
    const perAgent = (process.memoryUsage().heapUsed - heap0) / n;
    const sizes = agents.map((a) => a.replica.size).sort((x, y) => x - y);

    // The feed: one watch on the store; every change goes to the agents it concerns.
    let pending: { since: number; id: string; resolve: (ms: number) => void } | undefined;
    const watch = store.watch(position, {
      onChanges: (cs) => {
        for (const c of cs) {
          index.put(c.kind, c.id, c.op === 'delete' ? null : c.object);
          for (const a of subs.concerned(c)) {
            if (c.op === 'delete') a.replica.delete(c.id);
            else a.replica.set(c.id, copy({ kind: c.kind, obj: c.object }));
            if (c.op === 'create') subs.addId(c.id, a);
          }
          if (pending && pending.id === c.id) pending.resolve(performance.now() - pending.since);
        }
        position = cs.at(-1)!.seq;
      },
    });
    const lat: number[] = [];
    const reached: number[] = [];
    for (let i = 0; i < TRIES; i++, tries++) {
      // A tenant with ports on these agents' hosts (tenant t's VMs are on hosts 5t..5t+4).
      const t = (tries * 7919) % Math.max(1, Math.min(tenants, Math.floor(n / 5)));
      const since = performance.now();
      let id: string;
      const done = new Promise<number>((resolve) => (pending = { since, id: '', resolve }));
      if (i % 2 === 0) {
        id = ruleId(t, 1, 5);
        pending!.id = id;
        await store.update('rule', id, {
          conditions: { dstPort: { value: `${2000 + tries}` }, ipProto: { value: 6 } },
        });
      } else {
        const r = await store.create('route', {
          routerId: PROVIDER,
          dstPrefix: `198.51.100.${tries % 256}/32`,
          type: 'blackhole',
        });
        id = r.id;
        pending!.id = id;
        // The create may already have been delivered before its id was known.
        if (agents.some((a) => a.replica.has(id))) pending!.resolve(performance.now() - since);
      }
      lat.push(await done);
      reached.push(agents.filter((a) => a.replica.has(id)).length);
      pending = undefined;
    }
    watch.close();
    lat.sort((x, y) => x - y);
    const f = (k: string, v: number) => (figures[`agents_${n}_${k}`] = v);
    f('propagation_p50_ms', quantile(lat, 0.5));
    f('propagation_p99_ms', quantile(lat, 0.99));
    f('share_median_pct', (100 * quantile(sizes, 0.5)) / total);
    f('share_max_pct', (100 * sizes.at(-1)!) / total);
    f('memory_per_agent_kb', perAgent / 1024);
    f('load_all_ms', loadMs);
    rows.push([
      `${n} agents`,
      `propagation p50 ${quantile(lat, 0.5).toFixed(1)} ms, p99 ${quantile(lat, 0.99).toFixed(1)} ms ` +
        `(to ${Math.min(...reached)}-${Math.max(...reached)} agents); share median ` +
        `${((100 * quantile(sizes, 0.5)) / total).toFixed(2)}%, max ${((100 * sizes.at(-1)!) / total).toFixed(2)}%; ` +
        `${(perAgent / 1024).toFixed(0)} KiB per agent`,
    ]);
    if (n === 1000 || n === 3000)
      targets.push({
        name: `agents_${n}_propagation_p99_ms`,
        value: quantile(lat, 0.99),
        target: n === 1000 ? 1000 : 2000,
        unit: 'ms',
        kind: 'max',
      });
    if (n === Math.min(1000, maxAgents))
      targets.push({
        name: `agents_${n}_share_max_pct`,
        value: (100 * sizes.at(-1)!) / total,
        target: 5,
        unit: '% of the topology',
        kind: 'max',
      });
    console.error(`scale: ${rows.at(-1)!.join(': ')}`);
  }
  printTable('bench/scale: agents holding their interest sets (embedded store)', rows);
  printReport('scale', figures, targets);
} finally {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
}
