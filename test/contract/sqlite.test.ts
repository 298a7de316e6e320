// Runs the TopologyStore contract against the embedded SQLite backend, on a file in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/state/open.js';
import { storeContract } from './store-contract.js';
import { leaseContract } from './leases-contract.js';

const sqliteFixture = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'midonet-contract-'));
  const url = `sqlite:${join(dir, 'state.db')}`;
  const store = await openStore(url);
  return {
    store,
    url,
    reopen: () => openStore(url),
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
storeContract('sqlite', sqliteFixture);
leaseContract('sqlite', sqliteFixture);
