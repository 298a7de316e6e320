/**
 * A commit-relay leader for the relay tests (commit-relay.test.ts): a distributed-store handle with
 * `relay=lead` whose commits of relayed transactions (a multi-op creating a relay marker) can be made
 * to fail in the ways a leader process fails:
 *   die-before   the process is killed with the group's rows written, before its multi-op;
 *   die-after    the process is killed once the multi-op is applied, before anyone is answered;
 *   late         the multi-op goes out only after the writers stopped waiting (REPLY_MS and more).
 * Run as a process (`node relay-leader.js URL MODE`) it prints `leading` once it leads, then serves.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CassandraStore } from '../../src/state/cassandra-store.js';
import { REPLY_MS } from '../../src/state/commit-relay-wire.js';
import type { ZkOp } from '../../src/state/zk.js';

export type LeaderFault = 'none' | 'die-before' | 'die-after' | 'late';

export class FaultyLeader extends CassandraStore {
  private fault: LeaderFault = 'none';

  static async openFaulty(url: string, fault: LeaderFault): Promise<FaultyLeader> {
    const store = new FaultyLeader(await FaultyLeader.connect(`${url}&relay=lead`, {}));
    store.fault = fault;
    await store.init();
    return store;
  }

  protected override async commit(ops: readonly ZkOp[]): Promise<void> {
    const relayed = ops.some((o) => o.op === 'create' && o.path.includes('/relay/tx/'));
    if (relayed && this.fault === 'die-before') process.kill(process.pid, 'SIGKILL');
    if (relayed && this.fault === 'late') await sleep(REPLY_MS + 2000);
    await super.commit(ops);
    if (relayed && this.fault === 'die-after') process.kill(process.pid, 'SIGKILL');
  }

  /** Resolves once this handle leads the relay. */
  async leading(): Promise<void> {
    while (!this.relayStats.leading) await sleep(20);
  }
}

if (process.argv[1]?.endsWith('relay-leader.js')) {
  const [url, fault] = process.argv.slice(2) as [string, LeaderFault];
  const store = await FaultyLeader.openFaulty(url, fault);
  await store.leading();
  process.stdout.write('leading\n');
  setInterval(() => undefined, 1 << 30);
}
