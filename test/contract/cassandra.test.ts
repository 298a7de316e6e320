// Runs the TopologyStore contract against the distributed backend (Cassandra + ZooKeeper) started by
// `npm run services -- up` (scripts/test.sh does it): each run gets its own keyspace and ZooKeeper
// root, so it starts empty. MIDONET_TEST_CASSANDRA_URL names the services; without it the suite is
// skipped with a note saying how to run it.
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { openStore } from '../../src/state/open.js';
import { storeContract, type FixtureFactory } from './store-contract.js';
import { fixtureAt } from './support.js';
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
  // `relay`: every write goes through a commit-relay leader (another handle) the fixture opens first.
  const fixture =
    (relay: boolean): FixtureFactory =>
    async (params = {}) => {
      const q = new URLSearchParams(params).toString();
      const url = `${freshStoreUrl(base, `${relay ? 'relay' : 'contract'}_${randomBytes(4).toString('hex')}`)}${q ? `&${q}` : ''}`;
      const leader = relay ? await FaultyLeader.openFaulty(url, 'none') : undefined;
      await leader?.leading();
      return fixtureAt(url, openStore, () => leader?.close());
    };
  storeContract('cassandra', fixture(false));
  leaseContract('cassandra', fixture(false));
  storeContract('cassandra through the commit relay', fixture(true));
}
