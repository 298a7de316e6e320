/**
 * midonet-api's writes issued at once: the API calls the store's `transact` for each request as it
 * comes, and the store commits those that arrive together as one group (sqlite-store.ts); each
 * request still gets its own answer, the same one it gets alone, and its own position.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SqliteStore } from '../../src/state/sqlite-store.js';
import { apiFixture } from './fixture.js';

describe('concurrent writes through the API', () => {
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
      const stats = (fx.store as SqliteStore).groupStats;
      const groups0 = stats.groups;
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
      assert.equal(stats.groups, groups0 + 1, 'one group');
      assert.equal(stats.largest, 6);
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
