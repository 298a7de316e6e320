// Runs the TopologyStore contract against the distributed backend (Cassandra + ZooKeeper) started by
// `npm run services -- up` (scripts/test.sh does it): each run gets its own keyspace and ZooKeeper
// root, so it starts empty. MIDONET_TEST_CASSANDRA_URL names the services; without it the suite is
// skipped with a note saying how to run it.
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { openStore } from '../../src/state/open.js';
import { storeContract, type FixtureFactory } from './store-contract.js';
import { leaseContract } from './leases-contract.js';
import { freshStoreUrl } from '../integration/distributed-fixture.js';
import { FaultyLeader } from './relay-leader.js';

const base = process.env.MIDONET_TEST_CASSANDRA_URL;
if (!base) {
  describe('TopologyStore contract: cassandra', () => {
    it(
      'needs the services: npm run services -- up, then MIDONET_TEST_CASSANDRA_URL=<url>',
      { skip: true },
      () => {},
    );
  });
} else {
  const cassandraFixture: FixtureFactory = async (params = {}) => {
    const q = new URLSearchParams(params).toString();
    const url = `${freshStoreUrl(base, `contract_${randomBytes(4).toString('hex')}`)}${q ? `&${q}` : ''}`;
    const store = await openStore(url);
    return {
      store,
      url,
      reopen: () => openStore(url),
      cleanup: () => store.close(),
    };
  };
  storeContract('cassandra', cassandraFixture);
  leaseContract('cassandra', cassandraFixture);
  // The same contract with every write going through a commit-relay leader (another handle).
  const relayedFixture: FixtureFactory = async (params = {}) => {
    const q = new URLSearchParams(params).toString();
    const url = `${freshStoreUrl(base, `relay_${randomBytes(4).toString('hex')}`)}${q ? `&${q}` : ''}`;
    const leader = await FaultyLeader.openFaulty(url, 'none');
    await leader.leading();
    const store = await openStore(url);
    return {
      store,
      url,
      reopen: () => openStore(url),
      cleanup: async () => {
        await store.close();
        await leader.close();
      },
    };
  };
  storeContract('cassandra through the commit relay', relayedFixture);
}
