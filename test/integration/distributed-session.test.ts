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
import { until } from '../until.js';

const base = process.env.MIDONET_TEST_CASSANDRA_URL;

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
      await until(() => got.length === 1, { what: 'the first change', timeoutMs: 20000 });

      const oldSession = aZk.sessionId;
      await aZk.expire();
      // While the session is gone (and being replaced), another handle writes.
      const written = [];
      for (let i = 0; i < 5; i++) written.push(await b.create('bridge', { name: `during-${i}` }));
      await until(() => aZk.sessionId !== oldSession, { what: 'a new session', timeoutMs: 60000 });
      await until(() => got.length === 6, { what: 'the changes made meanwhile', timeoutMs: 20000 });
      assert.deepEqual(
        got.map((x) => x.id),
        [first.id, ...written.map((x) => x.id)],
        'every change once, in order',
      );
      await until(async () => (await b.liveness()).find((l) => l.hostId === hostId)?.alive === true, {
        what: 'liveness again',
        timeoutMs: 20000,
      });
      await until(() => c.leading, { what: 're-election', timeoutMs: 20000 });
      assert.deepEqual(events, ['+', '-', '+'], 'deposed with the old session, elected again in the new one');
      w.close();
      await c.resign();
    });

    it('shows a dead host as not alive, and one that said goodbye', async () => {
      const other = await CassandraStore.open(url);
      const h1 = randomUUID();
      await other.heartbeat(h1, 5000, {});
      await until(async () => (await a.liveness()).find((l) => l.hostId === h1)?.alive === true, {
        what: 'h1 alive',
        timeoutMs: 20000,
      });
      await other.close(); // the agent's session ends: its ephemeral node goes
      await until(async () => (await a.liveness()).find((l) => l.hostId === h1)?.alive === false, {
        what: 'h1 dead',
        timeoutMs: 20000,
      });
      const l = (await a.liveness()).find((x) => x.hostId === h1)!;
      assert.ok(l.renewedAt > 0, 'a dead host still shows when it was last seen');
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
