// Runs the TopologyStore contract against the embedded SQLite backend, on a file in a temp directory;
// and shows the file stays bounded while one object is updated again and again (the change log is
// compacted and SQLite reuses the pages it frees; `npm run bench -- store` does 100,000 updates).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/state/open.js';
import { storeContract, type FixtureFactory } from './store-contract.js';
import { fixtureAt } from './support.js';
import { leaseContract } from './leases-contract.js';

function dbBytes(path: string): number {
  const size = (p: string) => {
    try {
      return statSync(p).size;
    } catch {
      return 0;
    }
  };
  return size(path) + size(`${path}-wal`);
}

const sqliteFixture: FixtureFactory = async (params = {}) => {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-contract-'));
  const q = new URLSearchParams(params).toString();
  const url = `sqlite:${join(dir, 'state.db')}${q ? `?${q}` : ''}`;
  return fixtureAt(url, openStore, () => rmSync(dir, { recursive: true, force: true }));
};
storeContract('sqlite', sqliteFixture);
leaseContract('sqlite', sqliteFixture);

describe('sqlite store file size', () => {
  it('stays bounded under many updates of one object', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'midonet-bounded-'));
    const path = join(dir, 'state.db');
    const store = await openStore(`sqlite:${path}?retain=1000`);
    try {
      const br = await store.create('bridge', { name: 'hot' });
      const sizes: number[] = [];
      for (let i = 1; i <= 12000; i++) {
        await store.update('bridge', br.id, { adminStateUp: i % 2 === 0 });
        if (i % 3000 === 0) sizes.push(dbBytes(path));
      }
      t.diagnostic(`file + WAL after 3,000 / 6,000 / 9,000 / 12,000 updates: ${sizes.join(' / ')} bytes`);
      // Without compaction each update adds ~240 bytes: 9,000 more updates would add over 2 MB.
      assert.ok(sizes.at(-1)! <= sizes[0]! * 1.1 + 65536, `the file stopped growing: ${sizes.join(', ')}`);
      assert.equal((await store.get('bridge', br.id))!.version, 12001);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
