/**
 * Opens a TopologyStore from a store URL, the one place that knows the URL schemes:
 *   sqlite:/var/lib/midonet/state.db   the embedded backend (default), a path absolute or relative
 *   cassandra://127.0.0.1:9042?zk=127.0.0.1:2181&rf=1   the distributed backend (Cassandra + ZooKeeper)
 *
 * Invariant: an unknown scheme or an unusable location is a StoreError('unavailable') naming the URL
 * and what is allowed, never a crash.
 */
import { StoreError } from './errors.js';
import { SqliteStore } from './sqlite-store.js';
import type { TopologyStore } from './store.js';

export const DEFAULT_STORE_URL = 'sqlite:/var/lib/midonet/state.db';

export async function openStore(url: string): Promise<TopologyStore> {
  const m = /^([a-z]+):(.*)$/.exec(url);
  if (m?.[1] === 'sqlite') {
    const path = m[2]!.replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new StoreError('unavailable', `store URL '${url}': no file path after 'sqlite:'`);
    return new SqliteStore(path);
  }
  if (m?.[1] === 'cassandra') {
    // Loaded only when used: the drivers cost start-up time every CLI call would otherwise pay.
    const { CassandraStore } = await import('./cassandra-store.js');
    return CassandraStore.open(url);
  }
  throw new StoreError(
    'unavailable',
    `store URL '${url}': unknown scheme; allowed: sqlite:PATH (e.g. ${DEFAULT_STORE_URL}), cassandra://HOST:PORT?zk=HOST:PORT (e.g. cassandra://127.0.0.1:9042?zk=127.0.0.1:2181&rf=1)`,
  );
}
