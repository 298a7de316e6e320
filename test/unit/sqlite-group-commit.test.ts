/**
 * The embedded store's group commit (sqlite-store.ts, group-queue.ts): the transactions one handle
 * gets in one turn of the event loop are one SQLite transaction, committed in the order they came,
 * each under its own savepoint; what the handle's readers see, and what its other writes keep, while
 * a group is planned and committed; and a group that cannot commit at all. What every backend does
 * with transactions issued at once is in the store contract (test/contract/contract-group.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../../src/state/errors.js';
import { SqliteStore } from '../../src/state/sqlite-store.js';
import type { Op } from '../../src/state/store.js';
import { until } from '../until.js';

async function withSqlite(fn: (store: SqliteStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-group-'));
  const store = new SqliteStore(join(dir, 'state.db'));
  try {
    await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const create = (name: string, extra: Record<string, unknown> = {}): Op[] => [
  { op: 'create', kind: 'bridge', fields: { name, ...extra } },
];

/** Lets the other promise chains and the event loop's phases in, a few times. */
const settle = async () => {
  for (let k = 0; k < 3; k++) {
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
  }
};

describe('sqlite group commit', () => {
  it('the transactions of one turn are one group, committed in the order they came', async () => {
    await withSqlite(async (store) => {
      const before = await store.position();
      const g0 = store.groupStats.groups;
      const settled = await Promise.allSettled(
        ['g1', 'g2', 'g1', 'g3'].map((n) => store.transact(create(n))),
      );
      assert.deepEqual(
        settled.map((x) => x.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      assert.match(String((settled[2] as PromiseRejectedResult).reason), /g1/);
      assert.equal(store.groupStats.groups, g0 + 1, 'one group');
      assert.equal(store.groupStats.largest, 4);
      const positions = settled.flatMap((x) => (x.status === 'fulfilled' ? [x.value.position] : []));
      assert.deepEqual(
        positions,
        [...positions].sort((a, b) => a - b),
        'positions in the order the transactions came',
      );
      const changes = await store.changesSince(before);
      assert.deepEqual(
        changes.map((c) => [c.tx, c.object.name]),
        [
          [positions[0], 'g1'],
          [positions[1], 'g2'],
          [positions[2], 'g3'],
        ],
        'each its own feed transaction',
      );
      assert.deepEqual(
        (await store.list('bridge')).map((b) => b.name),
        ['g1', 'g2', 'g3'],
      );
      // A group that cannot commit at all: every transaction of it gets the store's error.
      await store.close();
      const failed = await Promise.allSettled(['h1', 'h2'].map((n) => store.transact(create(n))));
      assert.deepEqual(
        failed.map((f) => f.status === 'rejected' && (f.reason as StoreError).code),
        ['unavailable', 'unavailable'],
      );
      assert.equal(store.groupStats.groups, g0 + 2);
    });
  });

  it('a reader of the same handle sees a group all at once or not at all', async () => {
    await withSqlite(async (store) => {
      const g = Promise.all([store.transact(create('first')), store.transact(create('second'))]);
      let done = false;
      void g.then(() => (done = true));
      const seen = new Set<string>();
      const look = async () =>
        seen.add(
          (await store.list('bridge'))
            .map((b) => b.name)
            .sort()
            .join(','),
        );
      // Reads between the group's promise continuations and between the event loop's turns.
      for (let i = 0; i < 500 && !done; i++) {
        await (i % 2 === 0 ? Promise.resolve() : new Promise((r) => setImmediate(r)));
        await look();
      }
      await g;
      await look();
      assert.deepEqual(
        [...seen].filter((x) => x !== '' && x !== 'first,second'),
        [],
        'a reader saw part of the group before its commit',
      );
      assert.ok(seen.has('first,second'));
    });
  });

  it('a refused member rolls back nothing written by other calls meanwhile', async () => {
    await withSqlite(async (store) => {
      const g = Promise.allSettled([
        store.transact(create('bad', { colour: 'red' })),
        store.transact(create('good')),
      ]);
      let done = false;
      void g.then(() => (done = true));
      const beats: string[] = [];
      for (let i = 0; i < 500 && !done; i++) {
        await (i % 2 === 0 ? Promise.resolve() : new Promise((r) => setImmediate(r)));
        const host = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
        await store.heartbeat(host, 60000);
        beats.push(host);
      }
      const [bad, good] = await g;
      assert.equal(bad.status, 'rejected');
      assert.equal(good.status, 'fulfilled');
      await settle();
      const alive = new Set((await store.liveness()).map((h) => h.hostId));
      assert.ok(beats.length > 0);
      assert.deepEqual(
        beats.filter((h) => !alive.has(h)),
        [],
        'heartbeats answered during the group were rolled back with its refused member',
      );
      assert.deepEqual(
        (await store.list('bridge')).map((b) => b.name),
        ['good'],
      );
    });
  });
});

describe('sqlite watch of some kinds', () => {
  it('reads past more changes of other kinds than one batch holds, and more of its kind than one batch', async () => {
    await withSqlite(async (store) => {
      const start = await store.position();
      const routers: string[] = [];
      const w = store.watch(start, {
        kinds: ['router'],
        onChanges: (cs) => routers.push(...cs.map((c) => c.object.name!)),
      });
      const many = (kind: 'bridge' | 'router', prefix: string, n: number): Op[] =>
        Array.from({ length: n }, (_, i) => ({ op: 'create', kind, fields: { name: `${prefix}${i}` } }));
      await store.transact(many('bridge', 'b', 1500));
      await store.transact(many('router', 'r', 1200));
      await store.transact(many('bridge', 'c', 1500));
      await store.create('router', { name: 'last' });
      try {
        await until(() => routers.includes('last'), { what: 'the last router', timeoutMs: 10000 });
        assert.equal(routers.length, 1201);
        assert.deepEqual(routers.slice(0, 3), ['r0', 'r1', 'r2']);
        assert.equal(new Set(routers).size, 1201, 'each once');
      } finally {
        w.close();
      }
    });
  });
});
