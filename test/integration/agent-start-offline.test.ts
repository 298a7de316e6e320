/**
 * An agent started while its store is gone (issue 15): the SQLite file of the lab's store is moved
 * away while the agent of hv1 is stopped; the agent then starts on its local snapshot (it ran on the
 * store before), simulates first contacts on its host on what it last knew, and when the file is back
 * it reaches the store and follows changes again, from its snapshot's position.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueLabName } from '../../src/lab/layout.js';
import { startAgent, stopAgent } from '../../src/lab/hypervisor.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { openStore } from '../../src/state/open.js';
import type { TopologyStore } from '../../src/state/store.js';
import { until } from '../until.js';
import { agentSettled, host, ping, stats, vm } from './lab-helpers.js';

describe('an agent started while its store is gone', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'midonet-it-offline-'));
  const db = join(runDir, 'state.db');
  const away = join(runDir, 'state.db.away');
  let lab: LabState;
  let store: TopologyStore;

  before(async () => {
    lab = await labUp({ runDir, name: uniqueLabName('to'), hosts: 2, vmsPerHost: 3, tunnel: 'gre' });
    store = await openStore(lab.storeUrl);
    for (const h of lab.hosts) await agentSettled(store, h);
  });
  after(async () => {
    if (existsSync(away) && !existsSync(db)) renameSync(away, db);
    await store?.close();
    await labDown(runDir);
  });

  it('starts on its local snapshot, forwards first contacts, and follows the store once it is back', async () => {
    const h = host(lab, 'hv1');
    const snapshot = join(h.dir, 'state', 'topology-snapshot.json');
    const position = await store.position();
    await until(
      () =>
        existsSync(snapshot) &&
        (JSON.parse(readFileSync(snapshot, 'utf8')) as { position: number }).position >= position,
      {
        what: `the local snapshot ${snapshot}`,
        timeoutMs: 15000,
      },
    );
    const first = await ping(vm(lab, 'vm1'), vm(lab, 'vm4').ip);
    assert.equal(first.received, first.sent, first.output);

    await stopAgent({ dir: h.dir });
    renameSync(db, away);
    const pid = startAgent({ dir: h.dir, agentConfig: join(h.dir, 'agent.json') } as never);
    const log = join(h.dir, 'agent.log');
    await until(
      () =>
        readFileSync(log, 'utf8')
          .split('\n')
          .some((l) => l.includes(`"pid":${pid}`) && l.includes('flows of an earlier run judged')),
      { what: 'the restarted agent connected to its switch', timeoutMs: 40000 },
    );
    const lines = readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l.includes(`"pid":${pid}`));
    assert.ok(
      lines.some((l) => l.includes('starting on the local snapshot')),
      `the agent says it started on its snapshot:\n${lines.join('\n')}`,
    );
    // First contacts simulated on the snapshot, on this host: across the router, and within a bridge.
    // (Across hosts it needs the other agents: they see this one as down once its liveness lapses,
    // since it cannot renew it while the store is away.)
    for (const [from, to] of [
      ['vm2', 'vm3'],
      ['vm1', 'vm3'],
    ] as const) {
      const r = await ping(vm(lab, from), vm(lab, to).ip, ['-c', '5', '-i', '0.2', '-W', '2']);
      assert.ok(r.received >= 4, `${from} -> ${to} while the store is gone: ${r.output}`);
    }

    renameSync(away, db);
    await until(
      () =>
        readFileSync(log, 'utf8')
          .split('\n')
          .some((l) => l.includes(`"pid":${pid}`) && l.includes('store reached')),
      { what: 'the agent reaching the store again', timeoutMs: 30000 },
    );
    // A change made now reaches it (it follows the feed from its snapshot's position).
    await store.create('bridge', { name: 'after-the-outage' });
    await agentSettled(store, h);
    assert.ok(((await stats(h)).lastChangeSeq ?? 0) >= (await store.position()));
  });
});
