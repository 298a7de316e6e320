// Runs the TopologyStore and DHCP lease contracts against the in-memory backend: every fixture is a store of its own
// name, shared by the handles opened on it (memory:NAME).
import { randomBytes } from 'node:crypto';
import { openStore } from '../../src/state/open.js';
import { storeContract, type FixtureFactory } from './store-contract.js';
import { leaseContract } from './leases-contract.js';

const memoryFixture: FixtureFactory = async (params = {}) => {
  const q = new URLSearchParams(params).toString();
  const url = `memory:contract-${randomBytes(6).toString('hex')}${q ? `?${q}` : ''}`;
  const store = await openStore(url);
  return {
    store,
    url: undefined,
    reopen: () => openStore(url),
    cleanup: () => store.close(),
  };
};
storeContract('memory', memoryFixture);
leaseContract('memory', memoryFixture);
