/**
 * A writer process for the distributed backend's fault tests: opens the store, then runs one
 * transaction (rename bridge BRIDGE_ID to NEW_NAME and create port PORT_ID on it) and kills itself
 * with SIGKILL when the transaction reaches STEP, as a crash at that point would.
 *   node distributed-writer.js URL STEP BRIDGE_ID NEW_NAME PORT_ID
 */
import { CassandraStore, type WriteStep } from '../../src/state/cassandra-store.js';

const [url, step, bridgeId, newName, portId] = process.argv.slice(2) as [
  string,
  WriteStep,
  string,
  string,
  string,
];
const store = await CassandraStore.open(url, {
  onStep: (s) => {
    if (s === step) process.kill(process.pid, 'SIGKILL');
  },
});
await store.transact([
  { op: 'update', kind: 'bridge', id: bridgeId, set: { name: newName } },
  { op: 'create', kind: 'port', id: portId, fields: { name: `${newName}-p`, deviceId: bridgeId } },
]);
await store.close();
process.stdout.write('finished without being killed\n');
