// The distributed backend's write path against real services (MIDONET_TEST_CASSANDRA_URL, as
// cassandra.test.ts): name lookups read every page of the names index, alone and coalesced with IN;
// close() answers the transactions queued before it and commits them, instead of cutting their
// commit off; a handle that commits often answers names and bindings from its committed index
// (committed-index.ts) exactly, also when another handle commits between its commits.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { openStore } from '../../src/state/open.js';
import { parseCassandraUrl } from '../../src/state/cassandra-url.js';
import { freshStoreUrl } from '../integration/distributed-fixture.js';

const base = process.env.MIDONET_TEST_CASSANDRA_URL;

describe('cassandra write path', { skip: base ? false : 'needs MIDONET_TEST_CASSANDRA_URL' }, () => {
  const fresh = () => freshStoreUrl(base!, `pipe_${randomBytes(4).toString('hex')}`);

  it('a name is found past the first page of its index rows (alone and coalesced)', async () => {
    const url = fresh();
    const store = await openStore(url);
    const cfg = parseCassandraUrl(url);
    const db = new cassandra.Client({
      contactPoints: cfg.contactPoints,
      localDataCenter: cfg.dc,
      keyspace: cfg.keyspace,
    });
    try {
      await store.create('bridge', { name: 'taken' });
      // Orphan index rows (what dead writers leave; candidates only), sorted before the real one.
      const insert = `INSERT INTO names (kind, name, id, txid) VALUES (?, ?, ?, ?)`;
      for (let i = 0; i < 5001; i += 250)
        await Promise.all(
          Array.from({ length: Math.min(250, 5001 - i) }, (_, k) =>
            db.execute(insert, ['bridge', 'taken', `!orphan-${String(i + k).padStart(5, '0')}`, 'x'], {
              prepare: true,
            }),
          ),
        );
      await assert.rejects(store.create('bridge', { name: 'taken' }), { code: 'exists' }, 'alone');
      const [dup, other] = await Promise.allSettled([
        store.create('bridge', { name: 'taken' }),
        store.create('bridge', { name: 'other' }),
      ]);
      assert.equal(dup.status, 'rejected', 'coalesced with another lookup');
      assert.equal(dup.status === 'rejected' && (dup.reason as { code?: string }).code, 'exists');
      assert.equal(other.status, 'fulfilled');
      assert.equal((await store.list('bridge')).filter((b) => b.name === 'taken').length, 1);
    } finally {
      await db.shutdown();
      await store.close();
    }
  });

  it('close() answers and commits the transactions queued before it', async () => {
    const url = fresh();
    const store = await openStore(url);
    const writes = Array.from({ length: 5 }, (_, i) => store.create('bridge', { name: `late-${i}` }));
    const answered = writes.map(() => false);
    writes.forEach(
      (w, i) =>
        void w.then(
          () => (answered[i] = true),
          () => (answered[i] = true),
        ),
    );
    await store.close();
    assert.deepEqual(answered, [true, true, true, true, true], 'answered before close() returned');
    await Promise.all(writes);
    await assert.rejects(store.create('bridge', { name: 'after' }), { code: 'unavailable' });
    const again = await openStore(url);
    try {
      assert.deepEqual(
        (await again.list('bridge')).map((b) => b.name),
        ['late-0', 'late-1', 'late-2', 'late-3', 'late-4'],
      );
    } finally {
      await again.close();
    }
  });

  it('a handle that commits often answers names and bindings from its index, exactly', async () => {
    const url = `${fresh()}&relay=off`;
    const [a, b] = [await openStore(url), await openStore(url)];
    const indexAt = () => (a as unknown as { index: { position: number | undefined } }).index.position;
    try {
      const host = await a.create('host', { name: 'h' });
      const br = await a.create('bridge', { name: 'br' });
      for (let i = 0; i < 40; i++) await a.create('bridge', { name: `n-${i}` });
      for (let i = 0; i < 50 && indexAt() !== (await a.position()); i++) {
        await a.create('bridge', { name: `m-${i}` });
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(indexAt(), await a.position(), 'the index is at the head');
      await assert.rejects(a.create('bridge', { name: 'n-5' }), { code: 'exists' }, 'a committed name');
      // Another handle renames, creates and binds: the index catches up or is not used, never wrong.
      const n6 = (await a.list('bridge')).find((x) => x.name === 'n-6')!;
      await b.update('bridge', n6.id, { name: 'moved' });
      await b.create('bridge', { name: 'from-b' });
      await b.create('port', { name: 'pb', deviceId: br.id, hostId: host.id, interfaceName: 'tap0' });
      for (let round = 0; round < 2; round++) {
        await assert.rejects(a.create('bridge', { name: 'moved' }), { code: 'exists' });
        await assert.rejects(a.create('bridge', { name: 'from-b' }), { code: 'exists' });
        await assert.rejects(
          a.create('port', { name: `pa-${round}`, deviceId: br.id, hostId: host.id, interfaceName: 'tap0' }),
          { code: 'exists' },
        );
        await a.create('bridge', { name: `again-${round}` });
      }
      const freed = await a.create('bridge', { name: 'n-6' });
      assert.equal(freed.name, 'n-6', 'a name freed by another handle is free');
      // Several at once (a group planned on the index): one of two equal names, a renamed pair.
      const [x, y] = await Promise.allSettled([
        a.create('bridge', { name: 'twice' }),
        a.create('bridge', { name: 'twice' }),
      ]);
      assert.deepEqual([x.status, y.status].sort(), ['fulfilled', 'rejected']);
      for (let i = 0; i < 20 && indexAt() !== (await a.position()); i++) {
        await a.create('bridge', { name: `k-${i}` });
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(indexAt(), await a.position(), 'caught up with the other handle');
      const names = (await a.list('bridge')).map((o) => o.name);
      assert.equal(new Set(names).size, names.length, 'names unique');
    } finally {
      await b.close();
      await a.close();
    }
  });
});
