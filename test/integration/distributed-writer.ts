/**
 * A writer process for the distributed backend's fault tests: opens the store, then runs one
 * transaction (rename bridge BRIDGE_ID to NEW_NAME and create port PORT_ID on it) and kills itself
 * with SIGKILL when the transaction reaches STEP, as a crash at that point would.
 *   node distributed-writer.js URL STEP BRIDGE_ID NEW_NAME PORT_ID
 * The steps are seen through a subclass of the store that wraps the commit protocol's two steps
 * (writing the rows, committing in ZooKeeper); the store itself has no test hook.
 */
import { CassandraStore, type Services } from '../../src/state/cassandra-store.js';
import type { Statement } from '../../src/state/cassandra-rows.js';
import type { ZkOp } from '../../src/state/zk.js';

/** Where a writer can die: after planning, after part of its rows, after all rows, after the commit. */
export type WriteStep = 'planned' | 'rows-partly-written' | 'rows-written' | 'committed';

class DyingStore extends CassandraStore {
  constructor(
    s: Services,
    private readonly step: WriteStep,
  ) {
    super(s);
  }

  static async openDying(url: string, step: WriteStep): Promise<DyingStore> {
    const store = new DyingStore(await DyingStore.connect(url, {}), step);
    await store.init();
    return store;
  }

  private reached(step: WriteStep): void {
    if (step === this.step) process.kill(process.pid, 'SIGKILL');
  }

  protected override async writeRows(stmts: readonly Statement[]): Promise<void> {
    this.reached('planned');
    await super.writeRows(stmts.slice(0, 1));
    this.reached('rows-partly-written');
    await super.writeRows(stmts.slice(1));
    this.reached('rows-written');
  }

  protected override async commit(ops: readonly ZkOp[]): Promise<void> {
    await super.commit(ops);
    this.reached('committed');
  }
}

if (process.argv[1]?.endsWith('distributed-writer.js')) {
  const [url, step, bridgeId, newName, portId] = process.argv.slice(2) as [
    string,
    WriteStep,
    string,
    string,
    string,
  ];
  const store = await DyingStore.openDying(url, step);
  await store.transact([
    { op: 'update', kind: 'bridge', id: bridgeId, set: { name: newName } },
    { op: 'create', kind: 'port', id: portId, fields: { name: `${newName}-p`, deviceId: bridgeId } },
  ]);
  await store.close();
  process.stdout.write('finished without being killed\n');
}
