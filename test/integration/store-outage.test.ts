/**
 * A store outage on a real lab (issue 21, the store-outage part of issue 15): while a 100 packet/s ping
 * runs between two hosts, the store is made unreachable for about 10 s (ZooKeeper and Cassandra
 * paused with SIGSTOP; for SQLite, the database file locked by another writer), and during that time
 * first contacts cross the router between the hosts (their next hops resolved by ARP, the entries
 * learned on the host that received the ARP reply). Expected: the running ping loses nothing; the
 * first contacts work during the outage (the agents simulate on their cached topology and share what
 * they learn with each other directly); within 2 s of the store coming back every one of those
 * destinations answers from either host; and what was learned during the outage is in the store
 * afterwards (it was kept and published again, not dropped).
 *
 * The paused processes are resumed (SIGCONT) and the lock released in `finally`, also when a step
 * fails; the lab is torn down after the tests. The distributed case needs the services
 * (MIDONET_TEST_CASSANDRA_URL, started by scripts/test.sh); it is skipped without them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { uniqueLabName } from '../../src/lab/layout.js';
import { labDown, labUp, type LabHost, type LabState } from '../../src/lab/lab.js';
import { readPid } from '../../src/services/process.js';
import { runDir as servicesRunDir } from '../../src/services/main.js';
import { openStore } from '../../src/state/open.js';
import type { LearnedChange, TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { freshStoreUrl } from './distributed-fixture.js';
import { agentSettled, host, ping, stats, vm, type PingResult } from './lab-helpers.js';

const OUTAGE_MS = 10000;
const base = process.env.MIDONET_TEST_CASSANDRA_URL;

/** The store made unreachable, and back. */
interface Outage {
  readonly begin: () => void;
  readonly end: () => void;
}

/** Pauses every ZooKeeper and Cassandra node the services started (their pid files), and resumes them. */
function servicesPaused(): Outage {
  const pids: number[] = [];
  return {
    begin: () => {
      for (const node of [
        'zookeeper-1',
        'zookeeper-2',
        'zookeeper-3',
        'cassandra-1',
        'cassandra-2',
        'cassandra-3',
      ]) {
        const rec = readPid(join(servicesRunDir(), node));
        if (rec === undefined) continue;
        process.kill(rec.pid, 'SIGSTOP');
        pids.push(rec.pid);
      }
      assert.ok(pids.length >= 2, `ZooKeeper and Cassandra found under ${servicesRunDir()}`);
    },
    end: () => {
      for (const pid of pids.splice(0)) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          /* gone */
        }
      }
    },
  };
}

/** Locks the SQLite file (an exclusive transaction of another connection) and releases it. */
function sqliteLocked(path: string): Outage {
  let db: Database.Database | undefined;
  return {
    begin: () => {
      db = new Database(path, { timeout: 5000 });
      db.exec('BEGIN EXCLUSIVE');
    },
    end: () => {
      if (db === undefined) return;
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
        db = undefined;
      }
    },
  };
}

/** The newest unexpired learned entries of the store (a watch from 0 delivers each key's newest once). */
async function learnedNow(storeUrl: string): Promise<LearnedChange[]> {
  const s = await openStore(storeUrl);
  try {
    const got: LearnedChange[] = [];
    let at = Date.now();
    const w = s.watchLearned(0, {
      onEntries: (es) => {
        got.push(...es);
        at = Date.now();
      },
    });
    // The first delivery is the whole current table; wait until it has come and nothing more arrives.
    await until(() => got.length > 0 && Date.now() - at > 300, {
      what: 'the learned entries',
      timeoutMs: 5000,
    });
    w.close();
    return got;
  } finally {
    await s.close();
  }
}

/** The agent's /health (status, store) on its metrics address. */
async function health(h: LabHost): Promise<{ status: string; store: boolean }> {
  const r = await fetch(`http://${h.metricsListen}/health`);
  return (await r.json()) as { status: string; store: boolean };
}

/**
 * `healthDuring`: what the agents' /health says during the outage (a locked SQLite file still answers
 * reads, so its health stays ok; paused ZooKeeper and Cassandra answer nothing: degraded).
 */
