/**
 * Group commit of midonet-api's writes: the store's `transactGroup` (embedded SQLite) commits several
 * transactions at once, each planned on what the ones before it left, a refused one leaving the others
 * and nothing of itself; GroupCommit gathers the writes of one turn of the event loop into one group;
 * through the API, concurrent requests of one group each get their own answer, the same one they get
 * alone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GroupCommit } from '../../src/api/group-commit.js';
import { StoreError } from '../../src/state/errors.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore, TxResult } from '../../src/state/store.js';
import { apiFixture } from './fixture.js';

async function withSqlite(fn: (store: TopologyStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-group-'));
  const store = await openStore(`sqlite:${join(dir, 'state.db')}`);
  try {
    await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ok = (r: TxResult | StoreError): TxResult => {
  if (r instanceof StoreError) assert.fail(`refused: ${r.message}`);
  return r;
};

describe('group commit', () => {
  it('sqlite transactGroup: each transaction on its own, a refused one leaves the others', async () => {
    await withSqlite(async (store) => {
      const before = await store.position();
      const a = '11111111-1111-4111-8111-111111111111';
      const out = await store.transactGroup!([
        [{ op: 'create', kind: 'bridge', id: a, fields: { name: 'a' } }],
        [{ op: 'create', kind: 'bridge', fields: { name: 'a' } }],
        [
          { op: 'create', kind: 'bridge', fields: { name: 'half' } },
          { op: 'create', kind: 'bridge', fields: { name: 'bad', colour: 'red' } },
        ],
        [{ op: 'update', kind: 'bridge', id: a, set: { adminStateUp: false }, expectedVersion: 1 }],
        [{ op: 'update', kind: 'bridge', id: a, set: { adminStateUp: true }, expectedVersion: 1 }],
        [{ op: 'create', kind: 'bridge', fields: { name: 'b' } }],
      ]);
      assert.equal(out.length, 6);
      const created = ok(out[0]!);
      assert.equal((created.results[0] as { version: number }).version, 1);
      // The refusals, word for word what the same transaction gets alone.
      const alone = async (f: () => Promise<unknown>) => {
        try {
          await f();
        } catch (e) {
          return e as StoreError;
        }
        return assert.fail('not refused alone');
      };
      const dup = await alone(() => store.create('bridge', { name: 'a' }));
      assert.ok(out[1] instanceof StoreError);
      assert.equal(out[1].code, dup.code);
      assert.equal(out[1].message, dup.message);
      const bad = await alone(() =>
        store.transact([
          { op: 'create', kind: 'bridge', fields: { name: 'half' } },
          { op: 'create', kind: 'bridge', fields: { name: 'bad', colour: 'red' } },
        ]),
      );
      assert.ok(out[2] instanceof StoreError);
      assert.equal(out[2].message, bad.message);
      assert.equal(await store.resolve('bridge', 'half').catch(() => undefined), undefined, 'nothing of it');
      const updated = ok(out[3]!);
      assert.equal((updated.results[0] as { version: number }).version, 2, 'planned on the group before it');
      assert.ok(out[4] instanceof StoreError, 'a stale version within the group');
      assert.equal(out[4].code, 'conflict');
      const last = ok(out[5]!);
      // The feed: each committed transaction whole, with its own tx, in order.
      const changes = await store.changesSince(before);
      assert.deepEqual(
        changes.map((c) => [c.tx, c.op, c.object.name]),
        [
          [created.position, 'create', 'a'],
          [updated.position, 'update', 'a'],
          [last.position, 'create', 'b'],
        ],
      );
      assert.ok(created.position < updated.position && updated.position < last.position);
      assert.deepEqual(
        (await store.list('bridge')).map((b) => [b.name, b.version]),
        [
          ['a', 2],
          ['b', 1],
        ],
      );
    });
  });

  it('GroupCommit: the writes of one turn are one group; a store without groups commits each', async () => {
    await withSqlite(async (store) => {
      const group = new GroupCommit(store);
      const names = ['g1', 'g2', 'g1', 'g3'];
      const settled = await Promise.allSettled(
        names.map((name) => group.transact([{ op: 'create', kind: 'bridge', fields: { name } }])),
      );
      assert.deepEqual(
        settled.map((s) => s.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      assert.match(String((settled[2] as PromiseRejectedResult).reason), /g1/);
      assert.deepEqual(group.stats, { groups: 1, transactions: 4, largest: 4 });
      assert.deepEqual(
        (await store.list('bridge')).map((b) => b.name),
        ['g1', 'g2', 'g3'],
      );
      // A group that cannot commit at all: every request of it gets the store's error.
      await store.close();
      const failed = await Promise.allSettled(
        ['h1', 'h2'].map((name) => group.transact([{ op: 'create', kind: 'bridge', fields: { name } }])),
      );
      assert.deepEqual(
        failed.map((f) => f.status === 'rejected' && (f.reason as StoreError).code),
        ['unavailable', 'unavailable'],
      );
      assert.equal(group.stats.largest, 4);
      assert.equal(group.stats.groups, 2);
    });
    const memory = await openStore('memory:');
    try {
      const group = new GroupCommit(memory);
      await Promise.all(
        [1, 2].map((i) => group.transact([{ op: 'create', kind: 'bridge', fields: { name: `m${i}` } }])),
      );
      assert.equal(group.stats.groups, 0, 'no transactGroup: plain transactions');
      assert.equal((await memory.list('bridge')).length, 2);
    } finally {
      await memory.close();
    }
  });

  it('API: concurrent requests in one group each get their own answer', async () => {
    const fx = await apiFixture();
    try {
      const inject = (
        method: 'POST' | 'PATCH',
        url: string,
        body: unknown,
        headers: Record<string, string> = {},
      ) =>
        fx.api.app.inject({
          method,
          url,
          headers: { authorization: `Bearer ${fx.admin}`, 'content-type': 'application/json', ...headers },
          payload: JSON.stringify(body),
        });
      const seed = await inject('POST', '/v1/bridges', { name: 'seed' });
      assert.equal(seed.statusCode, 201);
      const groups0 = fx.api.group.stats.groups;
      const rs = await Promise.all([
        inject('POST', '/v1/bridges', { name: 'x1' }),
        inject('POST', '/v1/bridges', { name: 'seed' }),
        inject('POST', '/v1/bridges', { name: 'x2', colour: 'red' }),
        inject('PATCH', '/v1/bridges/seed', { adminStateUp: false }, { 'if-match': '"1"' }),
        inject('PATCH', '/v1/bridges/seed', { adminStateUp: true }, { 'if-match': '"1"' }),
        inject('POST', '/v1/transactions', {
          ops: [
            { op: 'create', kind: 'bridge', fields: { name: 'x3' } },
            { op: 'create', kind: 'bridge', fields: { name: 'x4' } },
          ],
        }),
      ]);
      assert.equal(fx.api.group.stats.groups, groups0 + 1, 'one group');
      assert.equal(fx.api.group.stats.largest, 6);
      assert.deepEqual(
        rs.map((r) => r.statusCode),
        [201, 409, 400, 200, 412, 200],
      );
      const body = (i: number) => JSON.parse(rs[i]!.body) as Record<string, any>;
      assert.equal(body(0).name, 'x1');
      assert.equal(rs[0].headers.etag, '"1"');
      assert.match(body(1).error.message, /seed/);
      assert.equal(body(2).error.issues[0].field, 'bridge.colour');
      assert.equal(body(3).version, 2);
      assert.equal(rs[3].headers.etag, '"2"');
      assert.equal(body(4).error.code, 'conflict');
      assert.deepEqual(
        body(5).results.map((o: { name: string }) => o.name),
        ['x3', 'x4'],
      );
      const positions = [0, 3, 5].map((i) => Number(rs[i]!.headers['midonet-position']));
      assert.ok(positions[0]! < positions[1]! && positions[1]! < positions[2]!, 'each its own position');
      assert.deepEqual(
        (await fx.store.list('bridge')).map((b) => [b.name, b.version]),
        [
          ['seed', 2],
          ['x1', 1],
          ['x3', 1],
          ['x4', 1],
        ],
      );
    } finally {
      await fx.close();
    }
  });
});
