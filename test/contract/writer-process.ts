/**
 * A second writer process for the contract suite. Opens the store URL given on the command line and:
 *   ports NAME N      creates a bridge NAME and then N ports on it, one transaction each;
 *   bump BRIDGE N     N times: reads the bridge and flips its admin state with the version it read,
 *                     retrying on 'conflict' (optimistic concurrency against another writer);
 *   leases DHCP N TAG  allocates N leases on the DHCP subnet for MACs 02:TAG:00:00:hi:lo, printing
 *                     the addresses as one JSON array (concurrent allocation against another writer).
 */
import { openStore } from '../../src/state/open.js';
import { StoreError } from '../../src/state/errors.js';
import { allocate } from '../../src/state/leases.js';

const [url, mode, name, countText] = process.argv.slice(2);
const store = await openStore(url!);
const count = Number(countText);
if (mode === 'ports') {
  const br = await store.create('bridge', { name: name! });
  for (let i = 0; i < count; i++) await store.create('port', { name: `${name}-p${i}`, deviceId: br.id });
} else if (mode === 'leases') {
  const tag = process.argv[6]!;
  const got: string[] = [];
  for (let i = 0; i < count; i++) {
    const mac = `02:${tag}:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
    got.push((await allocate(store, name!, { mac, now: Date.now() })).address);
  }
  process.stdout.write(`${JSON.stringify(got)}\n`);
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