function outageCase(
  name: string,
  storeUrlOf: (runDir: string) => string,
  outageOf: (runDir: string) => Outage,
  healthDuring: 'ok' | 'degraded',
): void {
  describe(name, () => {
    let lab: LabState;
    let store: TopologyStore;
    const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-outage-'));
    before(async () => {
      // hv1: vm1 (a, .10), vm2 (b, .138), vm3 (a, .11); hv2: vm4 (b, .139), vm5 (a, .12), vm6 (b, .140)
      lab = await labUp({
        runDir,
        name: uniqueLabName('so'),
        hosts: 2,
        vmsPerHost: 3,
        tunnel: 'gre',
        storeUrl: storeUrlOf(runDir),
      });
      store = await openStore(lab.storeUrl);
      for (const h of lab.hosts) await agentSettled(store, h);
    });
    after(async () => {
      await store?.close();
      await labDown(runDir);
    });

    it('running flows lose nothing; first contacts work during the outage; everything answers within 2 s after it, learned state in the store', async () => {
      const [vm1, vm2, vm3, vm5, vm6] = ['vm1', 'vm2', 'vm3', 'vm5', 'vm6'].map((n) => vm(lab, n)) as [
        ReturnType<typeof vm>,
        ReturnType<typeof vm>,
        ReturnType<typeof vm>,
        ReturnType<typeof vm>,
        ReturnType<typeof vm>,
      ];
      assert.equal((await ping(vm1, vm5.ip, ['-c', '1', '-W', '2'])).received, 1, 'vm1 -> vm5 before');
      // 100 packets a second for the outage and 4 s around it.
      const count = Math.round((OUTAGE_MS + 4000) / 10);
      const running = ping(vm1, vm5.ip, ['-c', String(count), '-i', '0.01', '-W', '1']);
      await new Promise((r) => setTimeout(r, 1000));
      const outage = outageOf(runDir);
      const during: Record<string, PingResult> = {};
      const after: Record<string, PingResult> = {};
      let resumedAt = 0;
      let healthSeen: Array<{ status: string; store: boolean }> = [];
      try {
        outage.begin();
        const pausedAt = Date.now();
        // First contacts across the router, between the hosts, while the store is away.
        during['vm3 -> vm6'] = await ping(vm3, vm6.ip, ['-c', '5', '-i', '0.5', '-W', '1']);
        during['vm2 -> vm5'] = await ping(vm2, vm5.ip, ['-c', '5', '-i', '0.5', '-W', '1']);
        healthSeen = await Promise.all(lab.hosts.map((h) => health(h)));
        await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - pausedAt))));
      } finally {
        outage.end();
        resumedAt = Date.now();
      }
      // Within 2 s of the store coming back, from the host that made the contact and from the other.
      const reach: Array<[string, ReturnType<typeof vm>, string]> = [
        ['vm1 -> vm6', vm1, vm6.ip],
        ['vm3 -> vm6', vm3, vm6.ip],
        ['vm2 -> vm5', vm2, vm5.ip],
      ];
      for (const [label, from, to] of reach) after[label] = await ping(from, to, ['-c', '1', '-w', '2']);
      const runningResult = await running;
      const hv = await Promise.all(lab.hosts.map((h) => stats(h)));
      const report = {
        outageMs: resumedAt > 0 ? OUTAGE_MS : 0,
        running: { sent: runningResult.sent, received: runningResult.received },
        during: Object.fromEntries(Object.entries(during).map(([k, v]) => [k, `${v.received}/${v.sent}`])),
        after: Object.fromEntries(Object.entries(after).map(([k, v]) => [k, `${v.received}/${v.sent}`])),
        healthDuring: healthSeen.map((h) => h.status),
        learnedPublishFailures: hv.map((s) => s.learnedPublishFailures ?? null),
        learnedUnpublished: hv.map((s) => s.learnedUnpublished ?? null),
        arpFailures: hv.map((s) => s.arpFailures ?? null),
      };
      process.stdout.write(`# store outage (${name}): ${JSON.stringify(report)}\n`);

      assert.equal(
        runningResult.received,
        runningResult.sent,
        `the running ping lost nothing: ${JSON.stringify(report)}`,
      );
      assert.ok(runningResult.sent >= count - 5, runningResult.output);
      for (const [label, r] of Object.entries(during))
        assert.ok(r.received >= 1, `${label} during the outage: ${JSON.stringify(report)}`);
      assert.deepEqual(
        healthSeen.map((h) => h.status),
        lab.hosts.map(() => healthDuring),
        `/health during the outage: ${JSON.stringify(report)}`,
      );
      for (const [label, r] of Object.entries(after))
        assert.equal(r.received, 1, `${label} within 2 s after the outage: ${JSON.stringify(report)}`);

      // What was learned during the outage (the router's ARP entries for vm6 and vm3, whose ARP replies
      // were received on one host for a request sent by the other) is in the store.
      const router = await store.resolve('router', 'edge');
      const want = [vm6.ip, vm3.ip, vm2.ip];
      await until(
        async () => {
          const arp = (await learnedNow(lab.storeUrl)).filter(
            (e) => e.table === 'arp' && e.scope === router.id,
          );
          return want.every((ip) => arp.some((e) => e.key === ip));
        },
        { what: `ARP entries of ${want.join(', ')} in the store`, timeoutMs: 10000, intervalMs: 500 },
      );
      // The store is current again everywhere: each agent applied its changes.
      for (const h of lab.hosts) await agentSettled(store, host(lab, h.name), 20000);
      for (const h of lab.hosts)
        await until(async () => (await health(h)).status === 'ok', { what: `/health of ${h.name} ok again` });
    });
  });
}

outageCase(
  'a store outage on SQLite (the database locked by another writer)',
  (runDir) => `sqlite:${join(runDir, 'state.db')}`,
  (runDir) => sqliteLocked(join(runDir, 'state.db')),
  'ok',
);

if (base !== undefined)
  outageCase(
    'a store outage on ZooKeeper and Cassandra (both paused)',
    () => freshStoreUrl(base, `outage_${Math.floor(Math.random() * 1e9).toString(36)}`),
    () => servicesPaused(),
    'degraded',
  );
else
  describe(
    'a store outage on ZooKeeper and Cassandra (both paused)',
    {
      skip: 'needs MIDONET_TEST_CASSANDRA_URL (npm run services -- up)',
    },
    () => undefined,
  );
