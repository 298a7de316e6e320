/**
 * Shared by the distributed backend's tests: turns the services' store URL into one for a fresh,
 * empty store (its own keyspace and ZooKeeper root), so test runs never see each other's objects.
 */
import { storeUrlFor } from '../../src/state/cassandra-url.js';

export function freshStoreUrl(base: string, name: string): string {
  return storeUrlFor(base, name, `/midonet-test/${name}`);
}
