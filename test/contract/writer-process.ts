/**
 * A second writer process for the contract suite. Opens the store URL given on the command line and:
 *   ports NAME N      creates a bridge NAME and then N ports on it, one transaction each;
 *   bump BRIDGE N     N times: reads the bridge and flips its admin state with the version it read,
 *                     retrying on 'conflict' (optimistic concurrency against another writer).
 */
import { openStore } from '../../src/state/open.js';
import { StoreError } from '../../src/state/errors.js';

const [url, mode, name, countText] = process.argv.slice(2);
const store = await openStore(url!);
const count = Number(countText);
if (mode === 'ports') {
  const br = await store.create('bridge', { name: name! });
  for (let i = 0; i < count; i++) await store.create('port', { name: `${name}-p${i}`, deviceId: br.id });
} else {
  let conflicts = 0;
  for (let i = 0; i < count;) {
    const br = await store.resolve('bridge', name!);
    try {
      await store.update(
        'bridge',
        br.id,
        { adminStateUp: !br.adminStateUp },
        { expectedVersion: br.version },
      );
      i++;
    } catch (e) {
      if (!(e instanceof StoreError && e.code === 'conflict')) throw e;
      conflicts++;
    }
  }
  process.stdout.write(`${conflicts}\n`);
}
await store.close();
