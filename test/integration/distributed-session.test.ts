/**
 * ZooKeeper session expiry and the distributed backend: after its session expires, a store handle
 * gets a new one, its host's ephemeral liveness node and its election candidacy come back, and a
 * watch that missed changes meanwhile catches up from the change log, in order, nothing twice.
 * Also: an unreachable ZooKeeper or Cassandra is a StoreError('unavailable') naming the URL.
 * Needs the services (MIDONET_TEST_CASSANDRA_URL); skipped without them.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { CassandraStore } from '../../src/state/cassandra-store.js';
import { StoreError } from '../../src/state/errors.js';
import type { Change } from '../../src/state/store.js';
import { ExpiringZkSession } from './expiring-zk-session.js';
import { freshStoreUrl } from './distributed-fixture.js';

const base = process.env.MIDONET_TEST_CASSANDRA_URL;

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe(
  'distributed backend: session expiry',
  { skip: base ? false : 'needs MIDONET_TEST_CASSANDRA_URL (npm run services -- up)' },
  () => {
    let url: string;
    let a: CassandraStore;
    let aZk: ExpiringZkSession;
    let b: CassandraStore;
    before(async () => {
      url = freshStoreUrl(base!, `session_${randomBytes(4).toString('hex')}`);
      a = await CassandraStore.open(url, {
        openZk: async (c, o) => (aZk = await ExpiringZkSession.open(c, o)),
      });
      b = await CassandraStore.open(url);
    });
    after(async () => {
      await a?.close();
      await b?.close();
    });

    it('re-creates ephemeral nodes and candidacies, and catches watches up from the log', async () => {
      const hostId = randomUUID();
      await a.heartbeat(hostId, 5000, { agentVersion: 't' });
      const events: string[] = [];
      const c = await a.campaign('uplink', 'a', {
        onElected: () => events.push('+'),
        onDeposed: () => events.push('-'),
      });
      assert.equal(c.leading, true);
      const got: Change[] = [];
      const w = a.watch(await a.position(), { onChanges: (cs) => got.push(...cs) });
      const first = await b.create('bridge', { name: 'before-expiry' });
      await until(() => got.length === 1, 'the first change');

      const oldSession = aZk.sessionId;
      await aZk.expire();
      // While the session is gone (and being replaced), another handle writes.
      const written = [];
      for (let i = 0; i < 5; i++) written.push(await b.create('bridge', { name: `during-${i}` }));
      await until(() => aZk.sessionId !== oldSession, 'a new session', 60000);
      await until(() => got.length === 6, 'the changes made meanwhile');
      assert.deepEqual(
        got.map((x) => x.id),
        [first.id, ...written.map((x) => x.id)],
        'every change once, in order',
      );
      await until(
        async () => (await b.liveness()).find((l) => l.hostId === hostId)?.alive === true,
        'liveness again',
      );
      await until(() => c.leading, 're-election');
      assert.deepEqual(events, ['+', '-', '+'], 'deposed with the old session, elected again in the new one');
      w.close();
      await c.resign();
    });

    it('shows a dead host as not alive, and one that said goodbye', async () => {
      const other = await CassandraStore.open(url);
      const h1 = randomUUID();
      await other.heartbeat(h1, 5000, {});
      await until(async () => (await a.liveness()).find((l) => l.hostId === h1)?.alive === true, 'h1 alive');
      await other.close(); // the agent's session ends: its ephemeral node goes
      await until(async () => (await a.liveness()).find((l) => l.hostId === h1)?.alive === false, 'h1 dead');
      const l = (await a.liveness()).find((x) => x.hostId === h1)!;
      assert.ok(l.renewedAt > 0, 'a dead host still shows when it was last seen');
    });

    it('shares learned entries: newest value per key first, then every write in order', async () => {
      const exp = Date.now() + 60000;
      await a.learn([
        { table: 'mac', scope: 'br1', key: '020000000001', value: 'p1', origin: 'h1', expiresAt: exp },
        { table: 'mac', scope: 'br1', key: '020000000001', value: 'p2', origin: 'h1', expiresAt: exp },
        { table: 'arp', scope: 'rt1', key: '192.0.2.1', value: '020000000002', origin: 'h1', expiresAt: exp },
      ]);
      const got: string[] = [];
      const w = b.watchLearned(0, { onEntries: (es) => got.push(...es.map((e) => `${e.key}=${e.value}`)) });
      await until(() => got.length === 2, 'the current entries');
      assert.deepEqual(got, ['020000000001=p2', '192.0.2.1=020000000002']);
      await a.learn([
        { table: 'mac', scope: 'br1', key: '020000000001', value: 'p3', origin: 'h2', expiresAt: exp },
      ]);
      await until(() => got.length === 3, 'the later write');
      assert.equal(got[2], '020000000001=p3');
      w.close();
    });

    it('fails with a clear error when a service cannot be reached', async () => {
      await assert.rejects(
        CassandraStore.open('cassandra://127.0.0.1:9042?zk=127.0.0.1:1&rf=1', { connectTimeoutMs: 1000 }),
        (e: unknown) =>
          e instanceof StoreError &&
          e.code === 'unavailable' &&
          /cannot reach ZooKeeper at 127\.0\.0\.1:1/.test(e.message),
      );
      const zk = /zk=([^&]+)/.exec(url)![1]!;
      await assert.rejects(
        CassandraStore.open(`cassandra://127.0.0.1:1?zk=${zk}&rf=1`, { connectTimeoutMs: 1000 }),
        (e: unknown) =>
          e instanceof StoreError &&
          e.code === 'unavailable' &&
          /cannot reach Cassandra at 127\.0\.0\.1:1/.test(e.message),
      );
    });
  },
);
